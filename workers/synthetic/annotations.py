"""Ground truth of a synthetic clip: a JSON-able dict and CVAT-for-video 1.1 XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from workers.synthetic.scene import CLASS_TONES_HZ, Scene

GROUND_TRUTH_VERSION = 1


def clip_id(seed: int, index: int) -> str:
    return f"syn-s{seed}-{index:05d}"


def ground_truth(scene: Scene, audio: bool = False) -> dict:
    """The clip's ground truth.

    * ``boxes``: the target's box in every event frame: ``{"frame", "time", "x0", "y0", "x1",
      "y1"}``, a closed rectangle ``[x0, x1] x [y0, y1]`` in source pixels.
    * ``when``: the event window ``{"start", "end"}`` in seconds, closed: the presentation times
      of the first and the last event frame, so a frame's timestamp lies in it exactly when the
      target shows the class colour in that frame. ``frames`` gives the same window in frames.
    * ``sound``: when ``audio``, the "when" of the sound: the interval the class tone plays,
      ``[start, end]`` seconds (from the start of its first frame until the end of its last
      one's display time), its frames and frequency; None without audio or in a silent clip.
    * ``sound_mode``: how sound and picture relate (``workers.synthetic.scene.SOUND_MODES``:
      synced, offset, silent, sound_only) when ``audio``, else None. In ``sound_only`` clips
      the target never flashes: ``when`` is None and ``boxes`` is empty.
    """
    cfg = scene.config
    boxes = []
    when = None
    if scene.event_frames is not None:
        first, last = scene.event_frames
        for f in range(first, last + 1):
            x0, y0, x1, y1 = scene.target_box(f)
            boxes.append({"frame": f, "time": f / cfg.fps, "x0": x0, "y0": y0, "x1": x1, "y1": y1})
        when = {"start": first / cfg.fps, "end": last / cfg.fps, "frames": [first, last]}
    sound = None
    segment = scene.sound_segment()
    if audio and segment is not None:
        assert scene.sound_frames is not None
        sound = {
            "start": segment[0],
            "end": segment[1],
            "frames": list(scene.sound_frames),
            "frequency_hz": CLASS_TONES_HZ[scene.label],
        }
    return {
        "version": GROUND_TRUTH_VERSION,
        "clip_id": clip_id(scene.seed, scene.index),
        "seed": scene.seed,
        "index": scene.index,
        "label": scene.label,
        "label_index": scene.label_index,
        "classes": list(cfg.classes),
        "width": cfg.width,
        "height": cfg.height,
        "num_frames": cfg.num_frames,
        "fps": cfg.fps,
        "duration": cfg.duration,
        "frame_times": [i / cfg.fps for i in range(cfg.num_frames)],
        "when": when,
        "boxes": boxes,
        "sound": sound,
        "sound_mode": scene.sound_mode if audio else None,
        "objects": [o.to_dict() for o in scene.objects],
    }


def _fmt(v: float) -> str:
    return f"{v:.2f}"


def cvat_video_xml(gt: dict, video_name: str | None = None) -> str:
    """CVAT-for-video 1.1 XML of one clip's ground truth.

    One track, labelled with the clip's class, holds a keyframe box on every event frame and an
    ``outside`` keyframe on the frame after the event (CVAT's way of ending a track), so the
    track's extent is the "when" window.
    """
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    meta = ET.SubElement(root, "meta")
    task = ET.SubElement(meta, "task")
    ET.SubElement(task, "id").text = str(gt["index"])
    ET.SubElement(task, "name").text = gt["clip_id"]
    ET.SubElement(task, "size").text = str(gt["num_frames"])
    ET.SubElement(task, "mode").text = "interpolation"
    ET.SubElement(task, "overlap").text = "0"
    ET.SubElement(task, "bugtracker")
    ET.SubElement(task, "flipped").text = "False"
    ET.SubElement(task, "start_frame").text = "0"
    ET.SubElement(task, "stop_frame").text = str(gt["num_frames"] - 1)
    ET.SubElement(task, "frame_filter")
    labels = ET.SubElement(task, "labels")
    for name in gt["classes"]:
        label = ET.SubElement(labels, "label")
        ET.SubElement(label, "name").text = name
        ET.SubElement(label, "type").text = "rectangle"
        ET.SubElement(label, "attributes")
    size = ET.SubElement(task, "original_size")
    ET.SubElement(size, "width").text = str(gt["width"])
    ET.SubElement(size, "height").text = str(gt["height"])
    ET.SubElement(meta, "source").text = video_name or f"{gt['clip_id']}.mp4"

    track = ET.SubElement(root, "track", id="0", label=gt["label"], source="manual")
    last = None
    for b in gt["boxes"]:
        ET.SubElement(
            track,
            "box",
            frame=str(b["frame"]),
            keyframe="1",
            outside="0",
            occluded="0",
            xtl=_fmt(b["x0"]),
            ytl=_fmt(b["y0"]),
            xbr=_fmt(b["x1"]),
            ybr=_fmt(b["y1"]),
            z_order="0",
        )
        last = b
    if last is not None and last["frame"] + 1 < gt["num_frames"]:
        ET.SubElement(
            track,
            "box",
            frame=str(last["frame"] + 1),
            keyframe="1",
            outside="1",
            occluded="0",
            xtl=_fmt(last["x0"]),
            ytl=_fmt(last["y0"]),
            xbr=_fmt(last["x1"]),
            ybr=_fmt(last["y1"]),
            z_order="0",
        )
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
