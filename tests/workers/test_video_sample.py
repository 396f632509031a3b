"""Clip sampling for model input: the uniform rule, exact timestamps, windows, seeking, fit."""

from __future__ import annotations

import numpy as np
import pytest

from tests.videofiles import ROTATION_SOURCE
from workers.models.spec import InputSpec
from workers.video import VideoError, read_frame_timestamps, sample_clip, sliding_windows
from workers.video import decode as decode_module
from workers.video.sample import uniform_indices, window_frames, window_starts

SPEC = InputSpec(num_frames=4, image_size=32, patch_size=8)
FORMATS = ["mp4_h264_aac", "mp4_h264", "webm_vp9", "mov_h264", "avi_mjpeg", "vfr", "rotated",
           "odd_dimensions", "unicode_name"]  # fmt: skip


@pytest.fixture(autouse=True)
def _no_frame_cache(monkeypatch):
    """Every call here decodes (the cache of decoded windows is tested on its own)."""
    from workers.video import cache

    monkeypatch.setattr(cache, "_process_cache", cache.FrameCache(0))


def expected_times(times, start=None, end=None, count=4) -> np.ndarray:
    times = np.asarray(times)
    inside = times[(times >= (start if start is not None else -np.inf)) & (times < (end or np.inf))]
    return inside[(np.arange(count) * len(inside)) // count]


def test_uniform_indices_rule():
    assert uniform_indices(32, 8).tolist() == [0, 4, 8, 12, 16, 20, 24, 28]
    assert uniform_indices(10, 4).tolist() == [0, 2, 5, 7]
    assert uniform_indices(3, 8).tolist() == [0, 0, 0, 1, 1, 1, 2, 2]  # short: repeats
    with pytest.raises(VideoError):
        uniform_indices(0, 4)
    with pytest.raises(VideoError):
        uniform_indices(4, 0)


def test_window_frames_half_open():
    stamps = np.array([0.0, 0.1, 0.2, 0.3])
    assert window_frames(stamps, 0.1, 0.3).tolist() == [1, 2]
    assert window_frames(stamps, None, None).tolist() == [0, 1, 2, 3]
    assert window_frames(stamps, 0.35, None).tolist() == []
    # every stride while a window ends before the span does, then one aligned to the end
    assert window_starts(0.0, 1.9, 0.8, 0.5) == pytest.approx([0.0, 0.5, 1.0, 1.1])
    assert window_starts(0.0, 2.0, 1.0, 0.5) == pytest.approx([0.0, 0.5, 1.0])
    assert window_starts(0.0, 0.6, 1.0, 0.5) == [0.0]  # shorter than one window


@pytest.mark.parametrize("name", FORMATS)
def test_sample_clip_every_format(video_files, name):
    fixture = video_files[name]
    clip = sample_clip(fixture.path, SPEC, video_id=name)
    assert clip.frames.shape == (4, 32, 32, 3)
    assert clip.frames.dtype == np.uint8
    assert clip.timestamps.dtype == np.float64
    np.testing.assert_allclose(clip.timestamps, expected_times(fixture.times), atol=1e-6)
    assert clip.source_size == fixture.display_size
    assert clip.video_id == name
    assert clip.frames.std() > 5  # real pictures, not blank frames


def test_window_sampling_lands_on_exact_frames(video_files):
    fixture = video_files["vfr"]
    clip = sample_clip(fixture.path, SPEC, start=0.95, end=2.6)
    np.testing.assert_allclose(clip.timestamps, expected_times(fixture.times, 0.95, 2.6))
    assert clip.timestamps.tolist() == pytest.approx([1.0, 1.5, 2.0, 2.5])
    with pytest.raises(VideoError, match="no frame"):
        sample_clip(fixture.path, SPEC, start=10.0)


def test_more_frames_than_the_window_has_repeats(video_files):
    fixture = video_files["mp4_h264"]
    clip = sample_clip(fixture.path, InputSpec(8, 16, 8), start=0.0, end=0.2)  # 3 frames
    assert clip.timestamps.tolist() == pytest.approx(
        [0] * 3 + [1 / 12] * 3 + [2 / 12] * 2, abs=1e-5
    )
    assert np.array_equal(clip.frames[0], clip.frames[2])


def test_seeking_gives_the_same_frames_as_decoding_from_the_start(video_files, monkeypatch):
    fixture = video_files["vfr"]  # 3 s long: the window starts after SEEK_AFTER_S
    table = read_frame_timestamps(fixture.path).timestamps
    seeking = sample_clip(fixture.path, SPEC, start=2.5, timestamps=table)
    monkeypatch.setattr(decode_module, "SEEK_AFTER_S", 1e9)
    linear = sample_clip(fixture.path, SPEC, start=2.5, timestamps=table)
    assert seeking.timestamps.tolist() == linear.timestamps.tolist()
    assert np.array_equal(seeking.frames, linear.frames)


def test_rotation_is_applied(video_files):
    rotated = video_files["rotated"]
    plain = rotated.path.parent / ROTATION_SOURCE
    upright = sample_clip(rotated.path, InputSpec(2, 48, 8)).frames.astype(float)
    stored = sample_clip(plain, InputSpec(2, 48, 8)).frames
    # The player turns the stored frames a quarter clockwise; so does the sampler.
    error = {k: np.abs(upright - np.rot90(stored, k=k, axes=(1, 2))).mean() for k in range(4)}
    assert min(error, key=error.get) == 3  # k=3: three counter-clockwise turns = one clockwise
    assert error[3] < error[0] / 2


def test_fit_crop_keeps_the_centre(video_files):
    fixture = video_files["mp4_h264_aac"]  # 160x120
    squash = sample_clip(fixture.path, SPEC, fit="squash")
    crop = sample_clip(fixture.path, SPEC, fit="crop")
    assert crop.frames.shape == squash.frames.shape
    assert not np.array_equal(crop.frames, squash.frames)
    assert crop.source_size == (160, 120)
    with pytest.raises(VideoError, match="unknown fit"):
        sample_clip(fixture.path, SPEC, fit="stretch")


def test_a_table_from_another_file_is_detected(video_files):
    wrong = np.arange(50) * 0.0333
    with pytest.raises(VideoError, match="do not match"):
        sample_clip(video_files["mp4_h264"].path, SPEC, timestamps=wrong)


@pytest.mark.parametrize("batch_frames", [256, 3])
def test_sliding_windows_cover_the_video(video_files, batch_frames):
    fixture = video_files["vfr"]
    clips = list(sliding_windows(fixture.path, SPEC, window=1.0, stride=0.75,
                                 batch_frames=batch_frames))  # fmt: skip
    # frames end at 2.95 s (+0.1 s median gap): the last window is aligned to 3.05 s
    starts = [0.0, 0.75, 1.5, 2.05]
    assert len(clips) == len(starts)
    for clip, start in zip(clips, starts, strict=True):
        np.testing.assert_allclose(
            clip.timestamps, expected_times(fixture.times, start, start + 1.0)
        )
        single = sample_clip(fixture.path, SPEC, start=start, end=start + 1.0)
        assert np.array_equal(clip.frames, single.frames)
    assert clips[-1].timestamps[-1] <= fixture.times[-1]
    last = expected_times(fixture.times, 2.05, 3.05)
    assert clips[-1].timestamps[0] == pytest.approx(last[0])  # the last window ends at the end


def test_sliding_windows_arguments(video_files):
    path = video_files["mp4_h264"].path
    with pytest.raises(VideoError):
        list(sliding_windows(path, SPEC, window=0))
    with pytest.raises(VideoError):
        list(sliding_windows(path, SPEC, window=1, stride=-1))
    clips = list(sliding_windows(path, SPEC, window=0.5))  # back to back
    assert [round(c.timestamps[0], 3) for c in clips] == [0.0, 0.5, 1.0]
