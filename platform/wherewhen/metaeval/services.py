"""Meta-evaluation: which automatic metric of explanations predicts what people found useful.

Joins the stored scores of a project (:mod:`wherewhen.scoring`: the consensus-reference
``ExplanationScore`` of each explanation, and deletion / insertion AUC where a worker stored
them with the explanation) to the human outcomes of a study (:mod:`wherewhen.studies`: its
analysis rows, with the study's own exclusions), stimulus by stimulus, and hands the numbers to
:mod:`wherewhen.metaeval.stats`.

Who reads it: the researcher who owns the study (and who sees the project, i.e. owns it too),
and superusers; anyone else gets 404 for a study that is not theirs.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from typing import Any

from wherewhen.accounts import access
from wherewhen.core import exceptions
from wherewhen.core.csvsafe import SafeDictWriter
from wherewhen.explanations import services as explanation_services
from wherewhen.explanations.models import RegisteredModel
from wherewhen.metaeval import stats
from wherewhen.scoring import services as scoring_services
from wherewhen.scoring.models import ExplanationScore
from wherewhen.studies import services as study_services
from wherewhen.studies.models import Study, TrialKind

# key -> (label, higher is better)
METRICS: dict[str, tuple[str, bool]] = {
    "spatial": ("Spatial pointing game", True),
    "small": ("Pointing game, small objects", True),
    "temporal": ("Temporal pointing game", True),
    "spacetime": ("Space-time pointing game", True),
    "sound": ("Sound pointing game", True),
    "energy": ("Energy in boxes", True),
    "iou": ("IoU of thresholded map", True),
    "sparsity": ("Sparsity (Gini)", True),
    "deletion_auc": ("Deletion AUC", False),
    "insertion_auc": ("Insertion AUC", True),
}
NOT_STORED = {
    "faithfulness_correlation": "Faithfulness correlation",
    "randomization_check": "Model randomization check",
}
OUTCOMES: dict[str, str] = {
    "forward_accuracy": "Forward-simulation accuracy",
    "mean_rating": "Mean rating",
    "bradley_terry": "Bradley–Terry score",
    "pointing_accuracy": "Pointing accuracy",
}
CSV_FIELDS = [
    "study",
    "project",
    "model",
    "level",
    "metric",
    "outcome",
    "n",
    "kendall_tau",
    "kendall_ci_low",
    "kendall_ci_high",
    "kendall_p",
    "spearman_rho",
    "spearman_ci_low",
    "spearman_ci_high",
    "spearman_p",
    "resamples_used",
    "confidence",
    "resamples",
    "seed",
    # provenance of the scores related (the same on every line of one meta-evaluation)
    "checkpoint_hash",
    "methods",
    "gt_version",
    "excluded_annotations",
    "code_version",
    "stale_scores",
    "stale",
    "stale_reason",
]


def _int(value: Any, name: str, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise exceptions.Invalid({name: f"Give the {what}'s id (?{name}=)."}) from exc


def study_for(user, study_id: Any) -> Study:
    """The study, if ``user`` owns it (superusers: any study)."""
    if study_id in (None, ""):
        raise exceptions.Invalid({"study": "Say which study's human outcomes to use (?study=)."})
    pk = _int(study_id, "study", "study")
    if not access.is_researcher(user):
        raise exceptions.NotAllowed("Only researchers read meta-evaluations.")
    studies = Study.objects.all() if user.is_superuser else study_services.studies_of(user)
    study = studies.filter(pk=pk).first()
    if study is None:
        raise exceptions.NotFound(f"No study with id {pk} is yours.")
    return study


def owned_project(user, project_id: Any):
    """An annotation project ``user`` owns (superusers: any)."""
    if project_id in (None, ""):
        raise exceptions.Invalid(
            {"project": "Say which annotation project's scores to use (project)."}
        )
    project = scoring_services.project_for(user, project_id)
    if not user.is_superuser and project.owner_id != user.pk:
        raise exceptions.NotFound(f"No annotation project with id {project.pk} is yours.")
    return project


def arguments(user, params) -> tuple[Study, Any, RegisteredModel | None]:
    """Study, project and model of a request's query parameters, each one ``user`` may read."""
    study = study_for(user, params.get("study"))
    project = owned_project(user, params.get("project"))
    model = None
    if params.get("model") not in (None, ""):
        pk = _int(params.get("model"), "model", "registered model")
        model = explanation_services.visible_models(user).filter(pk=pk).first()
        if model is None:
            raise exceptions.NotFound(f"No registered model with id {pk} is visible to you.")
    return study, project, model


def metric_values(score: ExplanationScore) -> dict[str, float]:
    """The automatic metrics of one stored score (and its explanation), finite values only."""
    out: dict[str, float | None] = {}
    if score.frames_counted:
        out["spatial"] = score.frames_hit / score.frames_counted
        out["energy"] = score.energy_sum / score.frames_counted
        out["iou"] = score.iou_sum / score.frames_counted
    if score.small_counted:
        out["small"] = score.small_hit / score.small_counted
    for key, hit in (
        ("temporal", score.temporal_hit),
        ("spacetime", score.spacetime_hit),
        ("sound", score.sound_hit),
    ):
        if hit is not None:
            out[key] = float(hit)
    out["sparsity"] = score.sparsity
    cost = score.explanation.cost or {}
    for key in ("deletion_auc", "insertion_auc"):
        out[key] = cost.get(key, (cost.get("faithfulness") or {}).get(key))
    return {
        k: float(v)
        for k, v in out.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }


def gather(study: Study, project, model: RegisteredModel | None) -> tuple[stats.Data, dict]:
    """The plain data of a meta-evaluation, and what the response says about it."""
    stimuli = study.stimuli.select_related("explanation", "video")
    if model is not None:
        stimuli = stimuli.filter(explanation__model=model)
    stimuli = list(stimuli)
    by_token = {s.token: s for s in stimuli}
    scores = {
        s.explanation_id: s
        for s in ExplanationScore.objects.filter(
            project=project,
            reference=ExplanationScore.Reference.CONSENSUS,
            explanation_id__in=[s.explanation_id for s in stimuli],
        ).select_related("explanation", "explanation__model", "explanation__video")
    }
    metrics: dict[str, dict[str, float]] = {k: {} for k in METRICS}
    unscored = 0
    for s in stimuli:
        score = scores.get(s.explanation_id)
        if score is None or score.not_scored or score.error:
            unscored += 1
            continue
        for key, value in metric_values(score).items():
            metrics[key][str(s.explanation_id)] = value
    means: dict[str, list[tuple[str, str, float]]] = {
        "forward_accuracy": [],
        "mean_rating": [],
        "pointing_accuracy": [],
    }
    pairs: list[tuple[str, str, str]] = []
    for row in study_services.analysis_rows(study):
        if row["excluded"]:
            continue
        a = by_token.get(row["stimulus"])
        if a is None:
            continue
        participant, key = row["participant"], str(a.explanation_id)
        if row["kind"] == TrialKind.RATING and row["value"] is not None:
            means["mean_rating"].append((participant, key, float(row["value"])))
        elif row["kind"] == TrialKind.FORWARD and row["correct"] is not None:
            means["forward_accuracy"].append((participant, key, float(row["correct"])))
        elif row["kind"] == TrialKind.POINTING and row["correct"] is not None:
            means["pointing_accuracy"].append((participant, key, float(row["correct"])))
        elif row["kind"] == TrialKind.PAIRWISE:
            b = by_token.get(row["other_stimulus"])
            if b is None:
                continue
            other = str(b.explanation_id)
            pairs.append(
                (participant, key, other) if row["value"] == "a" else (participant, other, key)
            )
    data = stats.Data(
        stimuli=[stats.Stimulus(str(s.explanation_id), str(s.video_id), s.method) for s in stimuli],
        metrics={k: v for k, v in metrics.items() if v},
        means={k: v for k, v in means.items() if v},
        pairs=pairs,
    )
    videos = {str(s.video_id): s.video.title for s in stimuli}
    return data, {
        "unscored": unscored,
        "video_names": videos,
        "provenance": provenance_of(project, list(scores.values())),
    }


def provenance_of(project, scores: list[ExplanationScore]) -> dict[str, Any]:
    """What the related scores were computed from: the model checkpoints, methods with their
    parameters, one hash over the (video, ground truth version) pairs, the annotations left out
    of the ground truth, the code version, and how many scores are stale and why."""
    stale = scoring_services.staleness(project, scores)
    summary = scoring_services.stale_summary(stale)
    pairs = sorted({(s.explanation.video_id, s.gt_version) for s in scores})
    methods = sorted(
        {
            (s.explanation.method, json.dumps(s.explanation.params or {}, sort_keys=True))
            for s in scores
        }
    )
    return {
        "checkpoint_hashes": sorted({s.checkpoint_hash for s in scores if s.checkpoint_hash}),
        "methods": [{"method": m, "params": json.loads(p)} for m, p in methods],
        "gt_version": hashlib.sha256(repr(pairs).encode()).hexdigest() if pairs else "",
        # per video (its scores share one ground truth)
        "excluded_annotations": sum(
            {s.explanation.video_id: s.excluded_annotations for s in scores}.values()
        ),
        "code_version": scoring_services.code_version(),
        **summary,
    }


def meta_evaluation(
    user, study: Study, project, model: RegisteredModel | None, *, resamples: int = stats.RESAMPLES
) -> dict[str, Any]:
    """Every stored metric against every human outcome of ``study`` (see the module docstring
    and :func:`wherewhen.metaeval.stats.relate`)."""
    data, extra = gather(study, project, model)
    result = stats.relate(data, seed=study.seed, resamples=resamples)
    for point in result["stimulus_points"]:
        point["video_name"] = extra["video_names"].get(point["video"], "")
    notes = []
    if extra["unscored"]:
        notes.append(
            f"{extra['unscored']} of the study's explanations have no score in this project "
            "(not scored, failed or not computed yet); their metric values are blank."
        )
    missing = [label for key, (label, _) in METRICS.items() if key not in result["metrics"]]
    if missing:
        notes.append("No stored values for: " + ", ".join(missing) + ".")
    if extra["provenance"]["stale_scores"]:
        notes.append(
            f"{extra['provenance']['stale_scores']} of the scores related are stale (an input "
            "changed since they were computed): recompute the project's scores."
        )
    notes.append("Not stored by scoring, so not related: " + ", ".join(NOT_STORED.values()) + ".")
    reason = ""
    if not data.stimuli:
        reason = "The study has no stimuli" + (f" of model {model.name!r}." if model else ".")
    elif not result["metrics"]:
        reason = (
            f"No explanation of the study has a score in project {project.name!r}: score the "
            "explanations against the project's ground truth first."
        )
    elif not result["outcomes"]:
        reason = "The study has no counted answers yet (run a dry run, or wait for participants)."
    models = RegisteredModel.objects.filter(
        pk__in=study.stimuli.values("explanation__model")
    ).order_by("name")
    return {
        "study": {"id": study.pk, "title": study.title, "status": study.status},
        "options": {
            "models": [{"id": m.pk, "name": m.name} for m in models],
            "pointing_project": study.pointing_project_id,
        },
        "project": {"id": project.pk, "name": project.name},
        "model": {"id": model.pk, "name": model.name} if model else None,
        "provenance": extra["provenance"],
        "reason": reason,
        "notes": notes,
        "measures": {
            "metrics": [
                {"key": k, "label": label, "higher_is_better": better}
                for k, (label, better) in METRICS.items()
                if k in result["metrics"]
            ],
            "outcomes": [
                {"key": k, "label": label}
                for k, label in OUTCOMES.items()
                if k in result["outcomes"]
            ],
        },
        **result,
    }


def as_csv(body: dict[str, Any]) -> str:
    """One row per level x metric x outcome (formula-looking cells escaped)."""
    out = io.StringIO()
    writer = SafeDictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    prov = body.get("provenance") or {}
    common = {
        "checkpoint_hash": ";".join(prov.get("checkpoint_hashes", [])),
        "methods": ";".join(
            m["method"] + json.dumps(m["params"], sort_keys=True, separators=(",", ":"))
            for m in prov.get("methods", [])
        ),
        "gt_version": prov.get("gt_version", ""),
        "excluded_annotations": prov.get("excluded_annotations", ""),
        "code_version": prov.get("code_version", ""),
        "stale_scores": prov.get("stale_scores", 0),
        "stale": bool(prov.get("stale_scores")),
        "stale_reason": "; ".join(prov.get("stale_reasons") or {}),
    }
    for pair in body["pairs"]:
        writer.writerow(
            {
                "study": body["study"]["title"],
                "project": body["project"]["name"],
                "model": body["model"]["name"] if body["model"] else "",
                **{k: pair[k] for k in CSV_FIELDS if k in pair},
                "confidence": body["confidence"],
                "resamples": body["resamples"],
                "seed": body["seed"],
                **common,
            }
        )
    return out.getvalue()


def filename(body: dict[str, Any], ext: str) -> str:
    parts = [f"meta-evaluation-study{body['study']['id']}", f"project{body['project']['id']}"]
    if body["model"]:
        parts.append(f"model{body['model']['id']}")
    return "-".join(parts) + f".{ext}"
