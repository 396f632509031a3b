"""Import and export: CVAT for video 1.1 XML (both ways), COCO-style JSON and CSV (export).

CVAT for video 1.1
    One file holds one annotation of one video. Each track lists, as CVAT itself exports, a box
    on every frame from its first keyframe on: keyframes with ``keyframe="1"``, interpolated
    frames with ``keyframe="0"``, an ``outside="1"`` keyframe where the object leaves, and the
    last box repeated to the end of the video unless the track ended. Coordinates have two
    decimals (``%.2f``, as CVAT writes them). On import only keyframes are read (the
    interpolated boxes follow from them), so export -> import -> export gives the same bytes.

    CVAT has no notion of "when" segments; they travel as extra top-level elements
    ``<time_segment kind="visual|sound" label="..." start="..." end="..."/>`` (seconds, written
    exactly), which CVAT's own importer ignores.

Parsing uses defusedxml: entity declarations and external references are refused.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from wherewhen.annotations.geometry import SEGMENT_KINDS, track_shapes
from wherewhen.core.csvsafe import SafeDictWriter

CVAT_VERSION = "1.1"
MAX_XML_BYTES = 20 * 1024 * 1024


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
class ParsedCvat:
    annotation: dict
    n_frames: int | None = None
    width: int | None = None
    height: int | None = None
    labels: list[str] = field(default_factory=list)


def _coord(value: float) -> str:
    return f"{value:.2f}"


def _flag(value: bool) -> str:
    return "1" if value else "0"


def export_cvat_xml(annotation: dict, meta: CvatMeta, segment_label: str = "") -> str:
    """One annotation of one video as CVAT for video 1.1 XML."""
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = CVAT_VERSION
    meta_el = ET.SubElement(root, "meta")
    task = ET.SubElement(meta_el, "task")
    for tag, text in (
        ("id", str(meta.task_id)),
        ("name", meta.name),
        ("size", str(meta.n_frames)),
        ("mode", "interpolation"),
        ("overlap", "0"),
        ("bugtracker", None),
        ("flipped", "False"),
        ("start_frame", "0"),
        ("stop_frame", str(max(meta.n_frames - 1, 0))),
        ("frame_filter", None),
    ):
        ET.SubElement(task, tag).text = text
    labels_el = ET.SubElement(task, "labels")
    for name in meta.labels:
        label = ET.SubElement(labels_el, "label")
        ET.SubElement(label, "name").text = name
        ET.SubElement(label, "type").text = "rectangle"
        ET.SubElement(label, "attributes")
    size = ET.SubElement(task, "original_size")
    ET.SubElement(size, "width").text = str(meta.width)
    ET.SubElement(size, "height").text = str(meta.height)
    ET.SubElement(meta_el, "source").text = meta.source

    for index, track in enumerate(annotation.get("tracks", [])):
        track_el = ET.SubElement(
            root, "track", id=str(index), label=track["label"], source="manual"
        )
        for shape in track_shapes(track["keyframes"], meta.n_frames):
            ET.SubElement(
                track_el,
                "box",
                frame=str(shape["frame"]),
                keyframe=_flag(shape["keyframe"]),
                outside=_flag(shape["outside"]),
                occluded=_flag(shape["occluded"]),
                xtl=_coord(shape["x0"]),
                ytl=_coord(shape["y0"]),
                xbr=_coord(shape["x1"]),
                ybr=_coord(shape["y1"]),
                z_order="0",
            )
    for segment in annotation.get("segments", []):
        ET.SubElement(
            root,
            "time_segment",
            kind=segment["kind"],
            label=segment_label,
            start=repr(float(segment["start"])),
            end=repr(float(segment["end"])),
        )
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _int(value: str | None, what: str) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidFile(f"{what} must be a whole number (found {value!r}).") from None


def _float(value: str | None, what: str) -> float:
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidFile(f"{what} must be a number (found {value!r}).") from None


def _bool(value: str | None, what: str, default: bool = False) -> bool:
    if value is None:
        return default
    text = value.strip().lower()
    if text in {"1", "true"}:
        return True
    if text in {"0", "false"}:
        return False
    raise InvalidFile(f"{what} must be 0 or 1 (found {value!r}).")


def parse_cvat_xml(data: bytes | str) -> ParsedCvat:
    """Read a CVAT for video 1.1 file into an annotation dict (not yet validated against the
    video: :func:`wherewhen.annotations.geometry.clean_annotation` does that)."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not data.strip():
        raise InvalidFile("The file is empty.")
    if len(data) > MAX_XML_BYTES:
        raise InvalidFile(f"The file is larger than {MAX_XML_BYTES // (1024 * 1024)} MB.")
    try:
        root = SafeET.fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise InvalidFile(
            "The XML declares a document type or entities, which are not accepted."
        ) from None
    except ET.ParseError as exc:
        raise InvalidFile(f"The file is not well-formed XML ({exc}).") from None
    if root.tag != "annotations":
        raise InvalidFile(
            f"This is not a CVAT annotation file: the root element is <{root.tag}>, "
            "not <annotations>."
        )
    version = (root.findtext("version") or "").strip()
    if version and version != CVAT_VERSION:
        raise InvalidFile(f"Only CVAT for video {CVAT_VERSION} is supported (found {version}).")

    parsed = ParsedCvat(annotation={"tracks": [], "segments": []})
    task = root.find("meta/task")
    if task is None:
        task = root.find("meta/job")
    if task is not None:
        if task.findtext("size"):
            parsed.n_frames = _int(task.findtext("size"), "<size>")
        if task.find("original_size") is not None:
            parsed.width = _int(task.findtext("original_size/width"), "<original_size><width>")
            parsed.height = _int(task.findtext("original_size/height"), "<original_size><height>")
        parsed.labels = [(el.findtext("name") or "").strip() for el in task.findall("labels/label")]

    for child in root:
        if child.tag in ("version", "meta"):
            continue
        if child.tag == "track":
            parsed.annotation["tracks"].append(_parse_track(child))
        elif child.tag == "time_segment":
            kind = child.get("kind", "visual")
            if kind not in SEGMENT_KINDS:
                raise InvalidFile(f"<time_segment> kind must be visual or sound (found {kind!r}).")
            parsed.annotation["segments"].append(
                {
                    "kind": kind,
                    "start": _float(child.get("start"), "<time_segment> start"),
                    "end": _float(child.get("end"), "<time_segment> end"),
                }
            )
        elif child.tag == "image":
            raise InvalidFile(
                "This is a CVAT for images file; export the task as CVAT for video 1.1."
            )
        else:
            raise InvalidFile(
                f"<{child.tag}> is not supported: only box tracks and time segments are."
            )
    return parsed


def _parse_track(track: ET.Element) -> dict:
    label = (track.get("label") or "").strip()
    where = f"Track {track.get('id', '?')}"
    if not label:
        raise InvalidFile(f"{where} has no label.")
    boxes = []
    for shape in track:
        if shape.tag != "box":
            raise InvalidFile(f"{where}: <{shape.tag}> shapes are not supported, only <box>.")
        frame = _int(shape.get("frame"), f"{where}: a box's frame")
        at = f"{where}, frame {frame}"
        boxes.append(
            {
                "frame": frame,
                "x0": _float(shape.get("xtl"), f"{at}: xtl"),
                "y0": _float(shape.get("ytl"), f"{at}: ytl"),
                "x1": _float(shape.get("xbr"), f"{at}: xbr"),
                "y1": _float(shape.get("ybr"), f"{at}: ybr"),
                "outside": _bool(shape.get("outside"), f"{at}: outside"),
                "occluded": _bool(shape.get("occluded"), f"{at}: occluded"),
                "keyframe": _bool(shape.get("keyframe"), f"{at}: keyframe", default=True),
            }
        )
    if not boxes:
        raise InvalidFile(f"{where} has no boxes.")
    keyframes = [b for b in boxes if b.pop("keyframe")]
    if not keyframes:
        # A file that marks no keyframe at all: every box it lists is one.
        keyframes = boxes
    return {"label": label, "keyframes": keyframes}


# ---------------------------------------------------------------------------------------------
# COCO-style JSON and CSV


@dataclass
class VideoRecord:
    """One video's data for the COCO and CSV exports.

    ``annotations``: ``(source, assignment id, annotator name, annotation dict)`` per
    annotation; ``consensus``: the video's ground truth as
    :func:`wherewhen.annotations.services.ground_truth_for_video` returns it, or None.
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
class _BoxRow:
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


def _box_rows(record: VideoRecord) -> Iterable[_BoxRow]:
    n_frames = len(record.timestamps)
    track_number = 0
    for source, assignment_id, annotator, annotation in record.annotations:
        for track in annotation.get("tracks", []):
            for shape in track_shapes(track["keyframes"], n_frames):
                if not shape["outside"]:
                    yield _BoxRow(
                        source, assignment_id, annotator, track["label"], track_number,
                        shape["frame"], shape["x0"], shape["y0"], shape["x1"], shape["y1"],
                        shape["keyframe"], shape["occluded"],
                    )  # fmt: skip
            track_number += 1
    if record.consensus:
        for frame in record.consensus["frames"]:
            for x0, y0, x1, y1 in frame["boxes"]:
                yield _BoxRow(
                    "consensus", None, "", record.label, None, frame["frame"],
                    x0, y0, x1, y1, False, False,
                )  # fmt: skip


def _segment_rows(record: VideoRecord) -> Iterable[tuple[str, int | None, str, dict]]:
    for source, assignment_id, annotator, annotation in record.annotations:
        for segment in annotation.get("segments", []):
            yield source, assignment_id, annotator, segment
    if record.consensus:
        for kind in SEGMENT_KINDS:
            for start, end in record.consensus["when"][kind]:
                yield "consensus", None, "", {"kind": kind, "start": start, "end": end}


def export_coco(records: Iterable[VideoRecord], categories: Sequence[str], info: dict) -> dict:
    """COCO-style JSON: ``videos``, ``images`` (one per frame, with its timestamp),
    ``annotations`` (one box per frame per track, ``bbox`` = ``[x, y, width, height]``, with
    ``track_id``, ``keyframe``, ``occluded``, ``source``) and ``segments`` (the "when"
    intervals in seconds)."""
    category_ids = {name: i + 1 for i, name in enumerate(categories)}
    out: dict = {
        "info": info,
        "categories": [{"id": i, "name": n, "supercategory": ""} for n, i in category_ids.items()],
        "videos": [],
        "images": [],
        "annotations": [],
        "segments": [],
    }
    image_id = 0
    for record in records:
        out["videos"].append(
            {
                "id": record.video_id,
                "name": record.title,
                "file_name": record.file_name,
                "width": record.width,
                "height": record.height,
                "fps": record.fps,
                "duration": record.duration,
                "frame_count": len(record.timestamps),
                "label": record.label,
            }
        )
        first_image = image_id + 1
        for frame, time in enumerate(record.timestamps):
            image_id += 1
            out["images"].append(
                {
                    "id": image_id,
                    "video_id": record.video_id,
                    "frame_id": frame,
                    "timestamp": time,
                    "width": record.width,
                    "height": record.height,
                    "file_name": f"{record.video_id}/{frame:06d}.jpg",
                }
            )
        for row in _box_rows(record):
            w, h = row.x1 - row.x0, row.y1 - row.y0
            out["annotations"].append(
                {
                    "id": len(out["annotations"]) + 1,
                    "image_id": first_image + row.frame,
                    "video_id": record.video_id,
                    "frame_id": row.frame,
                    "category_id": category_ids.get(row.label),
                    "track_id": None if row.track is None else f"{record.video_id}-{row.track}",
                    "bbox": [round(row.x0, 4), round(row.y0, 4), round(w, 4), round(h, 4)],
                    "area": round(w * h, 4),
                    "iscrowd": 0,
                    "keyframe": row.keyframe,
                    "occluded": row.occluded,
                    "source": row.source,
                    "assignment_id": row.assignment_id,
                    "annotator": row.annotator,
                }
            )
        for source, assignment_id, annotator, segment in _segment_rows(record):
            out["segments"].append(
                {
                    "id": len(out["segments"]) + 1,
                    "video_id": record.video_id,
                    "category_id": category_ids.get(record.label),
                    "kind": segment["kind"],
                    "start": segment["start"],
                    "end": segment["end"],
                    "source": source,
                    "assignment_id": assignment_id,
                    "annotator": annotator,
                }
            )
    return out


CSV_COLUMNS = [
    "record",
    "video_id",
    "video_title",
    "source",
    "assignment_id",
    "annotator",
    "label",
    "track",
    "frame",
    "time",
    "x0",
    "y0",
    "x1",
    "y1",
    "keyframe",
    "occluded",
    "kind",
    "start",
    "end",
]


def export_csv(records: Iterable[VideoRecord]) -> str:
    """CSV with one row per box per frame (``record=box``) and one per segment
    (``record=segment``); consensus rows have ``source=consensus``."""
    buffer = io.StringIO()
    writer = SafeDictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for record in records:
        base = {"video_id": record.video_id, "video_title": record.title}
        for row in _box_rows(record):
            writer.writerow(
                {
                    **base,
                    "record": "box",
                    "source": row.source,
                    "assignment_id": row.assignment_id or "",
                    "annotator": row.annotator,
                    "label": row.label,
                    "track": "" if row.track is None else row.track,
                    "frame": row.frame,
                    "time": record.timestamps[row.frame],
                    "x0": f"{row.x0:.2f}",
                    "y0": f"{row.y0:.2f}",
                    "x1": f"{row.x1:.2f}",
                    "y1": f"{row.y1:.2f}",
                    "keyframe": int(row.keyframe),
                    "occluded": int(row.occluded),
                }
            )
        for source, assignment_id, annotator, segment in _segment_rows(record):
            writer.writerow(
                {
                    **base,
                    "record": "segment",
                    "source": source,
                    "assignment_id": assignment_id or "",
                    "annotator": annotator,
                    "label": record.label,
                    "kind": segment["kind"],
                    "start": segment["start"],
                    "end": segment["end"],
                }
            )
    return buffer.getvalue()
