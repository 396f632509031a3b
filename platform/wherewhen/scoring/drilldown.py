"""The clips behind one leaderboard row: each clip's verdict per map frame (the stored scores,
so exactly what the table counts), the label it was scored against or why it was not scored,
and a link that opens the review player at the frame in question."""

from __future__ import annotations

from typing import Any

from wherewhen.annotations.models import Project
from wherewhen.core import exceptions
from wherewhen.explanations.models import Explanation, RegisteredModel
from wherewhen.scoring import services
from wherewhen.scoring.leaderboards import row_key, table_scores
from wherewhen.videos.models import Dataset


def leaderboard_clips(
    user,
    project: Project,
    dataset: Dataset | None,
    model: RegisteredModel | None,
    row: str,
) -> dict[str, Any]:
    """The clips behind one leaderboard row, with hit / miss per map frame and a link that opens
    the review player at the frame in question (the first miss, else the first counted frame)."""
    if not row:
        raise exceptions.Invalid({"row": "Give the row's key (from the leaderboard)."})
    _videos, scores = table_scores(project, dataset, model)
    chosen = [s for s in scores if row_key(s.explanation) == row]
    stale = services.staleness(project, chosen)
    clips = []
    for s in chosen:
        e = s.explanation
        counted = [f for f in s.frames if f.get("counted")]
        misses = [f for f in counted if not f.get("hit")]
        focus = misses[0] if misses else (counted[0] if counted else None)
        at = float(focus["time"]) if focus else (float(e.timestamps[0]) if e.timestamps else 0.0)
        clips.append(
            {
                "explanation": e.pk,
                "video": {"id": e.video_id, "name": e.video.title},
                "frames_counted": s.frames_counted,
                "frames_hit": s.frames_hit,
                "spatial": s.frames_hit / s.frames_counted if s.frames_counted else None,
                "temporal_hit": s.temporal_hit,
                "spacetime_hit": s.spacetime_hit,
                "sound_hit": s.sound_hit,
                "energy": s.energy_sum / s.frames_counted if s.frames_counted else None,
                "error": s.error,
                "class_name": s.class_name or None,
                "label": s.label or None,
                "not_scored": s.not_scored,
                "frames": [
                    {
                        "index": f["index"],
                        "time": f["time"],
                        "frame": f.get("frame"),
                        "counted": bool(f.get("counted")),
                        "seen": bool(f.get("seen", True)),
                        "hit": f.get("hit"),
                    }
                    for f in s.frames
                ],
                "focus_time": at,
                "player_url": player_url(e, at),
                "stale": bool(stale[s.pk]),
                "stale_reason": "; ".join(stale[s.pk]),
                "gt_version": s.gt_version,
                "excluded_annotations": s.excluded_annotations,
            }
        )
    return {"row": row, "clips": clips}


def player_url(explanation: Explanation, seconds: float) -> str:
    """The review player with this explanation, at ``seconds`` into the video."""
    return f"/explanations/review/{explanation.video_id}?ids={explanation.pk}&t={seconds:.3f}"
