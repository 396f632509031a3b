"""Prefetch: while a batch runs, the next queued requests' clips are decoded into the worker's
cache of decoded windows, so the task that claims them decodes nothing."""

from __future__ import annotations

import json

import pytest

from tests.explanations_support import (  # noqa: F401 - fixtures
    fake_broker_fixture,
    ready_video,
    register_tiny_model,
    researcher_fixture,
    tiny_checkpoint_fixture,
)
from wherewhen.explanations.compute import Prefetcher, _frame_table, _video_file
from wherewhen.explanations.models import Explanation
from workers.models.checkpoint_info import spec_from_dict
from workers.serving import load_clip
from workers.video import cache as frame_cache

pytestmark = pytest.mark.django_db(transaction=True)  # the prefetch thread reads committed rows


def test_queued_clips_of_the_same_model_are_decoded_ahead(
    client, researcher, settings, tiny_checkpoint, fake_broker, monkeypatch
):
    cache = frame_cache.FrameCache(64 * 1024 * 1024)
    monkeypatch.setattr(frame_cache, "_process_cache", cache)
    model = register_tiny_model(researcher, tiny_checkpoint)
    spec = spec_from_dict(model.input_spec)
    videos = [ready_video(researcher, settings.MEDIA_ROOT, title=f"v{i}") for i in range(3)]
    client.force_login(researcher)
    ids = []
    for video in videos:
        body = {"video": video.pk, "model": model.pk, "method": "staa"}
        r = client.post("/api/v1/explanations/", json.dumps(body), content_type="application/json")
        ids.append(r.json()["id"])
    decoded: list[int] = []

    def clip_of(row, path, table):
        decoded.append(row.pk)
        return load_clip(path, spec, row.clip_start, row.clip_end, timestamps=table)

    prefetch = Prefetcher(model.pk, [ids[0]], clip_of)  # ids[0] is the batch being computed
    prefetch.start()
    prefetch.join(timeout=60)
    assert decoded == ids[1:] and prefetch.decoded == 2
    assert len(cache) == 2 and cache.stats.misses == 2

    # The task that claims them finds their windows decoded.
    for pk in ids[1:]:
        row = Explanation.objects.select_related("video").get(pk=pk)
        with _video_file(row.video) as path:
            load_clip(str(path), spec, timestamps=_frame_table(row.video))
    assert cache.stats.hits == 2 and cache.stats.misses == 2


def test_stopped_prefetch_decodes_nothing_more(
    client, researcher, settings, tiny_checkpoint, fake_broker
):
    model = register_tiny_model(researcher, tiny_checkpoint)
    video = ready_video(researcher, settings.MEDIA_ROOT, title="queued")
    client.force_login(researcher)
    body = {"video": video.pk, "model": model.pk, "method": "staa"}
    r = client.post("/api/v1/explanations/", json.dumps(body), content_type="application/json")
    assert r.status_code == 202
    decoded: list[int] = []
    prefetch = Prefetcher(model.pk, [], lambda row, *a: decoded.append(row.pk))
    prefetch.stop()  # the batch ended before the prefetch got going
    prefetch.start()
    prefetch.join(timeout=30)
    assert decoded == [] and prefetch.decoded == 0
