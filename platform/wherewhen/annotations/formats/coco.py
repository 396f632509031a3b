"""COCO-style JSON export: videos, one image per frame, one annotation per visible box per frame
and the "when" segments, each with its own label's category. A box's ``attributes`` are
``{"occluded": bool, ...its CVAT attributes}``, as CVAT's COCO exports (through datumaro) have
them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from wherewhen.annotations.formats.records import VideoRecord, box_rows, segment_rows


def export_coco(
    records: Iterable[VideoRecord], categories: Sequence[str], info: dict, frames: str = "dense"
) -> dict:
    """COCO-style JSON: ``videos``, ``images`` (one per frame, with its timestamp),
    ``annotations`` (one box per frame per track, ``bbox`` = ``[x, y, width, height]``, with
    ``track_id``, ``keyframe``, ``occluded``, ``source``, and ``attributes`` =
    ``{"occluded": bool, ...the box's CVAT attributes}`` as CVAT's COCO exports have them) and
    ``segments`` (the "when" intervals in seconds). Every box and segment has its own label's
    ``category_id``; a label missing from ``categories`` is added after them. ``frames``:
    ``dense`` (a box on every frame a track is visible) or ``keyframes`` (only stored boxes)."""
    records = list(records)
    names = list(categories)
    seen = {row.label for record in records for row in box_rows(record)}
    seen |= {segment["label"] for record in records for *_, segment in segment_rows(record)}
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
        for row in box_rows(record, frames):
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
        for source, assignment_id, annotator, segment in segment_rows(record):
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
