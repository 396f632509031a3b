"""Pointing games: localization of explanation maps against ground-truth boxes and segments.

The definitions are fixed (see the product spec) and implemented exactly, vectorized over arrays
of frames (numpy only, no per-frame Python loop):

* A map frame has ``h x w`` cells over a source frame of ``W x H`` pixels; cell ``(i, j)`` covers
  x in ``[j*W/w, (j+1)*W/w)`` and y in ``[i*H/h, (i+1)*H/h)``; its centre is
  ``((j + 0.5)*W/w, (i + 0.5)*H/h)``. ``W/w`` need not be an integer.
* Boxes are closed rectangles ``[x0, x1] x [y0, y1]`` in continuous source-pixel coordinates,
  given here as rows ``(x0, y0, x1, y1)`` of a padded array ``(N, K, 4)`` with a boolean mask
  ``(N, K)`` saying which rows are real boxes.
* **Tie rule**: the maximal cell is the *first* maximum in row-major order, exactly what
  ``numpy.argmax`` returns on the flattened map (for a volume ``(T, h, w)``: earliest frame,
  then top row, then leftmost column). Maps must be finite.
* **Tolerance**: a point is a hit if it lies inside a box (border included) or its Euclidean
  distance to the nearest box is *strictly below* the tolerance (default 15 px), so a point
  exactly 15 px from a box is a miss.
* **Views** (models that crop, ``Clip.view``): the pointing games take an optional ``view``
  ``(x0, y0, x1, y1)`` per item, the source rectangle the model saw; the cells then tile the
  view instead of the whole frame (cell ``(i, j)`` centred at ``(x0 + (j + 0.5)*(x1-x0)/w,
  y0 + (i + 0.5)*(y1-y0)/h)``), and an item whose boxes all lie outside the view (no overlap of
  positive area) is *not seen*: not counted, like an item without ground truth, since the model
  never had the object in its input. Without ``view`` the whole frame is the view and nothing
  changes.

Every game returns per-item results plus which items were counted, so subsets (e.g. small
objects, one video) can be scored by masking without recomputation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_TOLERANCE = 15.0


@dataclass
class PointingResult:
    """``hits[n]``: item n is a hit; ``counted[n]``: item n takes part (has ground truth).
    ``accuracy`` = hits / (hits + misses) over counted items (NaN when none is counted)."""

    hits: np.ndarray  # (N,) bool
    counted: np.ndarray  # (N,) bool

    @property
    def n_counted(self) -> int:
        return int(self.counted.sum())

    @property
    def n_hits(self) -> int:
        return int((self.hits & self.counted).sum())

    @property
    def accuracy(self) -> float:
        n = self.n_counted
        return float(self.n_hits / n) if n else float("nan")

    def subset(self, mask: np.ndarray) -> PointingResult:
        """The same scores restricted to items where ``mask`` is true."""
        mask = np.asarray(mask, dtype=bool)
        return PointingResult(hits=self.hits & mask, counted=self.counted & mask)


@dataclass
class EnergyResult:
    """``scores[n]``: energy inside the boxes over the frame's energy (0 for zero mass);
    ``counted[n]``: frame n has at least one box. ``mean`` is over counted frames."""

    scores: np.ndarray  # (N,) float64
    counted: np.ndarray  # (N,) bool

    @property
    def n_counted(self) -> int:
        return int(self.counted.sum())

    @property
    def mean(self) -> float:
        n = self.n_counted
        return float(self.scores[self.counted].mean()) if n else float("nan")

    def subset(self, mask: np.ndarray) -> EnergyResult:
        mask = np.asarray(mask, dtype=bool)
        return EnergyResult(scores=self.scores, counted=self.counted & mask)


# ---------------------------------------------------------------------------------------------
# input checking


def _source_sizes(source_size: object, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(W, H)`` for all items, or an ``(N, 2)`` array -> float arrays W (N,), H (N,)."""
    s = np.asarray(source_size, dtype=np.float64)
    if s.shape == (2,):
        s = np.broadcast_to(s, (n, 2))
    if s.shape != (n, 2):
        raise ValueError(f"source_size must be (W, H) or shaped ({n}, 2); got shape {s.shape}")
    if not np.all(s > 0):
        raise ValueError("source sizes must be positive")
    return s[:, 0], s[:, 1]


def _views(
    view: object | None, n: int, width: np.ndarray, height: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x0, y0, x1, y1)`` for all items (or ``(N, 4)``); the whole frame when None."""
    if view is None:
        zero = np.zeros(n)
        return zero, zero, width, height
    v = np.asarray(view, dtype=np.float64)
    if v.shape == (4,):
        v = np.broadcast_to(v, (n, 4))
    if v.shape != (n, 4):
        raise ValueError(f"view must be (x0, y0, x1, y1) or shaped ({n}, 4); got {v.shape}")
    if not np.all(np.isfinite(v)) or np.any(v[:, 2] <= v[:, 0]) or np.any(v[:, 3] <= v[:, 1]):
        raise ValueError("every view must be finite with x0 < x1 and y0 < y1")
    return v[:, 0], v[:, 1], v[:, 2], v[:, 3]


def boxes_in_view(boxes: np.ndarray, box_mask: np.ndarray, view: object, n: int) -> np.ndarray:
    """``box_mask`` restricted to the boxes that overlap the view (positive area); ``boxes``
    ``(N, ..., K, 4)``, ``view`` ``(x0, y0, x1, y1)`` or ``(N, 4)``."""
    v = np.asarray(view, dtype=np.float64)
    v = np.broadcast_to(v, (n, 4)) if v.shape == (4,) else v
    extra = boxes.ndim - 2  # the item axis, then any per-frame axes, then K
    v = v.reshape((n,) + (1,) * extra + (4,))
    overlap = (
        (boxes[..., 2] > v[..., 0])
        & (boxes[..., 0] < v[..., 2])
        & (boxes[..., 3] > v[..., 1])
        & (boxes[..., 1] < v[..., 3])
    )
    return box_mask & overlap


def _boxes(
    boxes: object, box_mask: object | None, lead: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    b = np.asarray(boxes, dtype=np.float64)
    if b.ndim != len(lead) + 2 or b.shape[: len(lead)] != lead or b.shape[-1] != 4:
        raise ValueError(
            f"boxes must be shaped {(*lead, 'K', 4)} as (x0, y0, x1, y1); got {b.shape}"
        )
    if box_mask is None:
        m = np.isfinite(b).all(axis=-1)
    else:
        m = np.asarray(box_mask, dtype=bool)
        if m.shape != b.shape[:-1]:
            raise ValueError(f"box_mask must be shaped {b.shape[:-1]}; got {m.shape}")
    valid = b[m]
    if valid.size and (
        not np.all(np.isfinite(valid))
        or np.any(valid[:, 2] < valid[:, 0])
        or np.any(valid[:, 3] < valid[:, 1])
    ):
        raise ValueError("every box must be finite with x0 <= x1 and y0 <= y1")
    return np.where(m[..., None], b, 0.0), m


def _maps(maps: object, ndim: int, what: str) -> np.ndarray:
    a = np.asarray(maps)
    if a.ndim != ndim:
        raise ValueError(f"{what} must have {ndim} dimensions; got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.number):
        raise ValueError(f"{what} must be numeric")
    if a.size and not np.all(np.isfinite(a)):
        raise ValueError(f"{what} contain NaN or infinite values")
    return a


# ---------------------------------------------------------------------------------------------
# primitives


def max_cell_points(
    maps: np.ndarray, source_size: object, view: object | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre of each frame's maximal cell (first in row-major order on ties).

    ``maps`` (N, h, w) -> (px (N,), py (N,), flat index (N,)); the cells tile ``view``
    ((x0, y0, x1, y1) or (N, 4)) when given, else the whole frame."""
    maps = _maps(maps, 3, "maps")
    n, h, w = maps.shape
    width, height = _source_sizes(source_size, n)
    x0, y0, x1, y1 = _views(view, n, width, height)
    flat = maps.reshape(n, h * w).argmax(axis=1)
    i, j = np.divmod(flat, w)
    return x0 + (j + 0.5) * (x1 - x0) / w, y0 + (i + 0.5) * (y1 - y0) / h, flat


def points_hit_boxes(
    px: np.ndarray,
    py: np.ndarray,
    boxes: object,
    box_mask: object | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> np.ndarray:
    """Whether each point (px[n], py[n]) lies in one of its boxes ``boxes[n]`` (closed) or is
    strictly closer than ``tolerance`` to one. Points without boxes are misses.

    Also the primitive for the human baseline (an annotator's box centre against consensus)."""
    px = np.asarray(px, dtype=np.float64)
    py = np.asarray(py, dtype=np.float64)
    b, m = _boxes(boxes, box_mask, px.shape)
    if tolerance < 0 or not np.isfinite(tolerance):
        raise ValueError(f"tolerance must be a finite number >= 0, got {tolerance!r}")
    x, y = px[..., None], py[..., None]
    dx = np.maximum(np.maximum(b[..., 0] - x, x - b[..., 2]), 0.0)
    dy = np.maximum(np.maximum(b[..., 1] - y, y - b[..., 3]), 0.0)
    d2 = dx * dx + dy * dy
    hit = (d2 == 0.0) | (d2 < float(tolerance) ** 2)
    return np.any(hit & m, axis=-1)


# ---------------------------------------------------------------------------------------------
# the games


def spatial_pointing_game(
    maps: object,
    boxes: object,
    box_mask: object | None,
    source_size: object,
    tolerance: float = DEFAULT_TOLERANCE,
    view: object | None = None,
) -> PointingResult:
    """Spatial pointing game over N map frames.

    ``maps`` (N, h, w); ``boxes`` (N, K, 4) as (x0, y0, x1, y1) in source pixels of the frame
    each map frame was sampled from, padded, with ``box_mask`` (N, K) (``None``: rows with NaN
    are padding); ``source_size`` (W, H) or (N, 2). The point is the centre of the maximal cell
    (first maximum in row-major order on ties); a hit if inside a box or strictly closer than
    ``tolerance`` px to one. Frames without a box are not counted; with ``view`` (see the
    module notes) neither are frames whose boxes all lie outside it.
    """
    px, py, _ = max_cell_points(maps, source_size, view)
    b, m = _boxes(boxes, box_mask, px.shape)
    hits = points_hit_boxes(px, py, b, m, tolerance)
    seen = m if view is None else boxes_in_view(b, m, view, len(px))
    return PointingResult(hits=hits, counted=seen.any(axis=-1))


def _in_segments(
    ts: np.ndarray, segments: object, segment_mask: object | None
) -> tuple[np.ndarray, np.ndarray]:
    """``ts`` (C,) times against closed segments ``(C, M, 2)`` -> (inside (C,), has_any (C,))."""
    s = np.asarray(segments, dtype=np.float64)
    c = ts.shape[0]
    if s.ndim != 3 or s.shape[0] != c or s.shape[2] != 2:
        raise ValueError(f"segments must be shaped ({c}, M, 2) as (start, end); got {s.shape}")
    if segment_mask is None:
        m = np.isfinite(s).all(axis=-1)
    else:
        m = np.asarray(segment_mask, dtype=bool)
        if m.shape != s.shape[:2]:
            raise ValueError(f"segment_mask must be shaped {s.shape[:2]}; got {m.shape}")
    valid = s[m]
    if valid.size and (not np.all(np.isfinite(valid)) or np.any(valid[:, 1] < valid[:, 0])):
        raise ValueError("every segment must be finite with start <= end")
    s = np.where(m[..., None], s, 0.0)
    t = ts[:, None]
    inside = np.any(m & (s[..., 0] <= t) & (t <= s[..., 1]), axis=1)
    return inside, m.any(axis=1)


def temporal_pointing_game(
    temporal: object,
    timestamps: object,
    segments: object,
    segment_mask: object | None = None,
) -> PointingResult:
    """Temporal pointing game over C clips.

    ``temporal`` (C, T) importance; ``timestamps`` (C, T) source seconds of each map frame;
    ``segments`` (C, M, 2) closed "when" segments ``[start, end]``, padded, with
    ``segment_mask`` (C, M) (``None``: NaN rows are padding). The frame with the largest
    importance (first on ties) is a hit if its timestamp lies in a segment. Clips without a
    segment are not counted.
    """
    tmp = _maps(temporal, 2, "temporal importances")
    ts = np.asarray(timestamps, dtype=np.float64)
    if ts.shape != tmp.shape:
        raise ValueError(f"timestamps must be shaped {tmp.shape}; got {ts.shape}")
    k = tmp.argmax(axis=1)
    t_at = ts[np.arange(ts.shape[0]), k]
    inside, counted = _in_segments(t_at, segments, segment_mask)
    return PointingResult(hits=inside, counted=counted)


def sound_pointing_game(
    audio: object,
    audio_times: object,
    segments: object,
    segment_mask: object | None = None,
) -> PointingResult:
    """Temporal pointing game for sound over C clips.

    ``audio`` (C, A) audio importance; ``audio_times`` (C, A, 2) source seconds ``[start, end)``
    of each audio token; ``segments`` (C, M, 2) closed sound segments, padded as in
    :func:`temporal_pointing_game`. The audio token with the largest importance (first on ties)
    is a hit if its centre lies in a segment. Clips without a sound segment are not counted.
    """
    times = np.asarray(audio_times, dtype=np.float64)
    if times.ndim != 3 or times.shape[-1] != 2:
        raise ValueError(f"audio_times must be shaped (C, A, 2); got {times.shape}")
    return temporal_pointing_game(audio, times.mean(axis=-1), segments, segment_mask)


def spacetime_pointing_game(
    maps: object,
    timestamps: object,
    segments: object,
    segment_mask: object | None,
    boxes: object,
    box_mask: object | None,
    source_size: object,
    tolerance: float = DEFAULT_TOLERANCE,
    view: object | None = None,
) -> PointingResult:
    """Space-time pointing game over C clips.

    ``maps`` (C, T, h, w); ``timestamps`` (C, T); ``segments`` (C, M, 2) + mask;
    ``boxes`` (C, T, K, 4) + ``box_mask`` (C, T, K) for each map frame; ``source_size`` (W, H)
    or (C, 2). The maximal cell of the whole volume (first in row-major order over
    ``(T, h, w)`` on ties) is a hit if its frame's timestamp lies in a segment *and* its cell
    centre hits a box of that frame (tolerance as in the spatial game). Counted: clips with at
    least one segment and at least one box in some frame (with ``view``, (x0, y0, x1, y1) or
    (C, 4): one that overlaps the view).
    """
    vol = _maps(maps, 4, "maps")
    c, t, h, w = vol.shape
    ts = np.asarray(timestamps, dtype=np.float64)
    if ts.shape != (c, t):
        raise ValueError(f"timestamps must be shaped {(c, t)}; got {ts.shape}")
    b, m = _boxes(boxes, box_mask, (c, t))
    width, height = _source_sizes(source_size, c)
    x0, y0, x1, y1 = _views(view, c, width, height)
    flat = vol.reshape(c, t * h * w).argmax(axis=1)
    f, rest = np.divmod(flat, h * w)
    i, j = np.divmod(rest, w)
    px, py = x0 + (j + 0.5) * (x1 - x0) / w, y0 + (i + 0.5) * (y1 - y0) / h
    rows = np.arange(c)
    in_time, has_seg = _in_segments(ts[rows, f], segments, segment_mask)
    in_space = points_hit_boxes(px, py, b[rows, f], m[rows, f], tolerance)
    seen = m if view is None else boxes_in_view(b, m, view, c)
    counted = has_seg & seen.any(axis=(1, 2))
    return PointingResult(hits=in_time & in_space, counted=counted)


def _cell_starts(n_cells: int, size: np.ndarray) -> np.ndarray:
    """First integer pixel of each cell and the end: ``ceil(k * size / n)`` for k = 0..n.

    Pixel ``x`` belongs to cell ``floor(x * n / size)``, i.e. cell ``k`` holds the integer
    pixels in ``[k*size/n, (k+1)*size/n)``. Exact integer arithmetic for integer sizes."""
    k = np.arange(n_cells + 1, dtype=np.int64)
    s = np.rint(size).astype(np.int64)
    return -((-k[None, :] * s[:, None]) // n_cells)  # ceil division, (N, n+1)


def _box_pixel_ranges(
    lo: np.ndarray, hi: np.ndarray, size: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Integer pixels whose centre ``p + 0.5`` lies in ``[lo, hi]``: ``[ceil(lo - 0.5),
    floor(hi - 0.5)]`` clipped to the frame, returned half-open ``[a, b)``."""
    a = np.ceil(lo - 0.5)
    b = np.floor(hi - 0.5) + 1.0
    s = np.rint(size)[:, None]
    a = np.clip(a, 0, s)
    b = np.clip(b, 0, s)
    b = np.maximum(a, b)
    return a.astype(np.int64), b.astype(np.int64)


def _segments_1d(
    cell_starts: np.ndarray, a: np.ndarray, b: np.ndarray, m: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split one axis into elementary intervals at cell and box boundaries.

    Returns per item: interval lengths (N, S), the cell of each interval (N, S) and whether each
    interval lies in box k (N, S, K). Padded boxes are empty (never inside)."""
    n_cells = cell_starts.shape[1] - 1
    a = np.where(m, a, 0)
    b = np.where(m, b, 0)
    points = np.sort(np.concatenate([cell_starts, a, b], axis=1), axis=1)  # (N, S+1)
    lo, hi = points[:, :-1], points[:, 1:]
    length = hi - lo
    # cell of interval = number of cell starts <= lo, minus one
    cell = (cell_starts[:, None, 1:] <= lo[:, :, None]).sum(axis=2)
    cell = np.minimum(cell, n_cells - 1)
    inside = (a[:, None, :] <= lo[:, :, None]) & (lo[:, :, None] < b[:, None, :]) & m[:, None, :]
    return length, cell, inside


def energy_pointing_game(
    maps: object,
    boxes: object,
    box_mask: object | None,
    source_size: object,
    chunk: int = 16384,
    view: object | None = None,
) -> EnergyResult:
    """Energy pointing game (Score-CAM) over N map frames.

    Each cell's value is spread over the pixels it covers (nearest-neighbour upsampling: pixel
    ``(x, y)`` belongs to cell ``(floor(y*h/H), floor(x*w/W))``), negatives are clipped to 0,
    and the score is the mass on pixels whose centre ``(x + 0.5, y + 0.5)`` lies inside any box
    over the mass of the whole frame; a frame with zero mass scores 0. Frames without a box are
    not counted. Computed exactly without materializing pixels: each axis is cut into intervals
    at cell and box boundaries, and the union of boxes is evaluated on the resulting rectangles.
    Source sizes are whole pixels. With ``view`` (see the module notes) the frame is the view:
    the boxes are moved into its coordinates, the parts of them outside it do not count, its
    size is rounded to whole pixels, and frames whose boxes all lie outside it are not counted.
    """
    maps = _maps(maps, 3, "maps")
    n, h, w = maps.shape
    b, m = _boxes(boxes, box_mask, (n,))
    width, height = _source_sizes(source_size, n)
    counted = m.any(axis=-1)
    if view is not None:
        x0, y0, x1, y1 = _views(view, n, width, height)
        counted = boxes_in_view(b, m, view, n).any(axis=-1)
        shift = np.stack([x0, y0, x0, y0], axis=-1)[:, None, :]
        b = np.where(m[..., None], b - shift, 0.0)
        width, height = np.maximum(np.rint(x1 - x0), 1.0), np.maximum(np.rint(y1 - y0), 1.0)
    scores = np.zeros(n, dtype=np.float64)
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        scores[s:e] = _energy_chunk(
            maps[s:e].astype(np.float64), b[s:e], m[s:e], width[s:e], height[s:e]
        )
    return EnergyResult(scores=scores, counted=counted)


def _energy_chunk(
    maps: np.ndarray, b: np.ndarray, m: np.ndarray, width: np.ndarray, height: np.ndarray
) -> np.ndarray:
    n, h, w = maps.shape
    vals = np.maximum(maps, 0.0)
    xs = _cell_starts(w, width)  # (N, w+1)
    ys = _cell_starts(h, height)
    ax, bx = _box_pixel_ranges(b[..., 0], b[..., 2], width)
    ay, by = _box_pixel_ranges(b[..., 1], b[..., 3], height)
    lx, cx, inx = _segments_1d(xs, ax, bx, m)  # (N, Sx), (N, Sx), (N, Sx, K)
    ly, cy, iny = _segments_1d(ys, ay, by, m)
    # union of boxes on the elementary rectangles: (N, Sy, Sx)
    inside = np.einsum("nyk,nxk->nyx", iny.astype(np.int32), inx.astype(np.int32)) > 0
    area = ly[:, :, None] * lx[:, None, :]
    rows = np.arange(n)[:, None, None]
    cell_vals = vals[rows, cy[:, :, None], cx[:, None, :]]
    inside_mass = (cell_vals * area * inside).sum(axis=(1, 2))
    cell_w = np.diff(xs, axis=1)  # pixels per cell column (N, w)
    cell_h = np.diff(ys, axis=1)
    total = np.einsum("nij,ni,nj->n", vals, cell_h.astype(np.float64), cell_w.astype(np.float64))
    out = np.zeros(n, dtype=np.float64)
    pos = total > 0
    out[pos] = inside_mass[pos] / total[pos]
    return out


def small_object_frames(boxes: object, box_mask: object | None, source_size: object) -> np.ndarray:
    """Frames whose largest box (clipped to the frame) covers less than 1/4 of the frame."""
    b = np.asarray(boxes, dtype=np.float64)
    n = b.shape[0]
    b, m = _boxes(b, box_mask, (n,))
    width, height = _source_sizes(source_size, n)
    x0 = np.clip(b[..., 0], 0, width[:, None])
    x1 = np.clip(b[..., 2], 0, width[:, None])
    y0 = np.clip(b[..., 1], 0, height[:, None])
    y1 = np.clip(b[..., 3], 0, height[:, None])
    area = np.where(m, (x1 - x0) * (y1 - y0), 0.0)
    return m.any(axis=-1) & (area.max(axis=-1, initial=0.0) < width * height / 4.0)
