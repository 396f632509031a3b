"""Whole-video (windowed) explanations through a real gpu worker on Redis and the tiny model.

A request over a span much longer than one clip gives many windows, progress while it runs
(through the status API the review page polls), one map row per window frame, one curve over
the whole span, and exports rendered by the media queue.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.explanations_support import (  # noqa: F401 - fixtures
    ready_video,
    register_tiny_model,
    researcher_fixture,
    tiny_checkpoint_fixture,
)
from tests.integration.test_explanations_worker import (  # noqa: F401 - a fixture
    post,
    redis_app,
    wait_for,
)
from wherewhen.explanations import storage
from wherewhen.explanations.models import Explanation
from workers.models.checkpoint_info import spec_from_dict
from workers.video import plan_windows

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# A short lease: the worker writes progress every lease/3 s.
WORKER_ENV = {"WHEREWHEN_EXPLANATION_LEASE_SECONDS": "0.9", "WHEREWHEN_MODEL_CACHE_SIZE": "2"}


def test_a_long_span_gives_many_windows_with_progress(
    start_worker,
    redis_app,  # noqa: F811 - the fixture
    client,
    researcher,
    tiny_checkpoint,
    settings,
):
    model = register_tiny_model(researcher, tiny_checkpoint)
    video = ready_video(researcher, settings.MEDIA_ROOT, title="long", seconds=240.0)
    client.force_login(researcher)
    worker = start_worker(queues="gpu,media", broker="redis", extra_env=WORKER_ENV)
    worker.wait_ready()

    body = {"video": video.pk, "model": model.pk, "method": "staa", "windowed": True}
    accepted = post(client, "/api/v1/explanations/", body)
    assert accepted.status_code == 202, accepted.content
    pk = accepted.json()["id"]
    one_clip = post(client, "/api/v1/explanations/", {**body, "windowed": False}).json()
    assert one_clip["id"] != pk  # the same span as one clip is another request

    seen: list[tuple[str, float]] = []
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = client.get(f"/api/v1/explanations/{pk}/status/").json()
        seen.append((status["status"], status["progress"]))
        if status["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert seen[-1] == ("done", 1.0), (seen[-1], Explanation.objects.get(pk=pk).error)
    running = [p for s, p in seen if s == "running"]
    assert any(0 < p < 1 for p in running), seen  # progress while it ran
    assert running == sorted(running)  # and it only went forward

    spec = spec_from_dict(model.input_spec)
    assert spec.clip_seconds == 1.0  # 4 frames, 0.25 s apart
    plans = plan_windows(
        video.frame_timestamps, spec, stride=0.5, duration=video.duration
    )  # the worker's rule: the clip length, stride half of it
    meta = client.get(f"/api/v1/explanations/{pk}/").json()
    windows = meta["windows"]
    assert meta["windowed"] is True and len(windows["spans"]) == len(plans) > 400
    assert windows["spans"] == [pytest.approx([p.start, p.end]) for p in plans]
    assert windows["window"] == 1.0 and windows["stride"] == 0.5
    assert windows["spans"][-1][1] == pytest.approx(video.duration)  # aligned to the end
    assert meta["grid"] == [len(plans) * 4, 4, 4]
    assert len(meta["timestamps"]) == len(meta["temporal"]) == len(plans) * 4
    curve = windows["curve"]
    assert curve["times"][0] == 0.0 and curve["times"][-1] > video.duration - 0.5
    assert np.all(np.diff(curve["times"]) > 0) and min(curve["importance"]) >= 0
    assert len(windows["targets"]) == len(plans)

    payload = client.get(meta["map_url"]).json()
    heat = storage.decode_map(payload)
    assert heat.shape == (len(plans) * 4, 4, 4)
    stored = storage.read_map(Explanation.objects.get(pk=pk).map_file)
    assert np.allclose(heat, stored, atol=payload["scale"])

    # Exports of many windows: the overlay follows the schedule, the strip picks keyframes.
    export_ids = []
    for kind in ("png", "mp4"):
        r = post(client, f"/api/v1/explanations/{pk}/exports/", {"kind": kind})
        assert r.status_code == 202, r.content
        export_ids.append(r.json()["id"])

    def exports_done():
        got = [client.get(f"/api/v1/explanation-exports/{i}/").json() for i in export_ids]
        if any(e["status"] == "failed" for e in got):
            raise AssertionError(got)
        return got if all(e["status"] == "done" for e in got) else None

    png, mp4 = wait_for(exports_done, 120, "exports", worker)
    data = b"".join(client.get(png["download_url"]).streaming_content)
    assert data.startswith(b"\x89PNG")
    data = b"".join(client.get(mp4["download_url"]).streaming_content)
    assert data[4:8] == b"ftyp" and len(data) > 1000


def test_audio_visual_models_refuse_windowed_requests(client, researcher, settings):
    from wherewhen.explanations.models import RegisteredModel

    model = RegisteredModel.objects.create(
        owner=researcher,
        name="av",
        architecture="wherewhen_av",
        checkpoint_dir="/nonexistent",
        labels=["a", "b"],
        input_spec={"num_frames": 4, "image_size": 32, "patch_size": 8, "audio": {"x": 1}},
        fingerprint="0" * 64,
    )
    video = ready_video(researcher, settings.MEDIA_ROOT, title="av")
    client.force_login(researcher)
    r = post(
        client,
        "/api/v1/explanations/",
        {"video": video.pk, "model": model.pk, "method": "staa", "windowed": True},
    )
    assert r.status_code == 400
    assert "windowed" in r.content.decode() and "audio-visual" in r.content.decode()
    assert not Explanation.objects.exists()
