"""Interpolation: a track's shape on every frame from its keyframes (CVAT's rule), and the
visible boxes of an annotation frame by frame."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from wherewhen.annotations.geometry.validation import Box


def track_shapes(keyframes: Sequence[dict], n_frames: int) -> list[dict]:
    """Every shape of a track in frame order, as CVAT for video lists them.

    Keyframes come back with ``keyframe: True``; frames between two keyframes are interpolated
    linearly, or hold the first keyframe's box when it says ``hold`` (``keyframe: False``, the ``occluded`` flag and the ``attributes`` copied from the
    keyframe before). Nothing is produced after an ``outside`` keyframe until the next keyframe;
    after the last keyframe the box is repeated until the last frame of the video unless that
    keyframe is ``outside``. Every shape has ``frame``, ``x0``, ``y0``, ``x1``, ``y1``,
    ``outside``, ``occluded``, ``keyframe`` and ``attributes`` (a new dict, possibly empty).

    An imported file's boxes are all reproduced by this rule: where a file's box on a
    non-keyframe differs from it, the import stores that box as a keyframe of its own (see
    :mod:`wherewhen.annotations.formats`).
    """
    ordered = sorted(keyframes, key=lambda k: k["frame"])
    shapes: list[dict] = []
    for index, kf in enumerate(ordered):
        if kf["frame"] >= n_frames:
            break
        shapes.append(_shape(kf, kf["frame"], _coords(kf), keyframe=True))
        if kf.get("outside"):
            continue
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        stop = min(following["frame"], n_frames) if following else n_frames
        start_box = _coords(kf)
        for frame in range(kf["frame"] + 1, stop):
            if following is None or kf.get("hold"):
                box = start_box
            else:
                t = (frame - kf["frame"]) / (following["frame"] - kf["frame"])
                box = lerp_box(start_box, _coords(following), t)
            shapes.append(_shape(kf, frame, box, keyframe=False))
    return shapes


def stored_shapes(keyframes: Sequence[dict], n_frames: int) -> list[dict]:
    """The shapes a keyframes-only export lists: the stored boxes (keyframes and tracked boxes),
    plus, where interpolation is off (``hold``), the held box again on the frame before the next
    keyframe, so a reader that interpolates linearly between keyframes (CVAT) gets the same
    boxes back."""
    shapes = track_shapes(keyframes, n_frames)
    by_frame = {s["frame"]: s for s in shapes}
    out = []
    ordered = sorted(keyframes, key=lambda k: k["frame"])
    for index, kf in enumerate(ordered):
        if kf["frame"] >= n_frames:
            break
        out.append(by_frame[kf["frame"]])
        following = ordered[index + 1] if index + 1 < len(ordered) else None
        closer = following["frame"] - 1 if following else None
        held = kf.get("hold") and not kf.get("outside")
        if held and closer and kf["frame"] < closer < n_frames:
            out.append({**by_frame[closer], "keyframe": True})
    return out


def track_boxes(keyframes: Sequence[dict], n_frames: int) -> list[dict | None]:
    """The track's visible box on every frame (``None`` where it has none or is outside)."""
    boxes: list[dict | None] = [None] * n_frames
    for shape in track_shapes(keyframes, n_frames):
        if not shape["outside"]:
            boxes[shape["frame"]] = shape
    return boxes


def lerp_box(a: Box, b: Box, t: float) -> Box:
    return tuple(p + (q - p) * t for p, q in zip(a, b, strict=True))  # type: ignore[return-value]


def _coords(kf: dict) -> Box:
    return (float(kf["x0"]), float(kf["y0"]), float(kf["x1"]), float(kf["y1"]))


def _shape(kf: dict, frame: int, box: Box, *, keyframe: bool) -> dict:
    return {
        "frame": frame,
        "x0": box[0],
        "y0": box[1],
        "x1": box[2],
        "y1": box[3],
        "outside": bool(kf.get("outside")) if keyframe else False,
        "occluded": bool(kf.get("occluded")),
        "keyframe": keyframe,
        "attributes": dict(kf.get("attributes") or {}),
    }


def snap_to_frames(
    start: float, end: float, timestamps: Sequence[float], end_time: float, tolerance: float = 1e-6
) -> tuple[float, float]:
    """A "when" segment on frame boundaries: its start moves back to the start of the frame it
    falls in, its end forward to the end of its frame (the next frame's start, or ``end_time``
    after the last frame); a bound already on a boundary stays."""
    if not timestamps:
        return start, end
    i = bisect_right(timestamps, start + tolerance) - 1
    snapped_start = float(timestamps[max(i, 0)])
    j = bisect_left(timestamps, end - tolerance)
    snapped_end = float(timestamps[j]) if j < len(timestamps) else float(end_time)
    return snapped_start, max(snapped_end, snapped_start)


def labels_of(annotation: dict) -> list[str]:
    """Every label an annotation's tracks and segments carry, sorted."""
    found = {t["label"] for t in annotation.get("tracks", [])}
    found |= {s["label"] for s in annotation.get("segments", []) if s.get("label")}
    return sorted(found)


def frame_boxes(annotation: dict, n_frames: int, label: str | None = None) -> list[list[Box]]:
    """Visible boxes of an annotation on every frame: the tracks of ``label``, or of every
    label when it is None."""
    frames: list[list[Box]] = [[] for _ in range(n_frames)]
    for track in annotation.get("tracks", []):
        if label is not None and track["label"] != label:
            continue
        for shape in track_boxes(track["keyframes"], n_frames):
            if shape is not None:
                frames[shape["frame"]].append((shape["x0"], shape["y0"], shape["x1"], shape["y1"]))
    return frames
