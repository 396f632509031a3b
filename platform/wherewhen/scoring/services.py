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
:mod:`wherewhen.explanations.sound`).

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
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import exceptions

from wherewhen.accounts.models import Role
from wherewhen.annotations import services as annotation_services
from wherewhen.annotations.consensus import consensus, segments_of
from wherewhen.annotations.geometry import frame_boxes
from wherewhen.annotations.models import Assignment, Project, Task
from wherewhen.core import limits
from wherewhen.explanations.models import Explanation
from wherewhen.explanations.sound import sound_hit
from wherewhen.scoring.models import (
    ExplanationScore,
    HumanBaseline,
    ScoreRequest,
    ScoringSettings,
)
from wherewhen.videos.models import Video
from workers.metrics.grounding import (
    DEFAULT_IOU_FRACTION,
    ClipInput,
    human_pointing_game,
    match_source_frames,
    score_clips,
)

log = logging.getLogger(__name__)

RECOMPUTE_TASK = "scoring.recompute"
# Bumped when a definition or the stored shape changes: every key changes, everything is redone.
SCORING_VERSION = 2  # 2: the sound temporal pointing game
Reference = ExplanationScore.Reference
ACCEPTED_SOURCES = (Assignment.Source.CROWD, Assignment.Source.IMPORT)


# --- who sees what ------------------------------------------------------------------------------


def can_score(user) -> bool:
    return bool(
        user.is_authenticated
        and (user.is_superuser or user.role in (Role.RESEARCHER, Role.REVIEWER))
    )


def visible_projects(user) -> QuerySet[Project]:
    """Researchers see their own projects, reviewers every project (the annotation app's rule)."""
    if not can_score(user):
        return Project.objects.none()
    return annotation_services.projects_visible_to(user)


def project_for(user, project_id: Any) -> Project:
    try:
        pk = int(project_id)
    except (TypeError, ValueError) as exc:
        raise exceptions.ValidationError({"project": "Give the annotation project's id."}) from exc
    project = visible_projects(user).filter(pk=pk).first()
    if project is None:
        raise exceptions.NotFound(f"No annotation project with id {pk} is visible to you.")
    return project


def parse_tolerance(value: Any) -> float:
    """A tolerance in pixels: a finite number from 0 to ``TOLERANCE_MAX_PX`` (400 otherwise)."""
    try:
        tolerance = float(value)
    except (TypeError, ValueError) as exc:
        raise exceptions.ValidationError(
            {"tolerance": "The tolerance must be a number of pixels (0 or more)."}
        ) from exc
    if not math.isfinite(tolerance) or tolerance < 0 or tolerance > limits.TOLERANCE_MAX_PX:
        raise exceptions.ValidationError({"tolerance": limits.tolerance_problem(tolerance)})
    return tolerance


def settings_for(project: Project) -> ScoringSettings:
    row, _ = ScoringSettings.objects.get_or_create(project=project)
    return row


def set_tolerance(project: Project, value: Any) -> ScoringSettings:
    """Change the project's tolerance; every score of the project is recomputed."""
    tolerance = parse_tolerance(value)
    with transaction.atomic():
        row = settings_for(project)
        if row.tolerance != tolerance:
            row.tolerance = tolerance
            row.save(update_fields=["tolerance", "updated_at"])
            request_recompute([(project.pk, None, None)], reason="tolerance changed")
    return row


# --- queueing recomputes ------------------------------------------------------------------------


def auto_recompute() -> bool:
    return bool(getattr(settings, "SCORING_AUTO_RECOMPUTE", True))


def _celery_app():
    from wherewhen.celery import app

    return app


def send_recompute(request_ids: list[int] | None) -> None:
    """Send ``scoring.recompute`` by name; a broker that cannot be reached leaves the requests
    pending (the project stays stale until the next recompute picks them up)."""
    try:
        _celery_app().send_task(
            RECOMPUTE_TASK,
            kwargs={"request_ids": request_ids},
            queue="default",
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5},
        )
    except Exception:
        log.exception("could not queue scoring of requests %s", request_ids)


def request_recompute(
    items: list[tuple[int, int | None, int | None]], *, reason: str, send: bool = True
) -> None:
    """Record ``(project, video, explanation)`` requests once the current transaction commits
    and send the task for them. ``video`` and ``explanation`` None: the whole project."""
    items = list(dict.fromkeys(items))
    if not items:
        return

    def commit() -> None:
        # what was deleted in the same transaction (a project, a video) needs nothing
        projects = set(
            Project.objects.filter(pk__in={p for p, _, _ in items}).values_list("pk", flat=True)
        )
        videos = set(
            Video.objects.filter(pk__in={v for _, v, _ in items if v}).values_list("pk", flat=True)
        )
        explanations = set(
            Explanation.objects.filter(pk__in={e for _, _, e in items if e}).values_list(
                "pk", flat=True
            )
        )
        alive = [
            (p, v, e)
            for p, v, e in items
            if p in projects and (v is None or v in videos) and (e is None or e in explanations)
        ]
        if not alive:
            return
        rows = ScoreRequest.objects.bulk_create(
            ScoreRequest(project_id=p, video_id=v, explanation_id=e, reason=reason[:200])
            for p, v, e in alive
        )
        if send:
            # (a backend that returns no ids from bulk inserts: the task takes all pending ones)
            send_recompute([r.pk for r in rows if r.pk is not None] or None)

    transaction.on_commit(commit)


def projects_holding(video_id: int) -> list[int]:
    return list(
        Task.objects.filter(video_id=video_id).values_list("project_id", flat=True).distinct()
    )


def pending_requests(project: Project) -> int:
    return ScoreRequest.objects.filter(project=project).count()


# --- ground truth of one video ------------------------------------------------------------------


Box = list[float]


@dataclass
class GroundTruthRef:
    """One set of boxes and segments to score against."""

    kind: str  # "consensus" | "annotator"
    assignment_id: int | None
    source: str
    frames: list[list[Box]]  # per frame of the playback file
    segments: list[list[float]]  # visual "when" segments
    sound_segments: list[list[float]] = field(default_factory=list)


@dataclass
class VideoTruth:
    project_id: int
    video_id: int
    source: str  # gold | consensus | none
    width: int
    height: int
    times: np.ndarray
    references: list[GroundTruthRef] = field(default_factory=list)
    annotations: list[tuple[int, dict]] = field(default_factory=list)  # (assignment id, content)


def video_truth(project: Project, video: Video) -> VideoTruth | None:
    """Consensus (or gold) ground truth and every accepted annotation of ``video`` in
    ``project``; None when the video is not in the project."""
    task = Task.objects.filter(project=project, video=video).first()
    if task is None:
        return None
    gt = annotation_services.ground_truth_for_video(project, video)
    frames = [[list(map(float, b)) for b in f["boxes"]] for f in gt["frames"]]
    times = np.array([float(f["time"]) for f in gt["frames"]], dtype=np.float64)
    truth = VideoTruth(
        project_id=project.pk,
        video_id=video.pk,
        source=gt["source"],
        width=int(gt["width"] or 0),
        height=int(gt["height"] or 0),
        times=times,
    )
    if gt["source"] == "none":
        return truth
    truth.references.append(
        GroundTruthRef(
            Reference.CONSENSUS,
            None,
            gt["source"],
            frames,
            [list(map(float, s)) for s in gt["when"].get("visual", [])],
            [list(map(float, s)) for s in gt["when"].get("sound", [])],
        )
    )
    accepted = annotation_services.with_content(
        Assignment.objects.filter(
            task=task, status=Assignment.Status.ACCEPTED, source__in=ACCEPTED_SOURCES
        ).order_by("submitted_at", "id")
    )
    n = len(times)
    for assignment in accepted:
        content = annotation_services.annotation_of(assignment)
        truth.annotations.append((assignment.pk, content))
        truth.references.append(
            GroundTruthRef(
                Reference.ANNOTATOR,
                assignment.pk,
                "annotator",
                [[list(map(float, b)) for b in boxes] for boxes in frame_boxes(content, n)],
                [list(s) for s in segments_of(content, "visual")],
                [list(s) for s in segments_of(content, "sound")],
            )
        )
    return truth


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=float).encode()).hexdigest()


# --- scoring one explanation --------------------------------------------------------------------


@dataclass
class Prepared:
    """An explanation's inputs against one reference, before the map is read."""

    explanation: Explanation
    reference: GroundTruthRef
    matched: np.ndarray  # source frame index per map frame, -1 when none
    key: str


def prepare(explanation: Explanation, truth: VideoTruth, tolerance: float) -> list[Prepared]:
    """Keys of ``explanation`` against each reference of ``truth`` (no file is read)."""
    stamps = [float(t) for t in (explanation.timestamps or [])]
    index, _ok = match_source_frames(stamps, truth.times) if stamps else (np.zeros(0, int), None)
    out = []
    for ref in truth.references:
        boxes = [ref.frames[k] if k >= 0 else None for k in index.tolist()]
        key = _digest(
            {
                "version": SCORING_VERSION,
                "tolerance": tolerance,
                "iou_fraction": DEFAULT_IOU_FRACTION,
                "map": [explanation.map_file, explanation.map_sha256, explanation.grid],
                "timestamps": stamps,
                "temporal": [float(x) for x in (explanation.temporal or [])],
                "size": [truth.width, truth.height],
                "frames": [[int(k), b] for k, b in zip(index.tolist(), boxes, strict=True)],
                "segments": ref.segments,
                "sound_segments": ref.sound_segments,
                "audio": explanation.audio,
                "source": ref.source,
            }
        )
        out.append(Prepared(explanation, ref, index, key))
    return out


class ScoreInputError(ValueError):
    pass


def _read_map(explanation: Explanation) -> np.ndarray:
    from wherewhen.explanations import storage

    if not explanation.map_file:
        raise ScoreInputError("The explanation has no map file.")
    try:
        heat = storage.read_map(explanation.map_file)
    except (OSError, ValueError) as exc:
        raise ScoreInputError(f"The map file could not be read ({exc}).") from exc
    if heat.ndim != 3:
        raise ScoreInputError(f"The map is shaped {list(heat.shape)}, not (T, h, w).")
    if not np.all(np.isfinite(heat)):
        raise ScoreInputError("The map contains NaN or infinite values.")
    if len(explanation.timestamps or []) != heat.shape[0]:
        raise ScoreInputError(
            f"The map has {heat.shape[0]} frames but {len(explanation.timestamps or [])} "
            "timestamps."
        )
    temporal = explanation.temporal or []
    if temporal and len(temporal) != heat.shape[0]:
        raise ScoreInputError(
            f"The map has {heat.shape[0]} frames but {len(temporal)} temporal importances."
        )
    return heat


def _clip_input(item: Prepared, heat: np.ndarray, truth: VideoTruth) -> ClipInput:
    t = heat.shape[0]
    per_frame = [item.reference.frames[k] if k >= 0 else [] for k in item.matched.tolist()]
    k_max = max([len(b) for b in per_frame] + [1])
    boxes = np.zeros((t, k_max, 4))
    mask = np.zeros((t, k_max), dtype=bool)
    for f, frame in enumerate(per_frame):
        if frame:
            boxes[f, : len(frame)] = frame
            mask[f, : len(frame)] = True
    temporal = item.explanation.temporal or [0.0] * t
    return ClipInput(
        map=heat,
        temporal=np.asarray(temporal, dtype=np.float64),
        timestamps=np.asarray(item.explanation.timestamps, dtype=np.float64),
        boxes=boxes,
        box_mask=mask,
        segments=np.asarray(item.reference.segments, dtype=np.float64).reshape(-1, 2),
        source_size=(truth.width, truth.height),
    )


def score_fields(item: Prepared, result, tolerance: float) -> dict[str, Any]:
    """The columns of an :class:`ExplanationScore` from a ``ClipScores``."""
    e = item.explanation
    frames = []
    for t in range(len(item.matched)):
        counted = bool(result.counted[t])
        frames.append(
            {
                "index": t,
                "time": float(e.timestamps[t]),
                "frame": int(item.matched[t]) if item.matched[t] >= 0 else None,
                "counted": counted,
                "hit": bool(result.hit[t]) if counted else None,
                "small": bool(result.small[t]) if counted else None,
                "energy": float(result.energy[t]) if counted else None,
                "iou": float(result.iou[t]) if counted else None,
                "point": [float(result.point[t, 0]), float(result.point[t, 1])],
            }
        )
    counted = result.counted
    small = result.small & counted
    has_temporal = bool(e.temporal)
    return {
        "key": item.key,
        "tolerance": tolerance,
        "gt_source": item.reference.source,
        "frames_counted": int(counted.sum()),
        "frames_hit": int((result.hit & counted).sum()),
        "small_counted": int(small.sum()),
        "small_hit": int((result.hit & small).sum()),
        "energy_sum": float(result.energy[counted].sum()),
        "iou_sum": float(result.iou[counted].sum()),
        "temporal_hit": result.temporal_hit if has_temporal else None,
        "spacetime_hit": result.spacetime_hit,
        "sound_hit": _sound_hit(e, item.reference),
        "sparsity": result.sparsity,
        "frames": frames,
        "error": "",
    }


def _sound_hit(explanation: Explanation, reference: GroundTruthRef) -> bool | None:
    try:
        return sound_hit(explanation.audio, reference.sound_segments)
    except ValueError as exc:  # a malformed stored curve is not counted (and not fatal)
        log.warning("explanation %s: audio curve not scored: %s", explanation.pk, exc)
        return None


def _error_fields(item: Prepared, message: str, tolerance: float) -> dict[str, Any]:
    return {
        "key": item.key,
        "tolerance": tolerance,
        "gt_source": item.reference.source,
        "frames_counted": 0,
        "frames_hit": 0,
        "small_counted": 0,
        "small_hit": 0,
        "energy_sum": 0.0,
        "iou_sum": 0.0,
        "temporal_hit": None,
        "spacetime_hit": None,
        "sound_hit": None,
        "sparsity": None,
        "frames": [],
        "error": message,
    }


def compute(
    items: list[Prepared], truth: VideoTruth, tolerance: float
) -> list[tuple[Prepared, dict]]:
    """Score prepared pairs (each map read once; all clips scored in one vectorized batch)."""
    maps: dict[int, np.ndarray | str] = {}
    for item in items:
        e = item.explanation
        if e.pk not in maps:
            try:
                maps[e.pk] = _read_map(e)
            except ScoreInputError as exc:
                maps[e.pk] = str(exc)
    ok = [item for item in items if not isinstance(maps[item.explanation.pk], str)]
    results = score_clips(
        [_clip_input(item, maps[item.explanation.pk], truth) for item in ok], tolerance
    )
    out = [(item, score_fields(item, r, tolerance)) for item, r in zip(ok, results, strict=True)]
    out += [
        (item, _error_fields(item, maps[item.explanation.pk], tolerance))
        for item in items
        if isinstance(maps[item.explanation.pk], str)
    ]
    return out


# --- recomputing --------------------------------------------------------------------------------


@dataclass
class Outcome:
    computed: int = 0
    unchanged: int = 0
    deleted: int = 0
    baselines: int = 0
    pairs: list[list] = field(default_factory=list)  # [explanation, reference, assignment]

    def add(self, other: Outcome) -> None:
        self.computed += other.computed
        self.unchanged += other.unchanged
        self.deleted += other.deleted
        self.baselines += other.baselines
        self.pairs += other.pairs

    def as_dict(self) -> dict[str, Any]:
        return {
            "computed": self.computed,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "baselines": self.baselines,
            "pairs": self.pairs,
        }


def done_explanations(video: Video) -> QuerySet[Explanation]:
    return Explanation.objects.filter(video=video, status=Explanation.Status.DONE).exclude(
        map_file=""
    )


def _save(project: Project, item: Prepared, fields: dict) -> None:
    lookup = {
        "explanation": item.explanation,
        "project": project,
        "reference": item.reference.kind,
        "assignment_id": item.reference.assignment_id,
    }
    try:
        with transaction.atomic():
            ExplanationScore.objects.update_or_create(**lookup, defaults=fields)
    except IntegrityError:  # another worker inserted it meanwhile: update theirs
        ExplanationScore.objects.filter(**lookup).update(**fields)


def score_video(
    project: Project, video: Video, only: set[int] | None = None, tolerance: float | None = None
) -> Outcome:
    """Bring the scores of ``video``'s explanations in ``project`` up to date (all done
    explanations, or those in ``only``), and its human baselines. Unchanged pairs are skipped."""
    outcome = Outcome()
    truth = video_truth(project, video)
    scores = ExplanationScore.objects.filter(project=project, explanation__video=video)
    if truth is None or truth.source == "none" or not truth.width or not truth.height:
        deleted = scores.delete()[0]
        deleted += HumanBaseline.objects.filter(project=project, video=video).delete()[0]
        outcome.deleted += deleted
        return outcome
    if tolerance is None:
        tolerance = settings_for(project).tolerance
    explanations = done_explanations(video)
    if only is not None:
        explanations = explanations.filter(pk__in=only)
        scores = scores.filter(explanation__in=only)
    existing = {
        (s.explanation_id, s.reference, s.assignment_id): (s.pk, s.key)
        for s in scores.only("pk", "explanation_id", "reference", "assignment_id", "key")
    }
    todo: list[Prepared] = []
    seen = set()
    for explanation in explanations:
        for item in prepare(explanation, truth, tolerance):
            ident = (explanation.pk, item.reference.kind, item.reference.assignment_id)
            seen.add(ident)
            if ident in existing and existing[ident][1] == item.key:
                outcome.unchanged += 1
            else:
                todo.append(item)
    for item, fields in compute(todo, truth, tolerance):
        _save(project, item, fields)
        outcome.computed += 1
        outcome.pairs.append(
            [item.explanation.pk, item.reference.kind, item.reference.assignment_id]
        )
    gone = [pk for ident, (pk, _key) in existing.items() if ident not in seen]
    if gone:
        outcome.deleted += ExplanationScore.objects.filter(pk__in=gone).delete()[0]
    if only is None:
        outcome.baselines, deleted = update_baselines(project, video, truth, tolerance)
        outcome.deleted += deleted
    return outcome


def update_baselines(
    project: Project, video: Video, truth: VideoTruth, tolerance: float
) -> tuple[int, int]:
    """Each annotator against the consensus of the others (two or more annotations)."""
    n = len(truth.times)
    current = {}
    if len(truth.annotations) >= 2:
        for assignment_id, content in truth.annotations:
            others = [c for a, c in truth.annotations if a != assignment_id]
            reference = consensus(others, n)["frames"]
            own = frame_boxes(content, n)
            key = _digest(
                {
                    "version": SCORING_VERSION,
                    "tolerance": tolerance,
                    "own": [[list(b) for b in f] for f in own],
                    "others": [[list(b) for b in f] for f in reference],
                }
            )
            current[assignment_id] = (key, own, reference)
    stored = {
        b.assignment_id: b for b in HumanBaseline.objects.filter(project=project, video=video)
    }
    deleted = 0
    gone = [b.pk for a, b in stored.items() if a not in current]
    if gone:
        deleted = HumanBaseline.objects.filter(pk__in=gone).delete()[0]
    computed = 0
    for assignment_id, (key, own, reference) in current.items():
        if assignment_id in stored and stored[assignment_id].key == key:
            continue
        a_boxes, a_mask = _pad_frames(own)
        r_boxes, r_mask = _pad_frames(reference)
        result = human_pointing_game(a_boxes, a_mask, r_boxes, r_mask, tolerance)
        counted = np.flatnonzero(result.counted).tolist()
        hits = np.flatnonzero(result.hits & result.counted).tolist()
        fields = {
            "video": video,
            "key": key,
            "tolerance": tolerance,
            "frames_counted": len(counted),
            "frames_hit": len(hits),
            "counted": counted,
            "hits": hits,
        }
        try:
            with transaction.atomic():
                HumanBaseline.objects.update_or_create(
                    project=project, assignment_id=assignment_id, defaults=fields
                )
        except IntegrityError:
            HumanBaseline.objects.filter(project=project, assignment_id=assignment_id).update(
                **fields
            )
        computed += 1
    return computed, deleted


def _pad_frames(frames: list[list]) -> tuple[np.ndarray, np.ndarray]:
    k = max([len(f) for f in frames] + [1])
    boxes = np.zeros((len(frames), k, 4))
    mask = np.zeros((len(frames), k), dtype=bool)
    for i, f in enumerate(frames):
        if f:
            boxes[i, : len(f)] = [list(b) for b in f]
            mask[i, : len(f)] = True
    return boxes, mask


def process_requests(request_ids: list[int] | None = None) -> dict[str, Any]:
    """The ``scoring.recompute`` task: every pending request of the projects that
    ``request_ids`` belong to (all pending requests when None), then drop them."""
    if request_ids is None:
        projects = set(ScoreRequest.objects.values_list("project_id", flat=True))
    else:
        projects = set(
            ScoreRequest.objects.filter(pk__in=request_ids).values_list("project_id", flat=True)
        )
    total = Outcome()
    handled: list[int] = []
    for project in Project.objects.filter(pk__in=projects).order_by("pk"):
        pending = list(ScoreRequest.objects.filter(project=project))
        if not pending:
            continue
        outcome = recompute_project(project, pending)
        total.add(outcome)
        handled += [r.pk for r in pending]
        ScoreRequest.objects.filter(pk__in=[r.pk for r in pending]).delete()
    result = total.as_dict()
    result["requests"] = len(handled)
    result["projects"] = sorted(projects)
    return result


def recompute_project(
    project: Project, pending: list[ScoreRequest], *, whole: bool = False
) -> Outcome:
    """Score what ``pending`` asks for: whole videos (changed ground truth), single
    explanations (finished), or every video of the project."""
    whole = whole or any(r.video_id is None and r.explanation_id is None for r in pending)
    work: dict[int, set[int] | None] = {}
    if whole:
        for video_id in Task.objects.filter(project=project).values_list("video_id", flat=True):
            work[video_id] = None
        # videos that left the project still have scores to remove
        for video_id in (
            ExplanationScore.objects.filter(project=project)
            .values_list("explanation__video_id", flat=True)
            .distinct()
        ):
            work.setdefault(video_id, None)
    for r in pending:
        if r.video_id is not None:
            work[r.video_id] = None
    for r in pending:
        if r.explanation_id is not None and r.video_id is None:
            video_id = (
                Explanation.objects.filter(pk=r.explanation_id)
                .values_list("video_id", flat=True)
                .first()
            )
            if video_id is None or (video_id in work and work[video_id] is None):
                continue
            work.setdefault(video_id, set()).add(r.explanation_id)  # type: ignore[union-attr]
    outcome = Outcome()
    tolerance = settings_for(project).tolerance
    problems = []
    for video in Video.objects.filter(pk__in=list(work)).order_by("pk"):
        try:
            outcome.add(score_video(project, video, work[video.pk], tolerance))
        except (DatabaseError, OSError):
            raise  # transient: the task retries
        except Exception as exc:  # bad data in one video must not stop the others
            log.exception("scoring video %s of project %s failed", video.pk, project.pk)
            problems.append(f"video {video.pk}: {exc}")
    ScoringSettings.objects.filter(project=project).update(
        last_run_at=timezone.now(), last_error="; ".join(problems)[:2000]
    )
    return outcome


def recompute_now(project: Project) -> dict[str, Any]:
    """Score a whole project in this process (management command, tests, demo data); pending
    requests of the project are handled too."""
    pending = list(ScoreRequest.objects.filter(project=project))
    outcome = recompute_project(project, pending, whole=True)
    ScoreRequest.objects.filter(pk__in=[r.pk for r in pending]).delete()
    return outcome.as_dict()


# --- reading scores -----------------------------------------------------------------------------


def score_payload(score: ExplanationScore, with_frames: bool = True) -> dict[str, Any]:
    annotator = None
    if score.assignment_id is not None and score.assignment is not None:
        a = score.assignment
        annotator = a.annotator.username if a.annotator_id else a.get_source_display()
    counted = score.frames_counted
    body = {
        "id": score.pk,
        "explanation": score.explanation_id,
        "project": score.project_id,
        "reference": score.reference,
        "assignment": score.assignment_id,
        "annotator": annotator,
        "gt_source": score.gt_source,
        "tolerance": score.tolerance,
        "frames_counted": counted,
        "frames_hit": score.frames_hit,
        "spatial": score.frames_hit / counted if counted else None,
        "small_counted": score.small_counted,
        "small_hit": score.small_hit,
        "small": score.small_hit / score.small_counted if score.small_counted else None,
        "energy": score.energy_sum / counted if counted else None,
        "iou": score.iou_sum / counted if counted else None,
        "temporal_hit": score.temporal_hit,
        "spacetime_hit": score.spacetime_hit,
        "sound_hit": score.sound_hit,
        "sparsity": score.sparsity,
        "error": score.error,
        "stored": True,
        "computed_at": score.computed_at.isoformat() if score.computed_at else None,
        "frames": score.frames if with_frames else [],
    }
    return body


def explanation_for(user, explanation_id: Any) -> Explanation:
    from wherewhen.explanations import services as explanation_services

    try:
        pk = int(explanation_id)
    except (TypeError, ValueError) as exc:
        raise exceptions.ValidationError(
            {"explanation": "Give the id of the explanation to score (?explanation=)."}
        ) from exc
    explanation = explanation_services.visible_explanations(user).filter(pk=pk).first()
    if explanation is None:
        raise exceptions.NotFound(f"No explanation with id {pk} is visible to you.")
    return explanation


def explanation_scores(
    user,
    explanation: Explanation,
    *,
    project: Project | None = None,
    video_id: int | None = None,
    tolerance: float | None = None,
) -> dict[str, Any]:
    """Stored scores of ``explanation`` in the projects ``user`` sees (or in ``project``); with
    a ``tolerance`` other than a project's, scores computed now and not stored."""
    if video_id is not None and video_id != explanation.video_id:
        raise exceptions.ValidationError(
            {
                "video": f"Explanation {explanation.pk} explains video {explanation.video_id}, "
                f"not video {video_id}."
            }
        )
    projects = visible_projects(user)
    if project is not None:
        if not Task.objects.filter(project=project, video_id=explanation.video_id).exists():
            raise exceptions.ValidationError(
                {
                    "project": f"Video {explanation.video_id} is not in project {project.pk} "
                    f"({project.name}), so its explanations have no ground truth there."
                }
            )
        projects = projects.filter(pk=project.pk)
    holding = list(projects.filter(tasks__video_id=explanation.video_id).distinct())
    body: dict[str, Any] = {
        "explanation": explanation.pk,
        "video": explanation.video_id,
        "status": explanation.status,
        "stale": ScoreRequest.objects.filter(project__in=holding).exists(),
        "reason": "",
        "results": [],
    }
    if explanation.status != Explanation.Status.DONE:
        body["reason"] = f"The explanation is {explanation.status}, not done: nothing to score."
        return body
    if not holding:
        body["reason"] = "No annotation project you can see includes this video."
        return body
    results: list[dict] = []
    for p in holding:
        stored_tolerance = settings_for(p).tolerance
        if tolerance is not None and tolerance != stored_tolerance:
            results += live_scores(p, explanation, tolerance)
            continue
        rows = ExplanationScore.objects.filter(project=p, explanation=explanation).select_related(
            "assignment__annotator"
        )
        results += [score_payload(s) for s in rows]
    body["results"] = results
    if not results:
        body["reason"] = (
            "Not scored yet: the scores are being computed."
            if body["stale"]
            else "The video has no accepted annotations (or gold answer) yet."
        )
    return body


def live_scores(project: Project, explanation: Explanation, tolerance: float) -> list[dict]:
    truth = video_truth(project, explanation.video)
    if truth is None or truth.source == "none":
        return []
    out = []
    for item, fields in compute(prepare(explanation, truth, tolerance), truth, tolerance):
        counted = fields["frames_counted"]
        out.append(
            {
                "id": None,
                "explanation": explanation.pk,
                "project": project.pk,
                "reference": item.reference.kind,
                "assignment": item.reference.assignment_id,
                "annotator": None,
                "gt_source": fields["gt_source"],
                "tolerance": tolerance,
                "frames_counted": counted,
                "frames_hit": fields["frames_hit"],
                "spatial": fields["frames_hit"] / counted if counted else None,
                "small_counted": fields["small_counted"],
                "small_hit": fields["small_hit"],
                "small": fields["small_hit"] / fields["small_counted"]
                if fields["small_counted"]
                else None,
                "energy": fields["energy_sum"] / counted if counted else None,
                "iou": fields["iou_sum"] / counted if counted else None,
                "temporal_hit": fields["temporal_hit"],
                "spacetime_hit": fields["spacetime_hit"],
                "sound_hit": fields["sound_hit"],
                "sparsity": fields["sparsity"],
                "error": fields["error"],
                "stored": False,
                "computed_at": None,
                "frames": fields["frames"],
            }
        )
    return out
