"""A study's design: its stimuli, its conditions, the checks an open study must pass, and the
balanced trial list each session gets (a cyclic Latin square row over the conditions)."""

from __future__ import annotations

import itertools
import random
from typing import Any

from wherewhen.core.exceptions import Invalid
from wherewhen.explanations.models import Explanation
from wherewhen.studies.models import Stimulus, Study, TrialKind
from wherewhen.studies.services.display import coverage_for

MAIN_KINDS = (TrialKind.RATING, TrialKind.PAIRWISE, TrialKind.FORWARD, TrialKind.POINTING)


def add_stimuli(study: Study, explanations: list[Explanation]) -> list[Stimulus]:
    """Add done explanations (video x model x method) as stimuli with fresh opaque tokens."""
    created = []
    for explanation in explanations:
        if explanation.status != Explanation.Status.DONE or not explanation.map_file:
            raise Invalid({"detail": f"Explanation {explanation.pk} is not done."})
        coverage = coverage_for(explanation, study.overlay_normalization, study.overlay_threshold)
        if coverage.mostly_blank:
            raise Invalid(
                {
                    "detail": (
                        f"Explanation {explanation.pk} ({explanation.method}) would show nothing "
                        f"on {coverage.blank} of its {coverage.frames} frames with this study's "
                        f"overlay ({_rule_text(study)}): participants could not see it. Choose "
                        "another explanation, scale each frame on its own, or lower the threshold."
                    )
                }
            )
        stimulus, _ = Stimulus.objects.get_or_create(
            study=study,
            explanation=explanation,
            defaults={"method": explanation.method, "video": explanation.video},
        )
        created.append(stimulus)
    return created


def _rule_text(study: Study) -> str:
    scale = (
        "each frame scaled on its own"
        if study.overlay_normalization == "frame"
        else ("scaled over the whole clip")
    )
    return f"{scale}, threshold {round(study.overlay_threshold * 100)}%"


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
    """Raise :class:`Invalid` naming the first thing that keeps the study from running."""
    kinds = study.trial_kinds or []
    bad = [k for k in kinds if k not in MAIN_KINDS]
    if bad:
        raise Invalid({"detail": f"Unknown trial kinds: {', '.join(map(str, bad))}."})
    if not conditions_of(study):
        raise Invalid({"detail": "The study needs stimuli (pairwise trials need two methods)."})
    for check in study.attention_checks or []:
        if not isinstance(check, dict) or check.get("answer") not in (check.get("choices") or []):
            raise Invalid(
                {"detail": "Every attention check needs a prompt, choices and its answer."}
            )
    if TrialKind.POINTING in kinds and study.pointing_project_id is None:
        raise Invalid({"detail": "Pointing trials need an annotation project with ground truth."})
    for stimulus in study.stimuli.select_related("explanation"):
        coverage = coverage_for(
            stimulus.explanation, study.overlay_normalization, study.overlay_threshold
        )
        if coverage.mostly_blank:
            raise Invalid(
                {
                    "detail": (
                        f"Stimulus {stimulus.token[:8]} ({stimulus.method}) would show nothing on "
                        f"{coverage.blank} of its {coverage.frames} frames with this study's "
                        f"overlay ({_rule_text(study)}). Remove it, scale each frame on its own, "
                        "or lower the threshold."
                    )
                }
            )


def check_opening(study: Study) -> None:
    """An open study must have a runnable design; one that has not goes back to draft (and the
    :class:`Invalid` of :func:`validate_design` is raised)."""
    if study.status != Study.Status.OPEN:
        return
    try:
        validate_design(study)
    except Invalid:
        Study.objects.filter(pk=study.pk).update(status=Study.Status.DRAFT)
        raise


def latin_square_row(conditions: list[Any], row: int) -> list[Any]:
    """Row ``row`` of the cyclic Latin square over ``conditions``."""
    n = len(conditions)
    return [conditions[(row + i) % n] for i in range(n)]


def _stimuli_by_method(study: Study) -> dict[str, list[Stimulus]]:
    out: dict[str, list[Stimulus]] = {}
    for s in study.stimuli.order_by("video_id", "id"):
        out.setdefault(s.method, []).append(s)
    return out


def trial_plan(study: Study, row: int, serial: int, rng: random.Random) -> list[dict[str, Any]]:
    """The whole trial list of a session (practice, main trials, attention checks): Latin
    square row ``row``; ``serial`` (sessions already on that row) moves on through the stimuli."""
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
