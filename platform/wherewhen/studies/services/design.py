"""A study's design: its stimuli, its conditions, the checks an open study must pass, and the
balanced trial list each session gets (a cyclic Latin square row over the conditions).

Distinction trials (as in HIVE) show ``k`` explanations of one clip by one method and model, each
computed for a different target class, the model's predicted class among them, and ask which
class the model predicted. A stimulus whose explained class is not the model's prediction (a
*counter-class* stimulus) only ever appears in distinction trials; every other trial kind uses
the explanations of the predicted class."""

from __future__ import annotations

import itertools
import random
from typing import Any

from wherewhen.core.exceptions import Invalid
from wherewhen.explanations.models import Explanation
from wherewhen.studies.models import Stimulus, Study, TrialKind
from wherewhen.studies.services.display import coverage_for

MAIN_KINDS = (
    TrialKind.RATING,
    TrialKind.PAIRWISE,
    TrialKind.FORWARD,
    TrialKind.POINTING,
    TrialKind.DISTINCTION,
)


def model_prediction(stimulus: Stimulus) -> int | None:
    """The class the model predicted for the stimulus's clip (its top-1), if recorded."""
    topk = stimulus.explanation.topk or []
    if topk and topk[0].get("label_index") is not None:
        return int(topk[0]["label_index"])
    return None


def is_counter_class(stimulus: Stimulus) -> bool:
    """Whether the stimulus explains a class other than the model's prediction."""
    predicted = model_prediction(stimulus)
    target = stimulus.explanation.explained_target
    return predicted is not None and target is not None and target != predicted


def distinction_groups(study: Study) -> dict[str, list[list[Stimulus]]]:
    """Per method, the clips a distinction trial can use: for each (video, model), one stimulus
    per explained class with the predicted class's first, when there are at least ``k``
    classes and the predicted one is among them."""
    k = study.distinction_k
    groups: dict[tuple[str, int, int | None], dict[int, Stimulus]] = {}
    for s in study.stimuli.select_related("explanation").order_by("video_id", "id"):
        target = s.explanation.explained_target
        if target is None:
            continue
        key = (s.method, s.video_id, s.explanation.model_id)
        groups.setdefault(key, {}).setdefault(int(target), s)
    out: dict[str, list[list[Stimulus]]] = {}
    for (method, _video, _model), by_target in groups.items():
        if len(by_target) < k:
            continue
        predicted = model_prediction(next(iter(by_target.values())))
        if predicted is None or predicted not in by_target:
            continue
        true = by_target[predicted]
        others = [by_target[t] for t in sorted(by_target) if t != predicted]
        out.setdefault(method, []).append([true, *others])
    return out


def add_stimuli(
    study: Study, explanations: list[Explanation], allow_sparse: bool = False
) -> list[Stimulus]:
    """Add done explanations (video x model x method) as stimuli with fresh opaque tokens.

    A map that would show nothing on most frames under the study's overlay is refused unless
    ``allow_sparse``: the researcher knows its method keeps only a few key frames (STAA+ does);
    such a stimulus remembers that it was accepted (``Stimulus.allow_sparse``), so the design
    check lets it through."""
    created = []
    for explanation in explanations:
        if explanation.status != Explanation.Status.DONE or not explanation.map_file:
            raise Invalid({"detail": f"Explanation {explanation.pk} is not done."})
        coverage = coverage_for(explanation, study.overlay_normalization, study.overlay_threshold)
        if coverage.mostly_blank and not allow_sparse:
            raise Invalid(
                {
                    "detail": (
                        f"Explanation {explanation.pk} ({explanation.method}) would show nothing "
                        f"on {coverage.blank} of its {coverage.frames} frames with this study's "
                        f"overlay ({_rule_text(study)}): participants could not see it. Choose "
                        "another explanation, scale each frame on its own, or lower the "
                        "threshold; if its method keeps only a few key frames (STAA+ does), add "
                        "it with allow_sparse."
                    )
                }
            )
        accepted = coverage.mostly_blank  # and allowed: this sparse map was asked for
        stimulus, made = Stimulus.objects.get_or_create(
            study=study,
            explanation=explanation,
            defaults={
                "method": explanation.method,
                "video": explanation.video,
                "allow_sparse": accepted,
            },
        )
        if not made and accepted and not stimulus.allow_sparse:
            Stimulus.objects.filter(pk=stimulus.pk).update(allow_sparse=True)
            stimulus.allow_sparse = True
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


def _primary_methods(study: Study) -> list[str]:
    """Methods with at least one stimulus explaining the predicted class."""
    return sorted(
        {s.method for s in study.stimuli.select_related("explanation") if not is_counter_class(s)}
    )


def conditions_of(study: Study) -> list[tuple[str, str]]:
    """Every (kind, condition) of the main trials: one per method, or per method pair."""
    methods = _primary_methods(study)
    conditions: list[tuple[str, str]] = []
    distinction: dict[str, list] | None = None
    for kind in study.trial_kinds or [TrialKind.RATING]:
        if kind == TrialKind.DISTINCTION:
            if distinction is None:
                distinction = distinction_groups(study)
            conditions += [(kind, m) for m in sorted(distinction)]
        elif kind == TrialKind.PAIRWISE:
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
    if TrialKind.DISTINCTION in kinds and not distinction_groups(study):
        raise Invalid(
            {
                "detail": (
                    f"Distinction trials need, for at least one clip, explanations by one method "
                    f"for {study.distinction_k} different target classes, the model's predicted "
                    "class among them. Add explanations computed for other target classes, or "
                    "lower the number of candidates."
                )
            }
        )
    if not conditions_of(study):
        raise Invalid({"detail": "The study needs stimuli (pairwise trials need two methods)."})
    for check in study.attention_checks or []:
        if not isinstance(check, dict) or check.get("answer") not in (check.get("choices") or []):
            raise Invalid(
                {"detail": "Every attention check needs a prompt, choices and its answer."}
            )
    if TrialKind.POINTING in kinds and study.pointing_project_id is None:
        raise Invalid({"detail": "Pointing trials need an annotation project with ground truth."})
    for stimulus in study.stimuli.filter(allow_sparse=False).select_related("explanation"):
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
                        "or lower the threshold (or add it again with allow_sparse if its method "
                        "keeps only a few key frames)."
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
    """Each method's stimuli of the predicted class (counter-class ones are left out)."""
    out: dict[str, list[Stimulus]] = {}
    for s in study.stimuli.select_related("explanation").order_by("video_id", "id"):
        if not is_counter_class(s):
            out.setdefault(s.method, []).append(s)
    return out


def trial_plan(study: Study, row: int, serial: int, rng: random.Random) -> list[dict[str, Any]]:
    """The whole trial list of a session (practice, main trials, attention checks): Latin
    square row ``row``; ``serial`` (sessions already on that row) moves on through the stimuli."""
    conditions = conditions_of(study)
    order = latin_square_row(conditions, row)
    by_method = _stimuli_by_method(study)
    distinction = (
        distinction_groups(study) if TrialKind.DISTINCTION in (study.trial_kinds or []) else {}
    )

    def options_for(condition: str, k: int) -> tuple[Stimulus, list[str]]:
        """The predicted class's stimulus and the k candidates' tokens in screen order."""
        true, *others = distinction[condition][k % len(distinction[condition])]
        shown = [true, *rng.sample(others, study.distinction_k - 1)]
        rng.shuffle(shown)
        return true, [s.token for s in shown]

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

    def item(kind: str, condition: str, k: int, practice: bool) -> dict[str, Any]:
        if kind == TrialKind.DISTINCTION:
            a, options = options_for(condition, k)
            b = None
        else:
            (a, b), options = stimuli_for(kind, condition, k), []
        return {
            "kind": kind,
            "practice": practice,
            "condition": condition,
            "a": a,
            "b": b,
            "options": options,
        }

    plan: list[dict[str, Any]] = []
    for p in range(study.practice_trials):
        kind, condition = conditions[p % len(conditions)]
        plan.append(item(kind, condition, p, True))
    checks = list(study.attention_checks or [])
    n_checks = 0
    for i in range(study.trials_per_participant):
        kind, condition = order[i % len(order)]
        plan.append(item(kind, condition, serial + i // len(order), False))
        if checks and study.attention_every and (i + 1) % study.attention_every == 0:
            check = checks[n_checks % len(checks)]
            n_checks += 1
            plan.append({"kind": TrialKind.ATTENTION, "practice": False, "check": check})
    return plan
