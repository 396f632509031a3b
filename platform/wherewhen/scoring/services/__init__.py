"""Scoring explanations against human ground truth, and recomputing only what changed.

The math is ``workers.metrics`` (pointing games, small objects, thresholded IoU, human baseline:
numpy only, one implementation for the platform, the CLIs and the benchmarks); this module
gathers the inputs and stores the results; :mod:`wherewhen.scoring.leaderboards` aggregates
them.

**Map frames to ground truth.** Map frame ``t`` of an explanation was sampled from the source
frame at ``Explanation.timestamps[t]`` seconds. Ground truth comes per frame of the video's
playback file (``Video.frame_timestamps``), with boxes in playback pixels (``Video.width`` x
``Video.height``). Map frame ``t`` takes the boxes of the frame whose presentation time is
nearest, if it lies within half a frame interval (``workers.metrics.grounding.
match_source_frames``); a map frame with no such frame has no ground truth and is not counted.
The sampler squashes the whole source frame onto the model input, so the map's ``h x w`` cells
cover the full ``W x H`` frame, as the pointing-game definitions assume. "When" segments are
the consensus *visual* segments, in seconds; the *sound* segments score the audio curve of
audio-visual explanations (the sound temporal pointing game,
:mod:`wherewhen.scoring.sound`).

**References.** Each done explanation of a video in a project is scored against the project's
consensus ground truth (a gold item's known answer where there is one) and against each
accepted annotation (crowd or imported) on its own. The human baseline scores each annotator's
box centres against the consensus of the *other* accepted annotations (needs two or more).

**Recompute.** Signals (:mod:`wherewhen.scoring.signals`) write :class:`ScoreRequest` rows and
send ``scoring.recompute`` (queue ``default``) after the change commits. The task handles every
pending request of the projects concerned, recomputes only pairs whose ``key`` changed, and
removes the requests it handled; while requests are pending the project's leaderboards say
``stale``. A request whose task message was lost is picked up by the next task of its project
(or ``POST /api/v1/scoring/projects/{id}/recompute/``).

The public API of the scoring app (views and other apps import only this package):
``access`` (who reads what), ``config`` (tolerance), ``compute`` (targets and scores),
``recompute`` (keeping them up to date), ``provenance`` (what produced each score, and whether
it is stale) and ``payloads`` (the API's shapes).
"""

from wherewhen.scoring.services.access import (
    can_score,
    explanation_for,
    project_for,
    visible_projects,
)
from wherewhen.scoring.services.compute import (
    SCORING_VERSION,
    Prepared,
    Reference,
    ScoreInputError,
    VideoTruth,
    class_name_of,
    compute,
    done_explanations,
    prepare,
    score_fields,
    video_truth,
)
from wherewhen.scoring.services.config import (
    parse_tolerance,
    settings_for,
)
from wherewhen.scoring.services.payloads import (
    click_verdict,
    explanation_scores,
    live_scores,
    score_payload,
    verdicts,
)
from wherewhen.scoring.services.provenance import (
    EXPORT_COLUMNS,
    code_version,
    current_truth,
    export_columns,
    stale_reasons,
    stale_summary,
    staleness,
)
from wherewhen.scoring.services.recompute import (
    Outcome,
    auto_recompute,
    pending_requests,
    process_requests,
    projects_holding,
    recompute_now,
    recompute_project,
    request_recompute,
    score_video,
    send_recompute,
    set_tolerance,
    update_baselines,
)

__all__ = [
    "EXPORT_COLUMNS",
    "code_version",
    "current_truth",
    "export_columns",
    "stale_reasons",
    "stale_summary",
    "staleness",
    "click_verdict",
    "Outcome",
    "Prepared",
    "Reference",
    "SCORING_VERSION",
    "ScoreInputError",
    "VideoTruth",
    "auto_recompute",
    "can_score",
    "class_name_of",
    "compute",
    "done_explanations",
    "explanation_for",
    "explanation_scores",
    "live_scores",
    "parse_tolerance",
    "pending_requests",
    "prepare",
    "process_requests",
    "project_for",
    "projects_holding",
    "recompute_now",
    "recompute_project",
    "request_recompute",
    "score_fields",
    "score_payload",
    "score_video",
    "send_recompute",
    "set_tolerance",
    "settings_for",
    "update_baselines",
    "verdicts",
    "video_truth",
    "visible_projects",
]
