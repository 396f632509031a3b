"""Sending tasks: what the web process keeps afterwards (real Redis as broker and backend)."""

from __future__ import annotations

import pytest
from celery import Celery

from tests.conftest import TEST_REDIS_URL, missing_service, redis_reachable
from wherewhen.core import tasking


@pytest.fixture
def redis_client(monkeypatch, celery_env_cleared):
    if not redis_reachable():
        missing_service(f"Redis is not reachable at {TEST_REDIS_URL}")
    import redis

    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    client = Celery("tasking-test", broker=TEST_REDIS_URL, backend=TEST_REDIS_URL)
    monkeypatch.setattr(tasking, "celery_app", lambda: client)
    yield client
    client.close()
    redis.Redis.from_url(TEST_REDIS_URL).flushdb()


def test_sent_tasks_leave_no_result_subscription_behind(redis_client):
    for i in range(30):
        tasking.send("tests.nobody-runs-this", args=[i], queue="tasking-test")
    consumer = redis_client.backend.result_consumer
    channels = consumer._pubsub.channels if consumer._pubsub is not None else {}
    assert len(channels) == 0, f"{len(channels)} result channels subscribed by 30 sends"
    # the messages are on the broker, each asking for no stored result
    import json

    import redis

    queued = redis.Redis.from_url(TEST_REDIS_URL).lrange("tasking-test", 0, -1)
    assert len(queued) == 30
    assert all(json.loads(m)["headers"]["ignore_result"] is True for m in queued)


def test_a_caller_may_still_ask_for_a_result(redis_client):
    tasking.send("tests.nobody-runs-this", args=[1], queue="tasking-test", ignore_result=False)
    assert len(redis_client.backend.result_consumer._pubsub.channels) == 1
