"""Choosing a study's clips so that it tests what metrics disagree on.

A researcher names an annotation project (its stored scores), the methods (and optionally the
model) whose explanations become stimuli, how many clips, a seed, and a strategy:

* ``metric_disagreement`` -- the clips where two metrics disagree most. Each explanation's two
  values become percentile ranks among all candidate explanations (average ranks, so the two
  scales are comparable); a clip's disagreement is the mean absolute difference of the two ranks
  over its explanations.
* ``method_disagreement`` -- the clips where two methods differ most on one metric: the
  absolute difference of the metric between the two methods' explanations of the clip.
* ``balanced`` -- clips spread over the whole range of the disagreement (of two metrics, or of
  two methods when those are given): the scored clips sorted by it, cut into ``count`` equal
  strata, one clip drawn at random from each; so a study covers agreeing and disagreeing clips.
* ``random`` -- ``count`` clips drawn uniformly.

A clip is a candidate when the project holds it and each named method has a done explanation
of it (of the model, when one is named), and none of those would show nothing on most frames
under the study's overlay (the designer's check; the clips left out for it are stored with the
choice) unless ``allow_sparse`` says such maps are wanted (a method that keeps only key frames,
such as STAA+, draws nothing on the others). Draws and tie-breaks come from
``numpy.random.default_rng(seed)``; the choice, its parameters, its seed and what it chose are
stored (:class:`~wherewhen.metaeval.models.StimulusSelection`), and every explanation of the
chosen clips by the named methods is added as a stimulus.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from typing import Any

import numpy as np
from django.db import transaction
from scipy import stats as scipy_stats

from wherewhen.core import exceptions
from wherewhen.explanations import services as explanation_services
from wherewhen.explanations.models import Explanation
from wherewhen.metaeval.models import StimulusSelection
from wherewhen.metaeval.services import METRICS, metric_values, owned_project
from wherewhen.scoring.models import ExplanationScore
from wherewhen.studies import services as study_services
from wherewhen.studies.models import Session, Study
from wherewhen.videos.models import Video

MAX_COUNT = 500
Strategy = StimulusSelection.Strategy


def _count(value: Any) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError) as exc:
        raise exceptions.Invalid(
            {"count": "Say how many clips to choose (a whole number)."}
        ) from exc
    if not 1 <= n <= MAX_COUNT:
        raise exceptions.Invalid({"count": f"Choose between 1 and {MAX_COUNT} clips."})
    return n


def _seed(value: Any) -> int:
    if value in (None, ""):
        return secrets.randbelow(2**31)
    try:
        seed = int(value)
    except (TypeError, ValueError) as exc:
        raise exceptions.Invalid({"seed": "The seed is a whole number (0 or more)."}) from exc
    if not 0 <= seed < 2**31:
        raise exceptions.Invalid({"seed": "The seed is a whole number from 0 to 2^31 - 1."})
    return seed


def _metric(value: Any, name: str) -> str:
    if value not in METRICS:
        raise exceptions.Invalid({name: f"Name a stored metric: {', '.join(METRICS)}."})
    return str(value)


def _params(body: dict[str, Any]) -> dict[str, Any]:
    """The request checked: strategy, methods, count, metrics and methods to compare."""
    strategy = body.get("strategy")
    if strategy not in Strategy.values:
        raise exceptions.Invalid({"strategy": f"Choose one of: {', '.join(Strategy.values)}."})
    methods = body.get("methods")
    if not isinstance(methods, list) or not methods or not all(isinstance(m, str) for m in methods):
        raise exceptions.Invalid({"methods": "List the methods whose explanations to show."})
    methods = sorted(set(methods))
    params: dict[str, Any] = {"strategy": strategy, "methods": methods}
    params["count"] = _count(body.get("count"))
    allow_sparse = body.get("allow_sparse", False)
    if not isinstance(allow_sparse, bool):
        raise exceptions.Invalid({"allow_sparse": "allow_sparse is true or false."})
    params["allow_sparse"] = allow_sparse
    comparing_methods = (
        body.get("method_a") not in (None, "") or strategy == Strategy.METHOD_DISAGREEMENT
    )
    if strategy == Strategy.METRIC_DISAGREEMENT or (
        strategy == Strategy.BALANCED and not comparing_methods
    ):
        params["metric_a"] = _metric(body.get("metric_a"), "metric_a")
        params["metric_b"] = _metric(body.get("metric_b"), "metric_b")
        if params["metric_a"] == params["metric_b"]:
            raise exceptions.Invalid({"metric_b": "Compare two different metrics."})
    elif strategy in (Strategy.METHOD_DISAGREEMENT, Strategy.BALANCED):
        params["metric_a"] = _metric(body.get("metric_a"), "metric_a")
        for name in ("method_a", "method_b"):
            if body.get(name) not in methods:
                raise exceptions.Invalid({name: "Name one of the listed methods."})
            params[name] = body[name]
        if params["method_a"] == params["method_b"]:
            raise exceptions.Invalid({"method_b": "Compare two different methods."})
    return params


def _candidates(user, project, methods: list[str], model_id: int | None):
    """``{video id: {method: explanation}}`` of the clips that have every method."""
    videos = Video.objects.filter(annotation_tasks__project=project).distinct()
    found = explanation_services.visible_explanations(user).filter(
        status=Explanation.Status.DONE, video__in=videos, method__in=methods
    )
    if model_id is not None:
        found = found.filter(model_id=model_id)
    by_video: dict[int, dict[str, Explanation]] = defaultdict(dict)
    for e in found.order_by("id"):
        by_video[e.video_id][e.method] = e  # the newest of a method wins
    return {v: per for v, per in by_video.items() if len(per) == len(methods)}


def _mostly_blank(study: Study, clips: dict[int, dict[str, Explanation]]) -> list[dict]:
    """The candidate clips with an explanation that would show nothing on most frames under
    ``study``'s overlay rule (the first such explanation of each), by video."""
    out = []
    for video in sorted(clips):
        for method in sorted(clips[video]):
            e = clips[video][method]
            try:
                c = study_services.coverage_for(
                    e, study.overlay_normalization, study.overlay_threshold
                )
            except (FileNotFoundError, ValueError):
                continue  # add_stimuli says what is wrong with it
            if c.mostly_blank:
                out.append(
                    {
                        "video": video,
                        "explanation": e.pk,
                        "method": method,
                        "shown": c.shown,
                        "frames": c.frames,
                    }
                )
                break
    return out


def _values(project, explanations: list[Explanation]) -> dict[int, dict[str, float]]:
    scores = ExplanationScore.objects.filter(
        project=project,
        reference=ExplanationScore.Reference.CONSENSUS,
        explanation__in=explanations,
    ).select_related("explanation")
    return {s.explanation_id: metric_values(s) for s in scores if not (s.not_scored or s.error)}


def disagreement(
    params: dict[str, Any], clips: dict[int, dict[str, Explanation]], values: dict[int, dict]
) -> dict[int, float]:
    """Each scorable clip's disagreement (see the module docstring)."""
    if "method_a" in params:
        metric, a, b = params["metric_a"], params["method_a"], params["method_b"]
        out = {}
        for video, per in clips.items():
            va = values.get(per[a].pk, {}).get(metric)
            vb = values.get(per[b].pk, {}).get(metric)
            if va is not None and vb is not None:
                out[video] = abs(va - vb)
        return out
    ma, mb = params["metric_a"], params["metric_b"]
    pairs = [
        (video, e.pk)
        for video, per in clips.items()
        for e in per.values()
        if ma in values.get(e.pk, {}) and mb in values.get(e.pk, {})
    ]
    if not pairs:
        return {}
    ra = scipy_stats.rankdata([values[e][ma] for _, e in pairs]) / len(pairs)
    rb = scipy_stats.rankdata([values[e][mb] for _, e in pairs]) / len(pairs)
    gaps: dict[int, list[float]] = defaultdict(list)
    for (video, _), x, y in zip(pairs, ra, rb, strict=True):
        gaps[video].append(abs(float(x) - float(y)))
    return {video: float(np.mean(g)) for video, g in gaps.items()}


def choose(
    strategy: str, videos: list[int], scores: dict[int, float], count: int, seed: int
) -> list[int]:
    """The clips a strategy picks (pure: ``videos`` are the candidates, ``scores`` their
    disagreement where known)."""
    rng = np.random.default_rng(seed)
    if strategy == Strategy.RANDOM:
        order = rng.permutation(len(videos))
        return [videos[i] for i in order[:count]]
    scored = [v for v in videos if v in scores]
    tie_break = {v: float(t) for v, t in zip(scored, rng.random(len(scored)), strict=True)}
    ranked = sorted(scored, key=lambda v: (-scores[v], tie_break[v]))
    if strategy in (Strategy.METRIC_DISAGREEMENT, Strategy.METHOD_DISAGREEMENT):
        return ranked[:count]
    # balanced: one clip from each of ``count`` equal strata of the range
    if len(ranked) <= count:
        return ranked
    ascending = ranked[::-1]
    return [
        stratum[int(rng.integers(len(stratum)))]
        for stratum in np.array_split(np.asarray(ascending, dtype=object), count)
    ]


def select_stimuli(user, study: Study, body: dict[str, Any]) -> StimulusSelection:
    """Choose clips by ``body`` (see the module docstring), add their explanations as stimuli
    and store the choice."""
    if not isinstance(body, dict):
        raise exceptions.Invalid({"detail": "Send the selection as a JSON object."})
    params = _params(body)
    seed = _seed(body.get("seed"))
    project = owned_project(user, body.get("project"))
    model_id = None
    if body.get("model") not in (None, ""):
        try:
            model_id = int(body["model"])
        except (TypeError, ValueError) as exc:
            raise exceptions.Invalid({"model": "Give the registered model's id."}) from exc
        if not explanation_services.visible_models(user).filter(pk=model_id).exists():
            raise exceptions.NotFound(f"No registered model with id {model_id} is visible to you.")
        params["model"] = model_id
    if Session.objects.filter(study=study, preview=False).exists():
        raise exceptions.Conflict(
            "Participants have taken part in this study: its stimuli can no longer change."
        )
    clips = _candidates(user, project, params["methods"], model_id)
    if not clips:
        raise exceptions.Invalid(
            {
                "detail": "No clip of the project has a done explanation by every one of "
                + ", ".join(params["methods"])
                + "."
            }
        )
    left_out = [] if params["allow_sparse"] else _mostly_blank(study, clips)
    for item in left_out:
        clips.pop(item["video"], None)
    if not clips:
        first = left_out[0]
        raise exceptions.Invalid(
            {
                "detail": f"Every candidate clip ({len(left_out)}) has an explanation that would "
                "show nothing on most of its frames with this study's overlay (e.g. explanation "
                f"{first['explanation']} ({first['method']}) shows on {first['shown']} of "
                f"{first['frames']}). Scale each frame on its own, lower the threshold, or ask "
                "with allow_sparse if the method keeps only a few key frames (STAA+ does)."
            }
        )
    params["left_out_mostly_blank"] = left_out
    videos = sorted(clips)
    scores: dict[int, float] = {}
    if params["strategy"] != Strategy.RANDOM:
        values = _values(project, [e for per in clips.values() for e in per.values()])
        scores = disagreement(params, clips, values)
        if not scores:
            raise exceptions.Invalid(
                {"detail": "No candidate clip has the scores this strategy compares yet."}
            )
    chosen = choose(params["strategy"], videos, scores, params["count"], seed)
    explanations = [clips[v][m] for v in chosen for m in params["methods"]]
    with transaction.atomic():
        study_services.add_stimuli(study, explanations, allow_sparse=params["allow_sparse"])
        return StimulusSelection.objects.create(
            study=study,
            project=project,
            strategy=params["strategy"],
            params=params,
            seed=seed,
            videos=[{"video": v, "score": scores.get(v)} for v in chosen],
            explanations=[e.pk for e in explanations],
        )


def selection_payload(selection: StimulusSelection) -> dict[str, Any]:
    return {
        "id": selection.pk,
        "study": selection.study_id,
        "project": selection.project_id,
        "strategy": selection.strategy,
        "params": selection.params,
        "seed": selection.seed,
        "videos": selection.videos,
        "explanations": selection.explanations,
        "created_at": selection.created_at.isoformat(),
    }
