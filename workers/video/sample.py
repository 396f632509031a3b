"""Clip sampling for model input: T frames of a window, resized to a model's input size.

Sampling rule (the same as :func:`workers.synthetic.sample_indices`, which the bundled model was
trained with): a window holds the N decoded frames whose presentation time ``t`` satisfies
``start <= t < end``; clip frame ``i`` (of T) is window frame ``floor(i * N / T)``. The first
clip frame is therefore the window's first frame, and the clip spreads evenly over the window's
*frames* (so over time too when the frame rate is constant). A window with fewer than T frames
repeats frames rather than failing.

Timestamps are never computed from a frame rate: they are the presentation times of the
frames actually decoded (:func:`workers.video.probe.read_frame_timestamps`), so variable frame
rates, start offsets and rotation are handled the same way everywhere. Passing the frame table
stored at ingest (``timestamps=video.frame_timestamps``) skips one decode pass.

Resizing (``fit``; by default the model's own, :attr:`InputSpec.fit`): ``"squash"`` scales the
whole display frame to S x S by area averaging, so the model sees everything and a token-grid
cell maps onto a fixed rectangle of the source frame (the pointing-game convention);
``"processor"`` applies the checkpoint's own image-processor rule (``spec.preprocessing``:
short-side resize, centre crop, with transformers' PIL filters, see
:mod:`workers.video.processor`) to the frames decoded at display size, so the model sees the
pixels it was trained on; ``"crop"`` scales the short side to S by area averaging and keeps the
centre S x S. ``Clip.source_size`` is always the display size of the source frame in square
pixels, rotation applied, and ``Clip.view`` the rectangle of it that the clip shows, in source
pixels: the whole frame for the squash, the centre part when cropping. Source pixels outside
the view were not seen by the model.

Sound (audio-visual models, ``spec.audio`` set): ``Clip.audio`` is the window's sound, exactly
``spec.audio.num_samples`` mono samples at ``spec.audio.sample_rate``, time-stretched (pitch
preserved) when the window is not ``spec.audio.duration`` long; ``Clip.audio_span`` is the
window ``(start, end)`` in source seconds (an open start is the first frame's time, an open end
the last frame's time plus the median frame interval). See :mod:`workers.video.audio`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workers.models.spec import InputSpec
from workers.types import Clip
from workers.video.audio import NoAudioError, sample_audio
from workers.video.decode import FIT_MODES, decode_frames
from workers.video.errors import VideoError
from workers.video.probe import read_frame_timestamps as _read_table


def resolve_fit(spec: InputSpec, fit: str | None) -> str:
    """``fit``, or the model's own (:attr:`InputSpec.fit`) when None."""
    fit = spec.fit if fit is None else fit
    if fit not in FIT_MODES or fit == "source":
        raise VideoError(f"unknown fit {fit!r}; use one of squash, crop, processor")
    if fit == "processor" and spec.preprocessing is None:
        raise VideoError("fit 'processor' needs a model with its own preprocessing rule")
    return fit


def clip_view(
    spec: InputSpec, fit: str, source_size: tuple[int, int]
) -> tuple[float, float, float, float]:
    """The source rectangle ``(x0, y0, x1, y1)`` a clip made with ``fit`` shows."""
    width, height = int(source_size[0]), int(source_size[1])
    if fit == "processor":
        assert spec.preprocessing is not None
        return spec.preprocessing.view(width, height)
    if fit == "crop":  # ffmpeg: short side to S (rounded), then the centre S x S
        s = spec.image_size
        if width >= height:
            rw = max(s, int(round(s * width / height)))
            left = (rw - s) // 2
            return (left * width / rw, 0.0, (left + s) * width / rw, float(height))
        rh = max(s, int(round(s * height / width)))
        top = (rh - s) // 2
        return (0.0, top * height / rh, float(width), (top + s) * height / rh)
    return (0.0, 0.0, float(width), float(height))


def uniform_indices(num_frames: int, count: int) -> np.ndarray:
    """``floor(i * N / T)`` for i in 0..T-1: T evenly spread picks among N frames."""
    if count < 1:
        raise VideoError(f"a clip needs at least one frame, got T={count}")
    if num_frames < 1:
        raise VideoError("there are no frames to sample from")
    return (np.arange(count, dtype=np.int64) * num_frames) // count


def window_frames(timestamps: np.ndarray, start: float | None, end: float | None) -> np.ndarray:
    """Indices of the frames with ``start <= t < end`` (open ends when None)."""
    stamps = np.asarray(timestamps, dtype=np.float64)
    lo = 0 if start is None else int(np.searchsorted(stamps, start, side="left"))
    hi = len(stamps) if end is None else int(np.searchsorted(stamps, end, side="left"))
    return np.arange(lo, max(lo, hi))


def _table(path: Path, timestamps: Sequence[float] | np.ndarray | None) -> np.ndarray:
    if timestamps is None:
        return _read_table(path, strict=False).timestamps
    stamps = np.asarray(timestamps, dtype=np.float64)
    if stamps.ndim != 1 or len(stamps) == 0:
        raise VideoError("the frame timestamp table is empty")
    return stamps


def sample_clip(
    path: str | Path,
    spec: InputSpec,
    start: float | None = None,
    end: float | None = None,
    *,
    timestamps: Sequence[float] | np.ndarray | None = None,
    duration: float | None = None,
    fit: str | None = None,
    video_id: str | None = None,
) -> Clip:
    """``spec.num_frames`` frames sampled uniformly from ``[start, end)`` of ``path``.

    Returns a :class:`~workers.types.Clip`: frames ``(T, S, S, 3)`` uint8 RGB with
    ``S = spec.image_size``, their exact source presentation times (seconds), the source
    frame's display size ``(W, H)`` and the source rectangle the frames show (``view``).
    ``fit`` defaults to the model's own (:attr:`InputSpec.fit`).
    """
    path = Path(path)
    fit = resolve_fit(spec, fit)
    table = _table(path, timestamps)
    in_window = window_frames(table, start, end)
    if len(in_window) == 0:
        raise VideoError(
            f"no frame of {path.name} lies in the window [{start}, {end}) "
            f"(the video's frames span {table[0]:.3f}..{table[-1]:.3f} s)"
        )
    picks = in_window[uniform_indices(len(in_window), spec.num_frames)]
    frames, source_size = decode_frames(
        path, table, picks, spec.image_size, fit=fit, preprocessing=spec.preprocessing
    )
    clip = Clip(
        frames=frames,
        timestamps=table[picks].copy(),
        source_size=source_size,
        video_id=video_id,
        view=clip_view(spec, fit, source_size),
    )
    if spec.audio is not None:
        add_audio(clip, path, spec, window_span(table, start, end, duration))
    return clip


def window_span(
    timestamps: np.ndarray,
    start: float | None,
    end: float | None,
    duration: float | None = None,
) -> tuple[float, float]:
    """The window ``[start, end)`` in seconds, open ends closed on the frame table: the first
    frame's time, and the end of the last frame (``duration``, the video's exact length from
    its frame table, when known; else the last frame's time plus the median frame interval)."""
    stamps = np.asarray(timestamps, dtype=np.float64)
    lo = float(stamps[0]) if start is None else float(start)
    if end is not None:
        return lo, float(end)
    if duration is not None and duration > float(stamps[-1]):
        return lo, float(duration)
    gap = float(np.median(np.diff(stamps))) if len(stamps) > 1 else 0.04
    return lo, float(stamps[-1]) + (gap if gap > 0 else 0.04)


def add_audio(clip: Clip, path: Path, spec: InputSpec, span: tuple[float, float]) -> Clip:
    """Fill ``clip.audio`` / ``clip.audio_span`` with the sound of ``span`` (audio-visual
    models); a file without an audio track raises :class:`NoAudioError`."""
    assert spec.audio is not None
    try:
        clip.audio, clip.audio_span = sample_audio(path, spec.audio, *span)
    except NoAudioError as exc:
        raise NoAudioError(
            f"video {clip.video_id or path.name} has no audio track; this model is "
            "audio-visual and needs sound"
        ) from exc
    return clip


def window_starts(first: float, span_end: float, window: float, stride: float) -> list[float]:
    """Start times of the sliding windows over the span ``[first, span_end)``.

    The rule: a window is ``window`` seconds long; windows start at ``first`` and every
    ``stride`` seconds after it while they end before ``span_end``; the last window is aligned
    to the end (it starts at ``span_end - window``), so every window is a full clip long and the
    last one ends where the span ends. A span no longer than one window is one window.
    """
    if window <= 0 or stride <= 0:
        raise VideoError(f"window and stride must be longer than 0 s, got {window}, {stride}")
    last = span_end - window
    if last <= first + 1e-9:
        return [float(first)]
    starts: list[float] = []
    k = 0
    while first + k * stride < last - 1e-9:
        starts.append(float(first + k * stride))
        k += 1
    starts.append(float(last))
    return starts


@dataclass(frozen=True)
class WindowPlan:
    """One sliding window: ``[start, end)`` in source seconds and the frame indices (in the
    frame table) its clip samples by the uniform rule."""

    start: float
    end: float
    picks: np.ndarray


def plan_windows(
    timestamps: Sequence[float] | np.ndarray,
    spec: InputSpec,
    window: float | None = None,
    stride: float | None = None,
    *,
    start: float | None = None,
    end: float | None = None,
    duration: float | None = None,
) -> list[WindowPlan]:
    """The sliding windows over ``[start, end)`` (the whole video when both are None).

    ``window`` defaults to the model's clip length at its trained frame spacing
    (:attr:`InputSpec.clip_seconds`), ``stride`` to ``window`` (back to back). Start times
    follow :func:`window_starts`; each window samples ``spec.num_frames`` of its frames by the
    uniform rule, so at the trained frame rate the picks are the trained spacing apart.
    Windows without a frame (a gap in a variable-rate file) are left out.
    """
    window = spec.clip_seconds if window is None else float(window)
    if window <= 0:
        raise VideoError(f"the window must be longer than 0 s, got {window}")
    stride = window if stride is None else float(stride)
    if stride <= 0:
        raise VideoError(f"the stride must be longer than 0 s, got {stride}")
    table = np.asarray(timestamps, dtype=np.float64)
    region = window_frames(table, start, end)
    if len(region) == 0:
        raise VideoError(f"no frame lies between {start} and {end}")
    first = float(table[region[0]]) if start is None else float(start)
    video_end = window_span(table, None, None, duration)[1]
    span_end = video_end if end is None else min(float(end), video_end)
    plans = []
    for window_start in window_starts(first, span_end, window, stride):
        window_end = min(window_start + window, span_end)
        frames = window_frames(table, window_start, window_end)
        if len(frames):
            picks = frames[uniform_indices(len(frames), spec.num_frames)]
            plans.append(WindowPlan(float(window_start), float(window_end), picks))
    return plans


def sliding_windows(
    path: str | Path,
    spec: InputSpec,
    window: float | None = None,
    stride: float | None = None,
    *,
    start: float | None = None,
    end: float | None = None,
    duration: float | None = None,
    timestamps: Sequence[float] | np.ndarray | None = None,
    fit: str | None = None,
    video_id: str | None = None,
    batch_frames: int = 256,
) -> Iterator[Clip]:
    """Clips of the sliding windows of :func:`plan_windows` (default: the model's clip length,
    back to back), in time order.

    Every frame of the span falls in some window; each clip samples its window by the uniform
    rule. Frames are decoded in batches of about ``batch_frames`` (one seek per batch), so long
    videos stream through in bounded memory.
    """
    path = Path(path)
    table = _table(path, timestamps)
    plans = plan_windows(table, spec, window, stride, start=start, end=end, duration=duration)
    yield from window_clips(
        path, table, plans, spec, fit=fit, video_id=video_id, batch_frames=batch_frames
    )


def window_clips(
    path: str | Path,
    timestamps: Sequence[float] | np.ndarray,
    plans: Sequence[WindowPlan],
    spec: InputSpec,
    *,
    fit: str | None = None,
    video_id: str | None = None,
    batch_frames: int = 256,
) -> Iterator[Clip]:
    """The clip of every window in ``plans``, decoding about ``batch_frames`` frames at a time
    (only the frames the windows pick; never the whole video at once)."""
    fit = resolve_fit(spec, fit)
    path = Path(path)
    table = np.asarray(timestamps, dtype=np.float64)
    batch: list[np.ndarray] = []
    batch_spans: list[tuple[float, float]] = []
    for plan in plans:
        batch.append(plan.picks)
        batch_spans.append((plan.start, plan.end))
        if sum(len(p) for p in batch) >= batch_frames:
            yield from _decode_batch(path, table, batch, spec, fit, video_id, batch_spans)
            batch, batch_spans = [], []
    if batch:
        yield from _decode_batch(path, table, batch, spec, fit, video_id, batch_spans)


def _decode_batch(
    path: Path,
    table: np.ndarray,
    plans: list[np.ndarray],
    spec: InputSpec,
    fit: str,
    video_id: str | None,
    spans: list[tuple[float, float]],
) -> Iterator[Clip]:
    wanted = np.unique(np.concatenate(plans))
    frames, source_size = decode_frames(
        path, table, wanted, spec.image_size, fit=fit, preprocessing=spec.preprocessing
    )
    view = clip_view(spec, fit, source_size)
    position = {int(index): row for row, index in enumerate(wanted)}
    for plan, span in zip(plans, spans, strict=True):
        rows = [position[int(i)] for i in plan]
        clip = Clip(
            frames=frames[rows],
            timestamps=table[plan].copy(),
            source_size=source_size,
            video_id=video_id,
            view=view,
        )
        if spec.audio is not None:
            add_audio(clip, path, spec, span)
        yield clip
