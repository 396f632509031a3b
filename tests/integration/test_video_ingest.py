"""Uploads processed end to end by a real Celery worker on the ``media`` queue."""

from __future__ import annotations

import time

import numpy as np
import pytest
from django.db import close_old_connections

from tests.platform.videohelpers import client_for, make_user, upload
from wherewhen.core import media
from wherewhen.videos.models import Video
from workers.models.spec import InputSpec
from workers.video import sample_clip

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def wait_until_settled(ids: list[int], worker, deadline_s: float = 120.0) -> dict[int, Video]:
    start = time.monotonic()
    while time.monotonic() - start < deadline_s:
        close_old_connections()
        videos = {v.pk: v for v in Video.objects.filter(pk__in=ids)}
        if all(v.status in (Video.Status.READY, Video.Status.FAILED) for v in videos.values()):
            return videos
        time.sleep(0.5)
    raise AssertionError(f"videos not processed in {deadline_s} s:\n{worker.output()}")


def test_media_worker_processes_uploads(start_worker, video_files, bad_video_files):
    worker = start_worker(queues="media")
    rita = make_user("rita")
    client = client_for(rita)
    fixture = video_files["vfr"]
    good = upload(client, fixture.path)
    cut = upload(client, bad_video_files["truncated"])
    assert (good.status_code, cut.status_code) == (201, 201)
    videos = wait_until_settled([good.json()["id"], cut.json()["id"]], worker)

    ready = videos[good.json()["id"]]
    assert ready.status == Video.Status.READY, ready.error
    assert ready.variable_frame_rate
    np.testing.assert_allclose(ready.frame_timestamps, fixture.times, atol=1.5e-3)
    detail = client.get(f"/api/v1/videos/{ready.pk}/").json()
    assert detail["status"] == "ready" and detail["progress"] == 1.0
    part = client.get(detail["stream_url"], HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert (
        b"".join(part.streaming_content)
        == (media.local_path(ready.playback.name).read_bytes()[100:200])
    )
    clip = sample_clip(
        media.local_path(ready.playback.name),
        InputSpec(num_frames=8, image_size=32, patch_size=8),
        timestamps=ready.frame_timestamps,
    )
    picks = (np.arange(8) * fixture.frame_count) // 8
    np.testing.assert_allclose(clip.timestamps, np.asarray(fixture.times)[picks], atol=1.5e-3)

    failed = videos[cut.json()["id"]]
    assert failed.status == Video.Status.FAILED
    assert "truncated" in failed.error
