"""workers.serving: the per-process model cache, devices, clips, batches and pass counting."""

from __future__ import annotations

import numpy as np
import pytest

from tests.explanations_support import make_video_file, write_tiny_checkpoint
from workers.models.spec import InputSpec
from workers.serving import (
    ClipError,
    ModelCache,
    PassCounter,
    expected_passes,
    explain_batch,
    group_batches,
    load_clip,
    resolve_device,
)

SPEC = InputSpec(num_frames=4, image_size=32, patch_size=8)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return write_tiny_checkpoint(tmp_path_factory.mktemp("m") / "tiny")


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return make_video_file(tmp_path_factory.mktemp("v") / "clip.mp4", seconds=2.0, fps=8)


def test_cache_is_a_bounded_lru():
    loads = []

    def loader(path, device):
        loads.append(path)
        return object()

    cache = ModelCache(max_models=2, loader=loader)
    a = cache.get("/m/a", "fa", "cpu")
    assert cache.get("/m/a", "fa", "cpu") is a  # warm: no second load
    cache.get("/m/b", "fb", "cpu")
    cache.get("/m/a", "fa", "cpu")  # a is now the most recently used
    cache.get("/m/c", "fc", "cpu")  # evicts b, the least recently used
    assert [k[0] for k in cache.entries()] == ["/m/a", "/m/c"]
    cache.get("/m/b", "fb", "cpu")
    assert loads == ["/m/a", "/m/b", "/m/c", "/m/b"]
    assert (cache.stats.hits, cache.stats.misses, cache.stats.evictions) == (2, 4, 2)
    assert len(cache) == 2
    # A replaced checkpoint (new fingerprint) or another device is another entry.
    cache.get("/m/b", "fb2", "cpu")
    assert loads[-1] == "/m/b"
    with pytest.raises(ValueError):
        ModelCache(max_models=0)


def test_cache_size_from_the_environment(monkeypatch):
    monkeypatch.setenv("WHEREWHEN_MODEL_CACHE_SIZE", "3")
    assert ModelCache(loader=lambda p, d: object()).max_models == 3


def test_cache_loads_real_checkpoints(tiny_dir):
    cache = ModelCache(max_models=1)
    loaded = cache.get(str(tiny_dir), "f", "cpu")
    assert loaded.labels == ["red", "green", "blue", "yellow"] and loaded.spec == SPEC
    assert cache.get(str(tiny_dir), "f", "cpu") is loaded


def test_device_preference_and_override(monkeypatch):
    import torch

    monkeypatch.delenv("WHEREWHEN_DEVICE", raising=False)
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        assert resolve_device("cuda") == "cpu"  # falls back with a warning
    monkeypatch.setenv("WHEREWHEN_DEVICE", "cpu")
    assert resolve_device("cuda") == "cpu"


def test_load_clip_whole_video_and_window(video):
    clip = load_clip(video, SPEC)
    assert clip.frames.shape == (4, 32, 32, 3) and clip.frames.dtype == np.uint8
    assert clip.source_size == (64, 48)
    assert np.allclose(clip.timestamps, [0.0, 0.5, 1.0, 1.5])
    window = load_clip(video, SPEC, 1.0, 2.0, video_id="v1")
    assert np.allclose(window.timestamps, [1.0, 1.25, 1.5, 1.75]) and window.video_id == "v1"
    table = [i / 8 for i in range(16)]
    assert np.allclose(load_clip(video, SPEC, timestamps=table).timestamps, clip.timestamps)


def test_load_clip_errors_are_clip_errors(video, tmp_path):
    with pytest.raises(ClipError, match="missing"):
        load_clip(tmp_path / "nope.mp4", SPEC)
    with pytest.raises(ClipError, match="window"):
        load_clip(video, SPEC, 50.0, 60.0)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"definitely not a video")
    with pytest.raises(ClipError):
        load_clip(junk, SPEC)


def test_group_batches_keeps_order_and_bounds():
    items = [("m1", 1), ("m2", 2), ("m1", 3), ("m1", 4), ("m2", 5)]
    batches = group_batches(items, key=lambda x: x[0], max_size=2)
    assert batches == [[("m1", 1), ("m1", 3)], [("m1", 4)], [("m2", 2), ("m2", 5)]]
    with pytest.raises(ValueError):
        group_batches(items, key=lambda x: x[0], max_size=0)


def test_pass_counter_matches_the_engine_counts(tiny_dir, video):
    from workers.models.loader import load_model

    loaded = load_model(tiny_dir)
    clips = [load_clip(video, SPEC), load_clip(video, SPEC, 0.5, 2.0)]
    counters = []
    for method, params in [("staa", {}), ("rise", {"n_masks": 24, "batch_size": 8}),
                           ("lime", {"n_samples": 20, "batch_size": 8})]:  # fmt: skip
        from workers.engine import method_defaults

        full = {**method_defaults(method), **params}
        results = explain_batch(loaded, clips, method, None, full, counters.append)
        counter = counters[-1]
        assert len(results) == 2 and results[0].map.shape == (4, 4, 4)
        assert counter.seen == results[0].cost.forward_passes * len(clips), method
        assert counter.expected == expected_passes(method, full, SPEC) * len(clips)
        assert counter.seen <= counter.expected + len(clips)
        assert counter.fraction <= 0.99
    assert loaded.model._forward_hooks == {}  # the hook is removed afterwards


def test_expected_passes():
    assert expected_passes("staa", {}, SPEC) == 1
    assert expected_passes("integrated_gradients", {"n_steps": 10}, SPEC) == 11
    assert expected_passes("kernel_shap", {"n_samples": 300}, SPEC) == 301
    occl = {"window_cells": 2, "stride_cells": 1, "tube_frames": 2}
    assert expected_passes("occlusion", occl, SPEC) == 2 * 3 * 3 + 1


def test_pass_counter_without_expectation_is_capped():
    counter = PassCounter(model=None, expected=0)
    counter.seen = 10
    assert counter.fraction == 0.99
