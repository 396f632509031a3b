"""Consensus ground truth, agreement between annotators and accuracy against gold answers.

Plain functions over annotation dicts (see :mod:`wherewhen.annotations.geometry`), so the same
definitions serve the platform, exports and benchmarks.

Everything is **per label**: a track's boxes and a segment only ever meet evidence of the same
annotation label (a car box never fuses with, matches or counts against a cyclist box).

**Consensus** of ``n`` annotations of one video, for each label:

* *Boxes*, frame by frame: every annotation contributes the boxes of its tracks on that frame
  (interpolated, ``outside`` excluded). Annotations are visited in order; each one's boxes are
  matched one-to-one (greedy, highest IoU first) to the clusters found so far, a match needing
  IoU >= ``BOX_MATCH_IOU`` with the cluster's current fused box; unmatched boxes start new
  clusters. A cluster survives when more than half of the ``n`` annotations have a box in it
  (a strict majority), and its box is the coordinate-wise median of its members.
* *Segments*, per kind (visual, sound), the same way in one dimension: segments are matched
  when they overlap, a cluster needs a strict majority, and its bounds are the median start and
  the median end. Overlapping results are merged so segments stay ordered and disjoint.

**Agreement** of two annotations: the mean of the parts both can be compared on:

* box IoU: over the (label, frame) pairs where either has a box of that label, the matched IoU
  of the two sets of boxes divided by the size of the larger set (0 where only one has boxes),
  averaged;
* visual and sound segment IoU: per label, length of the intersection over length of the union
  of the two annotations' segments of that kind and label, averaged over the labels either one
  marked (a kind neither marked is left out).

The agreement of a video is the mean over all pairs of its annotations (``None`` below two).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence

from wherewhen.annotations.geometry import (
    SEGMENT_KINDS,
    Box,
    frame_boxes,
    frame_set_iou,
    labels_of,
    match_boxes,
    segment_iou,
    union_intervals,
)

BOX_MATCH_IOU = 0.5

Interval = tuple[float, float]


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def _median_box(boxes: Sequence[Box]) -> Box:
    return tuple(_median([b[k] for b in boxes]) for k in range(4))  # type: ignore[return-value]


def fuse_boxes(box_sets: Sequence[Sequence[Box]], min_iou: float = BOX_MATCH_IOU) -> list[Box]:
    """The consensus boxes of one frame from each annotation's boxes on it."""
    n = len(box_sets)
    clusters: list[list[Box]] = []
    fused: list[Box] = []
    for boxes in box_sets:
        matches = match_boxes(list(boxes), fused, min_iou=min_iou)
        matched = set()
        for i, j, _ in matches:
            clusters[j].append(boxes[i])
            fused[j] = _median_box(clusters[j])
            matched.add(i)
        for i, box in enumerate(boxes):
            if i not in matched:
                clusters.append([box])
                fused.append(tuple(box))  # type: ignore[arg-type]
    kept = [fused[j] for j, members in enumerate(clusters) if 2 * len(members) > n]
    return sorted(kept)


def interval_iou(a: Interval, b: Interval) -> float:
    inter = min(a[1], b[1]) - max(a[0], b[0])
    if inter < 0:
        return 0.0
    union = max(a[1], b[1]) - min(a[0], b[0])
    if union <= 0:
        return 1.0  # the same instant
    return inter / union if inter > 0 else 0.0


def fuse_segments(segment_sets: Sequence[Sequence[Interval]]) -> list[Interval]:
    """Consensus segments of one kind from each annotation's segments of that kind."""
    n = len(segment_sets)
    clusters: list[list[Interval]] = []
    fused: list[Interval] = []
    for segments in segment_sets:
        used: set[int] = set()
        for segment in union_intervals(segments):
            scores = [
                (interval_iou(segment, f), j)
                for j, f in enumerate(fused)
                if j not in used and interval_iou(segment, f) > 0
            ]
            if scores:
                _, j = max(scores, key=lambda item: (item[0], -item[1]))
                clusters[j].append(segment)
                fused[j] = (
                    _median([s for s, _ in clusters[j]]),
                    _median([e for _, e in clusters[j]]),
                )
                used.add(j)
            else:
                clusters.append([segment])
                fused.append(segment)
                used.add(len(fused) - 1)
    kept = [fused[j] for j, members in enumerate(clusters) if 2 * len(members) > n]
    return union_intervals(kept)


def segments_of(annotation: dict, kind: str, label: str | None = None) -> list[Interval]:
    """An annotation's segments of ``kind`` (and of ``label``; None: every label)."""
    return [
        (float(s["start"]), float(s["end"]))
        for s in annotation.get("segments", [])
        if s.get("kind", "visual") == kind and (label is None or s.get("label") == label)
    ]


def _labels(*annotations: dict) -> list[str]:
    return sorted({label for a in annotations for label in labels_of(a)})


def _box_iou_by_label(a: dict, b: dict, n_frames: int) -> float | None:
    scores = []
    for label in _labels(a, b):
        fa, fb = frame_boxes(a, n_frames, label), frame_boxes(b, n_frames, label)
        scores += [s for x, y in zip(fa, fb, strict=True) if (s := frame_set_iou(x, y)) is not None]
    return sum(scores) / len(scores) if scores else None


def _segment_iou_by_label(a: dict, b: dict, kind: str) -> float | None:
    scores = [
        v
        for label in _labels(a, b)
        if (v := segment_iou(segments_of(a, kind, label), segments_of(b, kind, label))) is not None
    ]
    return sum(scores) / len(scores) if scores else None


def pair_agreement(a: dict, b: dict, n_frames: int) -> dict:
    """Agreement of two annotations: ``{"box", "visual", "sound", "overall"}`` (None = not
    comparable)."""
    parts: dict[str, float | None] = {"box": _box_iou_by_label(a, b, n_frames)}
    for kind in SEGMENT_KINDS:
        parts[kind] = _segment_iou_by_label(a, b, kind)
    values = [v for v in parts.values() if v is not None]
    parts["overall"] = sum(values) / len(values) if values else None
    return parts


def agreement(annotations: Sequence[dict], n_frames: int) -> dict:
    """Mean pairwise agreement of a video's annotations, overall and per part."""
    keys = ("box", "visual", "sound", "overall")
    collected: dict[str, list[float]] = {k: [] for k in keys}
    pairs = 0
    for a, b in itertools.combinations(annotations, 2):
        pairs += 1
        for key, value in pair_agreement(a, b, n_frames).items():
            if value is not None:
                collected[key].append(value)
    result: dict = {k: (sum(v) / len(v) if v else None) for k, v in collected.items()}
    result["pairs"] = pairs
    return result


def compare_to_reference(annotation: dict, reference: dict, n_frames: int) -> dict:
    """Accuracy of an annotation against a known answer (a gold item):
    ``{"box_iou", "segment_iou"}`` (label by label), the latter averaged over the kinds either
    one marked."""
    box = _box_iou_by_label(annotation, reference, n_frames)
    kinds = [
        v
        for kind in SEGMENT_KINDS
        if (v := _segment_iou_by_label(annotation, reference, kind)) is not None
    ]
    return {"box_iou": box, "segment_iou": sum(kinds) / len(kinds) if kinds else None}


def consensus_of_label(annotations: Sequence[dict], n_frames: int, label: str) -> dict:
    """Consensus of one label's evidence: ``{"frames": [[box, ...] per frame], "when":
    {"visual": [(start, end), ...], "sound": [...]}}``. The majority is over all ``n``
    annotations, so a label only some annotators saw needs more than half of them."""
    per_annotation = [frame_boxes(a, n_frames, label) for a in annotations]
    frames = [
        fuse_boxes([boxes[f] for boxes in per_annotation]) if per_annotation else []
        for f in range(n_frames)
    ]
    when = {
        kind: fuse_segments([segments_of(a, kind, label) for a in annotations])
        if annotations
        else []
        for kind in SEGMENT_KINDS
    }
    return {"frames": frames, "when": when}


def consensus(annotations: Sequence[dict], n_frames: int) -> dict[str, dict]:
    """Consensus of a video's annotations, label by label: ``{label: consensus_of_label(...)}``
    for every label any annotation carries (a label whose evidence did not reach a majority
    maps to empty frames and segments)."""
    return {
        label: consensus_of_label(annotations, n_frames, label) for label in _labels(*annotations)
    }
