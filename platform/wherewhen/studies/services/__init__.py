"""Human-evaluation studies: designs, balanced trial lists, participant sessions, answers.

Order and stimuli are decided here, on the server, when a session starts. A participant can
only fetch the current trial and answer it; replays (same client ``response_id``) return the
stored result, answers to any other trial are refused, late answers are stored flagged.
Refusals are the domain errors of :mod:`wherewhen.core.exceptions` (``Invalid`` answers 400
with ``{"detail": message}``, ``NotFound`` 404, ``Conflict`` 409).

The public API of the studies app (views and other apps import only this package):
``access`` (who reaches which study, session and stimulus), ``design`` (stimuli, conditions,
the checks an open study passes, the trial plan), ``display`` (how maps are drawn for participants and whether they show), ``sessions`` (participant ids, the session
and its stages), ``trials`` (the current trial and what a participant sees of it) and
``answers`` (checking and storing answers). The analysis lives in :mod:`wherewhen.studies.analysis`;
other apps read its long-format rows (every response with its exclusion decided) through
``analysis_rows``.
"""

from wherewhen.studies.analysis import long_rows as analysis_rows
from wherewhen.studies.services.access import (
    explanations_for,
    session_for,
    stimulus_for,
    studies_of,
)
from wherewhen.studies.services.answers import (
    LATE_GRACE_SECONDS,
    AnswerOutcome,
    answer_trial,
    pointing_hit,
)
from wherewhen.studies.services.design import (
    MAIN_KINDS,
    add_stimuli,
    check_opening,
    conditions_of,
    distinction_groups,
    is_counter_class,
    latin_square_row,
    methods_of,
    model_prediction,
    trial_plan,
    validate_design,
)
from wherewhen.studies.services.display import (
    NORMALIZATIONS,
    Coverage,
    coverage_for,
    coverage_of,
    display_rule_of,
)
from wherewhen.studies.services.sessions import (
    PARTICIPANT_ID_KEYS,
    RECRUITMENT_KEYS,
    consent,
    finish_instructions,
    mark_returned,
    participant_id_from,
    return_session,
    session_state,
    stage_of,
    start_session,
)
from wherewhen.studies.services.trials import (
    candidates_of,
    current_trial,
    labels_of,
    predicted_label,
    preview_payload,
    trial_payload,
)

__all__ = [
    "LATE_GRACE_SECONDS",
    "MAIN_KINDS",
    "PARTICIPANT_ID_KEYS",
    "RECRUITMENT_KEYS",
    "NORMALIZATIONS",
    "AnswerOutcome",
    "Coverage",
    "add_stimuli",
    "candidates_of",
    "distinction_groups",
    "is_counter_class",
    "mark_returned",
    "model_prediction",
    "preview_payload",
    "return_session",
    "analysis_rows",
    "answer_trial",
    "check_opening",
    "conditions_of",
    "consent",
    "coverage_for",
    "coverage_of",
    "current_trial",
    "display_rule_of",
    "explanations_for",
    "finish_instructions",
    "labels_of",
    "latin_square_row",
    "methods_of",
    "participant_id_from",
    "pointing_hit",
    "predicted_label",
    "session_for",
    "session_state",
    "stage_of",
    "start_session",
    "stimulus_for",
    "studies_of",
    "trial_payload",
    "trial_plan",
    "validate_design",
]
