"""The media worker's adapter for exports: render with ``workers.overlay``, store, flip status."""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from wherewhen.core import media
from wherewhen.explanations import storage
from wherewhen.explanations.models import Export
from wherewhen.videos import services as video_services

log = logging.getLogger(__name__)


def export_relative_path(export: Export) -> str:
    key = export.explanation.request_key
    return f"explanations/exports/{key[:2]}/{key}/{export.kind}-{export.options_hash[:16]}.{export.kind}"


#: Tiles of the keyframe strip of a windowed (whole-video) explanation, evenly over its span.
WINDOWED_KEYFRAMES = 12


def windowed_frames(windows: dict, heat: np.ndarray) -> tuple[np.ndarray, list, list]:
    """The map rows of a windowed explanation in the order they show (its ``schedule``: the
    window centred nearest each time), their start times, and the whole-span curve there."""
    schedule, curve = windows["schedule"], windows["curve"]
    rows = np.asarray(schedule["rows"], dtype=np.int64)
    times = np.asarray(schedule["times"], dtype=np.float64)
    level = np.interp(times, curve["times"], curve["importance"])
    return heat[rows], times.tolist(), level.tolist()


def windowed_keyframes(
    windows: dict, heat: np.ndarray, timestamps: list
) -> tuple[np.ndarray, list]:
    """:data:`WINDOWED_KEYFRAMES` map rows evenly over the span (the row shown at each time),
    with their own frame times."""
    from workers.windows import frame_at

    spans = windows["spans"]
    start, end = float(spans[0][0]), float(spans[-1][1])
    times = start + (end - start) * (np.arange(WINDOWED_KEYFRAMES) + 0.5) / WINDOWED_KEYFRAMES
    schedule = windows["schedule"]
    rows = sorted({frame_at(schedule["times"], schedule["rows"], float(t)) for t in times})
    rows = sorted(rows, key=lambda r: (float(timestamps[r]), r))
    return heat[rows], [float(timestamps[r]) for r in rows]


def render(export_id: int) -> dict[str, Any]:
    """Render one export; a finished export is left as it is (a redelivered task is a no-op)."""
    from workers import overlay

    with transaction.atomic():
        export = (
            Export.objects.select_for_update()
            .select_related("explanation", "explanation__video")
            .filter(pk=export_id)
            .first()
        )
        if export is None or export.status == Export.Status.DONE:
            return {"export": export_id, "outcome": "nothing to do"}
        export.status = Export.Status.RUNNING
        export.save(update_fields=["status"])

    explanation = export.explanation
    video = explanation.video
    relative = export_relative_path(export)
    tmp = media.scratch_file(relative, f"{os.getpid()}.tmp")
    opts = export.options
    heat = storage.read_map(explanation.map_file)
    timestamps, temporal = explanation.timestamps, explanation.temporal
    if explanation.windows and export.kind == Export.Kind.MP4:
        heat, timestamps, temporal = windowed_frames(explanation.windows, heat)
    elif explanation.windows:
        heat, timestamps = windowed_keyframes(explanation.windows, heat, explanation.timestamps)
    common = {
        "video_size": (int(video.width or 0) or 320, int(video.height or 0) or 240),
        "fps": float(video.fps or 25.0),
        "frame_times": list(video.frame_timestamps or []) or None,
        "colormap": opts.get("colormap", "jet"),
        "opacity": float(opts.get("opacity", 0.5)),
        "threshold": float(opts.get("threshold", 0.0)),
        # the rectangle the model saw (None: the whole frame); the rest is shaded "not seen"
        "view": explanation.view,
    }
    try:
        with video_services.local_file(video) as source:
            if export.kind == Export.Kind.MP4:
                info = overlay.render_overlay_mp4(
                    source,
                    tmp,
                    heat,
                    timestamps,
                    temporal,
                    duration=float(video.duration or 0.0),
                    **common,
                )
            else:
                info = overlay.render_keyframe_strip(source, tmp, heat, timestamps, **common)
        size_bytes = tmp.stat().st_size
        media.put_file(relative, tmp, move=True)
    except (overlay.OverlayError, ValueError, OSError) as exc:
        tmp.unlink(missing_ok=True)
        Export.objects.filter(pk=export_id).update(
            status=Export.Status.FAILED, error=str(exc)[:4000], finished_at=timezone.now()
        )
        log.warning("export %s failed: %s", export_id, exc)
        return {"export": export_id, "outcome": "failed", "error": str(exc)}
    Export.objects.filter(pk=export_id).update(
        status=Export.Status.DONE,
        file=relative,
        size_bytes=size_bytes,
        error="",
        finished_at=timezone.now(),
    )
    return {"export": export_id, "outcome": "rendered", **info}
