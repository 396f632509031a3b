"""A participant's session: who they are (the recruitment platform's id), the session and its
trial list made on the first visit, and the stages it moves through::

    consent -> instructions -> trials -> done

and the two ways out before the end: ``screened_out`` (more failed attention checks than the
study allows, when it screens out: the page shows the screen-out code, never the completion
code) and ``returned`` (the participant gave the study back, on the page or as the recruitment
platform reported it). A returned session no longer holds its Latin-square row: the next
participant gets the row, and the stimuli, it left.

Each step is a conditional UPDATE, so a second browser or a replayed request changes nothing.
"""

from __future__ import annotations

import random
import re
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from wherewhen.core.exceptions import Conflict, Invalid, NotFound
from wherewhen.studies.models import Session, Study, Trial
from wherewhen.studies.services.design import conditions_of, trial_plan, validate_design

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


def participant_id_from(params: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The participant id and the recruitment ids of a study link's query parameters."""
    recruitment = {
        k: str(params[k])[:200] for k in RECRUITMENT_KEYS if str(params.get(k) or "").strip()
    }
    for key in PARTICIPANT_ID_KEYS:
        if recruitment.get(key):
            return recruitment[key].strip(), recruitment
    raise Invalid(
        {
            "detail": "This link has no participant id. Please open the study from the link "
            "your recruitment platform gave you (it carries PROLIFIC_PID or workerId)."
        }
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
        raise NotFound("This study is not open.")
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
            holding = _holding_rows(study)
            counts = dict(holding.values_list("order_row").annotate(n=Count("id")))
            row = min(range(n_rows), key=lambda r: (counts.get(r, 0), r))
            taken = set(holding.filter(order_row=row).values_list("serial", flat=True))
            serial = next(n for n in range(len(taken) + 1) if n not in taken)
            session = Session.objects.create(
                study=study,
                participant_id=participant,
                recruitment=recruitment,
                preview=preview,
                order_row=row,
                serial=serial,
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
                    options=item.get("options", []),
                    check_item=item.get("check", {}),
                )
                for i, item in enumerate(trial_plan(study, row, serial, rng))
            )
            return session, True
    except IntegrityError:
        return Session.objects.get(study=study, participant_id=participant), False


def _holding_rows(study: Study):
    """The sessions that hold a Latin-square row: counted ones that were not returned."""
    return Session.objects.filter(study=study, preview=False, returned_at__isnull=True)


def stage_of(session: Session) -> str:
    if session.returned_at is not None:
        return "returned"
    if session.screened_out_at is not None:
        return "screened_out"
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
        "screen_out_code": None,
        "redirect_url": None,
    }
    if stage == "done":
        state["completion_code"] = study.completion_code
        state["redirect_url"] = _redirect(study, study.completion_code)
    elif stage == "screened_out":
        state["screen_out_code"] = study.screen_out_code
        state["redirect_url"] = _redirect(study, study.screen_out_code)
    return state


def _redirect(study: Study, code: str) -> str | None:
    """The recruitment platform's return link carrying ``code`` (a link that already names the
    completion code keeps it; for any other code its ``cc`` is replaced)."""
    if not study.redirect_url:
        return None
    sep = "&" if "?" in study.redirect_url else "?"
    if "cc=" in study.redirect_url:
        if code == study.completion_code:
            return study.redirect_url
        return re.sub(r"([?&]cc=)[^&#]*", lambda m: m.group(1) + code, study.redirect_url)
    return f"{study.redirect_url}{sep}cc={code}"


def return_session(session: Session) -> None:
    """The participant gives the study back: the session ends as ``returned`` and frees its
    Latin-square row. A finished or screened-out session cannot be returned."""
    if session.returned_at is not None:
        return
    updated = Session.objects.filter(
        pk=session.pk,
        returned_at__isnull=True,
        completed_at__isnull=True,
        screened_out_at__isnull=True,
    ).update(returned_at=timezone.now())
    session.refresh_from_db()
    if not updated and session.returned_at is None:
        raise Conflict(f"This session has ended already (stage: {stage_of(session)}).")


def mark_returned(study: Study, participant_id: str) -> Session:
    """A researcher marks a participant as returned (as the recruitment platform reports)."""
    session = Session.objects.filter(
        study=study, participant_id=str(participant_id or "").strip(), preview=False
    ).first()
    if session is None:
        raise NotFound("No participant with this id has started the study.")
    return_session(session)
    return session


def consent(session: Session, agree: bool) -> None:
    if not agree:
        raise Invalid({"detail": "You need to agree to take part before the study starts."})
    Session.objects.filter(pk=session.pk, consented_at__isnull=True).update(
        consented_at=timezone.now()
    )
    session.refresh_from_db()


def finish_instructions(session: Session) -> None:
    if session.consented_at is None:
        raise Conflict("Consent comes first.")
    Session.objects.filter(pk=session.pk, instructed_at__isnull=True).update(
        instructed_at=timezone.now()
    )
    session.refresh_from_db()
