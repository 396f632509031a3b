"""CVAT for video 1.1 export: one annotation of one video as XML.

Each track is written as CVAT itself does: a ``<box>`` on every frame from the track's first
keyframe on, keyframes with ``keyframe="1"``, interpolated frames with ``keyframe="0"``, an
``outside="1"`` keyframe where the object leaves (then nothing until the next keyframe), and
the last box repeated to the end of the video unless the track ended. Coordinates have two
decimals (``%.2f``, as CVAT writes them). Every box carries its ``occluded`` flag and its
attributes as ``<attribute name="...">value</attribute>`` children; interpolated boxes copy
both from the keyframe before them. ``<meta>`` lists every label of the task and of the file,
each with the attributes its boxes use (declared as mutable text attributes). The track's label
is its own; so is each segment's.

"When" segments travel as extra top-level elements ``<time_segment kind="visual|sound"
label="..." start="..." end="..."/>`` (seconds, written exactly), which CVAT's own importer
ignores.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from wherewhen.annotations.formats.records import CVAT_VERSION, CvatMeta, coord_text, flag_text
from wherewhen.annotations.geometry import stored_shapes, track_shapes


def export_cvat_xml(
    annotation: dict, meta: CvatMeta, segment_label: str = "", frames: str = "dense"
) -> str:
    """One annotation of one video as CVAT for video 1.1 XML. ``segment_label``: the label of a
    segment that has none (older annotations). ``frames``: ``dense`` lists a box on every frame
    (interpolated ones with ``keyframe="0"``), ``keyframes`` only the stored boxes (CVAT
    interpolates the rest the same way)."""
    shapes_of = stored_shapes if frames == "keyframes" else track_shapes
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
        for shape in shapes_of(track["keyframes"], meta.n_frames):
            box = ET.SubElement(
                track_el,
                "box",
                frame=str(shape["frame"]),
                keyframe=flag_text(shape["keyframe"]),
                outside=flag_text(shape["outside"]),
                occluded=flag_text(shape["occluded"]),
                xtl=coord_text(shape["x0"]),
                ytl=coord_text(shape["y0"]),
                xbr=coord_text(shape["x1"]),
                ybr=coord_text(shape["y1"]),
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
