"""/healthz without workers: JSON, 503 with the reason; each check reports what is wrong."""

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_is_503_without_workers_and_names_the_queues(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["workers"]["ok"] is False
    assert body["checks"]["workers"]["detail"] == "no live worker on queue default, media, gpu"


def test_healthz_reports_an_unreachable_broker(client, monkeypatch, celery_env_cleared):
    from wherewhen.celery import app

    monkeypatch.setattr(app.conf, "broker_url", "redis://127.0.0.1:1/0")
    body = client.get("/healthz").json()
    assert body["checks"]["broker"]["ok"] is False
    assert "broker unreachable (redis)" in body["checks"]["broker"]["detail"]


def test_stale_heartbeat_does_not_count(client, settings):
    from datetime import timedelta

    from django.utils import timezone

    from wherewhen.core.models import WorkerHeartbeat

    now = timezone.now()
    WorkerHeartbeat.objects.create(
        hostname="old@host",
        queues=["default", "media", "gpu"],
        pid=1,
        started_at=now,
        last_seen=now - timedelta(seconds=settings.WORKER_STALE_SECONDS + 1),
    )
    WorkerHeartbeat.objects.create(
        hostname="fresh@host", queues=["gpu"], pid=2, started_at=now, last_seen=now
    )
    workers = client.get("/healthz").json()["checks"]["workers"]
    assert workers["queues"] == {"default": [], "media": [], "gpu": ["fresh@host"]}
    assert workers["detail"] == "no live worker on queue default, media"


def test_healthz_rejects_post(client):
    assert client.post("/healthz").status_code == 405
