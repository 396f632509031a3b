"""The trial a participant must answer now, and what they see of it: opaque ids only, never a
method, model or explanation id (an unblinded study may name the method)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from wherewhen.core import limits
from wherewhen.core.exceptions import Conflict
from wherewhen.studies.models import Session, Stimulus, Study, Trial, TrialKind
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


def class_name(stimulus: Stimulus, index: int) -> str:
    """The name of class ``index`` of the stimulus's model (its number when unnamed)."""
    labels = labels_of(stimulus)
    if 0 <= index < len(labels) and labels[index]:
        return labels[index]
    for t in stimulus.explanation.topk or []:
        if t.get("label_index") == index and t.get("label"):
            return str(t["label"])
    return f"class {index}"


def candidates_of(trial: Trial) -> list[tuple[int, Stimulus]]:
    """A distinction trial's candidates in screen order: (explained class, stimulus)."""
    by_token = {
        s.token: s
        for s in Stimulus.objects.filter(
            study_id=trial.session.study_id, token__in=trial.options
        ).select_related("explanation__model", "video")
    }
    out = []
    for token in trial.options:
        stimulus = by_token[token]
        out.append((int(stimulus.explanation.explained_target), stimulus))
    return out


def _media_urls(session: Session | None, stimulus: Stimulus) -> tuple[str, str]:
    """The participant's media links, or (``session`` None: a designer's preview) the
    researcher's own links to the same video and map."""
    if session is None:
        return (
            f"/api/v1/videos/{stimulus.video_id}/stream/",
            f"/api/v1/explanations/{stimulus.explanation_id}/map/",
        )
    base = f"/api/v1/participate/media/{session.token}/{stimulus.token}"
    return f"{base}/video", f"{base}/map"


def _stimulus_payload(
    study: Study, session: Session | None, stimulus: Stimulus, class_label: str | None = None
) -> dict[str, Any]:
    e, v = stimulus.explanation, stimulus.video
    video_url, map_url = _media_urls(session, stimulus)
    return {
        "id": stimulus.token,
        # Unblinded studies may name the method; blinded ones never do.
        "label": None if study.blinded else stimulus.method,
        # distinction trials: the candidate class this explanation was computed for
        "class_label": class_label,
        "video_url": video_url,
        "map_url": map_url,
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
    return _payload(session.study, session, trial, session.trials.count())


def _payload(study: Study, session: Session | None, trial: Trial, total: int) -> dict[str, Any]:
    asks_confidence = study.ask_confidence and trial.kind != TrialKind.ATTENTION
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
        "confidence": (
            {
                "question": study.confidence_question,
                "min": limits.CONFIDENCE_MIN,
                "max": limits.CONFIDENCE_MAX,
            }
            if asks_confidence
            else None
        ),
    }
    if trial.kind == TrialKind.ATTENTION:
        payload["question"] = str(trial.check_item.get("prompt", ""))
        payload["choices"] = [
            {"value": str(c), "label": str(c)} for c in trial.check_item["choices"]
        ]
        return payload
    payload["question"] = {
        TrialKind.RATING: study.rating_question,
        TrialKind.PAIRWISE: study.pairwise_question,
        TrialKind.FORWARD: study.forward_question,
        TrialKind.POINTING: study.pointing_question,
        TrialKind.DISTINCTION: study.distinction_question,
    }[trial.kind]
    if trial.kind == TrialKind.DISTINCTION:
        candidates = candidates_of(trial)
        payload["stimuli"] = [
            _stimulus_payload(study, session, s, class_name(s, target)) for target, s in candidates
        ]
        payload["choices"] = [
            {"value": str(target), "label": class_name(s, target)} for target, s in candidates
        ]
        return payload
    stimuli = [s for s in (trial.stimulus_a, trial.stimulus_b) if s is not None]
    payload["stimuli"] = [_stimulus_payload(study, session, s) for s in stimuli]
    if trial.kind == TrialKind.PAIRWISE:
        payload["choices"] = [
            {"value": s.token, "label": f"Option {'AB'[i]}"} for i, s in enumerate(stimuli)
        ]
    elif trial.kind == TrialKind.FORWARD:
        payload["choices"] = [
            {"value": str(i), "label": label} for i, label in enumerate(labels_of(stimuli[0]))
        ]
    return payload


def preview_payload(study: Study, kind: str) -> dict[str, Any]:
    """What a participant would see of a ``kind`` trial of ``study`` now (the first stimuli the
    plan would give, the study's questions and display rule), with the designer's media links.
    Nothing is stored."""
    import random

    from wherewhen.core.exceptions import Invalid
    from wherewhen.studies.services.design import conditions_of, trial_plan

    if kind not in [k for k, _ in conditions_of(study)] and kind != TrialKind.ATTENTION:
        raise Invalid(
            {"kind": f"The study has no {kind!r} trials to preview (check its kinds and stimuli)."}
        )
    session = Session(study=study, token="")
    trial = Trial(session=session, index=0, kind=kind)
    if kind == TrialKind.ATTENTION:
        checks = study.attention_checks or []
        if not checks:
            raise Invalid({"kind": "The study has no attention checks to preview."})
        trial.check_item = checks[0]
    else:
        total = study.practice_trials + study.trials_per_participant
        # enough trials for every condition to appear (in memory only; nothing is saved)
        study.trials_per_participant = max(study.trials_per_participant, len(conditions_of(study)))
        plan = trial_plan(study, 0, 0, random.Random(study.seed))
        item = next(p for p in plan if p["kind"] == kind)
        study.trials_per_participant = total - study.practice_trials
        trial.stimulus_a, trial.stimulus_b = item["a"], item["b"]
        trial.options = item.get("options", [])
        trial.condition = item["condition"]
    total = study.practice_trials + study.trials_per_participant
    return _payload(study, None, trial, total)
