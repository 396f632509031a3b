"""Provenance of stored scores, and whether they are stale.

Every :class:`~wherewhen.scoring.models.ExplanationScore` records what produced it:

* the **explanation** (its id, method and parameters are the explanation row's; its map's
  ``map_sha256`` at scoring time is ``explanation_hash``),
* the **model checkpoint** (``checkpoint_hash``: the registered model's fingerprint, a hash of
  the checkpoint directory's files, when scored),
* the **video** (``video_hash``: its content hash),
* the **ground truth version** (``gt_version``: a hash of the source and of the ids and
  revisions of the annotations feeding the ground truth, ``annotations.services.TruthInputs``;
  ``annotations_used`` and ``excluded_annotations`` say how many were used and left out),
* the **code** (``scoring_version`` and ``code_version``: the scoring definitions' version,
  the package version and ``git describe``, computed once per process).

**Stale** is computed, never stored: a score is stale when a stored value differs from the
current one (the explanation's map, its model's fingerprint, the video's hash, the video's
current ground-truth version in the project, the scoring version) or when it has no provenance
yet. The comparison reads the rows already loaded (explanation, model and video are selected
with the score) and one query for the project's current ground-truth versions, so it costs the
same however many scores there are; no signal has to mark anything.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from wherewhen.annotations import services as annotation_services
from wherewhen.annotations.models import Project
from wherewhen.core.version import code_version as build_version
from wherewhen.explanations.models import Explanation
from wherewhen.scoring.models import ExplanationScore
from wherewhen.scoring.services.compute import SCORING_VERSION


@functools.cache
def code_version() -> str:
    """``scoring <SCORING_VERSION>; wherewhen <version> (<git describe>)``, once per process."""
    return f"scoring {SCORING_VERSION}; {build_version()}"


def provenance_fields(
    explanation: Explanation, evidence: annotation_services.VideoEvidence, video_hash: str
) -> dict[str, Any]:
    """The provenance columns of a score of ``explanation`` against ``evidence``."""
    model = explanation.model
    return {
        "gt_version": evidence.version,
        "annotations_used": evidence.used,
        "excluded_annotations": evidence.excluded,
        "explanation_hash": explanation.map_sha256 or "",
        "checkpoint_hash": (model.fingerprint if model is not None else "") or "",
        "video_hash": video_hash or "",
        "scoring_version": SCORING_VERSION,
        "code_version": code_version(),
    }


PROVENANCE_FIELDS = (
    "gt_version",
    "annotations_used",
    "excluded_annotations",
    "explanation_hash",
    "checkpoint_hash",
    "video_hash",
    "scoring_version",
    "code_version",
)


def current_truth(
    project: Project, video_ids: Iterable[int]
) -> dict[int, annotation_services.TruthInputs]:
    """The current ground-truth inputs of these videos of ``project`` (one pass)."""
    return annotation_services.ground_truth_versions(project, sorted(set(video_ids)))


def stale_reasons(
    score: ExplanationScore, truth: dict[int, annotation_services.TruthInputs]
) -> list[str]:
    """Why ``score`` no longer describes its inputs ([]: it is current). ``truth`` comes from
    :func:`current_truth` for the score's project; the score's explanation, model and video
    should be selected with it."""
    if not score.gt_version:
        return ["scored before provenance was recorded"]
    e = score.explanation
    reasons = []
    if score.scoring_version != SCORING_VERSION:
        reasons.append(
            f"scored with scoring version {score.scoring_version}, now {SCORING_VERSION}"
        )
    current = truth.get(e.video_id)
    if current is None:
        reasons.append("the video is no longer in the project")
    elif current.version != score.gt_version:
        reasons.append(
            "ground truth changed since scoring "
            f"(now {current.n_used} annotation(s), {len(current.excluded)} excluded)"
        )
    if score.explanation_hash != (e.map_sha256 or ""):
        reasons.append("explanation recomputed since scoring")
    fingerprint = (e.model.fingerprint if e.model is not None else "") or ""
    if score.checkpoint_hash != fingerprint:
        reasons.append("model checkpoint changed since scoring")
    if score.video_hash != (e.video.content_hash or ""):
        reasons.append("video content changed since scoring")
    return reasons


def staleness(project: Project, scores: list[ExplanationScore]) -> dict[int, list[str]]:
    """:func:`stale_reasons` of every score (by score id), with one query for the truth."""
    truth = current_truth(project, (s.explanation.video_id for s in scores))
    return {s.pk: stale_reasons(s, truth) for s in scores}


def stale_summary(reasons: dict[int, list[str]]) -> dict[str, Any]:
    """How many scores are stale and why (each reason's first clause, counted)."""
    stale = [r for r in reasons.values() if r]
    why = Counter(reason.split(" (")[0] for r in stale for reason in r)
    return {"stale_scores": len(stale), "stale_reasons": dict(sorted(why.items()))}


# --- export columns ------------------------------------------------------------------------------

EXPORT_COLUMNS = [
    "explanation",
    "video",
    "model",
    "method",
    "params",
    "checkpoint_hash",
    "video_hash",
    "explanation_hash",
    "gt_version",
    "gt_annotations",
    "excluded_annotations",
    "scoring_version",
    "code_version",
    "stale",
    "stale_reason",
]


def export_columns(score: ExplanationScore, reasons: list[str]) -> dict[str, Any]:
    """The provenance cells of one score (``EXPORT_COLUMNS``)."""
    e = score.explanation
    return {
        "explanation": e.pk,
        "video": e.video_id,
        "model": e.model.name if e.model is not None else "",
        "method": e.method,
        "params": json.dumps(e.params or {}, sort_keys=True, separators=(",", ":")),
        "checkpoint_hash": score.checkpoint_hash,
        "video_hash": score.video_hash,
        "explanation_hash": score.explanation_hash,
        "gt_version": score.gt_version,
        "gt_annotations": score.annotations_used,
        "excluded_annotations": score.excluded_annotations,
        "scoring_version": score.scoring_version,
        "code_version": score.code_version,
        "stale": bool(reasons),
        "stale_reason": "; ".join(reasons),
    }
