"""Checking an annotation against a video: every box, track, segment and label, with every
problem in words a person can act on (:func:`clean_annotation`), and the plain data the other
geometry modules share (:class:`VideoGeometry`, :data:`Box`, the limits).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

SEGMENT_KINDS = ("visual", "sound")
MAX_TRACKS = 100
MAX_SEGMENTS = 200
MAX_LABEL_LENGTH = 100
MAX_ATTRIBUTES = 50
MAX_ATTRIBUTE_VALUE_LENGTH = 1000
# Names CVAT and its dataset tools use for a shape's own flags: never a box attribute.
RESERVED_ATTRIBUTES = frozenset({"occluded", "outside", "keyframe", "track_id", "rotation"})
COORDINATE_DECIMALS = 2
TIME_TOLERANCE = 1e-6

Box = tuple[float, float, float, float]  # (x0, y0, x1, y1)


class InvalidAnnotation(ValueError):
    """An annotation that breaks the rules; ``errors`` maps a field to readable messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(m for messages in errors.values() for m in messages))


@dataclass(frozen=True)
class VideoGeometry:
    """What validation needs to know about a video."""

    width: int
    height: int
    timestamps: tuple[float, ...]
    duration: float = 0.0

    @property
    def n_frames(self) -> int:
        return len(self.timestamps)

    @property
    def end_time(self) -> float:
        """The latest time a segment may end: the video's duration (or its last frame)."""
        last = self.timestamps[-1] if self.timestamps else 0.0
        return max(float(self.duration or 0.0), float(last))


@dataclass
class _Errors:
    items: dict[str, list[str]] = field(default_factory=dict)

    def add(self, key: str, message: str) -> None:
        self.items.setdefault(key, []).append(message)

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidAnnotation(self.items)


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _flag(value: object, default: bool = False) -> bool | None:
    if value is None:
        return default
    return value if isinstance(value, bool) else None


def quantize(value: float) -> float:
    """Coordinates are kept to 0.01 px; ``+ 0.0`` turns a rounded ``-0.0`` into ``0.0``."""
    return round(value, COORDINATE_DECIMALS) + 0.0


def _fmt(value: float) -> str:
    return f"{value:g}"


def clean_annotation(
    payload: object,
    video: VideoGeometry,
    *,
    labels: Sequence[str] = (),
    default_label: str = "",
    allow_instant_segments: bool = False,
) -> dict:
    """Check an annotation and return it normalized (sorted, quantized, flags filled in).

    ``payload`` is ``{"tracks": [{"label", "keyframes": [{"frame", "x0", "y0", "x1", "y1",
    "outside", "occluded", "attributes"?, "tracked"?, "hold"?}]}], "segments": [{"kind",
    "label", "start", "end"}]}`` (a keyframe's ``attributes``, name -> text, are kept only when
    there are some; ``tracked``, a box the tracker proposed rather than one the annotator drew,
    and ``hold``, interpolation off until the next keyframe, only when true). Raises
    :class:`InvalidAnnotation` with every problem found, in words a person can act on.

    ``labels``: the allowed track and segment labels (empty: any label); ``default_label``: the
    label of a track or segment that gives none. ``allow_instant_segments``: accept
    ``start == end`` (a known instant, for imported ground truth); annotators' segments must
    have a positive length.
    """
    errors = _Errors()
    if not isinstance(payload, dict):
        raise InvalidAnnotation({"detail": ["The annotation must be a JSON object."]})
    unknown = sorted(set(payload) - {"tracks", "segments", "version"})
    if unknown:
        errors.add("detail", f"Unknown field(s): {', '.join(unknown)}.")
    raw_tracks = payload.get("tracks", [])
    raw_segments = payload.get("segments", [])
    if not isinstance(raw_tracks, list):
        errors.add("tracks", "Tracks must be a list.")
        raw_tracks = []
    if not isinstance(raw_segments, list):
        errors.add("segments", "Segments must be a list.")
        raw_segments = []
    if len(raw_tracks) > MAX_TRACKS:
        errors.add("tracks", f"At most {MAX_TRACKS} tracks are allowed.")
        raw_tracks = []
    if len(raw_segments) > MAX_SEGMENTS:
        errors.add("segments", f"At most {MAX_SEGMENTS} segments are allowed.")
        raw_segments = []
    tracks = [
        t
        for i, raw in enumerate(raw_tracks)
        if (t := _clean_track(raw, i, video, labels, default_label, errors)) is not None
    ]
    segments = _clean_segments(
        raw_segments, video, labels, default_label, allow_instant_segments, errors
    )
    errors.raise_if_any()
    return {"tracks": tracks, "segments": segments}


def _clean_track(
    raw: object,
    index: int,
    video: VideoGeometry,
    labels: Sequence[str],
    default_label: str,
    errors: _Errors,
) -> dict | None:
    where = f"Track {index + 1}"
    if not isinstance(raw, dict):
        errors.add("tracks", f"{where} must be an object with a label and keyframes.")
        return None
    label = _clean_label(raw.get("label"), where, labels, default_label, errors, "tracks")
    if label is None:
        return None
    raw_keyframes = raw.get("keyframes")
    if not isinstance(raw_keyframes, list) or not raw_keyframes:
        errors.add("tracks", f"{where} has no keyframes.")
        return None
    if len(raw_keyframes) > max(video.n_frames, 1):
        errors.add("tracks", f"{where} has more keyframes than the video has frames.")
        return None
    keyframes: dict[int, dict] = {}
    for raw_kf in raw_keyframes:
        kf = _clean_keyframe(raw_kf, where, video, errors)
        if kf is None:
            continue
        if kf["frame"] in keyframes:
            errors.add("tracks", f"{where} has two keyframes on frame {kf['frame']}.")
            continue
        keyframes[kf["frame"]] = kf
    if not keyframes:
        return None
    return {"label": label, "keyframes": [keyframes[f] for f in sorted(keyframes)]}


def _clean_keyframe(raw: object, where: str, video: VideoGeometry, errors: _Errors) -> dict | None:
    if not isinstance(raw, dict):
        errors.add("tracks", f"{where}: every keyframe must be an object.")
        return None
    frame = raw.get("frame")
    if isinstance(frame, bool) or not isinstance(frame, int):
        if isinstance(frame, float) and frame.is_integer():
            frame = int(frame)
        else:
            errors.add("tracks", f"{where}: a keyframe's frame must be a whole number.")
            return None
    at = f"{where}, frame {frame}"
    if frame < 0:
        errors.add("tracks", f"{at}: frames start at 0.")
        return None
    if frame >= video.n_frames:
        errors.add(
            "tracks",
            f"{at}: the frame is past the end of the video "
            f"(it has {video.n_frames} frames, 0 to {video.n_frames - 1}).",
        )
        return None
    coords = {}
    for name in ("x0", "y0", "x1", "y1"):
        value = _number(raw.get(name))
        if value is None:
            errors.add("tracks", f"{at}: {name} must be a finite number.")
            return None
        coords[name] = quantize(value)
    outside = _flag(raw.get("outside"))
    occluded = _flag(raw.get("occluded"))
    tracked = _flag(raw.get("tracked"))
    hold = _flag(raw.get("hold"))
    if outside is None or occluded is None or tracked is None or hold is None:
        errors.add("tracks", f"{at}: outside, occluded, tracked and hold must be true or false.")
        return None
    problems = box_problems((coords["x0"], coords["y0"], coords["x1"], coords["y1"]), video)
    for problem in problems:
        errors.add("tracks", f"{at}: {problem}")
    if problems:
        return None
    attributes = _clean_attributes(raw.get("attributes"), at, errors)
    if attributes is None:
        return None
    cleaned = {"frame": frame, **coords, "outside": outside, "occluded": occluded}
    if attributes:
        # Only when there are some: an annotation without attributes stays as it always was.
        cleaned["attributes"] = attributes
    if tracked:
        # A box the tracker proposed and the annotator kept (only when true, as attributes).
        cleaned["tracked"] = True
    if hold:
        # Interpolation off until the next keyframe (only when true).
        cleaned["hold"] = True
    return cleaned


def _clean_attributes(raw: object, at: str, errors: _Errors) -> dict[str, str] | None:
    """A box's attributes (CVAT's per-box attributes): names and values are text, kept
    exactly (no trimming); ``None`` when they break the rules."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        errors.add("tracks", f"{at}: attributes must be an object of name -> text value.")
        return None
    if len(raw) > MAX_ATTRIBUTES:
        errors.add("tracks", f"{at}: at most {MAX_ATTRIBUTES} attributes are allowed on a box.")
        return None
    cleaned = {}
    for name in sorted(raw, key=str):
        value = raw[name]
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_LABEL_LENGTH:
            errors.add(
                "tracks",
                f"{at}: an attribute name must be text of 1 to {MAX_LABEL_LENGTH} characters.",
            )
            return None
        if name in RESERVED_ATTRIBUTES:
            errors.add(
                "tracks",
                f"{at}: '{name}' cannot be an attribute name (it is a flag of the box itself).",
            )
            return None
        if not isinstance(value, str) or len(value) > MAX_ATTRIBUTE_VALUE_LENGTH:
            errors.add(
                "tracks",
                f"{at}: the value of attribute '{name}' must be text of at most "
                f"{MAX_ATTRIBUTE_VALUE_LENGTH} characters.",
            )
            return None
        cleaned[name] = value
    return cleaned


def box_problems(box: Box, video: VideoGeometry) -> list[str]:
    """Why a box is not a valid box of this video (empty when it is)."""
    x0, y0, x1, y1 = box
    problems = []
    if x1 < x0 or y1 < y0:
        problems.append(
            "the box has a negative size (x1 must be greater than x0 and y1 greater than y0)."
        )
    elif x1 == x0 or y1 == y0:
        problems.append("the box has no area (its width or height is 0).")
    if x0 < 0 or y0 < 0 or x1 > video.width or y1 > video.height:
        problems.append(
            f"the box [{_fmt(x0)}, {_fmt(x1)}] x [{_fmt(y0)}, {_fmt(y1)}] is outside the frame "
            f"[0, {video.width}] x [0, {video.height}]."
        )
    return problems


def _clean_label(
    raw: object, where: str, labels: Sequence[str], default_label: str, errors: _Errors, key: str
) -> str | None:
    """A track's or segment's label: the given one (trimmed), else ``default_label``."""
    label = raw if raw not in (None, "") else default_label
    if not isinstance(label, str) or not label.strip():
        errors.add(key, f"{where} needs a label.")
        return None
    label = label.strip()
    if len(label) > MAX_LABEL_LENGTH:
        errors.add(key, f"{where}: the label is longer than {MAX_LABEL_LENGTH} characters.")
        return None
    if labels and label not in labels:
        errors.add(key, f"{where}: '{label}' is not one of the labels ({', '.join(labels)}).")
    return label


def _clean_segments(
    raw_segments: list,
    video: VideoGeometry,
    labels: Sequence[str],
    default_label: str,
    allow_instant: bool,
    errors: _Errors,
) -> list[dict]:
    groups: dict[tuple[str, str], list[dict]] = {}
    for index, raw in enumerate(raw_segments):
        where = f"Segment {index + 1}"
        if not isinstance(raw, dict):
            errors.add("segments", f"{where} must be an object with kind, start and end.")
            continue
        kind = raw.get("kind", "visual")
        if kind not in SEGMENT_KINDS:
            errors.add("segments", f"{where}: kind must be 'visual' or 'sound'.")
            continue
        label = _clean_label(raw.get("label"), where, labels, default_label, errors, "segments")
        if label is None:
            continue
        start, end = _number(raw.get("start")), _number(raw.get("end"))
        if start is None or end is None:
            errors.add("segments", f"{where}: start and end must be numbers of seconds.")
            continue
        where = f"{where} ({kind}, {_fmt(start)} s to {_fmt(end)} s)"
        if end < start:
            errors.add("segments", f"{where} ends before it starts.")
            continue
        if end == start and not allow_instant:
            errors.add("segments", f"{where} is empty: its end must be after its start.")
            continue
        if start < -TIME_TOLERANCE or end > video.end_time + TIME_TOLERANCE:
            errors.add(
                "segments",
                f"{where} is outside the video (0 s to {_fmt(video.end_time)} s).",
            )
            continue
        groups.setdefault((kind, label), []).append(
            {"kind": kind, "label": label, "start": max(start, 0.0), "end": end}
        )
    segments = []
    for kind, label in sorted(groups, key=lambda g: (SEGMENT_KINDS.index(g[0]), g[1])):
        ordered = sorted(groups[(kind, label)], key=lambda s: (s["start"], s["end"]))
        for before, after in zip(ordered, ordered[1:], strict=False):
            if after["start"] <= before["end"]:
                errors.add(
                    "segments",
                    f"Two {kind} segments of '{label}' overlap "
                    f"({_fmt(before['start'])}-{_fmt(before['end'])} s "
                    f"and {_fmt(after['start'])}-{_fmt(after['end'])} s): merge them into one.",
                )
                break
        segments.extend(ordered)
    return segments


def is_empty(annotation: dict) -> bool:
    return not annotation.get("tracks") and not annotation.get("segments")
