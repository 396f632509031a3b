"""What produced each answer of a study's export: the explanations shown (id, method and
parameters, model checkpoint, map hash), the video's content hash, for pointing trials the
version of the ground truth that scores the click, and the code version; and whether the answer
is stale: the explanation it was given on was computed again after it (the participant saw
another map than the one stored now).

Columns are added to the long-format CSV (``analysis.csv_text``) by ``(session, trial)``; one
query for the responses, one for the pointing project's ground-truth versions.
"""

from __future__ import annotations

import json
from typing import Any

from wherewhen.core.version import code_version
from wherewhen.studies.models import Response, Stimulus, Study, TrialKind

PROVENANCE_FIELDS = [
    "explanation",
    "other_explanation",
    "model",
    "checkpoint_hash",
    "params",
    "explanation_hash",
    "video_hash",
    "gt_version",
    "code_version",
    "stale",
    "stale_reason",
]


def provenance_rows(study: Study) -> dict[tuple[int, int], dict[str, Any]]:
    """``PROVENANCE_FIELDS`` of every stored response, by (session id, trial index)."""
    responses = Response.objects.filter(session__study=study).select_related(
        "trial__stimulus_a__explanation__model",
        "trial__stimulus_a__video",
        "trial__stimulus_b__explanation",
    )
    responses = list(responses)
    versions = _pointing_versions(study, responses)
    version = code_version()
    out = {}
    for r in responses:
        a, b = r.trial.stimulus_a, r.trial.stimulus_b
        e = a.explanation if a else None
        stale = _stale_reasons(r)
        shown = _shown(a) if a else dict.fromkeys(_SHOWN_FIELDS, "")
        out[(r.session_id, r.trial.index)] = {
            "explanation": e.pk if e else "",
            "other_explanation": b.explanation_id if b else "",
            **shown,
            "params": json.dumps(e.params or {}, sort_keys=True, separators=(",", ":"))
            if e
            else "",
            "gt_version": versions.get(a.video_id, "")
            if a and r.trial.kind == TrialKind.POINTING
            else "",
            "code_version": version,
            "stale": bool(stale),
            "stale_reason": "; ".join(stale),
        }
    return out


def _pointing_versions(study: Study, responses: list[Response]) -> dict[int, str]:
    """The current ground-truth version of each video of the pointing trials."""
    if study.pointing_project is None:
        return {}
    from wherewhen.annotations import services as annotation_services

    videos = {
        r.trial.stimulus_a.video_id
        for r in responses
        if r.trial.kind == TrialKind.POINTING and r.trial.stimulus_a is not None
    }
    if not videos:
        return {}
    truth = annotation_services.ground_truth_versions(study.pointing_project, sorted(videos))
    return {video: t.version for video, t in truth.items()}


def summary(study: Study) -> dict[str, Any]:
    """What the analysis of ``study`` was computed from: the code version; each stimulus's
    explanation (method, parameters, checkpoint, map hash) and video content hash; and how many
    answers were given on a map computed again since (stale, left in the analysis: the reason
    is on each row of the CSV)."""
    stimuli = study.stimuli.select_related("explanation__model", "video").order_by("id")
    responses = Response.objects.filter(session__study=study).select_related(
        "trial__stimulus_a__explanation", "trial__stimulus_b__explanation"
    )
    return {
        "code_version": code_version(),
        "stimuli": [
            {
                "stimulus": s.token,
                "method": s.method,
                "explanation": s.explanation_id,
                "params": s.explanation.params or {},
                "video": s.video_id,
                **_shown(s),
            }
            for s in stimuli
        ],
        "stale_answers": sum(1 for r in responses if _stale_reasons(r)),
    }


_SHOWN_FIELDS = ("model", "checkpoint_hash", "explanation_hash", "video_hash")


def _shown(stimulus: Stimulus) -> dict[str, str]:
    """``_SHOWN_FIELDS`` of a stimulus: its checkpoint, its map's hash and its video's."""
    e = stimulus.explanation
    return {
        "model": e.model.name if e.model else "",
        "checkpoint_hash": e.model.fingerprint if e.model else "",
        "explanation_hash": e.map_sha256,
        "video_hash": stimulus.video.content_hash,
    }


def _stale_reasons(response: Response) -> list[str]:
    """Why ``response`` is stale: each map it was given on that was computed again after it."""
    return [
        f"explanation {s.explanation_id} computed again after this answer"
        for s in (response.trial.stimulus_a, response.trial.stimulus_b)
        if s is not None
        and s.explanation.finished_at is not None
        and response.received_at is not None
        and s.explanation.finished_at > response.received_at
    ]
