"""Work whose task message was lost is sent again, and a request made while the broker is down
says so (503) instead of answering "queued" for a row that failed."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.explanations_support import (  # noqa: F401 - fixtures
    FakeBroker,
    ready_video,
    register_tiny_model,
    researcher_fixture,
    tiny_checkpoint_fixture,
)
from wherewhen.core import tasking
from wherewhen.explanations import claims
from wherewhen.explanations.models import Explanation


class DownBroker:
    def send_task(self, *args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")


@pytest.fixture
def video(researcher, settings):
    return ready_video(researcher, settings.MEDIA_ROOT, title="walk")


@pytest.fixture
def model(researcher, tiny_checkpoint):
    return register_tiny_model(researcher, tiny_checkpoint)


def _request(client, video, model):
    body = {"video": video.pk, "model": model.pk, "method": "staa"}
    return client.post("/api/v1/explanations/", json.dumps(body), content_type="application/json")


def _queued(video, model, age_seconds: float, key: str) -> Explanation:
    return Explanation.objects.create(
        request_key=key,
        video=video,
        model=model,
        method="staa",
        params_hash="0" * 64,
        status=Explanation.Status.QUEUED,
        task_id=f"task-{key}",
        queued_at=timezone.now() - timedelta(seconds=age_seconds),
    )


@pytest.mark.django_db
def test_rows_queued_too_long_are_sent_again_once_per_period(video, model, monkeypatch, settings):
    settings.EXPLANATION_RESEND_SECONDS = 60
    broker = FakeBroker()
    monkeypatch.setattr(tasking, "celery_app", lambda: broker)
    old = _queued(video, model, 600, "old")
    fresh = _queued(video, model, 5, "fresh")
    running = _queued(video, model, 600, "running")
    Explanation.objects.filter(pk=running.pk).update(status=Explanation.Status.RUNNING)

    assert claims.resend_lost() == [old.pk]
    ((name, args, options),) = broker.sent
    assert name == "gpu.explanations.compute" and args == [old.pk]
    assert options["task_id"] == "task-old"
    old.refresh_from_db()
    assert old.status == "queued" and timezone.now() - old.queued_at < timedelta(seconds=30)
    assert claims.resend_lost() == []  # not again until another period has passed
    fresh.refresh_from_db()
    assert fresh.status == "queued"


@pytest.mark.django_db
def test_a_resend_with_the_broker_down_leaves_the_row_for_the_next_sweep(
    video, model, monkeypatch, settings
):
    settings.EXPLANATION_RESEND_SECONDS = 60
    monkeypatch.setattr(tasking, "celery_app", lambda: DownBroker())
    row = _queued(video, model, 600, "old")
    before = Explanation.objects.get(pk=row.pk).queued_at
    assert claims.resend_lost() == []
    row.refresh_from_db()
    assert row.status == "queued" and row.queued_at == before


@pytest.mark.django_db(transaction=True)
def test_a_request_while_the_broker_is_down_answers_503(
    client, researcher, video, model, monkeypatch
):
    client.force_login(researcher)
    monkeypatch.setattr(tasking, "celery_app", lambda: DownBroker())
    response = _request(client, video, model)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failed"
    assert body["detail"].startswith("Could not reach the task queue")
    assert response["Retry-After"]
    assert Explanation.objects.get(pk=body["id"]).status == "failed"

    # The broker is back: asking again queues it.
    broker = FakeBroker()
    monkeypatch.setattr(tasking, "celery_app", lambda: broker)
    again = _request(client, video, model)
    assert again.status_code == 202 and again.json()["queued"] is True
    assert again.json()["id"] == body["id"]
    assert broker.names() == ["gpu.explanations.compute"]
