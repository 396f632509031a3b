"""The status long-poll against a real gpu worker on Redis: the wait that is open when the
worker finishes is woken by the worker's notice (the periodic re-read is turned off)."""

from __future__ import annotations

import json
import time

import pytest

from tests.conftest import TEST_REDIS_URL
from tests.explanations_support import (  # noqa: F401 - fixtures
    ready_video,
    register_tiny_model,
    researcher_fixture,
    tiny_checkpoint_fixture,
)
from tests.integration.test_explanations_worker import WORKER_ENV
from tests.integration.test_explanations_worker import redis_app as redis_app  # noqa: F401
from wherewhen.explanations.models import Explanation

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TIMEOUT = 20


def test_a_waiting_client_learns_done_from_the_worker(
    start_worker,
    redis_app,  # noqa: F811 - the fixture
    client,
    researcher,
    tiny_checkpoint,
    settings,
):
    settings.EXPLANATION_NOTIFY_URL = TEST_REDIS_URL
    settings.EXPLANATION_WAIT_RECHECK_SECONDS = 3600  # only the notice (or the timeout) wakes
    model = register_tiny_model(researcher, tiny_checkpoint)
    video = ready_video(researcher, settings.MEDIA_ROOT, title="waited")
    worker = start_worker(queues="gpu", broker="redis", extra_env=WORKER_ENV)
    client.force_login(researcher)
    body = {"video": video.pk, "model": model.pk, "method": "staa"}
    accepted = client.post(
        "/api/v1/explanations/", json.dumps(body), content_type="application/json"
    )
    assert accepted.status_code == 202
    pk = accepted.json()["id"]

    calls = []  # (started, ended, known, answer)
    known, deadline = "queued", time.monotonic() + 240
    while known not in ("done", "failed") and time.monotonic() < deadline:
        started = time.time()
        r = client.get(f"/api/v1/explanations/{pk}/status/wait/?status={known}&timeout={TIMEOUT}")
        assert r.status_code == 200, r.content
        calls.append((started, time.time(), known, r.json()["status"]))
        known = r.json()["status"]
    assert known == "done", worker.output()
    started, ended, _known, answer = calls[-1]
    assert answer == "done"
    assert r.json() == client.get(f"/api/v1/explanations/{pk}/status/").json()
    # The last wait was either asked after the row turned done (answered at once) or open when
    # it did: then only the worker's notice can end it before its timeout.
    assert ended - started < TIMEOUT - 1, "the wait was not woken by the worker's notice"
    assert Explanation.objects.get(pk=pk).finished_at.timestamp() <= ended
    # Earlier waits ended at their timeout with nothing new, or with the next state.
    assert all(got == was or got == "running" for _s, _e, was, got in calls[:-1])
