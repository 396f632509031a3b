"""CSV export: one row per visible box per frame and one per segment, each with its own label
and (boxes) its CVAT attributes as JSON. Cells that a spreadsheet would run as a formula are
escaped (:class:`wherewhen.core.csvsafe.SafeDictWriter`)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterable

from wherewhen.annotations.formats.records import VideoRecord, box_rows, segment_rows
from wherewhen.core.csvsafe import SafeDictWriter

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
        for row in box_rows(record):
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
        for source, assignment_id, annotator, segment in segment_rows(record):
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
