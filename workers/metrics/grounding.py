"""Grounding scores beside the pointing games: thresholded-map IoU with the boxes, the human
baseline, and the mapping of map frames to the source frames that carry ground truth.

Numpy only (safe for the web process and the ``default`` worker). The pixel rules are the ones
of the energy pointing game in :mod:`workers.metrics.pointing`, whose exact interval arithmetic
is reused here:

* pixel ``(x, y)`` (integers, ``0 <= x < W``, ``0 <= y < H``) belongs to cell
  ``(floor(y*h/H), floor(x*w/W))`` (nearest-neighbour upsampling of the map);
* a pixel is *in the boxes* when its centre ``(x + 0.5, y + 0.5)`` lies inside any box (closed
  rectangles; pixels outside the frame never count, so a box crossing the border only counts
  its part inside the frame).

**Thresholded-map IoU.** A cell is *on* when its value is at least ``fraction`` (default 0.5)
of the frame's maximum and that maximum is above 0 (ties with the threshold are on; a frame whose
maximum is 0 or negative has no region). The map region is the union of the pixels of the on
cells; the IoU is ``|region ∩ boxes| / |region ∪ boxes|`` in pixels (0 when the union is empty).
Frames without a box are not counted.
With a ``view`` (models that crop, see :mod:`workers.metrics.pointing`) the IoU is taken inside
the view as the energy game does: the boxes move into the view's coordinates, their parts outside
it do not count, and the view's size (whole pixels) is the frame.

**Human baseline.** How well one annotator points into the consensus of the others: on each
frame where the annotator has a box and the others' consensus has one, the annotator's point is
the centre of their largest box (the first of equal areas, in the order given) and it is a hit
exactly as in the spatial pointing game (inside a box, or strictly closer than the tolerance).

**Map frames to source frames.** Map frame ``t`` was sampled from the source frame at
``timestamps[t]`` seconds; it takes the ground truth of the source frame whose presentation
time is nearest (the earlier one when two are equally near), if that frame is within half a
frame interval of the map frame's time; otherwise it has no ground truth (not counted).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from workers.metrics.pointing import (
    DEFAULT_TOLERANCE,
    PointingResult,
    _box_pixel_ranges,
    _boxes,
    _cell_starts,
    _maps,
    _segments_1d,
    _source_sizes,
    _views,
    boxes_in_view,
    points_hit_boxes,
)

DEFAULT_IOU_FRACTION = 0.5
# Clips scored per vectorized call in score_clips (keeps the intermediate arrays cache-sized).
CLIP_BATCH = 512


def cell_pixel_counts(n: int, h: int, w: int, source_size: object) -> np.ndarray:
    """Integer pixels each cell covers under nearest-neighbour upsampling: ``(N, h, w)``."""
    width, height = _source_sizes(source_size, n)
    cw = np.diff(_cell_starts(w, width), axis=1).astype(np.float64)  # (N, w)
    ch = np.diff(_cell_starts(h, height), axis=1).astype(np.float64)  # (N, h)
    return ch[:, :, None] * cw[:, None, :]


def box_cover(
    boxes: object,
    box_mask: object | None,
    source_size: object,
    grid: tuple[int, int],
    chunk: int = 4096,
) -> np.ndarray:
    """Per cell, how many of its pixels have their centre inside any box: ``(N, h, w)``.

    ``boxes`` (N, K, 4) as (x0, y0, x1, y1) with ``box_mask`` (N, K) (``None``: NaN rows are
    padding); overlapping boxes count each pixel once. Exact integer counts, no pixel is
    materialized: a box's pixels form a rectangle of whole pixels, whose count per cell is the
    product of its overlaps with the cell's columns and rows; the union of up to
    ``INCLUSION_EXCLUSION_MAX_BOXES`` boxes follows by inclusion-exclusion (intersections of
    such rectangles are such rectangles). More boxes per frame: each axis is cut into intervals
    at cell and box boundaries, as in the energy pointing game."""
    b0 = np.asarray(boxes, dtype=np.float64)
    n = b0.shape[0] if b0.ndim else 0
    b, m = _boxes(b0, box_mask, (n,))
    h, w = int(grid[0]), int(grid[1])
    width, height = _source_sizes(source_size, n)
    out = np.zeros((n, h, w), dtype=np.float64)
    by_subsets = b.shape[1] <= INCLUSION_EXCLUSION_MAX_BOXES
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        cover = _cover_by_subsets if by_subsets else _cover_chunk
        out[s:e] = cover(b[s:e], m[s:e], width[s:e], height[s:e], h, w)
    return out


INCLUSION_EXCLUSION_MAX_BOXES = 4


def _cover_by_subsets(
    b: np.ndarray, m: np.ndarray, width: np.ndarray, height: np.ndarray, h: int, w: int
) -> np.ndarray:
    n, k = b.shape[:2]
    if k == 0:
        return np.zeros((n, h, w))
    xs = _cell_starts(w, width)  # (N, w+1) first pixel of each cell column, and the end
    ys = _cell_starts(h, height)
    ax, bx = _box_pixel_ranges(b[..., 0], b[..., 2], width)  # (N, K) half-open pixel ranges
    ay, by = _box_pixel_ranges(b[..., 1], b[..., 3], height)
    empty = ~m  # padding rows cover nothing
    subsets = [list(c) for size in range(1, k + 1) for c in itertools.combinations(range(k), size)]
    oy = np.zeros((n, len(subsets), h))  # signed row overlaps of each intersection
    ox = np.zeros((n, len(subsets), w))  # column overlaps
    for t, idx in enumerate(subsets):
        sign = 1.0 if len(idx) % 2 else -1.0
        none = empty[:, idx].any(axis=1)
        x0, x1 = ax[:, idx].max(axis=1), bx[:, idx].min(axis=1)
        y0, y1 = ay[:, idx].max(axis=1), by[:, idx].min(axis=1)
        cols = np.minimum(x1[:, None], xs[:, 1:]) - np.maximum(x0[:, None], xs[:, :-1])
        rows = np.minimum(y1[:, None], ys[:, 1:]) - np.maximum(y0[:, None], ys[:, :-1])
        ox[:, t] = np.where(none[:, None], 0, np.maximum(cols, 0))
        oy[:, t] = sign * np.maximum(rows, 0)
    # sum over subsets of (rows x columns): one small matrix product per frame; the entries are
    # whole numbers far below 2**53, so the float sums are exact
    return np.matmul(oy.transpose(0, 2, 1), ox)


def _cover_chunk(
    b: np.ndarray, m: np.ndarray, width: np.ndarray, height: np.ndarray, h: int, w: int
) -> np.ndarray:
    n = b.shape[0]
    xs = _cell_starts(w, width)
    ys = _cell_starts(h, height)
    ax, bx = _box_pixel_ranges(b[..., 0], b[..., 2], width)
    ay, by = _box_pixel_ranges(b[..., 1], b[..., 3], height)
    lx, cx, inx = _segments_1d(xs, ax, bx, m)
    ly, cy, iny = _segments_1d(ys, ay, by, m)
    inside = np.zeros((n, ly.shape[1], lx.shape[1]), dtype=bool)
    for k in range(b.shape[1]):  # union of the (few) boxes of each frame
        inside |= iny[:, :, None, k] & inx[:, None, :, k]
    area = (ly[:, :, None] * lx[:, None, :]).astype(np.float64)
    area *= inside
    index = np.arange(n)[:, None, None] * (h * w) + cy[:, :, None] * w + cx[:, None, :]
    cover = np.bincount(index.ravel(), weights=area.ravel(), minlength=n * h * w)
    return cover.reshape(n, h, w)


def thresholded_iou(
    maps: object,
    boxes: object,
    box_mask: object | None,
    source_size: object,
    fraction: float = DEFAULT_IOU_FRACTION,
    view: object | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """IoU of each frame's thresholded map with its boxes (see the module docstring).

    ``maps`` (N, h, w) -> (iou (N,) float64, counted (N,) bool: frame has at least one box, with
    ``view`` one that overlaps it)."""
    a = _maps(maps, 3, "maps")
    if not 0.0 <= float(fraction) <= 1.0:
        raise ValueError(f"fraction must be within [0, 1], got {fraction!r}")
    n, h, w = a.shape
    b, m = _boxes(boxes, box_mask, (n,))
    counted = m.any(axis=-1)
    if view is not None:
        b, source_size, counted = in_view_coordinates(b, m, source_size, view)
    values = a.astype(np.float64)
    peak = values.reshape(n, -1).max(axis=1, initial=-np.inf)
    on = (values >= float(fraction) * peak[:, None, None]) & (peak > 0)[:, None, None]
    cover = box_cover(b, m, source_size, (h, w))
    pixels = cell_pixel_counts(n, h, w, source_size)
    inter = (cover * on).sum(axis=(1, 2))
    union = (pixels * on).sum(axis=(1, 2)) + cover.sum(axis=(1, 2)) - inter
    iou = np.zeros(n, dtype=np.float64)
    pos = union > 0
    iou[pos] = inter[pos] / union[pos]
    return iou, counted


def in_view_coordinates(
    b: np.ndarray, m: np.ndarray, source_size: object, view: object
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes ``(N, K, 4)`` moved into the coordinates of ``view`` ((x0, y0, x1, y1) or (N, 4)),
    the view's size in whole pixels ``(N, 2)`` and which frames have a box overlapping it (the
    rule of the energy pointing game)."""
    n = b.shape[0]
    width, height = _source_sizes(source_size, n)
    x0, y0, x1, y1 = _views(view, n, width, height)
    counted = boxes_in_view(b, m, view, n).any(axis=-1)
    shift = np.stack([x0, y0, x0, y0], axis=-1)[:, None, :]
    moved = np.where(m[..., None], b - shift, 0.0)
    size = np.stack([np.maximum(np.rint(x1 - x0), 1.0), np.maximum(np.rint(y1 - y0), 1.0)], -1)
    return moved, size, counted


def largest_box_centres(
    boxes: object, box_mask: object | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre of each frame's largest box (first of equal areas): (cx (N,), cy (N,), has (N,))."""
    b0 = np.asarray(boxes, dtype=np.float64)
    n = b0.shape[0]
    b, m = _boxes(b0, box_mask, (n,))
    if b.shape[1] == 0:
        return np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool)
    area = np.where(m, (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1]), -1.0)
    chosen = b[np.arange(n), area.argmax(axis=1)]
    return (
        (chosen[:, 0] + chosen[:, 2]) / 2.0,
        (chosen[:, 1] + chosen[:, 3]) / 2.0,
        m.any(axis=-1),
    )


def human_pointing_game(
    annotator_boxes: object,
    annotator_mask: object | None,
    reference_boxes: object,
    reference_mask: object | None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> PointingResult:
    """The human baseline over N frames: the centre of the annotator's largest box against the
    reference boxes (the consensus of the other annotators). Counted: frames where both have a
    box."""
    cx, cy, has = largest_box_centres(annotator_boxes, annotator_mask)
    rb = np.asarray(reference_boxes, dtype=np.float64)
    rb, rm = _boxes(rb, reference_mask, cx.shape)
    hits = points_hit_boxes(cx, cy, rb, rm, tolerance)
    return PointingResult(hits=hits & has, counted=has & rm.any(axis=-1))


def match_source_frames(
    map_timestamps: object, frame_timestamps: object
) -> tuple[np.ndarray, np.ndarray]:
    """Source frame of each map frame: (index (T,), matched (T,)).

    The nearest presentation time (the earlier frame when two are equally near) within half
    the frame interval on the map frame's side (a tiny allowance of 1 µs absorbs rounding of
    stored seconds); ``matched`` is false where no frame is that close (index is then -1)."""
    t = np.asarray(map_timestamps, dtype=np.float64).reshape(-1)
    f = np.asarray(frame_timestamps, dtype=np.float64).reshape(-1)
    if f.size == 0 or t.size == 0:
        return np.full(t.shape, -1, dtype=np.int64), np.zeros(t.shape, dtype=bool)
    if f.size > 1 and np.any(np.diff(f) < 0):
        raise ValueError("frame timestamps must be in increasing order")
    right = np.clip(np.searchsorted(f, t, side="left"), 0, f.size - 1)
    left = np.clip(right - 1, 0, f.size - 1)
    # nearest: the earlier frame wins ties
    take_left = np.abs(t - f[left]) <= np.abs(f[right] - t)
    k = np.where(take_left, left, right)
    if f.size == 1:
        gap = np.full(t.shape, np.inf)
    else:
        gaps = np.diff(f)
        after = gaps[np.clip(k, 0, gaps.size - 1)]  # interval to the next frame
        before = gaps[np.clip(k - 1, 0, gaps.size - 1)]  # interval from the previous frame
        side_after = t >= f[k]
        gap = np.where(
            side_after, np.where(k < f.size - 1, after, before), np.where(k > 0, before, after)
        )
    ok = np.abs(t - f[k]) <= 0.5 * gap + 1e-6
    return np.where(ok, k, -1), ok


# ---------------------------------------------------------------------------------------------
# every localization score of many clips at once


@dataclass
class ClipInput:
    """One explanation of one clip with the ground truth of its map frames.

    ``boxes`` (T, K, 4) and ``box_mask`` (T, K): the boxes of the source frame each map frame
    was sampled from (no row for a frame without ground truth); ``segments`` (M, 2): the "when"
    segments in seconds; ``source_size``: (W, H) of the source frames; ``view``: the source
    rectangle (x0, y0, x1, y1) the model saw (None: the whole frame), which the map's cells tile
    (see :mod:`workers.metrics.pointing`: frames whose boxes all lie outside it are not seen, so
    not counted)."""

    map: np.ndarray  # (T, h, w)
    temporal: np.ndarray  # (T,)
    timestamps: np.ndarray  # (T,)
    boxes: np.ndarray  # (T, K, 4)
    box_mask: np.ndarray  # (T, K)
    segments: np.ndarray  # (M, 2)
    source_size: tuple[int, int]
    view: tuple[float, float, float, float] | None = None


@dataclass
class ClipScores:
    """Per map frame: ``counted`` (has a box), ``hit`` (spatial pointing), ``small`` (small
    object frame), ``energy``, ``iou`` (thresholded map) and the pointed cell centre ``point``
    (T, 2). Per clip: temporal and space-time pointing (``None``: not counted) and the
    sparsity (Gini index) of the whole map."""

    counted: np.ndarray
    hit: np.ndarray
    small: np.ndarray
    energy: np.ndarray
    iou: np.ndarray
    point: np.ndarray
    temporal_hit: bool | None
    spacetime_hit: bool | None
    sparsity: float


def _pad(arrays: list[np.ndarray], axis_len: int, tail: tuple[int, ...]) -> np.ndarray:
    """Stack arrays shaped (lead..., k_i, *tail) padded with zeros to k = max k_i."""
    k = max([a.shape[axis_len] for a in arrays] + [0])
    out = np.zeros((len(arrays), *arrays[0].shape[:axis_len], max(k, 1), *tail))
    for n, a in enumerate(arrays):
        out[n, ..., : a.shape[axis_len], :] = a
    return out


def score_clips(
    clips: list[ClipInput],
    tolerance: float = DEFAULT_TOLERANCE,
    iou_fraction: float = DEFAULT_IOU_FRACTION,
) -> list[ClipScores]:
    """Every localization score of every clip, vectorized over all clips that share a token
    grid (one call of each game per grid, no loop over frames)."""
    from workers.metrics.complexity import gini_batch
    from workers.metrics.pointing import (
        energy_pointing_game,
        max_cell_points,
        small_object_frames,
        spacetime_pointing_game,
        spatial_pointing_game,
        temporal_pointing_game,
    )

    if tolerance < 0 or not np.isfinite(tolerance):
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
    results: list[ClipScores | None] = [None] * len(clips)
    groups: dict[tuple[int, ...], list[int]] = {}
    for n, clip in enumerate(clips):
        shape = tuple(np.asarray(clip.map).shape)
        if len(shape) != 3:
            raise ValueError(f"clip {n}: the map must be shaped (T, h, w); got {shape}")
        t = shape[0]
        for name in ("temporal", "timestamps"):
            if np.asarray(getattr(clip, name)).shape != (t,):
                raise ValueError(f"clip {n}: {name} must have one value per map frame ({t})")
        groups.setdefault(shape, []).append(n)
    batches = [
        (shape, members[s : s + CLIP_BATCH])
        for shape, members in groups.items()
        for s in range(0, len(members), CLIP_BATCH)
    ]
    for (t, h, w), members in batches:
        c = len(members)
        group = [clips[n] for n in members]
        volume = np.stack([np.asarray(g.map, dtype=np.float32) for g in group])
        temporal = np.stack([np.asarray(g.temporal, dtype=np.float64) for g in group])
        timestamps = np.stack([np.asarray(g.timestamps, dtype=np.float64) for g in group])
        boxes = _pad(
            [np.asarray(g.boxes, dtype=np.float64).reshape(t, -1, 4) for g in group], 1, (4,)
        )
        box_mask = _pad(
            [np.asarray(g.box_mask, dtype=bool).reshape(t, -1)[..., None] for g in group], 1, (1,)
        )[..., 0].astype(bool)
        segments = _pad(
            [np.asarray(g.segments, dtype=np.float64).reshape(-1, 2) for g in group], 0, (2,)
        )
        seg_mask = _pad(
            [np.ones((len(np.asarray(g.segments).reshape(-1, 2)), 1)) for g in group], 0, (1,)
        )[..., 0].astype(bool)
        sizes = np.array([g.source_size for g in group], dtype=np.float64)  # (C, 2)
        frame_sizes = np.repeat(sizes, t, axis=0)
        # views only where some clip has one (a clip without one sees its whole frame)
        views = None
        if any(g.view is not None for g in group):
            views = np.array(
                [g.view if g.view is not None else (0.0, 0.0, *g.source_size) for g in group],
                dtype=np.float64,
            )
        frame_views = np.repeat(views, t, axis=0) if views is not None else None
        frames = volume.reshape(c * t, h, w)
        flat_boxes = boxes.reshape(c * t, -1, 4)
        flat_mask = box_mask.reshape(c * t, -1)
        spatial = spatial_pointing_game(
            frames, flat_boxes, flat_mask, frame_sizes, tolerance, view=frame_views
        )
        small = small_object_frames(flat_boxes, flat_mask, frame_sizes)
        energy = energy_pointing_game(frames, flat_boxes, flat_mask, frame_sizes, view=frame_views)
        iou, _ = thresholded_iou(
            frames, flat_boxes, flat_mask, frame_sizes, iou_fraction, view=frame_views
        )
        px, py, _ = max_cell_points(frames, frame_sizes, frame_views)
        temporal_game = temporal_pointing_game(temporal, timestamps, segments, seg_mask)
        spacetime = spacetime_pointing_game(
            volume, timestamps, segments, seg_mask, boxes, box_mask, sizes, tolerance, view=views
        )
        sparsity = gini_batch(volume.reshape(c, -1))
        hit = spatial.hits & spatial.counted
        points = np.stack([px, py], axis=1)
        t_hit, t_counted = temporal_game.hits.tolist(), temporal_game.counted.tolist()
        st_hit, st_counted = spacetime.hits.tolist(), spacetime.counted.tolist()
        for row, n in enumerate(members):
            s = slice(row * t, (row + 1) * t)  # views into this batch's arrays
            results[n] = ClipScores(
                counted=spatial.counted[s],
                hit=hit[s],
                small=small[s],
                energy=energy.scores[s],
                iou=iou[s],
                point=points[s],
                temporal_hit=bool(t_hit[row]) if t_counted[row] else None,
                spacetime_hit=bool(st_hit[row]) if st_counted[row] else None,
                sparsity=float(sparsity[row]),
            )
    return results  # type: ignore[return-value]
