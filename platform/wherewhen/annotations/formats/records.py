"""What the format modules share: the records they read and write, the rows a record exports
(one per visible box, one per segment, each with its own label) and CVAT's number formats."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from wherewhen.annotations.geometry import SEGMENT_KINDS, stored_shapes, track_shapes

CVAT_VERSION = "1.1"


class InvalidFile(ValueError):
    """A file that cannot be imported; the message says why, in plain words."""


@dataclass
class CvatMeta:
    """What the ``<meta>`` block of an export says about the task and the video."""

    task_id: int
    name: str
    n_frames: int
    width: int
    height: int
    labels: Sequence[str]
    source: str = ""


@dataclass
class ImportSummary:
    """What an import read, and every change it had to make to store it."""

    tracks: int = 0
    boxes: int = 0  # <box> elements read
    keyframes: int = 0  # of them marked keyframe="1"
    interpolated: int = 0  # of them marked keyframe="0"
    occluded: int = 0  # boxes with occluded="1"
    outside: int = 0  # boxes with outside="1"
    attributes: int = 0  # <attribute> values read on boxes
    segments: int = 0
    labels: dict[str, dict[str, int]] = field(default_factory=dict)
    stored_keyframes: int = 0  # the file's keyframes plus the materialised ones
    materialised: int = 0
    rounded: int = 0  # boxes that differ from the file only by its rounding
    changes: list[str] = field(default_factory=list)

    def count(self, label: str, what: str, n: int = 1) -> None:
        counts = self.labels.setdefault(label, {"tracks": 0, "boxes": 0, "segments": 0})
        counts[what] += n

    def as_dict(self) -> dict:
        return {
            "tracks": self.tracks,
            "boxes": self.boxes,
            "keyframes": self.keyframes,
            "interpolated": self.interpolated,
            "occluded": self.occluded,
            "outside": self.outside,
            "attributes": self.attributes,
            "segments": self.segments,
            "labels": [{"label": name, **self.labels[name]} for name in sorted(self.labels)],
            "stored_keyframes": self.stored_keyframes,
            "materialised": self.materialised,
            "rounded": self.rounded,
            "changes": list(self.changes),
        }


@dataclass
class ParsedCvat:
    annotation: dict
    n_frames: int | None = None
    width: int | None = None
    height: int | None = None
    labels: list[str] = field(default_factory=list)
    summary: ImportSummary = field(default_factory=ImportSummary)


def coord_text(value: float) -> str:
    """A coordinate as CVAT writes it (two decimals)."""
    return f"{value:.2f}"


def flag_text(value: bool) -> str:
    return "1" if value else "0"


@dataclass
class VideoRecord:
    """One video's data for the COCO and CSV exports.

    ``annotations``: ``(source, assignment id, annotator name, annotation dict)`` per
    annotation; ``consensus``: the video's ground truth as
    :func:`wherewhen.annotations.services.ground_truth_for_video` returns it (each box and
    segment with its own label, from ``labels`` and ``when_labels``), or None. ``label``: the
    task's label, for a segment or consensus box that has none.
    """

    video_id: int
    title: str
    file_name: str
    width: int
    height: int
    fps: float | None
    duration: float | None
    timestamps: Sequence[float]
    label: str
    annotations: list[tuple[str, int | None, str, dict]] = field(default_factory=list)
    consensus: dict | None = None


@dataclass
class BoxRow:
    source: str
    assignment_id: int | None
    annotator: str
    label: str
    track: int | None
    frame: int
    x0: float
    y0: float
    x1: float
    y1: float
    keyframe: bool
    occluded: bool
    attributes: dict[str, str] = field(default_factory=dict)


def box_rows(record: VideoRecord, frames: str = "dense") -> Iterable[BoxRow]:
    """Every visible box, each with its own label, flags and attributes (``frames="keyframes"``:
    only the stored boxes of each track, see :func:`stored_shapes`)."""
    shapes_of = stored_shapes if frames == "keyframes" else track_shapes
    n_frames = len(record.timestamps)
    track_number = 0
    for source, assignment_id, annotator, annotation in record.annotations:
        for track in annotation.get("tracks", []):
            for shape in shapes_of(track["keyframes"], n_frames):
                if not shape["outside"]:
                    yield BoxRow(
                        source, assignment_id, annotator, track["label"], track_number,
                        shape["frame"], shape["x0"], shape["y0"], shape["x1"], shape["y1"],
                        shape["keyframe"], shape["occluded"], shape["attributes"],
                    )  # fmt: skip
            track_number += 1
    if record.consensus:
        for frame in record.consensus["frames"]:
            labels = frame.get("labels") or [record.label] * len(frame["boxes"])
            for (x0, y0, x1, y1), label in zip(frame["boxes"], labels, strict=True):
                yield BoxRow(
                    "consensus", None, "", label, None, frame["frame"],
                    x0, y0, x1, y1, False, False,
                )  # fmt: skip


def segment_rows(record: VideoRecord) -> Iterable[tuple[str, int | None, str, dict]]:
    """Every segment as ``(source, assignment id, annotator, {"kind", "label", "start",
    "end"})``, each with its own label."""
    for source, assignment_id, annotator, annotation in record.annotations:
        for segment in annotation.get("segments", []):
            yield (
                source,
                assignment_id,
                annotator,
                {**segment, "label": segment.get("label") or record.label},
            )
    if record.consensus:
        when_labels = record.consensus.get("when_labels") or {}
        for kind in SEGMENT_KINDS:
            intervals = record.consensus["when"][kind]
            labels = when_labels.get(kind) or [record.label] * len(intervals)
            for (start, end), label in zip(intervals, labels, strict=True):
                yield (
                    "consensus",
                    None,
                    "",
                    {"kind": kind, "label": label, "start": start, "end": end},
                )
