"""Overlap measures: box IoU, one-to-one box matching, frame-set and spatial IoU, and the
temporal IoU of segments."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from wherewhen.annotations.geometry.validation import Box


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (areas of the rectangles, as usual for IoU)."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def match_boxes(
    a: Sequence[Box], b: Sequence[Box], min_iou: float = 0.0
) -> list[tuple[int, int, float]]:
    """Greedy one-to-one matching by decreasing IoU: ``(i, j, iou)`` with ``iou > 0`` and
    ``iou >= min_iou``. Ties go to the lower indices, so the result is deterministic."""
    pairs = sorted(
        ((box_iou(p, q), i, j) for i, p in enumerate(a) for j, q in enumerate(b)),
        key=lambda item: (-item[0], item[1], item[2]),
    )
    used_a: set[int] = set()
    used_b: set[int] = set()
    matches = []
    for iou, i, j in pairs:
        if iou <= 0 or iou < min_iou or i in used_a or j in used_b:
            continue
        used_a.add(i)
        used_b.add(j)
        matches.append((i, j, iou))
    return matches


def frame_set_iou(a: Sequence[Box], b: Sequence[Box]) -> float | None:
    """How well two sets of boxes on one frame agree: matched IoU over the larger set's size.

    ``None`` when neither set has a box (the frame does not count), 0 when only one has.
    """
    if not a and not b:
        return None
    if not a or not b:
        return 0.0
    matched = sum(iou for _, _, iou in match_boxes(a, b))
    return matched / max(len(a), len(b))


def spatial_iou(a: Sequence[Sequence[Box]], b: Sequence[Sequence[Box]]) -> float | None:
    """Mean frame-set IoU over the frames where at least one side has a box."""
    scores = [s for fa, fb in zip(a, b, strict=True) if (s := frame_set_iou(fa, fb)) is not None]
    return sum(scores) / len(scores) if scores else None


def union_intervals(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(s, e) for s, e in merged]


def segment_iou(a: Iterable[tuple[float, float]], b: Iterable[tuple[float, float]]) -> float | None:
    """Temporal IoU of two sets of segments (length of the intersection of their unions over
    the length of the union). ``None`` when both are empty; instants count as equal or not."""
    ua, ub = union_intervals(a), union_intervals(b)
    if not ua and not ub:
        return None
    if not ua or not ub:
        return 0.0
    inter = 0.0
    for s1, e1 in ua:
        for s2, e2 in ub:
            inter += max(0.0, min(e1, e2) - max(s1, s2))
    total = sum(e - s for s, e in ua) + sum(e - s for s, e in ub) - inter
    if total <= 0:
        # Only instants: they agree when they are the same instants.
        return 1.0 if ua == ub else 0.0
    return inter / total
