"""Leaderboards: methods compared on a project's ground truth, from the stored scores.

One row per model x method (x parameters when a method was run with several): pointing-game
accuracy with a 95% interval from a bootstrap over videos (:mod:`wherewhen.scoring.stats`),
counts of frames, clips and videos, the human baseline on the same source frames, paired tests
between the methods of one model on their common frames, and sparsity, faithfulness and cost
beside localization, whether scores are stale and how much ground truth was left out, and the
CSV export (the per-clip drill-down is ``scoring.drilldown``). Its size is one concern: the
table and its CSV are read together and change together.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db.models import QuerySet

from wherewhen.accounts import access
from wherewhen.annotations.models import Assignment, Project
from wherewhen.core import exceptions
from wherewhen.core.csvsafe import SafeDictWriter
from wherewhen.explanations.models import Explanation, RegisteredModel
from wherewhen.scoring import stats
from wherewhen.scoring.models import ExplanationScore, HumanBaseline
from wherewhen.scoring.services import (
    Reference,
    code_version,
    current_truth,
    pending_requests,
    settings_for,
    stale_reasons,
    stale_summary,
)
from wherewhen.videos.models import Dataset, Video

# --- leaderboards -------------------------------------------------------------------------------


METRICS = ("spatial", "small", "temporal", "spacetime", "sound", "energy", "iou")
FAITHFULNESS_KEYS = ("deletion_auc", "insertion_auc")
COST_KEYS = ("wall_seconds", "forward_passes", "backward_passes", "peak_memory_bytes")


def dataset_for(user, dataset_id: Any) -> Dataset | None:
    if dataset_id in (None, ""):
        return None
    try:
        pk = int(dataset_id)
    except (TypeError, ValueError) as exc:
        raise exceptions.Invalid({"dataset": "Give the dataset's id."}) from exc
    qs = Dataset.objects.filter(pk=pk)
    if not access.sees_all(user):
        qs = qs.filter(owner=user)
    dataset = qs.first()
    if dataset is None:
        raise exceptions.NotFound(f"No dataset with id {pk} is visible to you.")
    return dataset


def model_for(user, model_id: Any) -> RegisteredModel | None:
    from wherewhen.explanations import services as explanation_services

    if model_id in (None, ""):
        return None
    try:
        pk = int(model_id)
    except (TypeError, ValueError) as exc:
        raise exceptions.Invalid({"model": "Give the registered model's id."}) from exc
    model = explanation_services.visible_models(user).filter(pk=pk).first()
    if model is None:
        raise exceptions.NotFound(f"No registered model with id {pk} is visible to you.")
    return model


def row_key(explanation: Explanation) -> str:
    """Rows are model x method x parameter set; imported maps of one method share a row (their
    parameters are the file's hash)."""
    if explanation.source == Explanation.Source.IMPORTED:
        variant = "imported"
    else:
        variant = explanation.params_hash[:12]
    return f"{explanation.model_id or 0}:{explanation.method}:{variant}"


def _has_ground_truth(project: Project, videos: QuerySet[Video]) -> bool:
    accepted = Assignment.objects.filter(
        task__project=project,
        task__video__in=videos,
        status=Assignment.Status.ACCEPTED,
    )
    return accepted.exists()


def _stored_faithfulness(explanation: Explanation) -> dict[str, float]:
    """Deletion / insertion AUC, where a worker stored them with the explanation's cost."""
    cost = explanation.cost or {}
    found = {}
    for key in FAITHFULNESS_KEYS:
        value = cost.get(key, (cost.get("faithfulness") or {}).get(key))
        if isinstance(value, int | float) and math.isfinite(value):
            found[key] = float(value)
    return found


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def table_scores(
    project: Project, dataset: Dataset | None, model: RegisteredModel | None
) -> tuple[QuerySet[Video], QuerySet[ExplanationScore]]:
    videos = Video.objects.filter(annotation_tasks__project=project)
    if dataset is not None:
        videos = videos.filter(datasets=dataset)
    videos = videos.distinct()
    scores = ExplanationScore.objects.filter(
        project=project,
        reference=Reference.CONSENSUS,
        explanation__video__in=videos,
        explanation__status=Explanation.Status.DONE,
    ).select_related("explanation", "explanation__model", "explanation__video")
    if model is not None:
        scores = scores.filter(explanation__model=model)
    return videos, scores.order_by("explanation_id")


def options_for(project: Project) -> dict[str, Any]:
    """Datasets and models a leaderboard of ``project`` can be narrowed to."""
    videos = Video.objects.filter(annotation_tasks__project=project)
    datasets = Dataset.objects.filter(videos__in=videos).distinct().order_by("name")
    models = (
        RegisteredModel.objects.filter(
            explanations__video__in=videos, explanations__status=Explanation.Status.DONE
        )
        .distinct()
        .order_by("name")
    )
    return {
        "datasets": [{"id": d.pk, "name": d.name} for d in datasets],
        "models": [{"id": m.pk, "name": m.name} for m in models],
    }


@dataclass
class _Row:
    key: str
    model: RegisteredModel | None
    method: str
    params_hash: str
    params: dict
    scores: list[ExplanationScore] = field(default_factory=list)


def leaderboard(
    user, project: Project, dataset: Dataset | None = None, model: RegisteredModel | None = None
) -> dict[str, Any]:
    """The leaderboard of ``project`` (narrowed to a dataset and a model): one row per model x
    method (x parameters), accuracy with bootstrap 95% intervals over videos, paired tests
    between methods of the same model, faithfulness and cost beside localization."""
    videos, scores = table_scores(project, dataset, model)
    pending = pending_requests(project)
    tolerance = settings_for(project).tolerance
    body: dict[str, Any] = {
        "project": {"id": project.pk, "name": project.name},
        "dataset": {"id": dataset.pk, "name": dataset.name} if dataset else None,
        "model": {"id": model.pk, "name": model.name} if model else None,
        "tolerance": tolerance,
        "stale": pending > 0,
        "pending": pending,
        "stale_scores": 0,
        "stale_reasons": {},
        "ground_truth": None,
        "code_version": code_version(),
        "reason": "",
        "confidence": stats.CONFIDENCE,
        "resamples": stats.BOOTSTRAP_RESAMPLES,
        "videos": 0,
        "rows": [],
        "human": None,
        "comparisons": [],
        "notes": [],
        "options": options_for(project),
    }
    if not videos.exists():
        body["reason"] = f"Project {project.name!r} has no videos" + (
            f" in dataset {dataset.name!r}." if dataset else "."
        )
        return body
    if not _has_ground_truth(project, videos):
        body["reason"] = (
            f"Project {project.name!r} has no ground truth yet: no video"
            + (f" of dataset {dataset.name!r}" if dataset else "")
            + " has an accepted annotation or a gold answer, so there is nothing to score against."
        )
        return body
    scores = list(scores)
    truth = current_truth(project, videos.values_list("pk", flat=True))
    body["ground_truth"] = ground_truth_summary(project, truth)
    reasons = {s.pk: stale_reasons(s, truth) for s in scores}
    body.update(stale_summary(reasons))
    if not scores:
        body["reason"] = (
            "The scores are being computed."
            if pending
            else "No explanation of these videos has been scored yet: request explanations of "
            "the project's videos (they are scored when they finish)."
        )
        return body

    rows: dict[str, _Row] = {}
    for s in scores:
        e = s.explanation
        key = row_key(e)
        if key not in rows:
            imported = e.source == Explanation.Source.IMPORTED
            params = {"source": "imported"} if imported else (e.params or {})
            rows[key] = _Row(key, e.model, e.method, e.params_hash, params)
        rows[key].scores.append(s)
    video_ids = sorted({s.explanation.video_id for s in scores})
    unit = {v: i for i, v in enumerate(video_ids)}
    weights = stats.bootstrap_weights(len(video_ids))
    body["videos"] = len(video_ids)
    variants = defaultdict(int)
    for r in rows.values():
        variants[(r.model.pk if r.model else 0, r.method)] += 1

    frames_by_video: dict[tuple[int, str], set[int]] = defaultdict(set)  # (video, label)
    out_rows = []
    for r in sorted(
        rows.values(), key=lambda r: (r.model.name if r.model else "", r.method, r.key)
    ):
        sums = {name: np.zeros(len(video_ids)) for name in _SUM_NAMES}
        costs: dict[str, list[float]] = defaultdict(list)
        faith: dict[str, list[float]] = defaultdict(list)
        sparsity = []
        errors = 0
        not_scored = 0
        for s in r.scores:
            v = unit[s.explanation.video_id]
            if s.not_scored:
                not_scored += 1
                continue
            if s.error:
                errors += 1
                continue
            sums["frames"][v] += s.frames_counted
            sums["hits"][v] += s.frames_hit
            sums["small"][v] += s.small_counted
            sums["small_hits"][v] += s.small_hit
            sums["energy"][v] += s.energy_sum
            sums["iou"][v] += s.iou_sum
            if s.temporal_hit is not None:
                sums["temporal"][v] += 1
                sums["temporal_hits"][v] += s.temporal_hit
            if s.spacetime_hit is not None:
                sums["spacetime"][v] += 1
                sums["spacetime_hits"][v] += s.spacetime_hit
            if s.sound_hit is not None:
                sums["sound"][v] += 1
                sums["sound_hits"][v] += s.sound_hit
            if s.sparsity is not None:
                sparsity.append(s.sparsity)
            for k in COST_KEYS:
                value = (s.explanation.cost or {}).get(k)
                if isinstance(value, int | float):
                    costs[k].append(float(value))
            for k, value in _stored_faithfulness(s.explanation).items():
                faith[k].append(value)
            for f in s.frames:
                if f.get("counted") and f.get("frame") is not None:
                    frames_by_video[(s.explanation.video_id, s.label)].add(int(f["frame"]))
        metrics = {
            "spatial": stats.ratio_estimate(sums["hits"], sums["frames"], weights),
            "small": stats.ratio_estimate(sums["small_hits"], sums["small"], weights),
            "temporal": stats.ratio_estimate(sums["temporal_hits"], sums["temporal"], weights),
            "spacetime": stats.ratio_estimate(sums["spacetime_hits"], sums["spacetime"], weights),
            "sound": stats.ratio_estimate(sums["sound_hits"], sums["sound"], weights),
            "energy": stats.ratio_estimate(sums["energy"], sums["frames"], weights),
            "iou": stats.ratio_estimate(sums["iou"], sums["frames"], weights),
        }
        many = variants[(r.model.pk if r.model else 0, r.method)] > 1
        out_rows.append(
            {
                "key": r.key,
                "kind": "method",
                "model": {"id": r.model.pk, "name": r.model.name} if r.model else None,
                "method": r.method,
                "variant": _variant_label(r.params) if many else "",
                "clips": len(r.scores) - not_scored,
                "videos": len({s.explanation.video_id for s in r.scores if not s.not_scored}),
                "frames": int(sums["frames"].sum()),
                "errors": errors,
                "not_scored": not_scored,
                "stale": sum(1 for s in r.scores if reasons[s.pk]),
                "checkpoint_hash": _one(s.checkpoint_hash for s in r.scores),
                "params": r.params,
                "gt_version": gt_versions_hash(r.scores),
                "labels": sorted({s.label for s in r.scores if s.label and not s.not_scored}),
                **{name: est.as_dict() for name, est in metrics.items()},
                "sparsity": _mean(sparsity),
                "deletion_auc": _mean(faith.get("deletion_auc", [])),
                "insertion_auc": _mean(faith.get("insertion_auc", [])),
                "cost": {k: _mean(costs.get(k, [])) for k in COST_KEYS},
            }
        )
    body["rows"] = out_rows
    body["human"] = _human_row(project, video_ids, unit, weights, frames_by_video)
    body["comparisons"] = _comparisons(rows)
    if all(row["deletion_auc"] is None and row["insertion_auc"] is None for row in out_rows):
        body["notes"].append(
            "Faithfulness (deletion / insertion AUC) needs model passes and is not stored with "
            "these explanations; its columns are blank."
        )
    if any(row["not_scored"] for row in out_rows):
        body["notes"].append(
            "Some explanations are not scored: their class maps to no annotation label of the "
            "project, or the video has no evidence of that label (see the clips of their row)."
        )
    if body["stale_scores"]:
        body["notes"].append(
            f"{body['stale_scores']} score(s) are stale: an input changed since they were "
            "computed (" + ", ".join(body["stale_reasons"]) + "). Recompute the project's scores."
        )
    if any(row["errors"] for row in out_rows):
        body["notes"].append(
            "Some explanations could not be scored (see the clips of their row for the reason)."
        )
    return body


def ground_truth_summary(project: Project, truth: dict) -> dict[str, Any]:
    """The ground truth behind the table: the exposure setting, the annotations used and how
    many accepted annotations were left out because their annotator was exposed."""
    return {
        "exclude_exposed": project.exclude_exposed,
        "annotations_used": sum(t.n_used for t in truth.values()),
        "excluded_annotations": sum(len(t.excluded) for t in truth.values()),
        "videos_with_exclusions": sum(1 for t in truth.values() if t.excluded),
    }


def gt_versions_hash(scores: list[ExplanationScore]) -> str:
    """One hash over the (video, ground truth version) pairs a row's scores were computed on."""
    pairs = sorted({(s.explanation.video_id, s.gt_version) for s in scores})
    return hashlib.sha256(repr(pairs).encode()).hexdigest() if pairs else ""


def _one(values) -> str:
    """The value when all agree, else "mixed" ("" for none)."""
    found = set(values)
    return "" if not found else (found.pop() if len(found) == 1 else "mixed")


_SUM_NAMES = (
    "frames",
    "hits",
    "small",
    "small_hits",
    "energy",
    "iou",
    "temporal",
    "temporal_hits",
    "spacetime",
    "spacetime_hits",
    "sound",
    "sound_hits",
)


def _variant_label(params: dict) -> str:
    if params == {"source": "imported"}:
        return "imported"
    shown = {k: v for k, v in sorted(params.items()) if k not in ("topk", "precision")}
    return ", ".join(f"{k}={v}" for k, v in shown.items())[:120]


def _human_row(
    project: Project,
    video_ids: list[int],
    unit: dict[int, int],
    weights: np.ndarray,
    frames_by_video: dict[tuple[int, str], set[int]],
) -> dict[str, Any] | None:
    """The human baseline on the source frames (and labels) the table's methods are scored
    on."""
    counted = np.zeros(len(video_ids))
    hits = np.zeros(len(video_ids))
    annotators = set()
    for b in HumanBaseline.objects.filter(project=project, video_id__in=video_ids):
        frames = frames_by_video.get((b.video_id, b.label), set())
        c = [f for f in b.counted if f in frames]
        if not c:
            continue
        annotators.add(b.assignment_id)
        counted[unit[b.video_id]] += len(c)
        hits[unit[b.video_id]] += sum(1 for f in b.hits if f in frames)
    if counted.sum() == 0:
        return None
    est = stats.ratio_estimate(hits, counted, weights)
    return {
        "key": "human",
        "kind": "human",
        "annotations": len(annotators),
        "videos": int(np.count_nonzero(counted)),
        "frames": int(counted.sum()),
        "spatial": est.as_dict(),
    }


def _frame_hits(scores: list[ExplanationScore]) -> dict[tuple[int, int], int]:
    """(video, source frame) -> hit (0/1) for counted frames; the first explanation (lowest id)
    wins when two clips of one method cover the same source frame."""
    out: dict[tuple[int, int], int] = {}
    for s in sorted(scores, key=lambda s: s.explanation_id):
        for f in s.frames:
            if f.get("counted") and f.get("frame") is not None:
                out.setdefault((s.explanation.video_id, int(f["frame"])), int(bool(f["hit"])))
    return out


def _comparisons(rows: dict[str, _Row]) -> list[dict[str, Any]]:
    """Paired tests between every two rows of the same model, on their common frames."""
    by_model: dict[int, list[_Row]] = defaultdict(list)
    for r in rows.values():
        by_model[r.model.pk if r.model else 0].append(r)
    out = []
    for group in by_model.values():
        hits = {r.key: _frame_hits(r.scores) for r in group}
        ordered = sorted(group, key=lambda r: (r.method, r.key))
        for i, a in enumerate(ordered):
            for b in ordered[i + 1 :]:
                common = sorted(set(hits[a.key]) & set(hits[b.key]))
                test = stats.paired_permutation_test(
                    np.array([hits[a.key][k] for k in common], dtype=np.int64),
                    np.array([hits[b.key][k] for k in common], dtype=np.int64),
                    np.array([k[0] for k in common], dtype=np.int64),
                )
                out.append(
                    {
                        "a": a.key,
                        "b": b.key,
                        "metric": "spatial",
                        "test": "paired sign-flip permutation over videos",
                        **test.as_dict(),
                    }
                )
    return out


# --- export ------------------------------------------------------------------------------------


CSV_COLUMNS = [
    "kind",
    "model",
    "method",
    "variant",
    "labels",
    "clips",
    "not_scored",
    "videos",
    "frames",
    *[f"{m}{suffix}" for m in METRICS for suffix in ("", "_low", "_high", "_n")],
    "sparsity",
    "deletion_auc",
    "insertion_auc",
    *[f"cost_{k}" for k in COST_KEYS],
    "params",
    "checkpoint_hash",
    "gt_version",
    "gt_annotations",
    "excluded_annotations",
    "code_version",
    "stale_scores",
    "stale",
    "stale_reason",
]


def leaderboard_csv(board: dict[str, Any]) -> str:
    """One line per row (and the human baseline), the interval bounds beside each score."""
    buffer = io.StringIO()
    writer = SafeDictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    truth = board.get("ground_truth") or {}
    common = {
        "gt_annotations": truth.get("annotations_used", ""),
        "excluded_annotations": truth.get("excluded_annotations", ""),
        "code_version": board.get("code_version", ""),
    }
    for row in board["rows"]:
        line = {
            "kind": "method",
            "model": row["model"]["name"] if row["model"] else "",
            "method": row["method"],
            "variant": row["variant"],
            "labels": ";".join(row["labels"]),
            "clips": row["clips"],
            "not_scored": row["not_scored"],
            "videos": row["videos"],
            "frames": row["frames"],
            "sparsity": _fmt(row["sparsity"]),
            "deletion_auc": _fmt(row["deletion_auc"]),
            "insertion_auc": _fmt(row["insertion_auc"]),
            **common,
            "params": json.dumps(row.get("params") or {}, sort_keys=True, separators=(",", ":")),
            "checkpoint_hash": row.get("checkpoint_hash", ""),
            "gt_version": row.get("gt_version", ""),
            "stale_scores": row.get("stale", 0),
            "stale": bool(row.get("stale")),
            "stale_reason": "; ".join(board.get("stale_reasons") or {}) if row.get("stale") else "",
        }
        for m in METRICS:
            line.update(_metric_cells(m, row[m]))
        for k in COST_KEYS:
            line[f"cost_{k}"] = _fmt(row["cost"][k])
        writer.writerow(line)
    human = board.get("human")
    if human:
        line = {
            "kind": "human",
            "method": "human baseline",
            "videos": human["videos"],
            "frames": human["frames"],
            **common,
        }
        line.update(_metric_cells("spatial", human["spatial"]))
        writer.writerow(line)
    return buffer.getvalue()


def _metric_cells(name: str, est: dict) -> dict[str, str]:
    return {
        name: _fmt(est["value"]),
        f"{name}_low": _fmt(est["low"]),
        f"{name}_high": _fmt(est["high"]),
        f"{name}_n": str(est["n"]),
    }


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.6g}"
