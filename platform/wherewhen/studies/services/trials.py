"""The trial a participant must answer now, and what they see of it: opaque ids only, never a
method, model or explanation id (an unblinded study may name the method)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from wherewhen.core.exceptions import Conflict
from wherewhen.studies.models import Session, Stimulus, Trial, TrialKind
from wherewhen.studies.services.display import display_rule_of
from wherewhen.studies.services.sessions import stage_of


def current_trial(session: Session) -> Trial:
    """The trial the participant must answer now; serving it starts its clock (once)."""
    if stage_of(session) != "trials":
        raise Conflict(f"There is no trial to show now (stage: {stage_of(session)}).")
    trial = Trial.objects.select_related(
        "stimulus_a__explanation__model", "stimulus_a__video", "stimulus_b__explanation__model"
    ).get(session=session, index=session.current_index)
    if trial.served_at is None:
        Trial.objects.filter(pk=trial.pk, served_at__isnull=True).update(served_at=timezone.now())
        trial.refresh_from_db(fields=["served_at"])
    return trial


def labels_of(stimulus: Stimulus) -> list[str]:
    """The class names a forward-simulation trial offers (the model's labels, else its top-k)."""
    model = stimulus.explanation.model
    if model is not None and model.labels:
        return [str(x) for x in model.labels]
    return [str(t.get("label", "")) for t in stimulus.explanation.topk or []]


def predicted_label(stimulus: Stimulus) -> int | None:
    topk = stimulus.explanation.topk or []
    if topk and topk[0].get("label_index") is not None:
        return int(topk[0]["label_index"])
    return stimulus.explanation.explained_target


def _stimulus_payload(session: Session, stimulus: Stimulus) -> dict[str, Any]:
    e, v = stimulus.explanation, stimulus.video
    base = f"/api/v1/participate/media/{session.token}/{stimulus.token}"
    return {
        "id": stimulus.token,
        # Unblinded studies may name the method; blinded ones never do.
        "label": None if session.study.blinded else stimulus.method,
        "video_url": f"{base}/video",
        "map_url": f"{base}/map",
        "width": v.width,
        "height": v.height,
        "duration": v.duration,
        "grid": list(e.grid or []),
        "temporal": [float(x) for x in e.temporal or []],
        "timestamps": [float(x) for x in e.timestamps or []],
        # the rectangle the model saw (its map covers only that; the rest was not seen)
        "view": e.view_rect(),
        # whole-video (windowed) explanations: which map row shows at time t (rows[i] for the
        # last times[i] <= t), as in the review player; null for one-clip explanations
        "schedule": (e.windows or {}).get("schedule"),
    }


def trial_payload(session: Session, trial: Trial) -> dict[str, Any]:
    """What a participant sees of a trial: opaque ids only, never methods or models."""
    study = session.study
    total = session.trials.count()
    payload: dict[str, Any] = {
        "index": trial.index,
        "total": total,
        "kind": trial.kind,
        "practice": trial.practice,
        "question": "",
        "stimuli": [],
        "choices": [],
        "likert_points": study.likert_points,
        "time_limit_seconds": study.time_limit_seconds,
        "served_at": trial.served_at,
        "display": display_rule_of(study),
    }
    if trial.kind == TrialKind.ATTENTION:
        payload["question"] = str(trial.check_item.get("prompt", ""))
        payload["choices"] = [
            {"value": str(c), "label": str(c)} for c in trial.check_item["choices"]
        ]
        return payload
    stimuli = [s for s in (trial.stimulus_a, trial.stimulus_b) if s is not None]
    payload["stimuli"] = [_stimulus_payload(session, s) for s in stimuli]
    payload["question"] = {
        TrialKind.RATING: study.rating_question,
        TrialKind.PAIRWISE: study.pairwise_question,
        TrialKind.FORWARD: study.forward_question,
        TrialKind.POINTING: study.pointing_question,
    }[trial.kind]
    if trial.kind == TrialKind.PAIRWISE:
        payload["choices"] = [
            {"value": s.token, "label": f"Option {'AB'[i]}"} for i, s in enumerate(stimuli)
        ]
    elif trial.kind == TrialKind.FORWARD:
        payload["choices"] = [
            {"value": str(i), "label": label} for i, label in enumerate(labels_of(stimuli[0]))
        ]
    return payload
