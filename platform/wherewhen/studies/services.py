"""Study logic: stimuli, balanced trial lists, the participant session state machine, scoring.

Order and stimuli are decided here, on the server, when a session starts. A participant can
only fetch the current trial and answer it; replays (same client ``response_id``) return the
stored result, answers to any other trial are refused, late answers are stored flagged.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from wherewhen.explanations.models import Explanation
from wherewhen.studies.models import Response, Session, Stimulus, Study, Trial, TrialKind

# Ids recruitment platforms append to study links, in the order they are looked for.
PARTICIPANT_ID_KEYS = ("PROLIFIC_PID", "workerId", "participant", "pid")
RECRUITMENT_KEYS = (
    "PROLIFIC_PID",
    "STUDY_ID",
    "SESSION_ID",
    "workerId",
    "assignmentId",
    "hitId",
    "participant",
    "pid",
)
LATE_GRACE_SECONDS = 2.0
MAIN_KINDS = (TrialKind.RATING, TrialKind.PAIRWISE, TrialKind.FORWARD, TrialKind.POINTING)


class StudyError(Exception):
    """Bad input from a participant or designer; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


# --- Designer side ------------------------------------------------------------------------------


def add_stimuli(study: Study, explanations: list[Explanation]) -> list[Stimulus]:
    """Add done explanations (video x model x method) as stimuli with fresh opaque tokens."""
    created = []
    for explanation in explanations:
        if explanation.status != Explanation.Status.DONE or not explanation.map_file:
            raise StudyError(f"Explanation {explanation.pk} is not done.")
        stimulus, _ = Stimulus.objects.get_or_create(
            study=study,
            explanation=explanation,
            defaults={"method": explanation.method, "video": explanation.video},
        )
        created.append(stimulus)
    return created


def methods_of(study: Study) -> list[str]:
    return sorted(set(study.stimuli.values_list("method", flat=True)))


def conditions_of(study: Study) -> list[tuple[str, str]]:
    """Every (kind, condition) of the main trials: one per method, or per method pair."""
    methods = methods_of(study)
    conditions: list[tuple[str, str]] = []
    for kind in study.trial_kinds or [TrialKind.RATING]:
        if kind == TrialKind.PAIRWISE:
            conditions += [(kind, f"{a}|{b}") for a, b in itertools.combinations(methods, 2)]
        elif kind in MAIN_KINDS:
            conditions += [(kind, m) for m in methods]
    return conditions


def validate_design(study: Study) -> None:
    kinds = study.trial_kinds or []
    bad = [k for k in kinds if k not in MAIN_KINDS]
    if bad:
        raise StudyError(f"Unknown trial kinds: {', '.join(map(str, bad))}.")
    if not conditions_of(study):
        raise StudyError("The study needs stimuli (pairwise trials need two methods).")
    for check in study.attention_checks or []:
        if not isinstance(check, dict) or check.get("answer") not in (check.get("choices") or []):
            raise StudyError("Every attention check needs a prompt, choices and its answer.")
    if TrialKind.POINTING in kinds and study.pointing_project_id is None:
        raise StudyError("Pointing trials need an annotation project with ground truth.")


def latin_square_row(conditions: list[Any], row: int) -> list[Any]:
    """Row ``row`` of the cyclic Latin square over ``conditions``."""
    n = len(conditions)
    return [conditions[(row + i) % n] for i in range(n)]


def _stimuli_by_method(study: Study) -> dict[str, list[Stimulus]]:
    out: dict[str, list[Stimulus]] = {}
    for s in study.stimuli.order_by("video_id", "id"):
        out.setdefault(s.method, []).append(s)
    return out


def _trial_plan(study: Study, row: int, serial: int, rng: random.Random) -> list[dict[str, Any]]:
    """The whole trial list of a session (practice, main trials, attention checks)."""
    conditions = conditions_of(study)
    order = latin_square_row(conditions, row)
    by_method = _stimuli_by_method(study)

    def stimuli_for(kind: str, condition: str, k: int) -> tuple[Stimulus, Stimulus | None]:
        if kind == TrialKind.PAIRWISE:
            a, b = condition.split("|")
            videos_b = {s.video_id: s for s in by_method[b]}
            pairs = [(s, videos_b[s.video_id]) for s in by_method[a] if s.video_id in videos_b]
            if not pairs:
                pairs = [(s, by_method[b][0]) for s in by_method[a]]
            first, second = pairs[k % len(pairs)]
            return (first, second) if rng.random() < 0.5 else (second, first)
        items = by_method[condition]
        return items[k % len(items)], None

    plan: list[dict[str, Any]] = []
    for p in range(study.practice_trials):
        kind, condition = conditions[p % len(conditions)]
        a, b = stimuli_for(kind, condition, p)
        plan.append({"kind": kind, "practice": True, "condition": condition, "a": a, "b": b})
    checks = list(study.attention_checks or [])
    n_checks = 0
    for i in range(study.trials_per_participant):
        kind, condition = order[i % len(order)]
        a, b = stimuli_for(kind, condition, serial + i // len(order))
        plan.append({"kind": kind, "practice": False, "condition": condition, "a": a, "b": b})
        if checks and study.attention_every and (i + 1) % study.attention_every == 0:
            check = checks[n_checks % len(checks)]
            n_checks += 1
            plan.append({"kind": TrialKind.ATTENTION, "practice": False, "check": check})
    return plan


def participant_id_from(params: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The participant id and the recruitment ids of a study link's query parameters."""
    recruitment = {
        k: str(params[k])[:200] for k in RECRUITMENT_KEYS if str(params.get(k) or "").strip()
    }
    for key in PARTICIPANT_ID_KEYS:
        if recruitment.get(key):
            return recruitment[key].strip(), recruitment
    raise StudyError(
        "This link has no participant id. Please open the study from the link your "
        "recruitment platform gave you (it carries PROLIFIC_PID or workerId)."
    )


def start_session(
    study: Study,
    params: dict[str, Any],
    *,
    user_agent: str = "",
    viewport: dict | None = None,
    preview: bool = False,
) -> tuple[Session, bool]:
    """The participant's session, created with its trial list on the first visit.

    Returns ``(session, created)``; a second browser with the same id resumes the same
    session (never a new one, never a restart)."""
    participant, recruitment = participant_id_from(params)
    if not preview and study.status != Study.Status.OPEN:
        raise StudyError("This study is not open.", status=404)
    existing = Session.objects.filter(study=study, participant_id=participant).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            # Serialize session creation per study so balancing counts are exact.
            Study.objects.select_for_update().get(pk=study.pk)
            existing = Session.objects.filter(study=study, participant_id=participant).first()
            if existing is not None:
                return existing, False
            validate_design(study)
            n_rows = len(conditions_of(study))
            counts = dict(
                Session.objects.filter(study=study, preview=False)
                .values_list("order_row")
                .annotate(n=Count("id"))
            )
            row = min(range(n_rows), key=lambda r: (counts.get(r, 0), r))
            serial = Session.objects.filter(study=study, preview=False, order_row=row).count()
            session = Session.objects.create(
                study=study,
                participant_id=participant,
                recruitment=recruitment,
                preview=preview,
                order_row=row,
                user_agent=user_agent[:400],
                viewport=viewport or {},
            )
            rng = random.Random(f"{study.seed}:{session.pk}")
            Trial.objects.bulk_create(
                Trial(
                    session=session,
                    index=i,
                    kind=item["kind"],
                    practice=item["practice"],
                    condition=item.get("condition", ""),
                    stimulus_a=item.get("a"),
                    stimulus_b=item.get("b"),
                    check_item=item.get("check", {}),
                )
                for i, item in enumerate(_trial_plan(study, row, serial, rng))
            )
            return session, True
    except IntegrityError:
        return Session.objects.get(study=study, participant_id=participant), False


# --- Participant state ------------------------------------------------------------------------


def stage_of(session: Session) -> str:
    if session.consented_at is None:
        return "consent"
    if session.instructed_at is None:
        return "instructions"
    if session.completed_at is None:
        return "trials"
    return "done"


def session_state(session: Session) -> dict[str, Any]:
    study = session.study
    total = session.trials.count()
    stage = stage_of(session)
    state: dict[str, Any] = {
        "stage": stage,
        "title": study.title,
        "consent_text": study.consent_text,
        "instructions_text": study.instructions_text,
        "progress": {"done": min(session.current_index, total), "total": total},
        "time_limit_seconds": study.time_limit_seconds,
        "completion_code": None,
        "redirect_url": None,
    }
    if stage == "done":
        state["completion_code"] = study.completion_code
        state["redirect_url"] = _redirect(study)
    return state


def _redirect(study: Study) -> str | None:
    if not study.redirect_url:
        return None
    sep = "&" if "?" in study.redirect_url else "?"
    if "cc=" in study.redirect_url:
        return study.redirect_url
    return f"{study.redirect_url}{sep}cc={study.completion_code}"


def consent(session: Session, agree: bool) -> None:
    if not agree:
        raise StudyError("You need to agree to take part before the study starts.")
    Session.objects.filter(pk=session.pk, consented_at__isnull=True).update(
        consented_at=timezone.now()
    )
    session.refresh_from_db()


def finish_instructions(session: Session) -> None:
    if session.consented_at is None:
        raise StudyError("Consent comes first.", status=409)
    Session.objects.filter(pk=session.pk, instructed_at__isnull=True).update(
        instructed_at=timezone.now()
    )
    session.refresh_from_db()


def current_trial(session: Session) -> Trial:
    """The trial the participant must answer now; serving it starts its clock (once)."""
    if stage_of(session) != "trials":
        raise StudyError(f"There is no trial to show now (stage: {stage_of(session)}).", 409)
    trial = Trial.objects.select_related(
        "stimulus_a__explanation__model", "stimulus_a__video", "stimulus_b__explanation__model"
    ).get(session=session, index=session.current_index)
    if trial.served_at is None:
        Trial.objects.filter(pk=trial.pk, served_at__isnull=True).update(served_at=timezone.now())
        trial.refresh_from_db(fields=["served_at"])
    return trial


def _labels(stimulus: Stimulus) -> list[str]:
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
            {"value": str(i), "label": label} for i, label in enumerate(_labels(stimuli[0]))
        ]
    return payload


# --- Answers ------------------------------------------------------------------------------------


@dataclass
class AnswerOutcome:
    result: dict[str, Any]
    replayed: bool


def _number(value: Any, what: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        raise StudyError(f"{what} must be a number.") from exc
    if not np.isfinite(x):
        raise StudyError(f"{what} must be a finite number.")
    return x


def pointing_hit(study: Study, stimulus: Stimulus, x: float, y: float, t: float) -> bool | None:
    """Whether a click at (x, y) source pixels at time t hits the ground truth, by the scoring
    rule (``wherewhen.scoring.targets``): the label the stimulus's explained class maps to, the
    annotated frame a map frame at ``t`` would meet, and the project's tolerance. ``None`` when
    it is not scored (no ground truth, no such label, no box on that frame)."""
    from wherewhen.scoring import services as scoring
    from wherewhen.scoring import targets

    if study.pointing_project is None:
        return None
    truth = scoring.video_truth(study.pointing_project, stimulus.video)
    if truth is None:
        return None
    target = truth.target(scoring.class_name_of(stimulus.explanation))
    hit, _frame = targets.click_verdict(target, x, y, t)
    return hit


def _check_answer(study: Study, trial: Trial, answer: dict[str, Any]) -> tuple[dict, bool | None]:
    """The cleaned answer and whether it is correct (None where correctness does not apply)."""
    if not isinstance(answer, dict):
        raise StudyError("The answer must be an object.")
    kind = trial.kind
    if kind == TrialKind.RATING:
        rating = _number(answer.get("rating"), "rating")
        if rating != int(rating) or not 1 <= rating <= study.likert_points:
            raise StudyError(f"rating must be a whole number from 1 to {study.likert_points}.")
        return {"rating": int(rating)}, None
    if kind == TrialKind.PAIRWISE:
        choice = answer.get("choice")
        if choice not in (trial.stimulus_a.token, trial.stimulus_b.token):
            raise StudyError("choice must be one of the two options shown.")
        return {"choice": choice}, None
    if kind == TrialKind.FORWARD:
        labels = _labels(trial.stimulus_a)
        label = _number(answer.get("label"), "label")
        if label != int(label) or not 0 <= label < len(labels):
            raise StudyError("label must be one of the choices shown.")
        return {"label": int(label)}, int(label) == predicted_label(trial.stimulus_a)
    if kind == TrialKind.POINTING:
        video = trial.stimulus_a.video
        x, y = _number(answer.get("x"), "x"), _number(answer.get("y"), "y")
        t = _number(answer.get("time", 0.0), "time")
        if not (0 <= x <= (video.width or 0) and 0 <= y <= (video.height or 0)):
            raise StudyError("The click must be inside the video.")
        hit = pointing_hit(study, trial.stimulus_a, x, y, t)
        return {"x": x, "y": y, "time": t}, hit
    choice = answer.get("choice")
    if choice not in trial.check_item.get("choices", []):
        raise StudyError("choice must be one of the choices shown.")
    return {"choice": choice}, choice == trial.check_item.get("answer")


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
        raise StudyError("response_id is required (a new random id per answer).")
    previous = Response.objects.filter(session=session, response_id=response_id).first()
    if previous is not None:
        return AnswerOutcome(previous.result, True)
    with transaction.atomic():
        locked = Session.objects.select_for_update().select_related("study").get(pk=session.pk)
        previous = Response.objects.filter(session=locked, response_id=response_id).first()
        if previous is not None:
            return AnswerOutcome(previous.result, True)
        if stage_of(locked) != "trials":
            raise StudyError(f"No trial is open now (stage: {stage_of(locked)}).", status=409)
        if index != locked.current_index:
            raise StudyError(
                f"Trial {index} is not the current trial ({locked.current_index}).", status=409
            )
        trial = Trial.objects.select_related(
            "stimulus_a__explanation__model", "stimulus_a__video", "stimulus_b"
        ).get(session=locked, index=index)
        study = locked.study
        cleaned, correct = _check_answer(study, trial, answer)
        now = now or timezone.now()
        served = trial.served_at or now
        elapsed = max(0.0, (now - served).total_seconds())
        late = bool(
            study.time_limit_seconds and elapsed > study.time_limit_seconds + LATE_GRACE_SECONDS
        )
        total = Trial.objects.filter(session=locked).count()
        next_index = index + 1
        result: dict[str, Any] = {
            "index": index,
            "accepted": not late,
            "late": late,
            "stage": "trials" if next_index < total else "done",
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
                    served_at=served,
                    response_ms=int(elapsed * 1000),
                    client_ms=int(client_ms) if client_ms is not None else None,
                    client_times=_clean_dict(client_times),
                    viewport=_clean_dict(viewport),
                    result=result,
                )
        except IntegrityError as exc:
            raise StudyError("This trial has already been answered.", status=409) from exc
        updates: dict[str, Any] = {"current_index": next_index}
        if next_index >= total:
            updates["completed_at"] = now
        Session.objects.filter(pk=locked.pk).update(**updates)
    session.refresh_from_db()
    return AnswerOutcome(result, False)
