"""Every localization score against a second, deliberately plain implementation.

The reference functions below are written straight from the definitions in the product spec
("Quantifying explanations") and in ``workers/metrics/grounding.py``: one frame at a time, one
cell (or one pixel) at a time, in plain Python, sharing no code with ``workers.metrics``. The
vectorized scores must agree with them on thousands of random cases drawn from a seeded
generator: several boxes per frame, boxes touching and crossing the frame border, degenerate
boxes, frames without boxes, cell sizes that are not whole pixels, and ties forced by constant
and coarsely quantized maps (ties go to the first cell in row-major order).

Hits, counted flags and pixel-count IoUs must be identical; energy shares (sums of floats added
in a different order) must agree to 1e-12.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from workers.metrics import (
    energy_pointing_game,
    small_object_frames,
    spacetime_pointing_game,
    spatial_pointing_game,
    temporal_pointing_game,
)
from workers.metrics.grounding import (
    ClipInput,
    human_pointing_game,
    match_source_frames,
    score_clips,
    thresholded_iou,
)

SEED = 20240917
TOLERANCES = (0.0, 7.5, 15.0, 40.0)


# ------------------------------------------------------------------------------ the reference


def ref_max_cell(frame: list[list[float]]) -> tuple[int, int]:
    """The maximal cell; on ties the first one met row by row, left to right."""
    best, bi, bj = None, 0, 0
    for i, row in enumerate(frame):
        for j, value in enumerate(row):
            if best is None or value > best:
                best, bi, bj = value, i, j
    return bi, bj


def ref_point_hits(px: float, py: float, boxes: list, tolerance: float) -> bool:
    """Inside a closed box, or at a Euclidean distance below the tolerance from one."""
    for x0, y0, x1, y1 in boxes:
        if x0 <= px <= x1 and y0 <= py <= y1:
            return True
        dx = max(x0 - px, 0.0, px - x1)
        dy = max(y0 - py, 0.0, py - y1)
        if math.hypot(dx, dy) < tolerance:
            return True
    return False


def ref_spatial(frame, boxes, width, height, tolerance) -> tuple[bool, bool]:
    """(counted, hit) of one map frame."""
    if not boxes:
        return False, False
    h, w = len(frame), len(frame[0])
    i, j = ref_max_cell(frame)
    px = (j + 0.5) * width / w
    py = (i + 0.5) * height / h
    return True, ref_point_hits(px, py, boxes, tolerance)


def ref_in_segments(t: float, segments: list) -> bool:
    return any(start <= t <= end for start, end in segments)


def ref_temporal(temporal, timestamps, segments) -> tuple[bool, bool]:
    if not segments:
        return False, False
    best, k = None, 0
    for n, value in enumerate(temporal):
        if best is None or value > best:
            best, k = value, n
    return True, ref_in_segments(timestamps[k], segments)


def ref_spacetime(volume, timestamps, segments, boxes_per_frame, width, height, tolerance):
    counted = bool(segments) and any(boxes_per_frame)
    best, bt, bi, bj = None, 0, 0, 0
    for t, frame in enumerate(volume):
        for i, row in enumerate(frame):
            for j, value in enumerate(row):
                if best is None or value > best:
                    best, bt, bi, bj = value, t, i, j
    h, w = len(volume[0]), len(volume[0][0])
    px = (bj + 0.5) * width / w
    py = (bi + 0.5) * height / h
    hit = ref_in_segments(timestamps[bt], segments) and ref_point_hits(
        px, py, boxes_per_frame[bt], tolerance
    )
    return counted, counted and hit


def ref_pixel_in_boxes(x: int, y: int, boxes: list) -> bool:
    cx, cy = x + 0.5, y + 0.5
    return any(x0 <= cx <= x1 and y0 <= cy <= y1 for x0, y0, x1, y1 in boxes)


def ref_energy(frame, boxes, width, height) -> tuple[bool, float]:
    """Spread cells over pixels (pixel (x, y) -> cell (floor(y*h/H), floor(x*w/W))), clip
    negatives, mass inside the boxes over the mass of the frame (0 for a frame without mass)."""
    h, w = len(frame), len(frame[0])
    total = inside = 0.0
    for y in range(height):
        i = (y * h) // height
        for x in range(width):
            value = max(frame[i][(x * w) // width], 0.0)
            total += value
            if ref_pixel_in_boxes(x, y, boxes):
                inside += value
    return bool(boxes), (inside / total if total > 0 else 0.0)


def ref_iou(frame, boxes, width, height, fraction=0.5) -> tuple[bool, float]:
    """Pixels of cells at or above ``fraction`` of a positive frame maximum, against the pixels
    whose centre is in a box: intersection over union (0 when both are empty)."""
    h, w = len(frame), len(frame[0])
    peak = max(max(row) for row in frame)
    inter = union = 0
    for y in range(height):
        i = (y * h) // height
        for x in range(width):
            on = peak > 0 and frame[i][(x * w) // width] >= fraction * peak
            box = ref_pixel_in_boxes(x, y, boxes)
            inter += on and box
            union += on or box
    return bool(boxes), (inter / union if union else 0.0)


def ref_small(boxes, width, height) -> bool:
    """A frame with boxes whose largest box, clipped to the frame, is below a quarter of it."""
    if not boxes:
        return False
    largest = 0.0
    for x0, y0, x1, y1 in boxes:
        cw = min(max(x1, 0.0), width) - min(max(x0, 0.0), width)
        ch = min(max(y1, 0.0), height) - min(max(y0, 0.0), height)
        largest = max(largest, cw * ch)
    return largest < width * height / 4


def ref_human(own: list, others: list, tolerance: float) -> tuple[bool, bool]:
    if not own or not others:
        return False, False
    best, chosen = None, own[0]
    for box in own:
        area = (box[2] - box[0]) * (box[3] - box[1])
        if best is None or area > best:
            best, chosen = area, box
    cx = (chosen[0] + chosen[2]) / 2
    cy = (chosen[1] + chosen[3]) / 2
    return True, ref_point_hits(cx, cy, others, tolerance)


def ref_match(t: float, frames: list[float]) -> int:
    """Nearest frame (the earlier on ties) if within half the frame interval on t's side."""
    best, k = None, -1
    for n, f in enumerate(frames):
        d = abs(t - f)
        if best is None or d < best:
            best, k = d, n
    if len(frames) == 1:
        return k
    if t >= frames[k]:
        gap = frames[k + 1] - frames[k] if k + 1 < len(frames) else frames[k] - frames[k - 1]
    else:
        gap = frames[k] - frames[k - 1] if k > 0 else frames[k + 1] - frames[k]
    return k if best <= gap / 2 + 1e-6 else -1


# --------------------------------------------------------------------------- random cases


def random_maps(rng: np.random.Generator, n: int, shape: tuple[int, ...]) -> np.ndarray:
    """Continuous maps, coarsely quantized ones (many ties), constant ones (all tied) and maps
    with negative values, mixed."""
    kind = rng.integers(0, 4, size=n)
    out = rng.normal(size=(n, *shape))
    quantized = rng.integers(0, 3, size=(n, *shape)).astype(np.float64)
    out[kind == 1] = quantized[kind == 1]
    out[kind == 2] = rng.integers(-1, 2, size=(int((kind == 2).sum()), 1)).reshape(
        -1, *([1] * len(shape))
    )
    out[kind == 3] = -np.abs(out[kind == 3]) + (rng.random() < 0.5) * 0.5
    return out.astype(np.float32)


def random_boxes(
    rng: np.random.Generator, lead: tuple[int, ...], width: np.ndarray, height: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Up to 3 boxes per frame (about a fifth of frames have none): anywhere from a bit outside
    the frame to a bit beyond it, some snapped to whole or half pixels, some flush with the
    border, some degenerate (a line or a point)."""
    k = 3
    shape = (*lead, k)
    w = np.broadcast_to(width.reshape(width.shape + (1,) * (len(shape) - width.ndim)), shape)
    h = np.broadcast_to(height.reshape(height.shape + (1,) * (len(shape) - height.ndim)), shape)
    x0 = rng.uniform(-0.25, 1.1, size=shape) * w
    y0 = rng.uniform(-0.25, 1.1, size=shape) * h
    x1 = x0 + rng.uniform(0, 0.6, size=shape) * w
    y1 = y0 + rng.uniform(0, 0.6, size=shape) * h
    boxes = np.stack([x0, y0, x1, y1], axis=-1)
    snap = rng.random(shape) < 0.35
    boxes[snap] = np.round(boxes[snap] * 2) / 2
    flush = rng.random(shape) < 0.1
    boxes[..., 0] = np.where(flush, 0.0, boxes[..., 0])
    boxes[..., 2] = np.where(rng.random(shape) < 0.1, w, boxes[..., 2])
    degenerate = rng.random(shape) < 0.05
    boxes[..., 2] = np.where(degenerate, boxes[..., 0], boxes[..., 2])
    boxes[..., 0], boxes[..., 2] = (
        np.minimum(boxes[..., 0], boxes[..., 2]),
        np.maximum(boxes[..., 0], boxes[..., 2]),
    )
    count = rng.choice([0, 1, 2, 3], size=lead, p=[0.2, 0.35, 0.25, 0.2])
    mask = np.arange(k) < count[..., None]
    return boxes, mask


def box_list(boxes: np.ndarray, mask: np.ndarray) -> list[list[float]]:
    return [[float(v) for v in b] for b, ok in zip(boxes, mask, strict=True) if ok]


GRIDS = [(1, 1), (2, 3), (4, 4), (5, 9), (7, 7), (8, 8), (14, 14)]


def test_spatial_pointing_game_matches_the_reference():
    rng = np.random.default_rng(SEED)
    total = 0
    for h, w in GRIDS:
        n = 600
        maps = random_maps(rng, n, (h, w))
        width = rng.integers(8, 400, size=n)
        height = rng.integers(8, 300, size=n)
        sizes = np.stack([width, height], axis=1)
        boxes, mask = random_boxes(rng, (n,), width, height)
        # the padding may hold anything: the mask alone says which rows are boxes
        boxes[~mask] = rng.normal(size=(int((~mask).sum()), 4)) * 1e6
        for tolerance in TOLERANCES:
            got = spatial_pointing_game(maps, boxes, mask, sizes, tolerance)
            for k in range(n):
                counted, hit = ref_spatial(
                    maps[k].tolist(),
                    box_list(boxes[k], mask[k]),
                    int(width[k]),
                    int(height[k]),
                    tolerance,
                )
                assert bool(got.counted[k]) == counted, (h, w, k)
                assert bool(got.hits[k] and got.counted[k]) == hit, (h, w, k, tolerance)
        total += n
    assert total >= 4000


def test_ties_go_to_the_first_cell_of_constant_and_quantized_maps():
    rng = np.random.default_rng(SEED + 1)
    maps = np.zeros((200, 6, 6), dtype=np.float32)
    maps[100:] = rng.integers(0, 2, size=(100, 6, 6))
    boxes = np.array([[[0.0, 0.0, 10.0, 10.0]]] * 200)
    got = spatial_pointing_game(maps, boxes, None, (60, 60), tolerance=0)
    # constant maps point at cell (0, 0), whose centre (5, 5) is in the box
    assert got.hits[:100].all()
    for k in range(200):
        assert bool(got.hits[k]) == ref_spatial(maps[k].tolist(), [[0, 0, 10, 10]], 60, 60, 0)[1]


def test_temporal_pointing_game_matches_the_reference():
    rng = np.random.default_rng(SEED + 2)
    c, t = 3000, 8
    temporal = random_maps(rng, c, (t,))
    starts = rng.uniform(0, 4, size=(c, 1))
    timestamps = starts + np.cumsum(rng.uniform(0.02, 0.5, size=(c, t)), axis=1)
    timestamps = np.round(timestamps * 25) / 25  # frame times on a 25 fps clock: exact edges
    seg_start = rng.uniform(0, 6, size=(c, 3))
    seg_start = np.where(
        rng.random((c, 3)) < 0.3, timestamps[:, rng.integers(0, t)][:, None], seg_start
    )
    segments = np.stack([seg_start, seg_start + rng.uniform(0, 1.5, size=(c, 3))], axis=-1)
    seg_mask = np.arange(3) < rng.integers(0, 4, size=c)[:, None]
    got = temporal_pointing_game(temporal, timestamps, segments, seg_mask)
    for k in range(c):
        segs = [tuple(map(float, s)) for s, ok in zip(segments[k], seg_mask[k], strict=True) if ok]
        counted, hit = ref_temporal(temporal[k].tolist(), timestamps[k].tolist(), segs)
        assert bool(got.counted[k]) == counted
        assert bool(got.hits[k] and got.counted[k]) == hit, k


def test_spacetime_pointing_game_matches_the_reference():
    rng = np.random.default_rng(SEED + 3)
    total = 0
    for t, h, w in [(8, 14, 14), (4, 3, 5), (8, 8, 8), (2, 1, 1)]:
        c = 400
        volume = random_maps(rng, c, (t, h, w))
        width = rng.integers(16, 320, size=c)
        height = rng.integers(16, 240, size=c)
        boxes, mask = random_boxes(rng, (c, t), width[:, None], height[:, None])
        timestamps = np.round(np.cumsum(rng.uniform(0.04, 0.3, size=(c, t)), axis=1) * 25) / 25
        pick = timestamps[np.arange(c), rng.integers(0, t, size=c)]
        segments = np.stack([pick - rng.uniform(0, 0.5, size=c), pick], axis=-1)[:, None, :]
        segments = np.where(rng.random((c, 1, 1)) < 0.25, segments + 10, segments)
        seg_mask = rng.random((c, 1)) < 0.85
        for tolerance in (0.0, 15.0):
            got = spacetime_pointing_game(
                volume,
                timestamps,
                segments,
                seg_mask,
                boxes,
                mask,
                np.stack([width, height], axis=1),
                tolerance,
            )
            for k in range(c):
                segs = [tuple(map(float, segments[k, 0]))] if seg_mask[k, 0] else []
                counted, hit = ref_spacetime(
                    volume[k].tolist(),
                    timestamps[k].tolist(),
                    segs,
                    [box_list(boxes[k, f], mask[k, f]) for f in range(t)],
                    int(width[k]),
                    int(height[k]),
                    tolerance,
                )
                assert bool(got.counted[k]) == counted, (t, h, w, k)
                assert bool(got.hits[k] and got.counted[k]) == hit, (t, h, w, k, tolerance)
        total += c
    assert total >= 1600


def _small_frames(rng: np.random.Generator, n: int, h: int, w: int):
    maps = random_maps(rng, n, (h, w))
    width = rng.integers(3, 40, size=n)
    height = rng.integers(3, 32, size=n)
    boxes, mask = random_boxes(rng, (n,), width, height)
    return maps, boxes, mask, width, height


@pytest.mark.parametrize("grid", [(1, 1), (3, 4), (5, 7), (8, 8)])
def test_energy_pointing_game_matches_the_reference(grid):
    rng = np.random.default_rng(SEED + 4 + grid[1])
    h, w = grid
    maps, boxes, mask, width, height = _small_frames(rng, 400, h, w)
    got = energy_pointing_game(maps, boxes, mask, np.stack([width, height], axis=1))
    for k in range(len(maps)):
        counted, score = ref_energy(
            maps[k].tolist(), box_list(boxes[k], mask[k]), int(width[k]), int(height[k])
        )
        assert bool(got.counted[k]) == counted
        assert got.scores[k] == pytest.approx(score, rel=1e-12, abs=1e-12), k


@pytest.mark.parametrize("grid", [(1, 1), (3, 4), (5, 7), (8, 8)])
def test_thresholded_iou_matches_the_reference(grid):
    rng = np.random.default_rng(SEED + 5 + grid[0])
    h, w = grid
    maps, boxes, mask, width, height = _small_frames(rng, 400, h, w)
    iou, counted = thresholded_iou(maps, boxes, mask, np.stack([width, height], axis=1))
    for k in range(len(maps)):
        want_counted, want = ref_iou(
            maps[k].tolist(), box_list(boxes[k], mask[k]), int(width[k]), int(height[k])
        )
        assert bool(counted[k]) == want_counted
        assert float(iou[k]) == want, k  # ratios of whole pixel counts: identical


def test_small_object_subset_matches_the_reference():
    rng = np.random.default_rng(SEED + 6)
    n = 4000
    width = rng.integers(8, 400, size=n)
    height = rng.integers(8, 300, size=n)
    boxes, mask = random_boxes(rng, (n,), width, height)
    got = small_object_frames(boxes, mask, np.stack([width, height], axis=1))
    for k in range(n):
        assert bool(got[k]) == ref_small(box_list(boxes[k], mask[k]), width[k], height[k]), k


def test_human_baseline_matches_the_reference():
    rng = np.random.default_rng(SEED + 7)
    n = 4000
    width = rng.integers(16, 400, size=n)
    height = rng.integers(16, 300, size=n)
    own, own_mask = random_boxes(rng, (n,), width, height)
    # equal areas sometimes, so the first-of-equals rule is exercised
    own[:, 1] = np.where(rng.random((n, 1)) < 0.2, own[:, 0] + 3.0, own[:, 1])
    others, others_mask = random_boxes(rng, (n,), width, height)
    for tolerance in TOLERANCES:
        got = human_pointing_game(own, own_mask, others, others_mask, tolerance)
        for k in range(n):
            counted, hit = ref_human(
                box_list(own[k], own_mask[k]), box_list(others[k], others_mask[k]), tolerance
            )
            assert bool(got.counted[k]) == counted
            assert bool(got.hits[k] and got.counted[k]) == hit, (k, tolerance)


def test_map_frames_find_their_source_frames_like_the_reference():
    rng = np.random.default_rng(SEED + 8)
    for _ in range(40):
        n = int(rng.integers(1, 60))
        frames = np.cumsum(rng.uniform(0.02, 0.1, size=n)) - 0.02
        frames = np.round(frames, 6)
        exact = rng.choice(frames, size=20)
        between = rng.uniform(frames[0] - 0.1, frames[-1] + 0.1, size=60)
        times = np.concatenate([exact, between, (frames[:-1] + frames[1:]) / 2])
        index, ok = match_source_frames(times, frames)
        for k, t in enumerate(times):
            want = ref_match(float(t), frames.tolist())
            assert int(index[k]) == want, (t, frames)
            assert bool(ok[k]) == (want >= 0)


def test_score_clips_batches_every_score_like_the_reference():
    """The platform scores many clips in one call per token grid; each clip's results must be
    those of the reference on that clip alone."""
    rng = np.random.default_rng(SEED + 9)
    clips, expected = [], []
    for n in range(240):
        t, h, w = [(4, 3, 5), (2, 4, 4), (3, 1, 2)][n % 3]
        width, height = int(rng.integers(4, 30)), int(rng.integers(4, 24))
        volume = random_maps(rng, 1, (t, h, w))[0]
        boxes, mask = random_boxes(rng, (t,), np.full(t, width), np.full(t, height))
        mask[:, 1:] &= rng.random((t, 2)) < 0.5  # varied box counts per clip
        stamps = np.round(np.cumsum(rng.uniform(0.04, 0.3, size=t)) * 25) / 25
        temporal = random_maps(rng, 1, (t,))[0].astype(np.float64)
        count = int(rng.integers(0, 3))
        segments = np.array(
            [[s, s + 0.2] for s in rng.choice(stamps, size=count)], dtype=np.float64
        ).reshape(-1, 2)
        clips.append(ClipInput(volume, temporal, stamps, boxes, mask, segments, (width, height)))
        frames = [box_list(boxes[f], mask[f]) for f in range(t)]
        segs = [tuple(s) for s in segments.tolist()]
        expected.append(
            (volume.tolist(), temporal.tolist(), stamps.tolist(), frames, segs, width, height)
        )
    results = score_clips(clips, tolerance=15.0)
    for got, (volume, temporal, stamps, frames, segs, width, height) in zip(
        results, expected, strict=True
    ):
        for f, frame in enumerate(volume):
            counted, hit = ref_spatial(frame, frames[f], width, height, 15.0)
            assert bool(got.counted[f]) == counted and bool(got.hit[f]) == hit
            assert bool(got.small[f]) == ref_small(frames[f], width, height)
            assert got.energy[f] == pytest.approx(
                ref_energy(frame, frames[f], width, height)[1], rel=1e-12, abs=1e-12
            )
            assert got.iou[f] == ref_iou(frame, frames[f], width, height)[1]
        counted, hit = ref_temporal(temporal, stamps, segs)
        assert got.temporal_hit == (hit if counted else None)
        counted, hit = ref_spacetime(volume, stamps, segs, frames, width, height, 15.0)
        assert got.spacetime_hit == (hit if counted else None)


def test_thresholded_iou_with_many_overlapping_boxes_per_frame():
    """Up to 4 boxes are united by inclusion-exclusion, more by interval splitting: both must
    count pixels like the reference."""
    rng = np.random.default_rng(SEED + 10)
    for k in (4, 6):
        n = 150
        maps = random_maps(rng, n, (3, 4))
        width = rng.integers(3, 40, size=n)
        height = rng.integers(3, 32, size=n)
        lo = rng.uniform(-5, 30, size=(n, k, 2))
        boxes = np.concatenate([lo, lo + rng.uniform(0, 20, size=(n, k, 2))], axis=-1)
        mask = rng.random((n, k)) < 0.8
        iou, counted = thresholded_iou(maps, boxes, mask, np.stack([width, height], axis=1))
        for f in range(n):
            want_counted, want = ref_iou(
                maps[f].tolist(), box_list(boxes[f], mask[f]), int(width[f]), int(height[f])
            )
            assert bool(counted[f]) == want_counted and float(iou[f]) == want, (k, f)
