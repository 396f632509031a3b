"""Answering the current trial: checked on the server, stored once, late answers flagged.

A participant can only answer the current trial; a replay (the same client ``response_id``)
returns the stored result, an answer to any other trial is refused (409), and an answer after
the time limit (plus :data:`LATE_GRACE_SECONDS`) is stored with ``late`` set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction
from django.utils import timezone

from wherewhen.core import limits
from wherewhen.core.exceptions import Conflict, Invalid
from wherewhen.studies.models import Response, Session, Stimulus, Study, Trial, TrialKind
from wherewhen.studies.services.display import display_rule_of
from wherewhen.studies.services.sessions import stage_of
from wherewhen.studies.services.trials import candidates_of, labels_of, predicted_label

LATE_GRACE_SECONDS = 2.0


@dataclass
class AnswerOutcome:
    result: dict[str, Any]
    replayed: bool


def _number(value: Any, what: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        raise Invalid({"detail": f"{what} must be a number."}) from exc
    if not np.isfinite(x):
        raise Invalid({"detail": f"{what} must be a finite number."})
    return x


def pointing_hit(study: Study, stimulus: Stimulus, x: float, y: float, t: float) -> bool | None:
    """Whether a click at (x, y) source pixels at time t hits the ground truth, by the scoring
    rule (``wherewhen.scoring.services.click_verdict``): the label the stimulus's explained class
    maps to, the annotated frame a map frame at ``t`` would meet, and the project's tolerance.
    ``None`` when it is not scored (no ground truth, no such label, no box on that frame)."""
    from wherewhen.scoring import services as scoring

    if study.pointing_project is None:
        return None
    return scoring.click_verdict(study.pointing_project, stimulus.explanation, x, y, t)


def _check_answer(study: Study, trial: Trial, answer: dict[str, Any]) -> tuple[dict, bool | None]:
    """The cleaned answer and whether it is correct (None where correctness does not apply)."""
    if not isinstance(answer, dict):
        raise Invalid({"detail": "The answer must be an object."})
    kind = trial.kind
    if kind == TrialKind.RATING:
        rating = _number(answer.get("rating"), "rating")
        if rating != int(rating) or not 1 <= rating <= study.likert_points:
            raise Invalid(
                {"detail": f"rating must be a whole number from 1 to {study.likert_points}."}
            )
        return {"rating": int(rating)}, None
    if kind == TrialKind.PAIRWISE:
        choice = answer.get("choice")
        if choice not in (trial.stimulus_a.token, trial.stimulus_b.token):
            raise Invalid({"detail": "choice must be one of the two options shown."})
        return {"choice": choice}, None
    if kind == TrialKind.FORWARD:
        labels = labels_of(trial.stimulus_a)
        label = _number(answer.get("label"), "label")
        if label != int(label) or not 0 <= label < len(labels):
            raise Invalid({"detail": "label must be one of the choices shown."})
        return {"label": int(label)}, int(label) == predicted_label(trial.stimulus_a)
    if kind == TrialKind.DISTINCTION:
        targets = [target for target, _stimulus in candidates_of(trial)]
        label = _number(answer.get("label"), "label")
        if label != int(label) or int(label) not in targets:
            raise Invalid({"detail": "label must be one of the candidate classes shown."})
        return {"label": int(label)}, int(label) == predicted_label(trial.stimulus_a)
    if kind == TrialKind.POINTING:
        video = trial.stimulus_a.video
        x, y = _number(answer.get("x"), "x"), _number(answer.get("y"), "y")
        t = _number(answer.get("time", 0.0), "time")
        if not (0 <= x <= (video.width or 0) and 0 <= y <= (video.height or 0)):
            raise Invalid({"detail": "The click must be inside the video."})
        hit = pointing_hit(study, trial.stimulus_a, x, y, t)
        return {"x": x, "y": y, "time": t}, hit
    choice = answer.get("choice")
    if choice not in trial.check_item.get("choices", []):
        raise Invalid({"detail": "choice must be one of the choices shown."})
    return {"choice": choice}, choice == trial.check_item.get("answer")


def _confidence(study: Study, trial: Trial, answer: dict[str, Any]) -> int | None:
    """The confidence rating the study asks for with every main trial (None when not asked)."""
    if not study.ask_confidence or trial.kind == TrialKind.ATTENTION:
        return None
    low, high = limits.CONFIDENCE_MIN, limits.CONFIDENCE_MAX
    value = answer.get("confidence") if isinstance(answer, dict) else None
    if value is None:
        raise Invalid({"detail": f"confidence is required: a whole number from {low} to {high}."})
    x = _number(value, "confidence")
    if x != int(x) or not low <= x <= high:
        raise Invalid({"detail": f"confidence must be a whole number from {low} to {high}."})
    return int(x)


def _screens_out(study: Study, session: Session, trial: Trial, correct: bool | None) -> bool:
    """Whether this answer (not stored yet) ends the session: a failed check beyond the study's
    allowance."""
    if trial.kind != TrialKind.ATTENTION or correct is not False:
        return False
    if not study.screen_out_failed_checks:
        return False
    failed_before = Response.objects.filter(
        session=session, trial__kind=TrialKind.ATTENTION, correct=False
    ).count()
    return failed_before + 1 > study.max_failed_checks


def _clean_dict(value: Any, limit: int = 20) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    out: dict[str, Any] = {}
    for k, v in list(value.items())[:limit]:
        if isinstance(v, (int, float, str, bool)) or v is None:
            out[str(k)[:40]] = v if not isinstance(v, str) else v[:100]
    return out


def answer_trial(
    session: Session,
    *,
    index: int,
    response_id: str,
    answer: dict[str, Any],
    client_ms: int | None = None,
    client_times: dict | None = None,
    viewport: dict | None = None,
    now=None,
) -> AnswerOutcome:
    """Store the answer to the current trial and move on; replays return the stored result."""
    response_id = str(response_id or "").strip()[:64]
    if not response_id:
        raise Invalid({"detail": "response_id is required (a new random id per answer)."})
    previous = Response.objects.filter(session=session, response_id=response_id).first()
    if previous is not None:
        return AnswerOutcome(previous.result, True)
    with transaction.atomic():
        locked = Session.objects.select_for_update().select_related("study").get(pk=session.pk)
        previous = Response.objects.filter(session=locked, response_id=response_id).first()
        if previous is not None:
            return AnswerOutcome(previous.result, True)
        if stage_of(locked) != "trials":
            raise Conflict(f"No trial is open now (stage: {stage_of(locked)}).")
        if index != locked.current_index:
            raise Conflict(f"Trial {index} is not the current trial ({locked.current_index}).")
        trial = Trial.objects.select_related(
            "stimulus_a__explanation__model", "stimulus_a__video", "stimulus_b"
        ).get(session=locked, index=index)
        study = locked.study
        cleaned, correct = _check_answer(study, trial, answer)
        confidence = _confidence(study, trial, answer)
        now = now or timezone.now()
        served = trial.served_at or now
        elapsed = max(0.0, (now - served).total_seconds())
        late = bool(
            study.time_limit_seconds and elapsed > study.time_limit_seconds + LATE_GRACE_SECONDS
        )
        total = Trial.objects.filter(session=locked).count()
        next_index = index + 1
        screened_out = _screens_out(study, locked, trial, correct)
        result: dict[str, Any] = {
            "index": index,
            "accepted": not late,
            "late": late,
            "stage": "screened_out" if screened_out else "trials" if next_index < total else "done",
            "feedback": None,
        }
        if trial.practice and correct is not None:
            result["feedback"] = "correct" if correct else "incorrect"
        try:
            with transaction.atomic():
                Response.objects.create(
                    trial=trial,
                    session=locked,
                    response_id=response_id,
                    answer=cleaned,
                    correct=correct,
                    late=late,
                    confidence=confidence,
                    served_at=served,
                    response_ms=int(elapsed * 1000),
                    client_ms=int(client_ms) if client_ms is not None else None,
                    client_times=_clean_dict(client_times),
                    viewport=_clean_dict(viewport),
                    result=result,
                    overlay_display_rule=display_rule_of(study) if trial.stimulus_a_id else {},
                )
        except IntegrityError as exc:
            raise Conflict("This trial has already been answered.") from exc
        updates: dict[str, Any] = {"current_index": next_index}
        if screened_out:
            updates["screened_out_at"] = now
        elif next_index >= total:
            updates["completed_at"] = now
        Session.objects.filter(pk=locked.pk).update(**updates)
    session.refresh_from_db()
    return AnswerOutcome(result, False)
