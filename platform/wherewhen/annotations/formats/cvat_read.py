"""CVAT for video 1.1 import: reading a file into an annotation and a summary.

One file holds one annotation of one video. Import keeps what the file says on every frame it
lists, keyframe or not, with its label, flags and attributes (how: :mod:`.cvat_keyframes`), and
answers with a summary (:class:`ImportSummary`): what it read (tracks, boxes, keyframes,
occluded and outside flags, attributes, labels, segments) and every change it made (each
materialised keyframe and why, boxes that differ only by the file's rounding, implied outside
boxes, a segment without a label, a track source it does not keep). So exporting an imported
file gives every box, label, flag and attribute back on every frame; only the ``keyframe`` mark
of the materialised boxes differs. Box coordinates are kept to 0.01 px. Export -> import ->
export gives the same bytes.

What cannot be represented is refused with its name, and nothing is written: polygons,
polylines, points, masks, skeletons and other shapes, ``<tag>``, ``<image>`` (CVAT for images),
a rotated box, a box with a z-order, a group of tracks, an attribute named like a flag
(``occluded``, ``outside``, ``keyframe``, ``track_id``, ``rotation``), unknown elements or XML
attributes, a label that is not one of the project's, a file for another size of video or
another number of frames.

``<time_segment kind label start end/>`` elements (which CVAT ignores) carry the "when"
segments; an empty label is the task's label.

Parsing uses defusedxml: entity declarations and external references are refused.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from wherewhen.annotations.formats.cvat_keyframes import FileBox, FileTrack, keyframes_of
from wherewhen.annotations.formats.records import (
    CVAT_VERSION,
    ImportSummary,
    InvalidFile,
    ParsedCvat,
)
from wherewhen.annotations.geometry import (
    MAX_ATTRIBUTES,
    RESERVED_ATTRIBUTES,
    SEGMENT_KINDS,
    VideoGeometry,
    box_problems,
    quantize,
)

MAX_XML_BYTES = 20 * 1024 * 1024

_BOX_FIELDS = frozenset(
    {"frame", "keyframe", "outside", "occluded", "xtl", "ytl", "xbr", "ybr", "z_order", "rotation"}
)
_TRACK_FIELDS = frozenset({"id", "label", "source", "group_id"})
_SEGMENT_FIELDS = frozenset({"kind", "label", "start", "end"})
_OTHER_SHAPES = frozenset(
    {"polygon", "polyline", "points", "cuboid", "cuboid_3d", "mask", "ellipse", "skeleton"}
)


def parse_cvat_xml(
    data: bytes | str,
    *,
    n_frames: int | None = None,
    size: tuple[int, int] | None = None,
    labels: Sequence[str] = (),
    default_label: str = "",
) -> ParsedCvat:
    """Read a CVAT for video 1.1 file into an annotation dict and an :class:`ImportSummary`.

    ``n_frames`` and ``size`` (width, height): the video's, which the file must match (its
    ``<meta>`` and every box); ``labels``: the labels a track or segment may have (empty: any);
    ``default_label``: the label of a segment that gives none. Raises :class:`InvalidFile`
    naming what cannot be imported. The result is not yet validated as an annotation of the
    video: :func:`wherewhen.annotations.geometry.clean_annotation` does that.
    """
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
    _read_meta(root, parsed, n_frames, size)
    if n_frames is None:
        n_frames = parsed.n_frames
    video = VideoGeometry(width=size[0], height=size[1], timestamps=()) if size else None
    summary = parsed.summary

    tracks: list[FileTrack] = []
    for child in root:
        if child.tag in ("version", "meta"):
            continue
        if child.tag == "track":
            tracks.append(_read_track(child, len(tracks), n_frames, video, labels, summary))
        elif child.tag == "time_segment":
            parsed.annotation["segments"].append(
                _read_segment(child, summary.segments + 1, labels, default_label, summary)
            )
        elif child.tag == "image":
            raise InvalidFile(
                "<image> is not supported: this is a CVAT for images file; export the task as "
                "CVAT for video 1.1."
            )
        elif child.tag == "tag":
            raise InvalidFile(
                "<tag> (a tag on a frame) is not supported: only box tracks and time segments are."
            )
        else:
            raise InvalidFile(
                f"<{child.tag}> is not supported: only box tracks and time segments are."
            )

    for track in tracks:
        end = n_frames if n_frames is not None else track.boxes[-1].frame + 1
        keyframes = keyframes_of(track, end, summary)
        summary.stored_keyframes += len(keyframes)
        parsed.annotation["tracks"].append({"label": track.label, "keyframes": keyframes})
    return parsed


def _int(value: str | None, what: str) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidFile(f"{what} must be a whole number (found {value!r}).") from None


def _float(value: str | None, what: str) -> float:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidFile(f"{what} must be a number (found {value!r}).") from None
    if not math.isfinite(number):
        raise InvalidFile(f"{what} must be a finite number (found {value!r}).")
    return number


def _bool(value: str | None, what: str, default: bool = False) -> bool:
    if value is None:
        return default
    text = value.strip().lower()
    if text in {"1", "true"}:
        return True
    if text in {"0", "false"}:
        return False
    raise InvalidFile(f"{what} must be 0 or 1 (found {value!r}).")


def _no_unknown_fields(element: ET.Element, known: frozenset[str], where: str) -> None:
    unknown = sorted(set(element.attrib) - known)
    if unknown:
        names = ", ".join(f"'{name}'" for name in unknown)
        raise InvalidFile(
            f"{where}: the XML attribute(s) {names} of <{element.tag}> are not supported."
        )


def _read_meta(
    root: ET.Element, parsed: ParsedCvat, n_frames: int | None, size: tuple[int, int] | None
) -> None:
    task = root.find("meta/task")
    if task is None:
        task = root.find("meta/job")
    if task is None:
        return
    if task.findtext("size"):
        parsed.n_frames = _int(task.findtext("size"), "<size>")
    if task.find("original_size") is not None:
        parsed.width = _int(task.findtext("original_size/width"), "<original_size><width>")
        parsed.height = _int(task.findtext("original_size/height"), "<original_size><height>")
    parsed.labels = [(el.findtext("name") or "").strip() for el in task.findall("labels/label")]
    if size is not None and parsed.width is not None and (parsed.width, parsed.height) != size:
        raise InvalidFile(
            f"The file is for a {parsed.width}x{parsed.height} video; this video is "
            f"{size[0]}x{size[1]}."
        )
    if n_frames is not None and parsed.n_frames is not None and parsed.n_frames != n_frames:
        raise InvalidFile(
            f"The file is for a video of {parsed.n_frames} frames; this video has {n_frames}."
        )


def _check_label(label: str, labels: Sequence[str], where: str) -> None:
    if labels and label not in labels:
        raise InvalidFile(
            f"{where}: the label '{label}' is not a label of this project ({', '.join(labels)})."
        )


def _read_segment(
    element: ET.Element,
    number: int,
    labels: Sequence[str],
    default_label: str,
    summary: ImportSummary,
) -> dict:
    where = f"<time_segment> {number}"
    _no_unknown_fields(element, _SEGMENT_FIELDS, where)
    if len(element):
        raise InvalidFile(f"{where}: <{element[0].tag}> inside a <time_segment> is not supported.")
    kind = element.get("kind", "visual")
    if kind not in SEGMENT_KINDS:
        raise InvalidFile(f"<time_segment> kind must be visual or sound (found {kind!r}).")
    start = _float(element.get("start"), "<time_segment> start")
    end = _float(element.get("end"), "<time_segment> end")
    label = (element.get("label") or "").strip()
    if not label and default_label:
        label = default_label
        summary.changes.append(
            f"{where} ({kind}, {start:g} s to {end:g} s) has no label: it takes the task's "
            f"label '{default_label}'."
        )
    if label:
        _check_label(label, labels, where)
        summary.count(label, "segments")
    summary.segments += 1
    return {"kind": kind, "label": label, "start": start, "end": end}


def _read_track(
    element: ET.Element,
    index: int,
    n_frames: int | None,
    video: VideoGeometry | None,
    labels: Sequence[str],
    summary: ImportSummary,
) -> FileTrack:
    number = element.get("id", str(index))
    label = (element.get("label") or "").strip()
    if not label:
        raise InvalidFile(f"Track {number} has no label.")
    name = f"track {number} ({label})"
    where = name[0].upper() + name[1:]
    _no_unknown_fields(element, _TRACK_FIELDS, where)
    _check_label(label, labels, where)
    group = _int(element.get("group_id", "0"), f"{where}: group_id")
    if group:
        raise InvalidFile(f"{where} is in group {group}: groups of tracks are not supported.")
    source = (element.get("source") or "manual").strip()
    if source != "manual":
        summary.changes.append(
            f"{where}: its source '{source}' is not kept (the track is exported as manual)."
        )

    boxes: dict[int, FileBox] = {}
    for shape in element:
        if shape.tag == "box":
            box = _read_box(shape, where, n_frames, video)
            if box.frame in boxes:
                raise InvalidFile(f"{where} has two boxes on frame {box.frame}.")
            boxes[box.frame] = box
        elif shape.tag in _OTHER_SHAPES:
            raise InvalidFile(f"{where}: <{shape.tag}> shapes are not supported, only <box>.")
        else:
            raise InvalidFile(f"{where}: <{shape.tag}> inside a <track> is not supported.")
    if not boxes:
        raise InvalidFile(f"{where} has no boxes.")
    summary.tracks += 1
    summary.count(label, "tracks")
    for box in boxes.values():
        summary.boxes += 1
        summary.keyframes += box.keyframe
        summary.interpolated += not box.keyframe
        summary.occluded += box.occluded
        summary.outside += box.outside
        summary.attributes += len(box.attributes)
        summary.count(label, "boxes")
    return FileTrack(name, label, [boxes[f] for f in sorted(boxes)])


def _read_box(
    element: ET.Element, where: str, n_frames: int | None, video: VideoGeometry | None
) -> FileBox:
    frame = _int(element.get("frame"), f"{where}: a box's frame")
    at = f"{where}, frame {frame}"
    _no_unknown_fields(element, _BOX_FIELDS, at)
    if frame < 0:
        raise InvalidFile(f"{at}: frames start at 0.")
    if n_frames is not None and frame >= n_frames:
        raise InvalidFile(
            f"{at}: the frame is past the end of the video "
            f"(it has {n_frames} frames, 0 to {n_frames - 1})."
        )
    rotation = _float(element.get("rotation", "0"), f"{at}: rotation")
    if rotation != 0:
        raise InvalidFile(
            f"{at}: the box is rotated ({rotation:g} degrees); only upright boxes are supported."
        )
    z_order = _int(element.get("z_order", "0"), f"{at}: z_order")
    if z_order != 0:
        raise InvalidFile(
            f"{at}: z_order {z_order} is not supported (boxes have no drawing order here)."
        )
    written = (
        _float(element.get("xtl"), f"{at}: xtl"),
        _float(element.get("ytl"), f"{at}: ytl"),
        _float(element.get("xbr"), f"{at}: xbr"),
        _float(element.get("ybr"), f"{at}: ybr"),
    )
    box = tuple(quantize(v) for v in written)
    if video is not None:
        problems = box_problems(box, video)  # type: ignore[arg-type]
        if problems:
            raise InvalidFile(f"{at}: {problems[0]}")
    attributes: dict[str, str] = {}
    for child in element:
        if child.tag != "attribute":
            raise InvalidFile(f"{at}: <{child.tag}> inside a <box> is not supported.")
        _no_unknown_fields(child, frozenset({"name"}), at)
        name = child.get("name")
        if not name or not name.strip():
            raise InvalidFile(f"{at}: an <attribute> has no name.")
        if name in RESERVED_ATTRIBUTES:
            raise InvalidFile(
                f"{at}: '{name}' cannot be an attribute name (it is a flag of the box itself)."
            )
        if name in attributes:
            raise InvalidFile(f"{at}: the attribute '{name}' is given twice.")
        if len(child):
            raise InvalidFile(f"{at}: <{child[0].tag}> inside an <attribute> is not supported.")
        attributes[name] = child.text or ""
    if len(attributes) > MAX_ATTRIBUTES:
        raise InvalidFile(f"{at}: at most {MAX_ATTRIBUTES} attributes are allowed on a box.")
    return FileBox(
        frame=frame,
        keyframe=_bool(element.get("keyframe"), f"{at}: keyframe", default=True),
        outside=_bool(element.get("outside"), f"{at}: outside"),
        occluded=_bool(element.get("occluded"), f"{at}: occluded"),
        box=box,  # type: ignore[arg-type]
        written=written,
        attributes=attributes,
    )
