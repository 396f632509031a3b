"""Whole-video explanations: the window rule, the overlap rule, the display rule, the driver."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from workers.models.spec import DEFAULT_FRAME_SPACING, InputSpec
from workers.video import plan_windows, read_frame_timestamps, sample_clip
from workers.video.tools import ffmpeg_exe
from workers.windows import (
    display_schedule,
    explain_windows,
    frame_at,
    merge_temporal,
    normalize_window,
)

SPEC = InputSpec(num_frames=8, image_size=64, patch_size=16)


def table(fps: float, seconds: float) -> np.ndarray:
    return np.arange(int(round(fps * seconds))) / fps


# --- The window rule ------------------------------------------------------------------------------


def test_window_is_the_clip_at_the_trained_spacing():
    assert SPEC.clip_seconds == 8 * DEFAULT_FRAME_SPACING == 2.0
    plans = plan_windows(table(16, 10), SPEC, stride=1.0)
    assert [p.start for p in plans] == pytest.approx([0, 1, 2, 3, 4, 5, 6, 7, 8])
    assert all(p.end - p.start == pytest.approx(2.0) for p in plans)
    assert plans[-1].end == pytest.approx(10.0)  # aligned to the end of the last frame
    stamps = table(16, 10)
    for p in plans:  # at the trained rate the picks are exactly the trained spacing apart
        assert np.diff(stamps[p.picks]) == pytest.approx([0.25] * 7)
    covered = np.zeros(len(stamps), dtype=bool)
    for p in plans:
        covered[(stamps >= p.start) & (stamps < p.end)] = True
    assert covered.all()  # every frame lies in some window


def test_window_rule_at_another_rate_and_spacing():
    spec = InputSpec(num_frames=4, image_size=64, patch_size=16, frame_spacing=0.5)
    stamps = table(30, 7.3)
    plans = plan_windows(stamps, spec)  # back to back by default, last one aligned to the end
    assert [round(p.start, 4) for p in plans] == [0.0, 2.0, 4.0, 5.3]
    assert plans[-1].end == pytest.approx(7.3)
    for p in plans:
        gaps = np.diff(stamps[p.picks])
        assert np.all(np.abs(gaps - 0.5) <= 1 / 30 + 1e-9)  # within one source frame
    one = plan_windows(stamps, spec, start=1.0, end=2.5)  # a span shorter than a window
    assert len(one) == 1 and (one[0].start, one[0].end) == pytest.approx((1.0, 2.5))


def test_window_rule_refuses_nonsense():
    from workers.video import VideoError

    with pytest.raises(VideoError):
        plan_windows(table(10, 3), SPEC, window=0)
    with pytest.raises(VideoError):
        plan_windows(table(10, 3), SPEC, stride=-1)
    with pytest.raises(VideoError):
        plan_windows(table(10, 3), SPEC, start=5.0)


# --- The overlap rule ----------------------------------------------------------------------------


def planted(t: np.ndarray, t0: float = 13.3, width: float = 0.2) -> np.ndarray:
    """A baseline of 1 and a brief event (much shorter than half a window) at ``t0``."""
    return 1.0 + 4.0 * np.exp(-0.5 * ((t - t0) / width) ** 2)


def windows_seeing(g, spans, per: int, scales) -> list:
    """Each window reports the planted importance at its frames, scaled its own way (as a
    method that normalizes per clip would)."""
    out = []
    for (a, b), c in zip(spans, scales, strict=True):
        times = a + (b - a) * np.arange(per) / per
        out.append((times, c * g(times), (a, b)))
    return out


def test_a_planted_event_is_recovered_whatever_each_window_scale():
    spans = [(s, s + 2.0) for s in np.arange(0, 19, 1.0)]  # 20 s, stride 1, 2 s windows
    rng = np.random.default_rng(0)
    scales = rng.uniform(0.01, 100, len(spans))
    times, curve = merge_temporal(windows_seeing(planted, spans, 8, scales))
    same_times, unscaled = merge_temporal(windows_seeing(planted, spans, 8, np.ones(len(spans))))
    np.testing.assert_allclose(times, same_times)
    np.testing.assert_allclose(curve, unscaled, rtol=1e-9)  # per-window scale does not matter
    assert times[0] == 0 and times[-1] == pytest.approx(20 - 0.25)
    assert abs(times[np.argmax(curve)] - 13.3) <= 0.25  # the event, to one frame spacing
    above = times[curve > 0.5 * (curve.max() + np.median(curve))]
    assert above.min() > 12.5 and above.max() < 14.1  # and nowhere else
    truth = planted(times)
    assert np.corrcoef(curve, truth)[0, 1] > 0.99
    far = (times < 11) | (times > 16)  # windows that do not see the event: exactly the baseline
    np.testing.assert_allclose(curve[far], 1.0)
    assert curve.max() >= 0.8 * truth.max()  # the event keeps most of its height


def test_overlap_rule_values_by_hand():
    # two windows of 4 frames overlapping on [1, 2): A says [1, 1, 1, 5], B says [2, 2, 2, 2]
    a = (np.array([0.0, 0.5, 1.0, 1.5]), np.array([1.0, 1, 1, 5]), (0.0, 2.0))
    b = (np.array([1.0, 1.5, 2.0, 2.5]), np.array([2.0, 2, 2, 2]), (1.0, 3.0))
    times, curve = merge_temporal([a, b])
    assert times.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5]
    # A / median(A) = [1, 1, 1, 5]; B / median(B) = 1; the overlap [1, 2) is their mean
    assert curve.tolist() == pytest.approx([1.0, 1.0, 1.0, 3.0, 1.0, 1.0])
    sparse = (a[0], np.array([0.0, 0, 0, 8]), a[2])  # median 0: divided by the mean (2)
    assert merge_temporal([sparse])[1].tolist() == pytest.approx([0, 0, 0, 4])
    flat = [(t, np.full(4, 3.0), s) for t, _v, s in (a, b)]
    assert merge_temporal(flat)[1] == pytest.approx(np.ones(6))  # constant -> 1 everywhere
    assert normalize_window(np.zeros(3)).tolist() == [0, 0, 0]  # no importance -> zeros


# --- Which map shows when -------------------------------------------------------------------------


def test_the_map_shown_is_from_the_window_centred_nearest():
    spans = [(0.0, 2.0), (1.0, 3.0), (2.0, 4.0)]
    frames = [a + 0.25 * np.arange(8) for a, _b in spans]
    times, rows = display_schedule(spans, frames)
    assert np.all(np.diff(times) > 0)
    assert frame_at(times, rows, 0.0) == 0
    assert frame_at(times, rows, 1.4) == 5  # window 0 (centre 1.0), frame at 1.25
    assert frame_at(times, rows, 1.6) == 8 + 2  # window 1 (centre 2.0), frame at 1.5
    assert frame_at(times, rows, 2.6) == 16 + 2  # window 2, frame at 2.5
    assert frame_at(times, rows, 9.0) == 23  # after the end: the last frame


# --- The driver, with the bundled model -----------------------------------------------------------


@pytest.fixture(scope="module")
def long_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("whole") / "long.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi",
         "-i", "testsrc2=size=160x120:rate=16:duration=7", "-c:v", "libx264",
         "-pix_fmt", "yuv420p", "-g", "16", str(path)],
        check=True,
    )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def bundled():
    from workers.models.loader import bundled_model_path, load_model

    return load_model(bundled_model_path())


def test_explain_windows_matches_window_by_window(tmp_path, long_video, bundled):
    from workers.engine import explain

    seen = []
    result = explain_windows(
        bundled, long_video, "staa", tmp_path / "map.npy", target=1, batch_windows=3,
        on_progress=seen.append,
    )  # fmt: skip
    heat = np.load(tmp_path / "map.npy")
    assert [s for s, _e in result.spans] == pytest.approx([0, 1, 2, 3, 4, 5])  # stride 1 s
    assert heat.shape == result.grid == (6 * 8, 4, 4)
    assert seen[0].done == 6 and seen[0].fraction == 0.99  # counted window by window
    assert result.targets == [1] * 6 and result.target == 1
    stamps = read_frame_timestamps(long_video).timestamps
    for w, (start, end) in enumerate(result.spans):
        clip = sample_clip(long_video, bundled.spec, start, end, timestamps=stamps)
        (one,) = explain(bundled, clip, "staa", target=1)
        np.testing.assert_allclose(heat[w * 8 : (w + 1) * 8], one.map, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(result.timestamps[w * 8 : (w + 1) * 8], one.timestamps)
    # the per-row temporal is the whole curve at each row's time
    rows = np.searchsorted(result.curve_times, np.round(result.timestamps, 6))
    np.testing.assert_allclose(result.temporal, result.curve[rows])
    assert result.value_range == pytest.approx((heat.min(), heat.max()))


def test_many_frames_decode_in_one_call(long_video):
    """More frames than one ffmpeg ``select`` expression takes (about 100) in one call."""
    from workers.video.decode import SELECT_MAX_FRAMES, decode_frames

    stamps = read_frame_timestamps(long_video).timestamps
    assert len(stamps) > SELECT_MAX_FRAMES
    every, _size = decode_frames(long_video, stamps, np.arange(len(stamps)), 32)
    tail, _size = decode_frames(long_video, stamps, np.arange(50, len(stamps)), 32)
    assert every.shape == (len(stamps), 32, 32, 3)
    assert np.array_equal(every[50:], tail)
