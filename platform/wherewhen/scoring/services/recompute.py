"""Keeping scores up to date: requests recorded when something changes, the recompute task's
work (only pairs whose key changed), human baselines, and whole-project recomputes."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from wherewhen.annotations.models import Project, Task
from wherewhen.core import tasking
from wherewhen.explanations.models import Explanation
from wherewhen.scoring.models import (
    ExplanationScore,
    HumanBaseline,
    ScoreRequest,
    ScoringSettings,
)
from wherewhen.scoring.services.compute import (
    SCORING_VERSION,
    Prepared,
    VideoTruth,
    _digest,
    compute,
    done_explanations,
    prepare,
    video_truth,
)
from wherewhen.scoring.services.config import parse_tolerance, settings_for
from wherewhen.scoring.services.provenance import PROVENANCE_FIELDS, provenance_fields
from wherewhen.videos.models import Video
from workers.metrics.grounding import (
    human_pointing_game,
)

log = logging.getLogger(__name__)


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


def projects_holding(video_id: int) -> list[int]:
    return list(
        Task.objects.filter(video_id=video_id).values_list("project_id", flat=True).distinct()
    )


def pending_requests(project: Project) -> int:
    return ScoreRequest.objects.filter(project=project).count()


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
        (s.explanation_id, s.reference, s.assignment_id): (
            s.pk,
            s.key,
            {f: getattr(s, f) for f in PROVENANCE_FIELDS},
        )
        for s in scores.only(
            "pk", "explanation_id", "reference", "assignment_id", "key", *PROVENANCE_FIELDS
        )
    }
    todo: list[Prepared] = []
    seen = set()
    provenance: dict[int, dict] = {}
    for explanation in explanations:
        provenance[explanation.pk] = provenance_fields(
            explanation, truth.evidence, video.content_hash
        )
        for item in prepare(explanation, truth):
            ident = (explanation.pk, item.kind, item.assignment_id)
            seen.add(ident)
            if ident in existing and existing[ident][1] == item.key:
                outcome.unchanged += 1
                if existing[ident][2] != provenance[explanation.pk]:
                    # same numbers from new inputs (e.g. one more annotation that did not move
                    # the consensus): the score is current again, only its provenance changes
                    ExplanationScore.objects.filter(pk=existing[ident][0]).update(
                        **provenance[explanation.pk]
                    )
            else:
                todo.append(item)
    for item, fields in compute(todo):
        _save(project, item, {**fields, **provenance[item.explanation.pk]})
        outcome.computed += 1
        outcome.pairs.append([item.explanation.pk, item.kind, item.assignment_id])
    gone = [pk for ident, (pk, _key, _prov) in existing.items() if ident not in seen]
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
