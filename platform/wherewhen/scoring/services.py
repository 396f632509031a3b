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
from wherewhen.annotations.models import Project, Task
from wherewhen.core import tasking
from wherewhen.explanations.models import Explanation
from wherewhen.explanations.sound import sound_hit
from wherewhen.scoring import targets
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
    score_clips,
)

log = logging.getLogger(__name__)

# Bumped when a definition or the stored shape changes: every key changes, everything is redone.
SCORING_VERSION = 3  # 2: the sound temporal pointing game; 3: per-class labels
Reference = ExplanationScore.Reference


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
    """A tolerance in pixels: a finite number >= 0 (400 otherwise)."""
    try:
        tolerance = float(value)
    except (TypeError, ValueError) as exc:
        raise exceptions.ValidationError(
            {"tolerance": "The tolerance must be a number of pixels (0 or more)."}
        ) from exc
    if not math.isfinite(tolerance) or tolerance < 0:
        raise exceptions.ValidationError(
            {"tolerance": f"The tolerance must be 0 or more pixels; got {value}."}
        )
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


def send_recompute(request_ids: list[int] | None) -> None:
    """Send ``scoring.recompute`` by name; a broker that cannot be reached leaves the requests
    pending (the project stays stale until the next recompute picks them up)."""
    try:
        tasking.send(
            tasking.SCORING_RECOMPUTE,
            kwargs={"request_ids": request_ids},
            queue="default",
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5},
        )
    except tasking.QueueUnavailable:
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


# --- what an explanation is scored against -----------------------------------------------------


def class_name_of(explanation: Explanation) -> str | None:
    """The name of the class ``explanation`` explains (None when its model has no name for it)."""
    model = explanation.model
    target = explanation.explained_target
    if target is None:
        target = explanation.target
    if model is None or target is None:
        return None
    labels = model.labels or []
    return str(labels[target]) if 0 <= target < len(labels) else None


@dataclass
class VideoTruth:
    """The references of one video of a project, with the scoring target of each class."""

    evidence: annotation_services.VideoEvidence
    tolerance: float
    _targets: dict[str | None, targets.Target] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return self.evidence.source

    @property
    def width(self) -> int:
        return int(self.evidence.width or 0)

    @property
    def height(self) -> int:
        return int(self.evidence.height or 0)

    def target(self, class_name: str | None) -> targets.Target:
        if class_name not in self._targets:
            self._targets[class_name] = targets.target_for(
                self.evidence, class_name, self.tolerance
            )
        return self._targets[class_name]


def video_truth(
    project: Project, video: Video, tolerance: float | None = None
) -> VideoTruth | None:
    """The ground truth of ``video`` in ``project`` (None when the video is not in it)."""
    evidence = annotation_services.video_evidence(project, video)
    if evidence is None:
        return None
    if tolerance is None:
        tolerance = settings_for(project).tolerance
    return VideoTruth(evidence, float(tolerance))


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=float).encode()).hexdigest()


# --- scoring one explanation --------------------------------------------------------------------


@dataclass
class Prepared:
    """An explanation's inputs against one reference, before the map is read."""

    explanation: Explanation
    target: targets.Target
    reference: targets.Reference | None  # None: not scored (target.reason says why)
    matched: np.ndarray  # annotated frame index per map frame, -1 when none
    key: str

    @property
    def kind(self) -> str:
        return self.reference.kind if self.reference is not None else Reference.CONSENSUS

    @property
    def assignment_id(self) -> int | None:
        return self.reference.assignment_id if self.reference is not None else None


def prepare(explanation: Explanation, truth: VideoTruth) -> list[Prepared]:
    """Keys of ``explanation`` against each reference of its class's label (no file is read);
    one not-scored item when its class has no label or the video no evidence of it."""
    class_name = class_name_of(explanation)
    target = truth.target(class_name)
    stamps = [float(t) for t in (explanation.timestamps or [])]
    index = targets.match_frames(stamps, target.times)
    common = {
        "version": SCORING_VERSION,
        "tolerance": target.tolerance,
        "class": class_name,
        "label": target.label,
        "not_scored": target.reason,
    }
    if not target.scored:
        return [Prepared(explanation, target, None, index, _digest(common))]
    out = []
    for ref in target.references:
        key = _digest(
            {
                **common,
                "iou_fraction": DEFAULT_IOU_FRACTION,
                "map": [explanation.map_file, explanation.map_sha256, explanation.grid],
                "timestamps": stamps,
                "temporal": [float(x) for x in (explanation.temporal or [])],
                "size": [target.width, target.height],
                "frames": [
                    [int(k), b]
                    for k, b in zip(index.tolist(), targets.boxes_at(ref, index), strict=True)
                ],
                "segments": ref.visual,
                "sound_segments": ref.sound,
                "audio": explanation.audio,
                "source": ref.source,
            }
        )
        out.append(Prepared(explanation, target, ref, index, key))
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


def _clip_input(item: Prepared, heat: np.ndarray) -> ClipInput:
    t = heat.shape[0]
    per_frame = targets.boxes_at(item.reference, item.matched)
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
        segments=np.asarray(item.reference.visual, dtype=np.float64).reshape(-1, 2),
        source_size=(item.target.width, item.target.height),
    )


def _base_fields(item: Prepared) -> dict[str, Any]:
    return {
        "key": item.key,
        "tolerance": item.target.tolerance,
        "gt_source": item.reference.source if item.reference is not None else item.target.source,
        "class_name": (item.target.choice.class_name or "")[:200],
        "label": item.target.label or "",
        "not_scored": item.target.reason,
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
        "error": "",
    }


def score_fields(item: Prepared, result) -> dict[str, Any]:
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
        **_base_fields(item),
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
    }


def _sound_hit(explanation: Explanation, reference: targets.Reference) -> bool | None:
    try:
        return sound_hit(explanation.audio, reference.sound)
    except ValueError as exc:  # a malformed stored curve is not counted (and not fatal)
        log.warning("explanation %s: audio curve not scored: %s", explanation.pk, exc)
        return None


def compute(items: list[Prepared]) -> list[tuple[Prepared, dict]]:
    """Score prepared pairs (each map read once; the clips of one tolerance scored in one
    vectorized batch); not-scored items come back with their reason and nothing read."""
    maps: dict[int, np.ndarray | str] = {}
    for item in items:
        e = item.explanation
        if item.reference is not None and e.pk not in maps:
            try:
                maps[e.pk] = _read_map(e)
            except ScoreInputError as exc:
                maps[e.pk] = str(exc)
    out: list[tuple[Prepared, dict]] = []
    batches: dict[float, list[Prepared]] = {}
    for item in items:
        if item.reference is None:
            out.append((item, _base_fields(item)))
        elif isinstance(maps[item.explanation.pk], str):
            out.append((item, {**_base_fields(item), "error": maps[item.explanation.pk]}))
        else:
            batches.setdefault(item.target.tolerance, []).append(item)
    for tolerance, batch in batches.items():
        results = score_clips(
            [_clip_input(item, maps[item.explanation.pk]) for item in batch], tolerance
        )
        out += [(item, score_fields(item, r)) for item, r in zip(batch, results, strict=True)]
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
        "reference": item.kind,
        "assignment_id": item.assignment_id,
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
    truth = video_truth(project, video, tolerance)
    scores = ExplanationScore.objects.filter(project=project, explanation__video=video)
    if truth is None or truth.source == "none" or not truth.width or not truth.height:
        deleted = scores.delete()[0]
        deleted += HumanBaseline.objects.filter(project=project, video=video).delete()[0]
        outcome.deleted += deleted
        return outcome
    explanations = done_explanations(video).select_related("model")
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
        for item in prepare(explanation, truth):
            ident = (explanation.pk, item.kind, item.assignment_id)
            seen.add(ident)
            if ident in existing and existing[ident][1] == item.key:
                outcome.unchanged += 1
            else:
                todo.append(item)
    for item, fields in compute(todo):
        _save(project, item, fields)
        outcome.computed += 1
        outcome.pairs.append([item.explanation.pk, item.kind, item.assignment_id])
    gone = [pk for ident, (pk, _key) in existing.items() if ident not in seen]
    if gone:
        outcome.deleted += ExplanationScore.objects.filter(pk__in=gone).delete()[0]
    if only is None:
        outcome.baselines, deleted = update_baselines(project, video, truth)
        outcome.deleted += deleted
    return outcome


def update_baselines(project: Project, video: Video, truth: VideoTruth) -> tuple[int, int]:
    """Each annotator against the consensus of the others (two or more annotations), label by
    label: an annotator's boxes of a label against the others' consensus of that label."""
    evidence = truth.evidence
    tolerance = truth.tolerance
    current = {}
    for label in evidence.drawn_labels():
        for pair in evidence.baseline_pairs(label):
            key = _digest(
                {
                    "version": SCORING_VERSION,
                    "tolerance": tolerance,
                    "label": label,
                    "own": pair.own,
                    "others": pair.others,
                }
            )
            current[(pair.assignment_id, label)] = (key, pair.own, pair.others)
    stored = {
        (b.assignment_id, b.label): b
        for b in HumanBaseline.objects.filter(project=project, video=video)
    }
    deleted = 0
    gone = [b.pk for ident, b in stored.items() if ident not in current]
    if gone:
        deleted = HumanBaseline.objects.filter(pk__in=gone).delete()[0]
    computed = 0
    for (assignment_id, label), (key, own, reference) in current.items():
        if (assignment_id, label) in stored and stored[(assignment_id, label)].key == key:
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
        lookup = {"project": project, "assignment_id": assignment_id, "label": label}
        try:
            with transaction.atomic():
                HumanBaseline.objects.update_or_create(**lookup, defaults=fields)
        except IntegrityError:
            HumanBaseline.objects.filter(**lookup).update(**fields)
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


def _payload(fields: dict[str, Any], **ident: Any) -> dict[str, Any]:
    """The API shape of one score from its stored columns (``fields``) and identity."""
    counted = fields["frames_counted"]
    small = fields["small_counted"]
    return {
        **ident,
        "gt_source": fields["gt_source"],
        "tolerance": fields["tolerance"],
        "class_name": fields["class_name"] or None,
        "label": fields["label"] or None,
        "not_scored": fields["not_scored"],
        "frames_counted": counted,
        "frames_hit": fields["frames_hit"],
        "spatial": fields["frames_hit"] / counted if counted else None,
        "small_counted": small,
        "small_hit": fields["small_hit"],
        "small": fields["small_hit"] / small if small else None,
        "energy": fields["energy_sum"] / counted if counted else None,
        "iou": fields["iou_sum"] / counted if counted else None,
        "temporal_hit": fields["temporal_hit"],
        "spacetime_hit": fields["spacetime_hit"],
        "sound_hit": fields["sound_hit"],
        "sparsity": fields["sparsity"],
        "error": fields["error"],
        "frames": fields["frames"],
    }


_STORED = (
    "gt_source", "tolerance", "class_name", "label", "not_scored", "frames_counted", "frames_hit",
    "small_counted", "small_hit", "energy_sum", "iou_sum", "temporal_hit", "spacetime_hit",
    "sound_hit", "sparsity", "error", "frames",
)  # fmt: skip


def score_payload(score: ExplanationScore, with_frames: bool = True) -> dict[str, Any]:
    annotator = None
    if score.assignment_id is not None and score.assignment is not None:
        a = score.assignment
        annotator = a.annotator.username if a.annotator_id else a.get_source_display()
    fields = {name: getattr(score, name) for name in _STORED}
    if not with_frames:
        fields["frames"] = []
    body = _payload(
        fields,
        id=score.pk,
        explanation=score.explanation_id,
        project=score.project_id,
        reference=score.reference,
        assignment=score.assignment_id,
        annotator=annotator,
    )
    body["stored"] = True
    body["computed_at"] = score.computed_at.isoformat() if score.computed_at else None
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
    """Scores of ``explanation`` in ``project`` at another tolerance, computed now (not stored)."""
    truth = video_truth(project, explanation.video, tolerance)
    if truth is None or truth.source == "none":
        return []
    out = []
    for item, fields in compute(prepare(explanation, truth)):
        body = _payload(
            fields,
            id=None,
            explanation=explanation.pk,
            project=project.pk,
            reference=item.kind,
            assignment=item.assignment_id,
            annotator=None,
        )
        body["stored"] = False
        body["computed_at"] = None
        out.append(body)
    return out


def verdicts(project: Project, explanation: Explanation) -> tuple[targets.Target, dict | None]:
    """The scoring target of ``explanation`` in ``project`` and its frame-by-frame verdicts
    against the consensus (the fields a stored consensus score has), computed by the same
    code as the stored scores; ``None`` when it is not scored there."""
    truth = video_truth(project, explanation.video)
    if truth is None:
        raise exceptions.NotFound(f"Video {explanation.video_id} is not in project {project.pk}.")
    items = [i for i in prepare(explanation, truth) if i.kind == Reference.CONSENSUS]
    target = truth.target(class_name_of(explanation))
    if not items or items[0].reference is None:
        return target, None
    [(_, fields)] = compute(items[:1])
    return target, fields
