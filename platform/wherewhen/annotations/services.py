"""Crowd annotation as plain functions: the task queue, drafts, submission, review, quality,
consensus ground truth and import/export. Views call these and stay thin.

Leases
    ``next_task`` gives an annotator an assignment with a lease (``Project.lease_minutes``,
    30 by default). Saving a draft renews it. A lease that runs out returns the slot to the
    pool: the assignment stops counting toward the video's ``k``, and saving or submitting it
    is refused (409) until the annotator gets it back with ``resume`` or ``next_task`` (their
    draft is still there) — which works only while the video still has a free slot.

Concurrency
    Every assignment is created while holding a lock on its task's row (``SELECT ... FOR
    UPDATE SKIP LOCKED`` on PostgreSQL), and the count of live assignments is taken under that
    lock, so two annotators can never both take the last slot. Requests of one annotator are
    serialized by locking their user row, so double clicks never give two tasks. On SQLite
    (no row locks) each ``next_task`` transaction starts with a write, which takes SQLite's
    single write lock and serializes the whole read-count-insert. A unique constraint on
    (task, annotator) backs this up in the database.
"""

from __future__ import annotations

import io
import json
import logging
import random
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import (
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from rest_framework import exceptions

from wherewhen.accounts.models import Role, User
from wherewhen.annotations import consensus as consensus_math
from wherewhen.annotations import formats
from wherewhen.annotations import labels as label_rules
from wherewhen.annotations.evidence import BaselinePair, LabelEvidence, VideoEvidence
from wherewhen.annotations.geometry import (
    SEGMENT_KINDS,
    InvalidAnnotation,
    VideoGeometry,
    clean_annotation,
    is_empty,
    track_boxes,
    track_shapes,
)
from wherewhen.annotations.labels import LabelChoice
from wherewhen.annotations.models import Assignment, Keyframe, Project, Segment, Task, Track
from wherewhen.videos.models import Dataset, Video

logger = logging.getLogger(__name__)

Status = Assignment.Status
Source = Assignment.Source

# Statuses that keep a slot of the video taken regardless of the lease.
HOLDING = (Status.SUBMITTED, Status.ACCEPTED, Status.REJECTED)
CANDIDATES_PER_TRY = 25
LOCK_TRIES = 8

# The public surface (the geometry helpers are re-exported for scoring and benchmarks).
__all__ = [
    "Conflict",
    "CvatImport",
    "ExportFile",
    "HOLDING",
    "InvalidAnnotation",
    "add_videos",
    "annotation_of",
    "BaselinePair",
    "LabelChoice",
    "LabelEvidence",
    "VideoEvidence",
    "assignments_visible_to",
    "can_review",
    "class_choices",
    "clean_annotation",
    "clean_for_task",
    "expire_leases",
    "export_assignment_cvat",
    "export_project",
    "geometry_of",
    "ground_truth_for_video",
    "import_cvat",
    "import_ground_truth",
    "live_q",
    "next_task",
    "open_projects_for",
    "project_progress",
    "project_quality",
    "project_labels",
    "projects_visible_to",
    "refresh_task_quality",
    "release",
    "request_more_annotators",
    "resume",
    "review",
    "save_draft",
    "set_gold_answer",
    "submit",
    "task_labels",
    "tasks_visible_to",
    "track_boxes",
    "track_shapes",
    "user_can_view_video",
    "video_evidence",
    "with_content",
    "work_available",
    "write_annotation",
]


class Conflict(exceptions.APIException):
    """The request is fine but the assignment's state does not allow it (409)."""

    status_code = 409
    default_detail = "This cannot be done in the task's current state."
    default_code = "conflict"


def _invalid(error: InvalidAnnotation) -> exceptions.ValidationError:
    return exceptions.ValidationError(error.errors)


# ---------------------------------------------------------------------------------------------
# who sees what


def can_review(user: User) -> bool:
    """Reviewers review every project's annotations, researchers those of their projects."""
    return bool(user.is_superuser or user.role in (Role.REVIEWER, Role.RESEARCHER))


def projects_visible_to(user: User) -> QuerySet[Project]:
    """Researchers see their own projects, reviewers every project, annotators none (they work
    through the task queue and their own assignments)."""
    qs = Project.objects.all()
    if user.is_superuser or user.role == Role.REVIEWER:
        return qs
    if user.role == Role.RESEARCHER:
        return qs.filter(owner=user)
    return qs.none()


def tasks_visible_to(user: User) -> QuerySet[Task]:
    return Task.objects.filter(project__in=projects_visible_to(user))


def assignments_visible_to(user: User) -> QuerySet[Assignment]:
    """Annotators see only their own assignments; researchers those of their projects;
    reviewers every crowd assignment that has been submitted (and its review)."""
    qs = Assignment.objects.select_related("task__project", "task__video", "annotator", "reviewer")
    if user.is_superuser:
        return qs
    if user.role == Role.RESEARCHER:
        return qs.filter(task__project__owner=user)
    if user.role == Role.REVIEWER:
        return qs.filter(source=Source.CROWD, status__in=HOLDING)
    if user.role == Role.ANNOTATOR:
        return qs.filter(annotator=user)
    return qs.none()


def open_projects_for(annotator: User) -> QuerySet[Project]:
    """Active projects an annotator may work on (nobody listed on a project: everyone)."""
    return (
        Project.objects.filter(active=True)
        .filter(
            Q(annotators=annotator)
            | ~Exists(Project.annotators.through.objects.filter(project_id=OuterRef("pk")))
        )
        .distinct()
    )


def user_can_view_video(user: User, video: Video) -> bool:
    """Whether annotation work lets ``user`` watch ``video``: their own assignment on it, a
    project of theirs containing it, or a reviewer's review of it."""
    if not user.is_authenticated:
        return False
    if user.is_superuser or video.owner_id == user.id:
        return True
    tasks = Task.objects.filter(video=video)
    if user.role == Role.ANNOTATOR:
        return Assignment.objects.filter(task__in=tasks, annotator=user).exists()
    if user.role == Role.RESEARCHER:
        return tasks.filter(project__owner=user).exists()
    if user.role == Role.REVIEWER:
        return Assignment.objects.filter(
            task__in=tasks, source=Source.CROWD, status__in=HOLDING
        ).exists()
    return False


# ---------------------------------------------------------------------------------------------
# geometry of a video


def geometry_of(video: Video) -> VideoGeometry:
    """Width, height and frame timestamps of a video (timestamps from ``frame_timestamps``,
    else evenly spaced from ``fps`` and ``frame_count``)."""
    timestamps = tuple(float(t) for t in (video.frame_timestamps or []))
    if not timestamps and video.frame_count and video.fps:
        timestamps = tuple(i / video.fps for i in range(video.frame_count))
    return VideoGeometry(
        width=int(video.width or 0),
        height=int(video.height or 0),
        timestamps=timestamps,
        duration=float(video.duration or 0.0),
    )


def _check_annotatable(video: Video) -> None:
    if video.status != Video.Status.READY:
        raise exceptions.ValidationError(
            {"videos": [f"Video {video.pk} ({video.title}) is not ready yet ({video.status})."]}
        )
    geometry = geometry_of(video)
    if not geometry.width or not geometry.height or not geometry.n_frames:
        raise exceptions.ValidationError(
            {"videos": [f"Video {video.pk} ({video.title}) has no size or frames yet."]}
        )


def clean_for_task(task: Task, payload: object, *, allow_instant_segments: bool = False) -> dict:
    """Validate an annotation of ``task``'s video (raises a DRF ValidationError: 400)."""
    try:
        return clean_annotation(
            payload,
            geometry_of(task.video),
            labels=task_labels(task),
            default_label=task.label,
            allow_instant_segments=allow_instant_segments,
        )
    except InvalidAnnotation as error:
        raise _invalid(error) from None


def task_labels(task: Task) -> list[str]:
    labels = list(task.project.labels or [])
    if labels and task.label and task.label not in labels:
        labels.append(task.label)
    return labels


# ---------------------------------------------------------------------------------------------
# projects and tasks


def add_videos(
    project: Project,
    videos: list[Video] | None = None,
    dataset: Dataset | None = None,
    *,
    label: str = "",
    gold: bool = False,
) -> list[Task]:
    """Add videos (and every video of a dataset) to a project; videos already in it are left
    as they are. The class to localize is ``label``, else the video's own label, else the
    project's first label."""
    chosen: dict[int, Video] = {v.pk: v for v in videos or []}
    if dataset is not None:
        chosen.update({v.pk: v for v in dataset.videos.all()})
    if not chosen:
        raise exceptions.ValidationError({"videos": ["Choose at least one video or a dataset."]})
    for video in chosen.values():
        _check_annotatable(video)
    labels = list(project.labels or [])
    created = []
    with transaction.atomic():
        existing = set(project.tasks.filter(video__in=chosen).values_list("video_id", flat=True))
        for video in sorted(chosen.values(), key=lambda v: v.pk):
            if video.pk in existing:
                continue
            task_label = label or video.label or (labels[0] if labels else "")
            if not task_label:
                raise exceptions.ValidationError(
                    {"label": [f"Say which class to localize in video {video.pk} ({video.title})."]}
                )
            if labels and task_label not in labels:
                raise exceptions.ValidationError(
                    {
                        "label": [
                            f"'{task_label}' is not one of the project's labels ({', '.join(labels)})."
                        ]
                    }
                )
            created.append(
                Task.objects.create(project=project, video=video, label=task_label, is_gold=gold)
            )
    return created


def request_more_annotators(task: Task, count: int = 1) -> Task:
    """Let ``count`` more annotators work on a video (up to the project's ``max_overlap``)."""
    with transaction.atomic():
        task = Task.objects.select_for_update().select_related("project").get(pk=task.pk)
        room = task.project.max_overlap - task.required
        if room <= 0:
            raise Conflict(
                f"This video already gets the most annotators the project allows ({task.project.max_overlap})."
            )
        task.extra_overlap += min(count, room)
        task.save(update_fields=["extra_overlap"])
    return task


# ---------------------------------------------------------------------------------------------
# the task queue


def live_q(now: datetime) -> Q:
    """Assignments that hold a slot of their video: crowd work that is submitted, accepted,
    rejected (back with its annotator) or in progress under a lease that has not run out."""
    return Q(source=Source.CROWD) & (
        Q(status__in=HOLDING) | Q(status=Status.IN_PROGRESS, lease_expires_at__gt=now)
    )


def _lease_end(project: Project, now: datetime) -> datetime:
    return now + timedelta(minutes=project.lease_minutes)


def expire_leases(now: datetime | None = None) -> int:
    """Mark assignments whose lease ran out as expired (their drafts stay)."""
    now = now or timezone.now()
    return Assignment.objects.filter(status=Status.IN_PROGRESS, lease_expires_at__lte=now).update(
        status=Status.EXPIRED
    )


def _lock_annotator(annotator: User) -> None:
    """Serialize one annotator's queue requests. On SQLite the UPDATE also takes the database's
    write lock first thing in the transaction, which serializes every queue transaction."""
    if connection.features.has_select_for_update:
        list(User.objects.select_for_update().filter(pk=annotator.pk).values_list("pk", flat=True))
    else:
        User.objects.filter(pk=annotator.pk).update(role=F("role"))


def next_task(
    annotator: User, project: Project | None = None, now: datetime | None = None
) -> Assignment | None:
    """The annotator's next assignment, or None when there is nothing for them.

    In order: their own assignment in progress (lease renewed), one a reviewer sent back to
    them, a gold item when one is due (the first task and then every ``gold_every``-th), then a
    video they have not done whose live assignments are fewer than its ``k``, fullest first so
    videos get finished (and reviewed) early. Safe to call concurrently (see the module doc).
    """
    if annotator.role != Role.ANNOTATOR:
        raise exceptions.PermissionDenied("Only annotators get annotation tasks.")
    now = now or timezone.now()
    expire_leases(now)
    if project is not None:
        if not open_projects_for(annotator).filter(pk=project.pk).exists():
            raise exceptions.PermissionDenied("This project is not open to you.")
        projects = [project]
    else:
        projects = list(open_projects_for(annotator).order_by("created_at", "id"))
    for attempt in range(1, 4):
        try:
            with transaction.atomic():
                _lock_annotator(annotator)
                return _next_task_locked(annotator, projects, now)
        except IntegrityError:
            # The unique (task, annotator) constraint caught a race the locks did not.
            logger.warning("next_task: integrity error on attempt %d, retrying", attempt)
        except OperationalError as error:
            # A deadlock PostgreSQL broke (not expected, see _take_slot): retry.
            if getattr(error.__cause__, "sqlstate", None) != "40P01" or attempt == 3:
                raise
            logger.warning("next_task: deadlock on attempt %d, retrying", attempt)
    return None


def _mine(annotator: User, projects: list[Project]) -> QuerySet[Assignment]:
    return Assignment.objects.filter(
        annotator=annotator, task__project__in=projects
    ).select_related("task__project", "task__video")


def _next_task_locked(annotator: User, projects: list[Project], now: datetime) -> Assignment | None:
    mine = _mine(annotator, projects)
    current = (
        mine.filter(status=Status.IN_PROGRESS, lease_expires_at__gt=now)
        .order_by("lease_expires_at", "id")
        .first()
    )
    if current is not None:
        current.lease_expires_at = _lease_end(current.task.project, now)
        current.save(update_fields=["lease_expires_at"])
        return current
    returned = mine.filter(status=Status.REJECTED).order_by("reviewed_at", "id").first()
    if returned is not None:
        return _reopen(returned, now)
    for project in projects:
        assignment = _gold_if_due(annotator, project, now) or _take_slot(annotator, project, now)
        if assignment is not None:
            return assignment
    return None


def _reopen(assignment: Assignment, now: datetime) -> Assignment:
    assignment.status = Status.IN_PROGRESS
    assignment.lease_expires_at = _lease_end(assignment.task.project, now)
    assignment.save(update_fields=["status", "lease_expires_at"])
    return assignment


def _start(task: Task, annotator: User, now: datetime) -> Assignment:
    """Create the annotator's assignment on ``task``, or bring back their expired one (with its
    draft). The caller holds whatever lock makes this safe."""
    assignment = Assignment.objects.filter(task=task, annotator=annotator).first()
    if assignment is None:
        return Assignment.objects.create(
            task=task,
            annotator=annotator,
            source=Source.CROWD,
            status=Status.IN_PROGRESS,
            lease_expires_at=_lease_end(task.project, now),
        )
    return _reopen(assignment, now)


def _gold_if_due(annotator: User, project: Project, now: datetime) -> Assignment | None:
    if not project.gold_every:
        return None
    done = Assignment.objects.filter(annotator=annotator, task__project=project).exclude(
        status=Status.EXPIRED
    )
    gold_done = done.filter(task__is_gold=True).count()
    if gold_done * project.gold_every > done.count():
        return None
    has_answer = Assignment.objects.filter(task=OuterRef("pk"), source=Source.GOLD)
    task = (
        Task.objects.filter(project=project, is_gold=True)
        .filter(Exists(has_answer))
        .exclude(Exists(done.filter(task=OuterRef("pk"))))
        .select_related("project", "video")
        .order_by("id")
        .first()
    )
    return _start(task, annotator, now) if task is not None else None


def _candidate_ids(annotator: User, project: Project, now: datetime) -> list[int]:
    live_count = (
        Assignment.objects.filter(task=OuterRef("pk"))
        .filter(live_q(now))
        .order_by()
        .values("task")
        .annotate(n=Count("id"))
        .values("n")
    )
    mine_live = Assignment.objects.filter(task=OuterRef("pk"), annotator=annotator).filter(
        live_q(now)
    )
    return list(
        Task.objects.filter(project=project, is_gold=False)
        .annotate(
            live=Coalesce(Subquery(live_count, output_field=IntegerField()), Value(0)),
            needed=F("project__overlap") + F("extra_overlap"),
        )
        .filter(live__lt=F("needed"))
        .exclude(Exists(mine_live))
        .order_by("-live", "id")
        .values_list("id", flat=True)[:CANDIDATES_PER_TRY]
    )


def _try_take(task: Task, annotator: User, now: datetime) -> Assignment | None:
    """With the task's row locked: take a slot if one is free and the annotator has none."""
    slots = Assignment.objects.filter(task=task).filter(live_q(now))
    if slots.filter(annotator=annotator).exists() or slots.count() >= task.required:
        return None
    return _start(task, annotator, now)


def _take_slot(annotator: User, project: Project, now: datetime) -> Assignment | None:
    """Take a free slot of a regular video. Each try runs in a savepoint: locks on rows that
    turn out to be full are let go when it rolls back, so a request only ever holds its own
    user row and the one task row it takes, and waiting requests cannot deadlock."""
    skip_locked = connection.features.has_select_for_update_skip_locked
    for attempt in range(LOCK_TRIES):
        ids = _candidate_ids(annotator, project, now)
        if not ids:
            return None
        savepoint = transaction.savepoint()
        locked = Task.objects.filter(id__in=ids).select_related("project", "video")
        if skip_locked:
            locked = locked.select_for_update(skip_locked=True, of=("self",))
        by_id = {task.id: task for task in locked}
        for task_id in ids:
            task = by_id.get(task_id)
            if task is not None and (assignment := _try_take(task, annotator, now)):
                transaction.savepoint_commit(savepoint)
                return assignment
        transaction.savepoint_rollback(savepoint)
        if not skip_locked:
            return None  # SQLite: the transaction is serialized, so the counts were exact.
        if not by_id:  # every candidate was being taken by someone else: back off a little
            time.sleep(0.005 * (attempt + 1) * (1 + random.random()))
    # Still nothing: wait for the candidates' rows one at a time, taking the first with room.
    for task_id in _candidate_ids(annotator, project, now):
        savepoint = transaction.savepoint()
        task = (
            Task.objects.select_for_update(of=("self",))
            .select_related("project", "video")
            .get(pk=task_id)
        )
        if assignment := _try_take(task, annotator, now):
            transaction.savepoint_commit(savepoint)
            return assignment
        transaction.savepoint_rollback(savepoint)
    return None


def work_available(annotator: User, project: Project, now: datetime | None = None) -> bool:
    """Whether ``next_task`` would find something for the annotator in ``project`` (a cheap
    check for the queue page; ``next_task`` decides for real)."""
    now = now or timezone.now()
    mine = Assignment.objects.filter(annotator=annotator, task__project=project)
    if mine.filter(
        Q(status=Status.REJECTED) | Q(status=Status.IN_PROGRESS, lease_expires_at__gt=now)
    ).exists():
        return True
    return bool(_candidate_ids(annotator, project, now)[:1])


def _own_assignment_locked(assignment_id: int, user: User) -> Assignment:
    """The assignment with its row locked, if it is ``user``'s (403 otherwise, 404 if none)."""
    assignment = (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("task__project", "task__video")
        .filter(pk=assignment_id)
        .first()
    )
    if assignment is None:
        raise exceptions.NotFound("There is no such assignment.")
    if assignment.annotator_id != user.id:
        raise exceptions.PermissionDenied("This assignment belongs to another annotator.")
    return assignment


def _require_lease(assignment: Assignment, now: datetime) -> None:
    if assignment.status in (Status.SUBMITTED, Status.ACCEPTED):
        raise Conflict("This task has already been submitted.")
    if assignment.status == Status.REJECTED:
        return  # back with its annotator: their slot is held, no lease needed
    if assignment.status == Status.EXPIRED or (
        assignment.lease_expires_at is None or assignment.lease_expires_at <= now
    ):
        raise Conflict(
            "Your lease on this task expired and it went back to the pool. "
            "Open it again to continue (your draft is kept) if it is still free."
        )


def resume(assignment_id: int, user: User, now: datetime | None = None) -> Assignment:
    """Continue an assignment: renew a live lease, reopen one sent back by a reviewer, or take
    back an expired one when its video still has a free slot."""
    now = now or timezone.now()
    with transaction.atomic():
        assignment = _own_assignment_locked(assignment_id, user)
        if assignment.status in (Status.SUBMITTED, Status.ACCEPTED):
            raise Conflict("This task has already been submitted.")
        if assignment.status == Status.IN_PROGRESS and assignment.lease_expires_at > now:
            assignment.lease_expires_at = _lease_end(assignment.task.project, now)
            assignment.save(update_fields=["lease_expires_at"])
            return assignment
        if assignment.status == Status.REJECTED:
            return _reopen(assignment, now)
        # Expired: only if a slot is still free (locking the task as next_task does).
        task = (
            Task.objects.select_for_update(of=("self",))
            .select_related("project", "video")
            .get(pk=assignment.task_id)
        )
        taken = (
            Assignment.objects.filter(task=task)
            .filter(live_q(now))
            .exclude(pk=assignment.pk)
            .count()
        )
        if not task.is_gold and taken >= task.required:
            raise Conflict("Your lease expired and this video has been given to other annotators.")
        return _reopen(assignment, now)


def release(assignment_id: int, user: User, now: datetime | None = None) -> Assignment:
    """Give an assignment in progress back to the pool (its draft is kept)."""
    now = now or timezone.now()
    with transaction.atomic():
        assignment = _own_assignment_locked(assignment_id, user)
        if assignment.status != Status.IN_PROGRESS:
            raise Conflict("Only a task in progress can be given back.")
        assignment.status = Status.EXPIRED
        assignment.lease_expires_at = now
        assignment.save(update_fields=["status", "lease_expires_at"])
        return assignment


def save_draft(
    assignment_id: int,
    user: User,
    payload: object,
    version: int | None = None,
    now: datetime | None = None,
) -> Assignment:
    """Autosave: store the draft (validated like a submission), bump ``version`` and renew the
    lease. ``version`` is the version the client last saw; a different stored version means
    another window saved meanwhile, and the save is refused (409) instead of overwriting it."""
    now = now or timezone.now()
    with transaction.atomic():
        assignment = _own_assignment_locked(assignment_id, user)
        _require_lease(assignment, now)
        if version is not None and version != assignment.version:
            raise Conflict(
                "This task was saved from another window meanwhile. Reload it to continue."
            )
        cleaned = clean_for_task(assignment.task, payload)
        assignment.draft = cleaned
        assignment.version += 1
        assignment.draft_saved_at = now
        if assignment.status == Status.IN_PROGRESS:
            assignment.lease_expires_at = _lease_end(assignment.task.project, now)
        assignment.save(update_fields=["draft", "version", "draft_saved_at", "lease_expires_at"])
        return assignment


def submit(
    assignment_id: int,
    user: User,
    payload: object | None = None,
    version: int | None = None,
    now: datetime | None = None,
) -> Assignment:
    """Validate and store the annotation (``payload``, or the saved draft when None). It goes to
    review, or is accepted at once when the project says so."""
    now = now or timezone.now()
    with transaction.atomic():
        assignment = _own_assignment_locked(assignment_id, user)
        _require_lease(assignment, now)
        if version is not None and version != assignment.version:
            raise Conflict(
                "This task was saved from another window meanwhile. Reload it to continue."
            )
        task = assignment.task
        cleaned = clean_for_task(task, assignment.draft if payload is None else payload)
        if is_empty(cleaned):
            raise exceptions.ValidationError(
                {
                    "detail": [
                        "Nothing to submit: draw at least one box or mark when the event happens."
                    ]
                }
            )
        write_annotation(assignment, cleaned)
        assignment.draft = cleaned
        assignment.version += 1
        assignment.draft_saved_at = now
        assignment.submitted_at = now
        assignment.lease_expires_at = None
        assignment.reviewer = None
        assignment.reviewed_at = None
        if task.project.auto_accept:
            assignment.status = Status.ACCEPTED
            assignment.reviewed_at = now
        else:
            assignment.status = Status.SUBMITTED
        assignment.save()
        if assignment.status == Status.ACCEPTED:
            refresh_task_quality(task)
        return assignment


def review(
    assignment_id: int,
    reviewer: User,
    decision: str,
    comment: str = "",
    now: datetime | None = None,
) -> Assignment:
    """Accept or reject a submitted annotation; a rejection (which needs a comment) goes back
    to its annotator."""
    now = now or timezone.now()
    if decision not in ("accept", "reject"):
        raise exceptions.ValidationError({"decision": ["Choose accept or reject."]})
    comment = (comment or "").strip()
    if decision == "reject" and not comment:
        raise exceptions.ValidationError(
            {"comment": ["Say what to fix: a rejection needs a comment for the annotator."]}
        )
    with transaction.atomic():
        if not can_review(reviewer):
            raise exceptions.PermissionDenied("Only reviewers and researchers review annotations.")
        visible = assignments_visible_to(reviewer)
        assignment = (
            Assignment.objects.select_for_update(of=("self",))
            .select_related("task__project", "task__video")
            .filter(pk=assignment_id)
            .first()
        )
        if assignment is None or not visible.filter(pk=assignment_id).exists():
            raise exceptions.NotFound("There is no such annotation to review.")
        if assignment.annotator_id == reviewer.id:
            raise exceptions.PermissionDenied("You cannot review your own annotation.")
        if assignment.status != Status.SUBMITTED:
            raise Conflict(
                f"Only submitted annotations can be reviewed; this one is {assignment.get_status_display().lower()}."
            )
        assignment.status = Status.ACCEPTED if decision == "accept" else Status.REJECTED
        assignment.reviewer = reviewer
        assignment.reviewed_at = now
        assignment.review_comment = comment
        assignment.save(update_fields=["status", "reviewer", "reviewed_at", "review_comment"])
        if decision == "accept":
            refresh_task_quality(assignment.task)
        return assignment


# ---------------------------------------------------------------------------------------------
# stored annotations


def write_annotation(assignment: Assignment, cleaned: dict) -> None:
    """Replace an assignment's stored tracks, keyframes and segments with ``cleaned``."""
    assignment.tracks.all().delete()
    assignment.segments.all().delete()
    keyframes = []
    for order, track in enumerate(cleaned["tracks"]):
        row = Track.objects.create(assignment=assignment, label=track["label"], order=order)
        keyframes.extend(
            Keyframe(
                track=row,
                frame=kf["frame"],
                x0=kf["x0"],
                y0=kf["y0"],
                x1=kf["x1"],
                y1=kf["y1"],
                outside=kf["outside"],
                occluded=kf["occluded"],
                attributes=kf.get("attributes") or {},
            )
            for kf in track["keyframes"]
        )
    Keyframe.objects.bulk_create(keyframes)
    Segment.objects.bulk_create(
        Segment(
            assignment=assignment,
            kind=s["kind"],
            label=s.get("label") or "",
            start=s["start"],
            end=s["end"],
        )
        for s in cleaned["segments"]
    )


def with_content(qs: QuerySet[Assignment]) -> QuerySet[Assignment]:
    return qs.prefetch_related(
        Prefetch("tracks", queryset=Track.objects.prefetch_related("keyframes")), "segments"
    )


def _keyframe_dict(kf: Keyframe) -> dict:
    out = {
        "frame": kf.frame,
        "x0": kf.x0,
        "y0": kf.y0,
        "x1": kf.x1,
        "y1": kf.y1,
        "outside": kf.outside,
        "occluded": kf.occluded,
    }
    if kf.attributes:
        # As clean_annotation gives it: only when the box has some, names in order.
        out["attributes"] = {name: kf.attributes[name] for name in sorted(kf.attributes)}
    return out


def annotation_of(assignment: Assignment) -> dict:
    """The stored (submitted) annotation: ``{"tracks": [...], "segments": [...]}``, in the
    shape :func:`clean_annotation` gives (a keyframe's ``attributes`` only when it has some)."""
    return {
        "tracks": [
            {
                "label": track.label,
                "keyframes": [_keyframe_dict(kf) for kf in track.keyframes.all()],
            }
            for track in assignment.tracks.all()
        ],
        "segments": [
            {"kind": s.kind, "label": s.label, "start": s.start, "end": s.end}
            for s in sorted(
                assignment.segments.all(),
                key=lambda s: (SEGMENT_KINDS.index(s.kind), s.label, s.start),
            )
        ],
    }


def import_ground_truth(
    project: Project,
    video: Video,
    tracks: list[dict],
    segments: list[dict],
    accepted: bool = True,
    *,
    label: str = "",
) -> Assignment:
    """Store known boxes and segments of a video as an imported annotation.

    ``tracks``: ``[{"label", "keyframes": [{"frame", "x0", "y0", "x1", "y1", "outside"?,
    "occluded"?}]}]``; ``segments``: ``[{"kind": "visual"|"sound", "start", "end"}]`` in
    seconds (``start == end`` is accepted for a known instant). The video joins the project
    if it is not in it (``label``: its class, else the video's label). With ``accepted`` the
    annotation counts toward the consensus at once; otherwise it waits for review. Raises a
    DRF ``ValidationError`` (nothing written) when the data breaks the rules.
    """
    with transaction.atomic():
        task = (
            Task.objects.filter(project=project, video=video)
            .select_related("project", "video")
            .first()
        )
        if task is None:
            task = add_videos(project, [video], label=label)[0]
            task = Task.objects.select_related("project", "video").get(pk=task.pk)
        cleaned = clean_for_task(
            task, {"tracks": tracks, "segments": segments}, allow_instant_segments=True
        )
        now = timezone.now()
        assignment = Assignment.objects.create(
            task=task,
            source=Source.IMPORT,
            status=Status.ACCEPTED if accepted else Status.SUBMITTED,
            draft=cleaned,
            submitted_at=now,
            reviewed_at=now if accepted else None,
        )
        write_annotation(assignment, cleaned)
        if accepted:
            refresh_task_quality(task)
        return assignment


def set_gold_answer(task: Task, payload: object) -> Assignment:
    """Make ``task`` a gold item whose known answer is ``payload`` (replacing an earlier one)."""
    with transaction.atomic():
        cleaned = clean_for_task(task, payload, allow_instant_segments=True)
        if is_empty(cleaned):
            raise exceptions.ValidationError(
                {"detail": ["A gold answer needs at least one box or segment."]}
            )
        Assignment.objects.filter(task=task, source=Source.GOLD).delete()
        now = timezone.now()
        assignment = Assignment.objects.create(
            task=task,
            source=Source.GOLD,
            status=Status.ACCEPTED,
            draft=cleaned,
            submitted_at=now,
            reviewed_at=now,
        )
        write_annotation(assignment, cleaned)
        if not task.is_gold:
            task.is_gold = True
            task.save(update_fields=["is_gold"])
        return assignment


# ---------------------------------------------------------------------------------------------
# consensus, agreement, quality


def _accepted(task: Task) -> list[Assignment]:
    qs = Assignment.objects.filter(
        task=task, status=Status.ACCEPTED, source__in=(Source.CROWD, Source.IMPORT)
    ).order_by("submitted_at", "id")
    return list(with_content(qs))


def refresh_task_quality(task: Task) -> Task:
    """Recompute a video's agreement from its accepted annotations; flag it when agreement is
    below the project's threshold, and once it has all its annotators let one more annotator
    work on it (up to ``max_overlap``)."""
    task = Task.objects.select_related("project", "video").get(pk=task.pk)
    project = task.project
    annotations = [annotation_of(a) for a in _accepted(task)]
    score = consensus_math.agreement(annotations, geometry_of(task.video).n_frames)["overall"]
    flagged = score is not None and score < project.agreement_threshold
    extra = task.extra_overlap
    crowd_accepted = Assignment.objects.filter(
        task=task, status=Status.ACCEPTED, source=Source.CROWD
    ).count()
    if (
        flagged
        and not task.is_gold
        and crowd_accepted >= task.required
        and task.required < project.max_overlap
    ):
        extra += 1
    Task.objects.filter(pk=task.pk).update(agreement=score, flagged=flagged, extra_overlap=extra)
    task.agreement, task.flagged, task.extra_overlap = score, flagged, extra
    return task


def _task_of(project: Project, video: Video) -> Task:
    task = (
        Task.objects.select_related("project", "video").filter(project=project, video=video).first()
    )
    if task is None:
        raise exceptions.NotFound(f"Video {video.pk} is not in project {project.pk}.")
    return task


def _truth_annotations(task: Task) -> tuple[list[dict], str, list[Assignment]]:
    """What a video's ground truth is made of: (annotations, source, accepted assignments)."""
    accepted = _accepted(task)
    gold = with_content(Assignment.objects.filter(task=task, source=Source.GOLD)).first()
    if gold is not None:
        return [annotation_of(gold)], "gold", accepted
    annotations = [annotation_of(a) for a in accepted]
    return annotations, ("consensus" if annotations else "none"), accepted


def ground_truth_for_video(project: Project, video: Video, label: str | None = None) -> dict:
    """The ground truth pointing games score against, for one video of a project.

    Returns::

        {
          "project": int, "video": int, "task": int,
          "label": str,                      # the task's class (the label it localizes)
          "labels": [str, ...],              # labels that have evidence here (sorted)
          "width": int, "height": int,       # source display pixels (box coordinates)
          "fps": float | None, "duration": float | None, "n_frames": int,
          "source": "gold" | "consensus" | "none",
          "annotations": int,                # accepted annotations used (gold: 1)
          "agreement": float | None,         # mean pairwise agreement (None below 2)
          "flagged": bool,                   # agreement below the project's threshold
          "frames": [                        # every frame of the playback file, in order
            {"frame": int, "time": float,    # index into frame_timestamps, and its seconds
             "boxes": [[x0, y0, x1, y1], ...],    # closed rectangles; [] = no box
             "labels": [str, ...]},               # the label of each box, in the same order
            ...
          ],
          "when": {"visual": [[start, end], ...], "sound": [[start, end], ...]},  # seconds
          "when_labels": {"visual": [str, ...], "sound": [str, ...]},  # label of each segment
        }

    A gold item's known answer is its ground truth; otherwise the consensus of its accepted
    annotations (crowd and imported), computed label by label (see
    :mod:`wherewhen.annotations.consensus`). With ``label``, only that label's evidence is
    listed (``labels`` then says whether it has any).
    """
    task = _task_of(project, video)
    geometry = geometry_of(video)
    annotations, source, _accepted_rows = _truth_annotations(task)
    fused = consensus_math.consensus(annotations, geometry.n_frames)
    if label is not None:
        fused = {label: fused[label]} if label in fused else {}
    score = consensus_math.agreement(annotations, geometry.n_frames)["overall"]
    frames = [
        {"frame": i, "time": t, "boxes": [], "labels": []}
        for i, t in enumerate(geometry.timestamps)
    ]
    when: dict[str, list] = {kind: [] for kind in SEGMENT_KINDS}
    when_labels: dict[str, list] = {kind: [] for kind in SEGMENT_KINDS}
    present = []
    for name in sorted(fused):
        evidence = fused[name]
        has = False
        for i, boxes in enumerate(evidence["frames"]):
            for box in boxes:
                frames[i]["boxes"].append(list(box))
                frames[i]["labels"].append(name)
                has = True
        for kind, segments in evidence["when"].items():
            for segment in segments:
                when[kind].append(list(segment))
                when_labels[kind].append(name)
                has = True
        if has:
            present.append(name)
    return {
        "project": project.pk,
        "video": video.pk,
        "task": task.pk,
        "label": task.label,
        "labels": present,
        "width": geometry.width,
        "height": geometry.height,
        "fps": video.fps,
        "duration": video.duration,
        "n_frames": geometry.n_frames,
        "source": source,
        "annotations": len(annotations),
        "agreement": score,
        "flagged": task.flagged,
        "frames": frames,
        "when": when,
        "when_labels": when_labels,
    }


def project_labels(project: Project) -> list[str]:
    """The project's label set, then its tasks' labels not in it."""
    labels = list(project.labels or [])
    for label in project.tasks.values_list("label", flat=True).distinct().order_by("label"):
        if label not in labels:
            labels.append(label)
    return labels


def video_evidence(project: Project, video: Video) -> VideoEvidence | None:
    """The references of ``video`` in ``project``: its ground truth label by label (a gold
    item's known answer, else the consensus of its accepted annotations) and every accepted
    annotation (crowd and imported). None when the video is not in the project. This is what
    scoring reads of annotations."""
    task = Task.objects.select_related("project", "video").filter(project=project, video=video)
    task = task.first()
    if task is None:
        return None
    geometry = geometry_of(video)
    annotations, source, accepted = _truth_annotations(task)
    fused = consensus_math.consensus(annotations, geometry.n_frames)
    known = project_labels(project)
    known += [label for label in sorted(fused) if label not in known]
    return VideoEvidence(
        project_id=project.pk,
        video_id=video.pk,
        task_label=task.label,
        source=source,
        width=geometry.width,
        height=geometry.height,
        times=geometry.timestamps,
        consensus=fused,
        annotations=[(a.pk, annotation_of(a)) for a in accepted] if source != "none" else [],
        known_labels=known,
        class_map=dict(project.class_map or {}),
    )


def class_choices(project: Project, class_names: list[str]) -> list[dict]:
    """How each class name maps to a label of ``project`` (for the class-map editor)."""
    known = project_labels(project)
    out = []
    for name in class_names:
        choice = label_rules.resolve(name, project.class_map or {}, known)
        out.append({"class_name": name, "label": choice.label, "explicit": choice.explicit})
    return out


def project_progress(project: Project, now: datetime | None = None) -> dict:
    """Counts for a researcher's progress view."""
    now = now or timezone.now()
    crowd = Assignment.objects.filter(task__project=project, source=Source.CROWD)
    counts = dict(crowd.values_list("status").annotate(n=Count("id")).order_by())
    live_in_progress = crowd.filter(status=Status.IN_PROGRESS, lease_expires_at__gt=now).count()
    tasks = project.tasks.filter(is_gold=False).annotate(
        accepted=Count(
            "assignments",
            filter=Q(assignments__status=Status.ACCEPTED, assignments__source=Source.CROWD),
        )
    )
    return {
        "videos": tasks.count(),
        "gold_items": project.tasks.filter(is_gold=True).count(),
        "videos_done": tasks.filter(
            accepted__gte=F("project__overlap") + F("extra_overlap")
        ).count(),
        "flagged": tasks.filter(flagged=True).count(),
        "in_progress": live_in_progress,
        "expired": counts.get(Status.EXPIRED, 0)
        + counts.get(Status.IN_PROGRESS, 0)
        - live_in_progress,
        "submitted": counts.get(Status.SUBMITTED, 0),
        "accepted": counts.get(Status.ACCEPTED, 0),
        "rejected": counts.get(Status.REJECTED, 0),
    }


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def project_quality(project: Project) -> dict:
    """Per annotator: work counts and accuracy on gold (box IoU, segment IoU); per video:
    accepted annotations, agreement and whether it is flagged."""
    tasks = list(project.tasks.select_related("video").order_by("id"))
    geometries = {t.pk: geometry_of(t.video) for t in tasks}
    gold_answers = {
        a.task_id: annotation_of(a)
        for a in with_content(Assignment.objects.filter(task__project=project, source=Source.GOLD))
    }
    crowd = with_content(
        Assignment.objects.filter(task__project=project, source=Source.CROWD)
        .select_related("annotator")
        .order_by("annotator_id", "id")
    )
    per_annotator: dict[int, dict] = {}
    for a in crowd:
        row = per_annotator.setdefault(
            a.annotator_id,
            {
                "annotator": {"id": a.annotator_id, "username": a.annotator.username},
                "in_progress": 0,
                "submitted": 0,
                "accepted": 0,
                "rejected": 0,
                "expired": 0,
                "gold_items": 0,
                "_box": [],
                "_segment": [],
            },
        )
        row[a.status] = row.get(a.status, 0) + 1
        if a.task_id in gold_answers and a.status in (
            Status.SUBMITTED,
            Status.ACCEPTED,
            Status.REJECTED,
        ):
            score = consensus_math.compare_to_reference(
                annotation_of(a), gold_answers[a.task_id], geometries[a.task_id].n_frames
            )
            row["gold_items"] += 1
            row["_box"].append(score["box_iou"])
            row["_segment"].append(score["segment_iou"])
    annotators = []
    for row in per_annotator.values():
        row["gold_box_iou"] = _mean(row.pop("_box"))
        row["gold_segment_iou"] = _mean(row.pop("_segment"))
        annotators.append(row)
    accepted = dict(
        Assignment.objects.filter(
            task__project=project, status=Status.ACCEPTED, source=Source.CROWD
        )
        .values_list("task")
        .annotate(n=Count("id"))
        .order_by()
    )
    videos = [
        {
            "task": t.pk,
            "video": t.video_id,
            "title": t.video.title,
            "is_gold": t.is_gold,
            "accepted": accepted.get(t.pk, 0),
            "required": t.required,
            "agreement": t.agreement,
            "flagged": t.flagged,
        }
        for t in tasks
    ]
    return {
        "annotators": annotators,
        "videos": videos,
        "agreement_threshold": project.agreement_threshold,
    }


# ---------------------------------------------------------------------------------------------
# import and export


def _cvat_meta(task: Task) -> formats.CvatMeta:
    geometry = geometry_of(task.video)
    return formats.CvatMeta(
        task_id=task.pk,
        name=task.video.title,
        n_frames=geometry.n_frames,
        width=geometry.width,
        height=geometry.height,
        labels=task_labels(task) or [task.label],
        source=task.video.original_name,
    )


def export_assignment_cvat(assignment: Assignment) -> str:
    """One annotation as CVAT for video 1.1 XML (the submitted content, else the draft)."""
    task = assignment.task
    content = annotation_of(assignment) if assignment.submitted_at else assignment.draft
    return formats.export_cvat_xml(
        content or {"tracks": [], "segments": []}, _cvat_meta(task), segment_label=task.label
    )


@dataclass
class CvatImport:
    """What :func:`import_cvat` stored, and its summary of the file (see
    :class:`wherewhen.annotations.formats.ImportSummary`)."""

    assignment: Assignment
    summary: dict


def import_cvat(
    project: Project, video: Video, data: bytes, target: str = "ground_truth"
) -> CvatImport:
    """Import a CVAT for video 1.1 file as accepted ground truth (``target="ground_truth"``) or
    as the known answer of a gold item (``target="gold"``).

    Every box the file lists is kept as it is on its frame, keyframe or not (see
    :mod:`wherewhen.annotations.formats`), with its label, flags and attributes; the summary says
    what was read and every change made to store it. A file that is malformed, is for another
    video size or length, or holds something that cannot be represented (other shapes, tags,
    rotated boxes, a label that is not the project's...) raises a ValidationError naming it, and
    nothing is written."""
    if target not in ("ground_truth", "gold"):
        raise exceptions.ValidationError({"target": ["Import as ground_truth or gold."]})
    task = (
        Task.objects.select_related("project", "video").filter(project=project, video=video).first()
    )
    if task is None:
        raise exceptions.ValidationError(
            {"video": ["Add the video to the project before importing into it."]}
        )
    geometry = geometry_of(video)
    try:
        parsed = formats.parse_cvat_xml(
            data,
            n_frames=geometry.n_frames,
            size=(geometry.width, geometry.height),
            labels=task_labels(task),
            default_label=task.label,
        )
    except formats.InvalidFile as error:
        raise exceptions.ValidationError({"file": [str(error)]}) from None
    annotation = parsed.annotation
    if target == "gold":
        assignment = set_gold_answer(task, annotation)
    else:
        assignment = import_ground_truth(
            project, video, annotation["tracks"], annotation["segments"]
        )
    return CvatImport(assignment, parsed.summary.as_dict())


@dataclass
class ExportFile:
    content: bytes
    content_type: str
    filename: str


def _records(project: Project, source: str) -> list[formats.VideoRecord]:
    tasks = list(project.tasks.select_related("video").order_by("id"))
    crowd = with_content(
        Assignment.objects.filter(task__project=project, status=Status.ACCEPTED)
        .exclude(source=Source.GOLD)
        .select_related("annotator")
        .order_by("task_id", "submitted_at", "id")
    )
    by_task: dict[int, list[Assignment]] = {}
    for a in crowd:
        by_task.setdefault(a.task_id, []).append(a)
    records = []
    for task in tasks:
        video = task.video
        geometry = geometry_of(video)
        record = formats.VideoRecord(
            video_id=video.pk,
            title=video.title,
            file_name=video.original_name,
            width=geometry.width,
            height=geometry.height,
            fps=video.fps,
            duration=video.duration,
            timestamps=geometry.timestamps,
            label=task.label,
        )
        if source in ("accepted", "all"):
            record.annotations = [
                (a.source, a.pk, a.annotator.username if a.annotator_id else "", annotation_of(a))
                for a in by_task.get(task.pk, [])
            ]
        if source in ("consensus", "all"):
            record.consensus = ground_truth_for_video(project, video)
        records.append(record)
    return records


def _categories(project: Project) -> list[str]:
    labels = list(project.labels or [])
    for label in project.tasks.values_list("label", flat=True).distinct().order_by("label"):
        if label not in labels:
            labels.append(label)
    return labels


def export_project(project: Project, fmt: str, source: str = "consensus") -> ExportFile:
    """A project's annotations as ``coco`` (JSON), ``csv`` or ``cvat`` (a zip with one CVAT for
    video 1.1 file per accepted annotation). ``source``: ``consensus`` (ground truth per video),
    ``accepted`` (every accepted annotation) or ``all`` (both)."""
    if source not in ("consensus", "accepted", "all"):
        raise exceptions.ValidationError({"source": ["Choose consensus, accepted or all."]})
    stem = f"project-{project.pk}"
    if fmt == "coco":
        info = {
            "description": project.name,
            "project": project.pk,
            "source": source,
            "exported_at": timezone.now().isoformat(),
        }
        body = formats.export_coco(_records(project, source), _categories(project), info)
        return ExportFile(
            json.dumps(body, indent=1).encode(), "application/json", f"{stem}-coco.json"
        )
    if fmt == "csv":
        return ExportFile(
            formats.export_csv(_records(project, source)).encode(),
            "text/csv; charset=utf-8",
            f"{stem}.csv",
        )
    if fmt == "cvat":
        buffer = io.BytesIO()
        accepted = Assignment.objects.filter(task__project=project, status=Status.ACCEPTED).exclude(
            source=Source.GOLD
        )
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for a in with_content(
                accepted.select_related("task__project", "task__video", "annotator")
            ).order_by("task_id", "id"):
                who = a.annotator.username if a.annotator_id else a.source
                archive.writestr(
                    f"video-{a.task.video_id}/{a.pk}-{who}.xml", export_assignment_cvat(a)
                )
        return ExportFile(buffer.getvalue(), "application/zip", f"{stem}-cvat.zip")
    raise exceptions.ValidationError({"type": ["Choose coco, csv or cvat."]})
