"""Scores as the API answers them: stored scores, scores at another tolerance computed on the
fly (not stored), and the frame-by-frame verdicts the review player draws."""

from __future__ import annotations

from typing import Any

from wherewhen.annotations.models import Project, Task
from wherewhen.core import exceptions
from wherewhen.explanations.models import Explanation
from wherewhen.scoring import targets
from wherewhen.scoring.models import (
    ExplanationScore,
    ScoreRequest,
)
from wherewhen.scoring.services.access import visible_projects
from wherewhen.scoring.services.compute import (
    Reference,
    class_name_of,
    compute,
    prepare,
    video_truth,
)
from wherewhen.scoring.services.config import settings_for


def _payload(fields: dict[str, Any], **ident: Any) -> dict[str, Any]:
    """The API shape of one score from its stored columns (``fields``) and identity."""
    counted = fields["frames_counted"]
    small = fields["small_counted"]
    return {
        **ident,
        "gt_source": fields["gt_source"],
        "tolerance": fields["tolerance"],
        "class_name": fields["class_name"] or None,
        "label": fields["label"] or None,
        "not_scored": fields["not_scored"],
        "frames_counted": counted,
        "frames_hit": fields["frames_hit"],
        "spatial": fields["frames_hit"] / counted if counted else None,
        "small_counted": small,
        "small_hit": fields["small_hit"],
        "small": fields["small_hit"] / small if small else None,
        "energy": fields["energy_sum"] / counted if counted else None,
        "iou": fields["iou_sum"] / counted if counted else None,
        "temporal_hit": fields["temporal_hit"],
        "spacetime_hit": fields["spacetime_hit"],
        "sound_hit": fields["sound_hit"],
        "sparsity": fields["sparsity"],
        "error": fields["error"],
        "frames": fields["frames"],
    }


_STORED = (
    "gt_source", "tolerance", "class_name", "label", "not_scored", "frames_counted", "frames_hit",
    "small_counted", "small_hit", "energy_sum", "iou_sum", "temporal_hit", "spacetime_hit",
    "sound_hit", "sparsity", "error", "frames",
)  # fmt: skip


def score_payload(score: ExplanationScore, with_frames: bool = True) -> dict[str, Any]:
    annotator = None
    if score.assignment_id is not None and score.assignment is not None:
        a = score.assignment
        annotator = a.annotator.username if a.annotator_id else a.get_source_display()
    fields = {name: getattr(score, name) for name in _STORED}
    if not with_frames:
        fields["frames"] = []
    body = _payload(
        fields,
        id=score.pk,
        explanation=score.explanation_id,
        project=score.project_id,
        reference=score.reference,
        assignment=score.assignment_id,
        annotator=annotator,
    )
    body["stored"] = True
    body["computed_at"] = score.computed_at.isoformat() if score.computed_at else None
    return body


def explanation_scores(
    user,
    explanation: Explanation,
    *,
    project: Project | None = None,
    video_id: int | None = None,
    tolerance: float | None = None,
) -> dict[str, Any]:
    """Stored scores of ``explanation`` in the projects ``user`` sees (or in ``project``); with
    a ``tolerance`` other than a project's, scores computed now and not stored."""
    if video_id is not None and video_id != explanation.video_id:
        raise exceptions.Invalid(
            {
                "video": f"Explanation {explanation.pk} explains video {explanation.video_id}, "
                f"not video {video_id}."
            }
        )
    projects = visible_projects(user)
    if project is not None:
        if not Task.objects.filter(project=project, video_id=explanation.video_id).exists():
            raise exceptions.Invalid(
                {
                    "project": f"Video {explanation.video_id} is not in project {project.pk} "
                    f"({project.name}), so its explanations have no ground truth there."
                }
            )
        projects = projects.filter(pk=project.pk)
    holding = list(projects.filter(tasks__video_id=explanation.video_id).distinct())
    body: dict[str, Any] = {
        "explanation": explanation.pk,
        "video": explanation.video_id,
        "status": explanation.status,
        "stale": ScoreRequest.objects.filter(project__in=holding).exists(),
        "reason": "",
        "results": [],
    }
    if explanation.status != Explanation.Status.DONE:
        body["reason"] = f"The explanation is {explanation.status}, not done: nothing to score."
        return body
    if not holding:
        body["reason"] = "No annotation project you can see includes this video."
        return body
    results: list[dict] = []
    for p in holding:
        stored_tolerance = settings_for(p).tolerance
        if tolerance is not None and tolerance != stored_tolerance:
            results += live_scores(p, explanation, tolerance)
            continue
        rows = ExplanationScore.objects.filter(project=p, explanation=explanation).select_related(
            "assignment__annotator"
        )
        results += [score_payload(s) for s in rows]
    body["results"] = results
    if not results:
        body["reason"] = (
            "Not scored yet: the scores are being computed."
            if body["stale"]
            else "The video has no accepted annotations (or gold answer) yet."
        )
    return body


def live_scores(project: Project, explanation: Explanation, tolerance: float) -> list[dict]:
    """Scores of ``explanation`` in ``project`` at another tolerance, computed now (not stored)."""
    truth = video_truth(project, explanation.video, tolerance)
    if truth is None or truth.source == "none":
        return []
    out = []
    for item, fields in compute(prepare(explanation, truth)):
        body = _payload(
            fields,
            id=None,
            explanation=explanation.pk,
            project=project.pk,
            reference=item.kind,
            assignment=item.assignment_id,
            annotator=None,
        )
        body["stored"] = False
        body["computed_at"] = None
        out.append(body)
    return out


def verdicts(project: Project, explanation: Explanation) -> tuple[targets.Target, dict | None]:
    """The scoring target of ``explanation`` in ``project`` and its frame-by-frame verdicts
    against the consensus (the fields a stored consensus score has), computed by the same
    code as the stored scores; ``None`` when it is not scored there."""
    truth = video_truth(project, explanation.video)
    if truth is None:
        raise exceptions.NotFound(f"Video {explanation.video_id} is not in project {project.pk}.")
    items = [i for i in prepare(explanation, truth) if i.kind == Reference.CONSENSUS]
    target = truth.target(class_name_of(explanation))
    if not items or items[0].reference is None:
        return target, None
    [(_, fields)] = compute(items[:1])
    return target, fields


def click_verdict(
    project: Project, explanation: Explanation, x: float, y: float, t: float
) -> bool | None:
    """A participant's click at ``(x, y)`` playback pixels and ``t`` seconds on a stimulus that
    shows ``explanation``, judged by the scoring rule (``scoring.targets``): the label its class
    maps to in ``project``, the annotated frame a map frame at ``t`` would meet, the project's
    tolerance. ``None`` when it is not scored (no ground truth, no such label, no box there)."""
    truth = video_truth(project, explanation.video)
    if truth is None:
        return None
    target = truth.target(class_name_of(explanation))
    view = targets.view_of(explanation.view, target)
    hit, _frame = targets.click_verdict(target, x, y, t, view)
    return hit
