"""The stored scores of a project, one line per explanation, with their provenance: what
produced each number (explanation, model checkpoint, method and parameters, video, ground truth
version, code version) and whether it is stale (``services.provenance``)."""

from __future__ import annotations

import io
from typing import Any

from wherewhen.annotations.models import Project
from wherewhen.core.csvsafe import SafeDictWriter
from wherewhen.explanations.models import RegisteredModel
from wherewhen.scoring import services
from wherewhen.scoring.leaderboards import table_scores
from wherewhen.videos.models import Dataset

SCORE_COLUMNS = [
    "class_name",
    "label",
    "not_scored",
    "error",
    "frames_counted",
    "frames_hit",
    "spatial",
    "energy",
    "iou",
    "temporal_hit",
    "spacetime_hit",
    "sound_hit",
    "sparsity",
    "tolerance",
    "gt_source",
]
COLUMNS = [*services.EXPORT_COLUMNS[:5], *SCORE_COLUMNS, *services.EXPORT_COLUMNS[5:]]


def score_rows(
    project: Project, dataset: Dataset | None, model: RegisteredModel | None
) -> list[dict[str, Any]]:
    """Every consensus score of the table (``COLUMNS``), in explanation order."""
    _videos, scores = table_scores(project, dataset, model)
    scores = list(scores)
    stale = services.staleness(project, scores)
    rows = []
    for s in scores:
        counted = s.frames_counted
        rows.append(
            {
                **services.export_columns(s, stale[s.pk]),
                "class_name": s.class_name,
                "label": s.label,
                "not_scored": s.not_scored,
                "error": s.error,
                "frames_counted": counted,
                "frames_hit": s.frames_hit,
                "spatial": s.frames_hit / counted if counted else None,
                "energy": s.energy_sum / counted if counted else None,
                "iou": s.iou_sum / counted if counted else None,
                "temporal_hit": s.temporal_hit,
                "spacetime_hit": s.spacetime_hit,
                "sound_hit": s.sound_hit,
                "sparsity": s.sparsity,
                "tolerance": s.tolerance,
                "gt_source": s.gt_source,
            }
        )
    return rows


def scores_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = SafeDictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return value
