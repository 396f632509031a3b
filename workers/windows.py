"""Whole-video explanations: a span longer than one clip, explained window by window.

A request over the whole video (or any span longer than one clip) is cut into sliding windows
(:func:`workers.video.plan_windows`: the model's clip length at its trained frame spacing, a
stride, the last window aligned to the end). Each window is one ordinary clip explanation. This
module holds the three rules that turn those explanations into one result, and the driver:

* **Maps**: one map per window frame, stacked in window order into one ``(W * T', h, w)``
  array (window ``w``'s frames are rows ``w * T' .. (w + 1) * T' - 1``), written to a ``.npy``
  file window by window (a memory map: the whole stack is never held in memory).
* **The curve** (:func:`merge_temporal`, the overlap rule): each window's temporal importance
  is divided by its mean over the window's frames (a window's curve then says "how many times
  more important than average *for this window*", whatever scale the method gives it), turned
  into a function of time by linear interpolation between its frame times (held flat before
  its first and after its last frame, inside the window), and the curve at a time ``t`` is the
  mean of the windows whose span ``[start, end)`` contains ``t``. It is sampled at every frame
  time of every window. A window whose importance is all zero contributes zeros.
* **Which map shows at time t** (:func:`display_schedule`): the window whose centre is nearest
  ``t`` (ties: the earlier), and in it the last frame whose time is ``<= t`` (its first frame
  before that). The rule is a step function, stored as change points ``(time, map row)``, so
  a reader (the review player, the overlay export) looks up "the last change point ``<= t``".

No Django here; torch only inside :func:`explain_windows` (through the engine).
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workers.types import Cost, Prediction

#: Windows explained per ``explain()`` call (and decoded ahead of it).
BATCH_WINDOWS = 8


def normalize_window(values: np.ndarray) -> np.ndarray:
    """A window's temporal importance divided by its typical level: the median over its frames
    (the mean when the median is 0; zeros when both are 0 or the values are not finite)."""
    v = np.asarray(values, dtype=np.float64)
    if not v.size or not np.all(np.isfinite(v)):
        return np.zeros_like(v)
    for level in (float(np.median(v)), float(v.mean())):
        if level > 0:
            return v / level
    return np.zeros_like(v)


class CurveMerger:
    """The overlap rule (see the module docstring), fed one window at a time.

    Memory is a few floats per window frame: the windows' normalized curves are kept, the
    maps are not.
    """

    def __init__(self) -> None:
        self.times: list[np.ndarray] = []
        self.values: list[np.ndarray] = []
        self.spans: list[tuple[float, float]] = []

    def add(self, times: Sequence[float], values: Sequence[float], span: tuple[float, float]):
        t = np.asarray(times, dtype=np.float64)
        v = np.asarray(values, dtype=np.float64)
        if t.shape != v.shape or t.ndim != 1 or not len(t):
            raise ValueError("a window needs as many importances as frame times (at least one)")
        order = np.argsort(t, kind="stable")
        self.times.append(t[order])
        self.values.append(normalize_window(v)[order])
        self.spans.append((float(span[0]), float(span[1])))

    def curve(self) -> tuple[np.ndarray, np.ndarray]:
        """``(times, importance)`` sampled at every distinct frame time of every window."""
        if not self.times:
            return np.zeros(0), np.zeros(0)
        grid = np.unique(np.round(np.concatenate(self.times), 6))
        total = np.zeros_like(grid)
        count = np.zeros_like(grid)
        for t, v, (start, end) in zip(self.times, self.values, self.spans, strict=True):
            inside = (grid >= start - 1e-6) & (grid < end - 1e-9)
            total[inside] += np.interp(grid[inside], t, v)
            count[inside] += 1
        return grid, total / np.maximum(count, 1)


def merge_temporal(
    windows: Sequence[tuple[Sequence[float], Sequence[float], tuple[float, float]]],
) -> tuple[np.ndarray, np.ndarray]:
    """The whole-span curve of ``(frame times, importance, (start, end))`` per window."""
    merger = CurveMerger()
    for times, values, span in windows:
        merger.add(times, values, span)
    return merger.curve()


def display_schedule(
    spans: Sequence[tuple[float, float]], frame_times: Sequence[Sequence[float]]
) -> tuple[np.ndarray, np.ndarray]:
    """Change points ``(times, map rows)`` of "which map frame shows at time t".

    ``spans`` are the windows ``[start, end)`` in time order and ``frame_times`` each window's
    map-frame times; map row of window ``w``'s frame ``k`` is ``w * T' + k``. The frame shown
    at ``t`` is ``rows[i]`` for the last ``times[i] <= t`` (``rows[0]`` before ``times[0]``).
    """
    if len(spans) != len(frame_times) or not spans:
        raise ValueError("one list of frame times per window, at least one window")
    per = len(frame_times[0])
    centres = [(a + b) / 2 for a, b in spans]
    bounds = [-np.inf] + [(centres[i] + centres[i + 1]) / 2 for i in range(len(spans) - 1)]
    bounds.append(np.inf)
    times: list[float] = []
    rows: list[int] = []
    for w, stamps in enumerate(frame_times):
        ts = np.asarray(stamps, dtype=np.float64)
        lo, hi = bounds[w], bounds[w + 1]
        if hi <= lo:
            continue
        before = np.nonzero(ts <= lo)[0]
        k0 = int(before[-1]) if len(before) else 0
        times.append(min(float(spans[0][0]), float(ts[0])) if w == 0 else float(lo))
        rows.append(w * per + k0)
        for k in range(len(ts)):
            if lo < ts[k] < hi and k != k0:
                times.append(float(ts[k]))
                rows.append(w * per + k)
    return np.asarray(times, dtype=np.float64), np.asarray(rows, dtype=np.int64)


def frame_at(schedule_times: Sequence[float], schedule_rows: Sequence[int], t: float) -> int:
    """The map row shown at ``t`` (see :func:`display_schedule`)."""
    ts = np.asarray(schedule_times, dtype=np.float64)
    i = max(0, int(np.searchsorted(ts, t + 1e-9, side="right")) - 1)
    return int(schedule_rows[i])


@dataclass
class WholeVideoResult:
    """A whole-span explanation: the map rows were written to the file given to
    :func:`explain_windows`; everything else is here."""

    method: str
    grid: tuple[int, int, int]  # (W * T', h, w) of the stacked map
    timestamps: np.ndarray  # (W * T',) source seconds of every map row
    temporal: np.ndarray  # (W * T',) the whole-span curve at each map row's time
    spans: list[tuple[float, float]]
    targets: list[int]  # the class explained in each window
    target: int  # the class explained most often
    topk: list[Prediction]
    cost: Cost
    curve_times: np.ndarray
    curve: np.ndarray
    schedule_times: np.ndarray
    schedule_rows: np.ndarray
    value_range: tuple[float, float]
    window: float
    stride: float
    view: tuple[float, float, float, float] | None = None
    params: dict = field(default_factory=dict)


class WindowProgress:
    """Windows done / windows planned (``fraction`` capped below 1 until the end), read by the
    platform's lease keeper like the engine's pass counter."""

    def __init__(self, total: int) -> None:
        self.total = max(1, int(total))
        self.done = 0

    @property
    def fraction(self) -> float:
        return min(0.99, self.done / self.total)


def explain_windows(
    loaded: Any,
    path: str | Path,
    method: str,
    map_path: str | Path,
    *,
    target: int | None = None,
    params: dict[str, Any] | None = None,
    timestamps: Sequence[float] | np.ndarray | None = None,
    duration: float | None = None,
    start: float | None = None,
    end: float | None = None,
    window: float | None = None,
    stride: float | None = None,
    video_id: str | None = None,
    batch_windows: int = BATCH_WINDOWS,
    on_progress: Callable[[WindowProgress], None] | None = None,
) -> WholeVideoResult:
    """Explain ``[start, end)`` of ``path`` (the whole video when both are None) window by
    window; write the stacked map to ``map_path`` (a float32 ``.npy``) as it goes.

    ``window`` defaults to the model's clip length (:attr:`InputSpec.clip_seconds`), ``stride``
    to half of it, so every time away from the ends is seen by two windows. ``target`` None
    explains each window's own top-1 class (the row's ``target`` is then the most frequent).
    Memory stays bounded: frames are decoded a batch of windows at a time and the maps go to
    the memory-mapped file. Raises ``ValueError`` (``VideoError``, ``ExplainError``) for bad
    input, with the reason.
    """
    from workers.engine import explain
    from workers.video.sample import _table, plan_windows, window_clips

    spec = loaded.spec
    if spec.audio is not None:
        raise ValueError("whole-video explanations are for video-only models for now")
    window = spec.clip_seconds if window is None else float(window)
    stride = window / 2 if stride is None else float(stride)
    path = Path(path)
    table = _table(path, timestamps)
    plans = plan_windows(table, spec, window, stride, start=start, end=end, duration=duration)
    per = int(spec.grid[0])
    shape = (len(plans) * per, int(spec.grid[1]), int(spec.grid[2]))
    progress = WindowProgress(len(plans))
    if on_progress is not None:
        on_progress(progress)
    heat = np.lib.format.open_memmap(Path(map_path), mode="w+", dtype=np.float32, shape=shape)
    merger = CurveMerger()
    stamps = np.zeros(shape[0], dtype=np.float64)
    targets: list[int] = []
    probabilities: dict[int, float] = {}
    labels: dict[int, str] = {}
    cost = Cost()
    lo, hi = np.inf, -np.inf
    view = None
    used_params: dict = {}
    topk_len = 0
    pending: list[Any] = []
    row = 0

    def flush() -> None:
        nonlocal row, lo, hi, view, used_params, topk_len
        if not pending:
            return
        results = explain(loaded, list(pending), method, target=target, **(params or {}))
        for result in results:
            w = row // per
            plan = plans[w]
            heat[row : row + per] = result.map
            stamps[row : row + per] = result.timestamps
            merger.add(result.timestamps, result.temporal, (plan.start, plan.end))
            targets.append(int(result.target))
            topk_len = max(topk_len, len(result.topk))
            for p in result.topk:
                probabilities[p.label_index] = probabilities.get(p.label_index, 0.0) + float(
                    p.probability
                )
                labels[p.label_index] = p.label
            cost.forward_passes += result.cost.forward_passes
            cost.backward_passes += result.cost.backward_passes
            cost.wall_seconds += result.cost.wall_seconds
            cost.peak_memory_bytes = max(cost.peak_memory_bytes, result.cost.peak_memory_bytes)
            lo, hi = min(lo, float(result.map.min())), max(hi, float(result.map.max()))
            view, used_params = result.view, dict(result.params)
            row += per
            progress.done += 1
        pending.clear()

    for clip in window_clips(path, table, plans, spec, video_id=video_id):
        pending.append(clip)
        if len(pending) >= batch_windows:
            flush()
    flush()
    heat.flush()
    curve_times, curve = merger.curve()
    spans = [(p.start, p.end) for p in plans]
    frame_times = [stamps[w * per : (w + 1) * per] for w in range(len(plans))]
    schedule_times, schedule_rows = display_schedule(spans, frame_times)
    mean_probs = sorted(probabilities.items(), key=lambda kv: -kv[1])[: max(1, topk_len)]
    topk = [Prediction(i, labels[i], p / len(plans)) for i, p in mean_probs]
    return WholeVideoResult(
        method=method,
        grid=shape,
        timestamps=stamps,
        temporal=np.interp(stamps, curve_times, curve),
        spans=spans,
        targets=targets,
        target=Counter(targets).most_common(1)[0][0],
        topk=topk,
        cost=cost,
        curve_times=curve_times,
        curve=curve,
        schedule_times=schedule_times,
        schedule_rows=schedule_rows,
        value_range=(float(lo), float(hi)),
        window=float(window),
        stride=float(stride),
        view=view,
        params=used_params,
    )


def result_summary(result: WholeVideoResult) -> dict[str, Any]:
    """The JSON the platform stores with a whole-span explanation (``windows``)."""
    return {
        "window": result.window,
        "stride": result.stride,
        "frames_per_window": int(result.grid[0] // max(1, len(result.spans))),
        "spans": [[float(a), float(b)] for a, b in result.spans],
        "targets": [int(t) for t in result.targets],
        "curve": {
            "times": [round(float(t), 6) for t in result.curve_times],
            "importance": [float(v) for v in result.curve],
        },
        "schedule": {
            "times": [round(float(t), 6) for t in result.schedule_times],
            "rows": [int(r) for r in result.schedule_rows],
        },
    }


def cost_dict(cost: Cost) -> dict[str, Any]:
    return dataclasses.asdict(cost)


def temporary_map_path(final: str | Path) -> Path:
    """A temporary ``.npy`` path next to ``final`` to write a stacked map into."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    return final.with_name(f".{final.stem}.{os.getpid()}.partial.npy")
