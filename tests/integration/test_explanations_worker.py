"""On-demand explanations through a real gpu worker on Redis and the tiny model.

request -> done -> map served; identical requests -> one task; queued requests of one model run
as one batch; exports on the media queue; a worker SIGKILLed mid-task leaves exactly one result
once another worker takes over (and the killed worker's redelivered message changes nothing).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
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
from wherewhen.explanations import storage
from wherewhen.explanations.models import Explanation

pytestmark = [pytest.mark.integration, pytest.mark.slow]

WORKER_ENV = {"WHEREWHEN_EXPLANATION_LEASE_SECONDS": "3", "WHEREWHEN_MODEL_CACHE_SIZE": "2"}


@pytest.fixture
def redis_app(monkeypatch):
    """The web side sends its tasks to the test Redis (the workers' broker), emptied first."""
    if not redis_reachable():
        missing_service(f"Redis is not reachable at {TEST_REDIS_URL}")
    import redis

    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    from wherewhen.celery import app as platform_app

    client = Celery("explanations-test", broker=TEST_REDIS_URL, backend=TEST_REDIS_URL)
    client.conf.update(
        task_queues=platform_app.conf.task_queues,
        task_routes=platform_app.conf.task_routes,
        task_default_queue="default",
    )
    monkeypatch.setattr(tasking, "celery_app", lambda: client)
    yield client
    client.close()


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def wait_for(predicate, timeout: float, what: str, worker=None, poll: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    log = worker.output() if worker is not None else ""
    raise AssertionError(f"timed out waiting for {what}\n{log}")


def statuses(ids):
    return dict(Explanation.objects.filter(pk__in=ids).values_list("pk", "status"))


def received(worker, task: str = "gpu.explanations.compute") -> int:
    return len(re.findall(rf"Task {re.escape(task)}\[[^\]]+\] received", worker.output()))


def test_request_batch_map_idempotency_and_exports(
    start_worker, redis_app, client, researcher, tiny_checkpoint, settings
):
    model = register_tiny_model(researcher, tiny_checkpoint)
    videos = [ready_video(researcher, settings.MEDIA_ROOT, title=f"v{i}") for i in range(3)]
    client.force_login(researcher)

    # Queue three requests (and a duplicate) before any worker runs.
    bodies = [
        post(client, "/api/v1/explanations/", {"video": v.pk, "model": model.pk, "method": "staa"})
        for v in videos
    ]
    assert all(b.status_code == 202 for b in bodies)
    ids = [b.json()["id"] for b in bodies]
    duplicate = post(
        client,
        "/api/v1/explanations/",
        {"video": videos[0].pk, "model": model.pk, "method": "staa"},
    ).json()
    assert duplicate["id"] == ids[0] and duplicate["queued"] is False

    worker = start_worker(queues="gpu,media", broker="redis", extra_env=WORKER_ENV)
    wait_for(lambda: set(statuses(ids).values()) == {"done"}, 90, "three done", worker)

    rows = Explanation.objects.filter(pk__in=ids)
    assert [r.batch_size for r in rows] == [3, 3, 3]  # the first task ran all three
    assert [r.attempts for r in rows] == [1, 1, 1]
    wait_for(lambda: worker.output().count("'outcome': 'nothing to do'") == 2, 30, "no-ops", worker)
    assert received(worker) == 3  # one message per explanation; the duplicate sent none

    # The result: metadata JSON and the compact, immutable map.
    meta = client.get(f"/api/v1/explanations/{ids[0]}/").json()
    assert meta["grid"] == [4, 4, 4] and len(meta["temporal"]) == 4
    assert meta["cost"]["forward_passes"] == 1 and meta["topk"]
    assert 0 <= meta["explained_target"] < 4
    duration = videos[0].duration
    assert all(0 <= t <= duration for t in meta["timestamps"])
    response = client.get(meta["map_url"])
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=31536000, immutable" and response["ETag"]
    heat = storage.decode_map(response.json())
    assert heat.shape == (4, 4, 4) and np.ptp(heat) > 0
    stored = storage.read_map(Explanation.objects.get(pk=ids[0]).map_file)
    assert np.allclose(heat, stored, atol=response.json()["scale"])

    # Asking again for a done explanation answers at once, without a task.
    again = post(
        client,
        "/api/v1/explanations/",
        {"video": videos[0].pk, "model": model.pk, "method": "staa"},
    )
    assert again.status_code == 200 and again.json()["queued"] is False

    # Exports are rendered by the media queue.
    export_ids = []
    for kind in ("png", "mp4"):
        r = post(client, f"/api/v1/explanations/{ids[0]}/exports/", {"kind": kind})
        assert r.status_code == 202
        export_ids.append(r.json()["id"])

    def exports_done():
        got = [client.get(f"/api/v1/explanation-exports/{i}/").json() for i in export_ids]
        return got if all(e["status"] == "done" for e in got) else None

    png, mp4 = wait_for(exports_done, 60, "exports", worker)
    data = b"".join(client.get(png["download_url"]).streaming_content)
    assert data.startswith(b"\x89PNG")
    data = b"".join(client.get(mp4["download_url"]).streaming_content)
    assert data[4:8] == b"ftyp" and len(data) > 1000

    # A checkpoint that breaks after registration fails with the loader's reason.
    broken = Path(settings.MEDIA_ROOT) / "broken-model"
    shutil.copytree(tiny_checkpoint, broken)
    bad_model = register_tiny_model(researcher, broken, name="broken")
    (broken / "config.json").write_text("{}")
    r = post(
        client,
        "/api/v1/explanations/",
        {"video": videos[0].pk, "model": bad_model.pk, "method": "staa"},
    )
    bad_id = r.json()["id"]
    wait_for(lambda: statuses([bad_id])[bad_id] == "failed", 60, "failure", worker)
    assert "could not be loaded" in Explanation.objects.get(pk=bad_id).error


def test_sigkill_mid_task_leaves_exactly_one_result(
    start_worker, redis_app, client, researcher, tiny_checkpoint, settings
):
    """The broker keeps the killed worker's message for its (hour-long) visibility timeout; the
    new worker's sweep sees that the owner of the running explanation is dead and queues the
    work again. A redelivered copy of a finished task is a no-op (see the batch test above)."""
    env = dict(WORKER_ENV)
    model = register_tiny_model(researcher, tiny_checkpoint)
    video = ready_video(researcher, settings.MEDIA_ROOT, title="slow")
    client.force_login(researcher)
    first = start_worker(queues="gpu", broker="redis", extra_env=env)

    # The task holds its claim from the start: while the worker imports torch, loads the model
    # and runs LIME's 800 samples (seconds, whatever the machine), the row is "running".
    body = {"video": video.pk, "model": model.pk, "method": "lime", "params": {"n_samples": 800}}
    eid = post(client, "/api/v1/explanations/", body).json()["id"]

    def running():
        return client.get(f"/api/v1/explanations/{eid}/status/").json()["status"] == "running"

    wait_for(running, 90, "the worker to claim it", first, poll=0.05)
    first.kill()
    row = Explanation.objects.get(pk=eid)
    assert row.status == "running" and row.attempts == 1 and not row.map_file

    second = start_worker(queues="gpu", broker="redis", extra_env=env)
    wait_for(lambda: statuses([eid])[eid] == "done", 120, "done after takeover", second)
    row = Explanation.objects.get(pk=eid)
    assert row.attempts == 2 and row.claimed_by.split("|")[0] == second.hostname

    assert "is gone; queueing it again" in second.output()
    after = Explanation.objects.get(pk=eid)
    assert (after.status, after.attempts, after.finished_at) == ("done", 2, row.finished_at)
    assert Explanation.objects.count() == 1
    maps = list((Path(settings.MEDIA_ROOT) / storage.MAP_DIR).rglob("*"))
    assert [p.name for p in maps if p.is_file()] == [f"{row.request_key}.npy"]
    assert client.get(f"/api/v1/explanations/{eid}/map/").status_code == 200
