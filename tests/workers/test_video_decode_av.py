"""In-process decoding (PyAV) against the ffmpeg command, and the cache of decoded windows."""

from __future__ import annotations

import numpy as np
import pytest

from tests.videofiles import _ffmpeg, _src
from workers.models.spec import InputSpec, Preprocessing
from workers.video import cache as frame_cache
from workers.video import decode as decode_module
from workers.video import decode_av, read_frame_timestamps, sample_clip

pytestmark = pytest.mark.skipif(not decode_av.available(), reason="PyAV is not installed")

SPEC = InputSpec(num_frames=8, image_size=32, patch_size=8)
SQUARE = ["mp4_h264_aac", "mp4_h264", "webm_vp9", "mov_h264", "avi_mjpeg", "vfr",
          "odd_dimensions", "unicode_name"]  # fmt: skip


@pytest.fixture(scope="module")
def anamorphic(tmp_path_factory):
    """Stored 120x96 with 4:3 pixels (shown 160x96), 25 fps, 4 s: seeks happen past 2 s."""
    path = tmp_path_factory.mktemp("sar") / "anamorphic.mp4"
    _ffmpeg(*_src("120x96", 25, 4), "-vf", "setsar=4/3", "-c:v", "libx264", "-g", "12",
            "-pix_fmt", "yuv420p", str(path))  # fmt: skip
    return path


@pytest.fixture(autouse=True)
def _no_frame_cache(monkeypatch):
    monkeypatch.setattr(frame_cache, "_process_cache", frame_cache.FrameCache(0))


def both(path, table, wanted, size, fit, seek=None):
    reference = decode_module._decode(path, table, wanted, size, fit, seek)
    in_process = decode_av.decode_wanted(path, table, wanted, size, fit, seek)
    assert reference is not None and in_process is not None
    return reference, in_process


@pytest.mark.parametrize("fit", ["squash", "crop", "source"])
@pytest.mark.parametrize("name", SQUARE)
def test_same_pixels_as_the_ffmpeg_command(video_files, name, fit):
    path = video_files[name].path
    table = read_frame_timestamps(path).timestamps
    wanted = np.arange(0, len(table), 3)
    (ref, ref_size), (got, got_size) = both(path, table, wanted, 32, fit)
    assert got_size == ref_size == video_files[name].display_size
    assert got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("fit", ["squash", "crop", "source"])
def test_non_square_pixels_and_seeking(anamorphic, fit):
    table = read_frame_timestamps(anamorphic).timestamps
    wanted = np.array([55, 60, 61, 70, 99])  # from 2.2 s: both paths seek
    seek = float(table[55] - (table[55] - table[54]) / 2)
    (ref, ref_size), (got, got_size) = both(anamorphic, table, wanted, 32, fit, seek)
    assert got_size == ref_size == (160, 96)
    np.testing.assert_array_equal(got, ref)
    # Seeking lands on the same frames as decoding from the start.
    linear = decode_av.decode_wanted(anamorphic, table, wanted, 32, fit, None)
    assert linear is not None
    np.testing.assert_array_equal(linear[0], got)


@pytest.mark.parametrize("window", [(None, None), (0.95, 2.6), (2.5, None)])
def test_sample_clip_same_frames_and_times_either_way(video_files, monkeypatch, window):
    path = video_files["vfr"].path  # variable frame rate
    table = read_frame_timestamps(path).timestamps
    monkeypatch.setattr(decode_module, "DECODER", "av")
    calls = []
    real = decode_av.decode_wanted
    monkeypatch.setattr(decode_av, "decode_wanted", lambda *a: calls.append(a) or real(*a))
    av_clip = sample_clip(path, SPEC, *window, timestamps=table)
    assert calls, "the in-process decoder was not used"
    monkeypatch.setattr(decode_module, "DECODER", "ffmpeg")
    ff_clip = sample_clip(path, SPEC, *window, timestamps=table)
    np.testing.assert_array_equal(av_clip.frames, ff_clip.frames)
    np.testing.assert_array_equal(av_clip.timestamps, ff_clip.timestamps)
    assert av_clip.source_size == ff_clip.source_size and av_clip.view == ff_clip.view


def test_processor_fit_same_either_way(anamorphic, monkeypatch):
    prep = Preprocessing(do_resize=True, shortest_edge=40, crop=(32, 32))
    spec = InputSpec(num_frames=4, image_size=32, patch_size=8, preprocessing=prep)
    monkeypatch.setattr(decode_module, "DECODER", "av")
    a = sample_clip(anamorphic, spec, 1.0, 3.0)
    monkeypatch.setattr(decode_module, "DECODER", "ffmpeg")
    b = sample_clip(anamorphic, spec, 1.0, 3.0)
    np.testing.assert_array_equal(a.frames, b.frames)
    np.testing.assert_array_equal(a.timestamps, b.timestamps)


def test_rotated_and_foreign_tables_go_to_the_command(video_files):
    rotated = video_files["rotated"].path
    table = read_frame_timestamps(rotated).timestamps
    assert decode_av.decode_wanted(rotated, table, np.arange(3), 32, "squash", None) is None
    other = video_files["mp4_h264"].path  # 12 fps; the table of a 10 fps file matches no frame
    assert decode_av.decode_wanted(other, table, np.arange(3), 32, "squash", None) is None


# --- The cache of decoded windows ---------------------------------------------------------------


def test_cache_is_bounded_by_bytes_and_evicts_the_least_recent():
    cache = frame_cache.FrameCache(max_bytes=3000)
    blocks = {k: np.full((1000,), i, dtype=np.uint8) for i, k in enumerate("abcd")}
    for k in "abc":
        assert cache.put(k, blocks[k], (1, 1))
    assert cache.nbytes == 3000 and len(cache) == 3
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("d", blocks["d"], (1, 1))
    assert "b" not in cache and {"a", "c", "d"} <= set(cache._entries)
    assert cache.nbytes == 3000 and cache.stats.evictions == 1
    assert not cache.put("huge", np.zeros(3001, dtype=np.uint8), (1, 1))
    assert "huge" not in cache and cache.nbytes == 3000
    frames, _size = cache.get("a")
    with pytest.raises(ValueError):
        frames[0] = 1  # entries are read-only


def test_sample_clip_uses_the_cache_and_notices_a_replaced_file(video_files, tmp_path, monkeypatch):
    cache = frame_cache.FrameCache(10 * 1024 * 1024)
    monkeypatch.setattr(frame_cache, "_process_cache", cache)
    path = tmp_path / "clip.mp4"
    path.write_bytes(video_files["mp4_h264"].path.read_bytes())
    first = sample_clip(path, SPEC)
    assert cache.stats.misses == 1 and len(cache) == 1
    again = sample_clip(path, SPEC)
    assert cache.stats.hits == 1
    np.testing.assert_array_equal(first.frames, again.frames)
    again.frames[0] = 0  # the caller's copy, not the cache's
    np.testing.assert_array_equal(sample_clip(path, SPEC).frames, first.frames)
    # Another file at the same path (new size and time): decoded again, other pixels.
    path.write_bytes(video_files["mov_h264"].path.read_bytes())
    replaced = sample_clip(path, SPEC)
    assert cache.stats.misses == 2
    assert not np.array_equal(replaced.frames, first.frames)
