"""The review player's ground truth: the boxes and "when" segments at an explanation's map
frames, with the pointing-game verdict of each frame.

The verdicts are the scoring app's (``wherewhen.scoring.services.verdicts``: the same label,
annotated frames, boxes, tolerance and maxima as the stored scores and the leaderboard), at the
project's tolerance; nothing is scored here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from wherewhen.explanations.models import Explanation


def _empty() -> dict[str, Any]:
    """The answer when there is nothing to show (``reason`` says why)."""
    return {
        "available": False,
        "reason": "",
        "project": None,
        "label": None,
        "class_name": None,
        "source_size": None,
        "view": None,
        "tolerance": None,
        "frames": [],
        "segments": [],
        "temporal_hit": None,
        "temporal_peak": None,
        "sound_segments": [],
        "sound_hit": None,
        "spatial_accuracy": None,
    }


def ground_truth(
    user, explanation: Explanation, *, project_id: int | None = None
) -> dict[str, Any]:
    """Ground-truth boxes and "when" segments at the explanation's map frames, with the
    pointing-game verdict of each frame, for the review player (in the first annotation
    project ``user`` sees that includes the video, or ``project_id``)."""
    empty = _empty()
    if explanation.status != Explanation.Status.DONE:
        return {**empty, "reason": "The explanation is not done yet."}
    from wherewhen.annotations import services as annotation_services
    from wherewhen.annotations.models import Task
    from wherewhen.scoring import services as scoring

    projects = annotation_services.projects_visible_to(user)
    tasks = Task.objects.filter(video=explanation.video, project__in=projects)
    if project_id is not None:
        tasks = tasks.filter(project_id=project_id)
    task = tasks.select_related("project").order_by("project_id").first()
    if task is None:
        return {**empty, "reason": "No annotation project you can see includes this video."}
    target, fields = scoring.verdicts(task.project, explanation)
    base = {
        **empty,
        "project": task.project_id,
        "label": target.label,
        "class_name": target.choice.class_name,
        "tolerance": target.tolerance,
    }
    if fields is None:
        return {**base, "reason": target.reason}
    if fields["error"]:
        return {**base, "reason": f"Not scored: {fields['error']}"}
    reference = target.consensus()
    frames = []
    for f in fields["frames"]:
        k = f["frame"]
        frames.append(
            {
                "index": f["index"],
                "time": f["time"],
                "frame": k,
                "boxes": reference.frames[k] if k is not None else [],
                "counted": f["counted"],
                "seen": f.get("seen", True),
                "hit": f["hit"],
                "point": f["point"],
            }
        )
    counted = fields["frames_counted"]
    temporal = explanation.temporal or []
    return {
        **base,
        "available": True,
        "source_size": [target.width, target.height],
        "view": explanation.view_rect(),
        "frames": frames,
        "segments": reference.visual,
        "temporal_hit": fields["temporal_hit"],
        # the frame the temporal game takes (first maximum of the stored float curve)
        "temporal_peak": int(np.argmax(temporal)) if temporal else None,
        "sound_segments": reference.sound,
        "sound_hit": fields["sound_hit"],
        "spatial_accuracy": fields["frames_hit"] / counted if counted else None,
    }
