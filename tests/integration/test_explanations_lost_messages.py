"""A queued explanation whose task message vanished from the broker (Redis flushed) is sent
again by the gpu worker's sweep and completes."""

from __future__ import annotations

import json
import time

import pytest
from celery import Celery

from tests.conftest import TEST_REDIS_URL, missing_service, redis_reachable
from tests.explanations_support import (  # noqa: F401 - fixtures
    ready_video,
    register_tiny_model,
    researcher_fixture,
    tiny_checkpoint_fixture,
)
from wherewhen.core import tasking
from wherewhen.explanations.models import Explanation

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_flushed_broker_message_is_sent_again_and_completes(
    start_worker, client, researcher, tiny_checkpoint, settings, monkeypatch
):
    if not redis_reachable():
        missing_service(f"Redis is not reachable at {TEST_REDIS_URL}")
    import redis

    broker = redis.Redis.from_url(TEST_REDIS_URL)
    broker.flushdb()
    from wherewhen.celery import app as platform_app

    sender = Celery("lost-messages-test", broker=TEST_REDIS_URL, backend=TEST_REDIS_URL)
    sender.conf.update(
        task_queues=platform_app.conf.task_queues,
        task_routes=platform_app.conf.task_routes,
        task_default_queue="default",
    )
    monkeypatch.setattr(tasking, "celery_app", lambda: sender)

    model = register_tiny_model(researcher, tiny_checkpoint)
    video = ready_video(researcher, settings.MEDIA_ROOT, title="lost")
    client.force_login(researcher)
    response = client.post(
        "/api/v1/explanations/",
        json.dumps({"video": video.pk, "model": model.pk, "method": "staa"}),
        content_type="application/json",
    )
    assert response.status_code == 202 and response.json()["queued"] is True
    pk = response.json()["id"]
    assert broker.llen("gpu") == 1  # the message waits in the queue...
    broker.flushdb()  # ...and is lost
    assert broker.llen("gpu") == 0

    worker = start_worker(
        queues="gpu",
        broker="redis",
        extra_env={
            "WHEREWHEN_EXPLANATION_LEASE_SECONDS": "3",
            "WHEREWHEN_EXPLANATION_RESEND_SECONDS": "2",
        },
    )
    deadline = time.monotonic() + 120
    while Explanation.objects.get(pk=pk).status != Explanation.Status.DONE:
        assert time.monotonic() < deadline, worker.output()
        time.sleep(0.5)
    row = Explanation.objects.get(pk=pk)
    assert row.attempts == 1 and row.map_file
    assert "never claimed; sent again" in worker.output()
    sender.close()
