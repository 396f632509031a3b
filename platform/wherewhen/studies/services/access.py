"""Who reaches what in a study: researchers their own studies (the role rule of
:mod:`wherewhen.accounts.access`) and the explanations they may see; a participant only their
session (by its opaque token) and the stimuli its trials show."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from wherewhen.accounts.access import is_researcher
from wherewhen.core.exceptions import NotFound
from wherewhen.explanations import services as explanation_services
from wherewhen.explanations.models import Explanation
from wherewhen.studies.models import Session, Stimulus, Study


def studies_of(user) -> QuerySet[Study]:
    """The studies a researcher designs: their own (everyone else: none)."""
    if not is_researcher(user):
        return Study.objects.none()
    return Study.objects.filter(owner=user)


def explanations_for(user, ids: Iterable[int]) -> list[Explanation]:
    """The explanations ``ids`` names, each one ``user`` may see, or :class:`NotFound`."""
    wanted = set(ids)
    visible = explanation_services.visible_explanations(user)
    found = list(visible.filter(pk__in=wanted).select_related("video"))
    if len(found) != len(wanted):
        raise NotFound("Some explanations do not exist or are not yours to use.")
    return found


def session_for(token: str) -> Session:
    """The participant's session of an ``X-Study-Session`` token."""
    found = Session.objects.select_related("study").filter(token=token).first() if token else None
    if found is None:
        raise NotFound("Unknown study session. Open the study link again.")
    return found


def stimulus_for(token: str, stimulus_token: str) -> Stimulus:
    """A stimulus that one of the session's trials shows (nothing else of the study)."""
    session = Session.objects.filter(token=token).first()
    if session is None:
        raise NotFound("Unknown study session.")
    trials = session.trials
    shown = trials.filter(
        Q(stimulus_a__token=stimulus_token) | Q(stimulus_b__token=stimulus_token)
    ).exists() or any(
        # a distinction trial's options (a JSON list of tokens; a JSON containment lookup is
        # PostgreSQL-only, and a session has tens of trials)
        stimulus_token in (options or [])
        for options in trials.exclude(options=[]).values_list("options", flat=True)
    )
    if not shown:
        raise NotFound("Unknown stimulus.")
    stimuli = Stimulus.objects.select_related("explanation", "video")
    stimulus = stimuli.filter(token=stimulus_token).first()
    if stimulus is None:
        raise NotFound("Unknown stimulus.")
    return stimulus
