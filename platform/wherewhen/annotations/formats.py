"""Import and export: CVAT for video 1.1 XML (both ways), COCO-style JSON and CSV (export).

CVAT for video 1.1
    One file holds one annotation of one video.

    *Export* writes each track as CVAT itself does: a ``<box>`` on every frame from the track's
    first keyframe on, keyframes with ``keyframe="1"``, interpolated frames with
    ``keyframe="0"``, an ``outside="1"`` keyframe where the object leaves (then nothing until
    the next keyframe), and the last box repeated to the end of the video unless the track
    ended. Coordinates have two decimals (``%.2f``, as CVAT writes them). Every box carries its
    ``occluded`` flag and its attributes as ``<attribute name="...">value</attribute>``
    children; interpolated boxes copy both from the keyframe before them. ``<meta>`` lists
    every label of the task and of the file, each with the attributes its boxes use (declared
    as mutable text attributes). The track's label is its own; so is each segment's.

    *Import* keeps what the file says on every frame it lists, keyframe or not. The file's
    keyframes are stored as keyframes. Each box marked ``keyframe="0"`` is compared with what
    the stored keyframes give on its frame; where they differ, the box becomes a keyframe of its
    own (a *materialised* keyframe):

    * its ``occluded`` flag or its attributes differ from the keyframe before it (they would
      otherwise be copied forward from there);
    * it is ``outside="1"`` inside a visible stretch: it becomes an outside keyframe, and the
      next visible box a keyframe too, so only the frames the file marks outside are hidden
      (an outside keyframe ends a track until the next keyframe);
    * it is visible where the keyframes give no box (before the first keyframe, after an
      outside keyframe);
    * its coordinates are more than 0.01 px (the file's rounding) from the linear
      interpolation: the box farthest from it becomes a keyframe and both halves are checked
      again, so few keyframes are added and every box is reproduced;
    * in a file that lists interpolated boxes (as CVAT's exports do), a frame it leaves out
      where the keyframes would show a box: an outside keyframe there.

    A track none of whose boxes is marked as a keyframe starts with its first box as one. A box
    marked outside where the keyframes give no box anyway says nothing new and is not stored
    again. The stored keyframes are then checked against every box of the file, and import
    answers with a summary (:class:`ImportSummary`): what it read (tracks, boxes, keyframes,
    occluded and outside flags, attributes, labels, segments) and every change it made (each
    materialised keyframe and why, boxes that differ only by the file's rounding, implied
    outside boxes, a segment without a label, a track source it does not keep). So exporting
    an imported file gives every box, label, flag and attribute back on every frame; only the
    ``keyframe`` mark of the materialised boxes differs. Box coordinates are kept to 0.01 px.

    What cannot be represented is refused with its name, and nothing is written: polygons,
    polylines, points, masks, skeletons and other shapes, ``<tag>``, ``<image>`` (CVAT for
    images), a rotated box, a box with a z-order, a group of tracks, an attribute named like a
    flag (``occluded``, ``outside``, ``keyframe``, ``track_id``, ``rotation``), unknown elements
    or XML attributes, a label that is not one of the project's, a file for another size of
    video or another number of frames.

    CVAT has no notion of "when" segments; they travel as extra top-level elements
    ``<time_segment kind="visual|sound" label="..." start="..." end="..."/>`` (seconds, written
    exactly), which CVAT's own importer ignores. An empty label is the task's label.

    Export -> import -> export gives the same bytes.

COCO-style JSON and CSV
    One box per frame per track (and per consensus box), each with its own label's category
    and, in COCO, ``attributes`` = ``{"occluded": bool, ...its CVAT attributes}`` as CVAT's COCO
    exports (through datumaro) have them; segments with their own label too.

Parsing uses defusedxml: entity declarations and external references are refused.
"""

from __future__ import annotations

import bisect
import io
import json
import math
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

from wherewhen.annotations.geometry import (
    MAX_ATTRIBUTES,
    RESERVED_ATTRIBUTES,
    SEGMENT_KINDS,
    Box,
    VideoGeometry,
    box_problems,
    lerp_box,
    quantize,
    track_shapes,
)
from wherewhen.core.csvsafe import SafeDictWriter

CVAT_VERSION = "1.1"
MAX_XML_BYTES = 20 * 1024 * 1024
# How far (px) a file's box may be from what the keyframes give and still be the same box:
# the file writes two decimals, and interpolating between rounded keyframes moves a box by up
# to half of that again.
ROUNDING = 0.01
_EPSILON = 1e-6

_BOX_FIELDS = frozenset(
    {"frame", "keyframe", "outside", "occluded", "xtl", "ytl", "xbr", "ybr", "z_order", "rotation"}
)
_TRACK_FIELDS = frozenset({"id", "label", "source", "group_id"})
_SEGMENT_FIELDS = frozenset({"kind", "label", "start", "end"})
_OTHER_SHAPES = frozenset(
    {"polygon", "polyline", "points", "cuboid", "cuboid_3d", "mask", "ellipse", "skeleton"}
)


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


def _coord(value: float) -> str:
    return f"{value:.2f}"


def _flag(value: bool) -> str:
    return "1" if value else "0"


# ---------------------------------------------------------------------------------------------
# CVAT export


def export_cvat_xml(annotation: dict, meta: CvatMeta, segment_label: str = "") -> str:
    """One annotation of one video as CVAT for video 1.1 XML. ``segment_label``: the label of a
    segment that has none (older annotations)."""
    tracks = annotation.get("tracks", [])
    segments = annotation.get("segments", [])
    used = {t["label"] for t in tracks} | {s.get("label") or segment_label for s in segments}
    labels = list(meta.labels) + sorted(used - set(meta.labels) - {""})
    attribute_names: dict[str, set[str]] = {}
    for track in tracks:
        names = attribute_names.setdefault(track["label"], set())
        for kf in track["keyframes"]:
            names.update(kf.get("attributes") or {})

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
    for name in labels:
        label = ET.SubElement(labels_el, "label")
        ET.SubElement(label, "name").text = name
        ET.SubElement(label, "type").text = "rectangle"
        attributes_el = ET.SubElement(label, "attributes")
        for attribute in sorted(attribute_names.get(name, ())):
            spec = ET.SubElement(attributes_el, "attribute")
            ET.SubElement(spec, "name").text = attribute
            ET.SubElement(spec, "mutable").text = "True"
            ET.SubElement(spec, "input_type").text = "text"
            ET.SubElement(spec, "default_value").text = None
            ET.SubElement(spec, "values").text = None
    size = ET.SubElement(task, "original_size")
    ET.SubElement(size, "width").text = str(meta.width)
    ET.SubElement(size, "height").text = str(meta.height)
    ET.SubElement(meta_el, "source").text = meta.source

    for index, track in enumerate(tracks):
        track_el = ET.SubElement(
            root, "track", id=str(index), label=track["label"], source="manual"
        )
        for shape in track_shapes(track["keyframes"], meta.n_frames):
            box = ET.SubElement(
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
            for name in sorted(shape["attributes"]):
                ET.SubElement(box, "attribute", name=name).text = shape["attributes"][name]
    for segment in segments:
        ET.SubElement(
            root,
            "time_segment",
            kind=segment["kind"],
            label=segment.get("label") or segment_label,
            start=repr(float(segment["start"])),
            end=repr(float(segment["end"])),
        )
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# ---------------------------------------------------------------------------------------------
# CVAT import: reading the file


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


@dataclass
class _Box:
    """One ``<box>`` of a track as the file gives it (or, ``absent``, a frame it leaves out)."""

    frame: int
    keyframe: bool
    outside: bool
    occluded: bool
    box: Box  # kept to 0.01 px, as stored
    written: Box  # as the file writes it
    attributes: dict[str, str]
    absent: bool = False

    def as_keyframe(self) -> dict:
        x0, y0, x1, y1 = self.box
        kf = {
            "frame": self.frame,
            "x0": x0,
            "y0": y0,
            "x1": x1,
            "y1": y1,
            "outside": self.outside,
            "occluded": self.occluded,
        }
        if self.attributes:
            kf["attributes"] = dict(self.attributes)
        return kf


@dataclass
class _Track:
    name: str  # how messages call it: "track 3 (car)"
    label: str
    boxes: list[_Box]

    @property
    def where(self) -> str:
        """The name at the start of a sentence."""
        return self.name[0].upper() + self.name[1:]


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

    tracks: list[_Track] = []
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
        keyframes = _keyframes_of(track, end, summary)
        summary.stored_keyframes += len(keyframes)
        parsed.annotation["tracks"].append({"label": track.label, "keyframes": keyframes})
    return parsed


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
) -> _Track:
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

    boxes: dict[int, _Box] = {}
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
    return _Track(name, label, [boxes[f] for f in sorted(boxes)])


def _read_box(
    element: ET.Element, where: str, n_frames: int | None, video: VideoGeometry | None
) -> _Box:
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
    return _Box(
        frame=frame,
        keyframe=_bool(element.get("keyframe"), f"{at}: keyframe", default=True),
        outside=_bool(element.get("outside"), f"{at}: outside"),
        occluded=_bool(element.get("occluded"), f"{at}: occluded"),
        box=box,  # type: ignore[arg-type]
        written=written,
        attributes=attributes,
    )


# ---------------------------------------------------------------------------------------------
# CVAT import: keyframes that reproduce every box of the file


_FLAGS, _COORDS = "flags", "coordinates"


def _keyframes_of(track: _Track, n_frames: int, summary: ImportSummary) -> list[dict]:
    """The keyframes that give back, through :func:`geometry.track_shapes`, every box the file
    lists for ``track``: its own keyframes plus the ones materialised where a non-keyframe box
    differs (see the module's docstring). Records the changes in ``summary``."""
    boxes = track.boxes
    notes: list[tuple[int, str]] = []
    keys: dict[int, _Box] = {b.frame: b for b in boxes if b.keyframe}
    if not keys:
        first = boxes[0]
        keys[first.frame] = first
        notes.append(
            (first.frame, "no box of the track is marked as a keyframe: its first box is one")
        )
    entries: dict[int, _Box] = {b.frame: b for b in boxes}
    if any(not b.keyframe for b in boxes):
        # The file lists interpolated boxes: a frame it leaves out has no box.
        for frame in range(boxes[0].frame, n_frames):
            if frame not in entries:
                entries[frame] = _Box(
                    frame, False, True, False, (0, 0, 0, 0), (0, 0, 0, 0), {}, True
                )
    frames = sorted(entries)
    key_frames = sorted(keys)

    def between(lo: int | None, hi: int | None) -> list[_Box]:
        i = 0 if lo is None else bisect.bisect_right(frames, lo)
        j = len(frames) if hi is None else bisect.bisect_left(frames, hi)
        return [entries[f] for f in frames[i:j]]

    def model(lo: int, hi: int | None, frame: int) -> Box:
        start = keys[lo].box
        if hi is None:
            return start
        return lerp_box(start, keys[hi].box, (frame - lo) / (hi - lo))

    def materialise(entry: _Box, why: str) -> None:
        keys[entry.frame] = entry
        bisect.insort(key_frames, entry.frame)
        notes.append((entry.frame, why))

    spans = [(None, key_frames[0], _FLAGS)]
    spans += [(a, b, _FLAGS) for a, b in zip(key_frames, key_frames[1:], strict=False)]
    spans.append((key_frames[-1], None, _FLAGS))
    while spans:
        lo, hi, mode = spans.pop()
        inside = between(lo, hi)
        if not inside:
            continue
        before = keys[lo] if lo is not None else None
        if before is None or before.outside:
            # The keyframes give no box here: the first visible box starts the track again.
            shown = next((e for e in inside if not e.outside), None)
            if shown is not None:
                materialise(
                    shown,
                    "a box before the track's first keyframe"
                    if before is None
                    else f"a visible box after the outside keyframe on frame {lo}",
                )
                spans.append((shown.frame, hi, _FLAGS))
            continue
        if mode == _FLAGS:
            for entry in inside:
                why = _what_changes(before, entry)
                if why:
                    if entry.absent:
                        box = tuple(quantize(v) for v in model(lo, hi, entry.frame))
                        entry = replace(
                            entry,
                            box=box,
                            written=box,
                            occluded=before.occluded,
                            attributes=dict(before.attributes),
                        )
                    materialise(entry, why)
                    spans.append((lo, entry.frame, _COORDS))
                    spans.append((entry.frame, hi, _FLAGS))
                    break
            else:
                spans.append((lo, hi, _COORDS))
            continue
        # Same flags and attributes all along: the coordinates must follow the interpolation.
        worst, distance = None, ROUNDING + _EPSILON
        for entry in inside:
            d = max(abs(p - q) for p, q in zip(model(lo, hi, entry.frame), entry.box, strict=True))
            if d > distance:
                worst, distance = entry, d
        if worst is not None:
            along = (
                f"the interpolation between the keyframes on frames {lo} and {hi}"
                if hi is not None
                else f"the box of the keyframe on frame {lo}, which it would repeat"
            )
            materialise(worst, f"its box is {distance:.2f} px from {along}")
            spans.append((lo, worst.frame, _COORDS))
            spans.append((worst.frame, hi, _COORDS))

    keyframes = [keys[f].as_keyframe() for f in sorted(keys)]
    _check_reproduced(track, entries, keyframes, n_frames, summary)
    for frame, why in sorted(notes):
        summary.changes.append(f"Materialised a keyframe at frame {frame} of {track.name}: {why}.")
        summary.materialised += 1
    return keyframes


def _what_changes(before: _Box, entry: _Box) -> str:
    """Why a non-keyframe box cannot follow the (visible) keyframe ``before`` it ('' if it can
    as far as flags and attributes go)."""
    if entry.absent:
        return "the file lists the track's other frames but none here, so it has no box"
    reasons = []
    if entry.outside:
        reasons.append("outside is set there")
    if entry.occluded != before.occluded:
        reasons.append(f"occluded changes to {_flag(entry.occluded)}")
    names = sorted(
        n
        for n in set(entry.attributes) | set(before.attributes)
        if entry.attributes.get(n) != before.attributes.get(n)
    )
    if names:
        reasons.append("attribute(s) " + ", ".join(f"'{n}'" for n in names) + " change")
    if not reasons:
        return ""
    return " and ".join(reasons) + " (the file's box there is not a keyframe)"


def _check_reproduced(
    track: _Track,
    entries: dict[int, _Box],
    keyframes: list[dict],
    n_frames: int,
    summary: ImportSummary,
) -> None:
    """Every box of the file against what the keyframes give (a safeguard: never store less
    than the file says)."""
    shapes = {s["frame"]: s for s in track_shapes(keyframes, n_frames)}
    implied = []
    rounded = 0
    for frame in sorted(entries):
        entry, shape = entries[frame], shapes.get(frame)
        if entry.outside:
            if shape is not None and not shape["outside"]:
                raise InvalidFile(f"{track.where}, frame {frame}: the box cannot be kept exactly.")
            if shape is None and not entry.absent:
                implied.append(frame)
            continue
        box = (shape["x0"], shape["y0"], shape["x1"], shape["y1"]) if shape else None
        if (
            shape is None
            or shape["outside"]
            or shape["occluded"] != entry.occluded
            or shape["attributes"] != entry.attributes
            or max(abs(p - q) for p, q in zip(box, entry.box, strict=True)) > ROUNDING + _EPSILON
        ):
            raise InvalidFile(f"{track.where}, frame {frame}: the box cannot be kept exactly.")
        if box != entry.written and any(
            float(_coord(p)) != q for p, q in zip(box, entry.written, strict=True)
        ):
            rounded += 1
    if implied:
        summary.changes.append(
            f"{track.where}: {len(implied)} box(es) marked outside "
            f"where the track already shows no box ({_ranges(implied)}) are implied by its "
            "keyframes and not stored again."
        )
    if rounded:
        summary.rounded += rounded
        summary.changes.append(
            f"{track.where}: {rounded} box(es) differ from the file by "
            f"at most {ROUNDING} px, its rounding (kept to 0.01 px; interpolated boxes follow "
            "the keyframes)."
        )


def _ranges(frames: list[int]) -> str:
    """``[1, 2, 3, 7]`` -> ``"frames 1-3, 7"``."""
    runs: list[list[int]] = []
    for frame in frames:
        if runs and frame == runs[-1][1] + 1:
            runs[-1][1] = frame
        else:
            runs.append([frame, frame])
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
    return ("frame " if len(frames) == 1 else "frames ") + text


# ---------------------------------------------------------------------------------------------
# COCO-style JSON and CSV


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
    attributes: dict[str, str] = field(default_factory=dict)


def _box_rows(record: VideoRecord) -> Iterable[_BoxRow]:
    """Every visible box, each with its own label, flags and attributes."""
    n_frames = len(record.timestamps)
    track_number = 0
    for source, assignment_id, annotator, annotation in record.annotations:
        for track in annotation.get("tracks", []):
            for shape in track_shapes(track["keyframes"], n_frames):
                if not shape["outside"]:
                    yield _BoxRow(
                        source, assignment_id, annotator, track["label"], track_number,
                        shape["frame"], shape["x0"], shape["y0"], shape["x1"], shape["y1"],
                        shape["keyframe"], shape["occluded"], shape["attributes"],
                    )  # fmt: skip
            track_number += 1
    if record.consensus:
        for frame in record.consensus["frames"]:
            labels = frame.get("labels") or [record.label] * len(frame["boxes"])
            for (x0, y0, x1, y1), label in zip(frame["boxes"], labels, strict=True):
                yield _BoxRow(
                    "consensus", None, "", label, None, frame["frame"],
                    x0, y0, x1, y1, False, False,
                )  # fmt: skip


def _segment_rows(record: VideoRecord) -> Iterable[tuple[str, int | None, str, dict]]:
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


def export_coco(records: Iterable[VideoRecord], categories: Sequence[str], info: dict) -> dict:
    """COCO-style JSON: ``videos``, ``images`` (one per frame, with its timestamp),
    ``annotations`` (one box per frame per track, ``bbox`` = ``[x, y, width, height]``, with
    ``track_id``, ``keyframe``, ``occluded``, ``source``, and ``attributes`` =
    ``{"occluded": bool, ...the box's CVAT attributes}`` as CVAT's COCO exports have them) and
    ``segments`` (the "when" intervals in seconds). Every box and segment has its own label's
    ``category_id``; a label missing from ``categories`` is added after them."""
    records = list(records)
    names = list(categories)
    seen = {row.label for record in records for row in _box_rows(record)}
    seen |= {segment["label"] for record in records for *_, segment in _segment_rows(record)}
    names += sorted(seen - set(names))
    category_ids = {name: i + 1 for i, name in enumerate(names)}
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
                    "category_id": category_ids[row.label],
                    "track_id": None if row.track is None else f"{record.video_id}-{row.track}",
                    "bbox": [round(row.x0, 4), round(row.y0, 4), round(w, 4), round(h, 4)],
                    "area": round(w * h, 4),
                    "segmentation": [],
                    "iscrowd": 0,
                    "keyframe": row.keyframe,
                    "occluded": row.occluded,
                    "attributes": {"occluded": row.occluded, **row.attributes},
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
                    "category_id": category_ids[segment["label"]],
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
    "attributes",
]


def export_csv(records: Iterable[VideoRecord]) -> str:
    """CSV with one row per box per frame (``record=box``) and one per segment
    (``record=segment``), each with its own label; consensus rows have ``source=consensus``;
    ``attributes`` is the box's CVAT attributes as a JSON object (empty when it has none)."""
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
                    "attributes": json.dumps(row.attributes, sort_keys=True)
                    if row.attributes
                    else "",
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
                    "label": segment["label"],
                    "kind": segment["kind"],
                    "start": segment["start"],
                    "end": segment["end"],
                }
            )
    return buffer.getvalue()
