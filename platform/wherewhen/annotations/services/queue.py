"""The annotator's side: the task queue, leases, drafts and submission.

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

import logging
import random
import time
from datetime import datetime, timedelta

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import Count, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from wherewhen.accounts.models import User
from wherewhen.annotations.geometry import is_empty
from wherewhen.annotations.models import Assignment, Project, Task
from wherewhen.annotations.services.access import HOLDING, open_projects_for, takes_tasks
from wherewhen.annotations.services.content import clean_for_task, write_annotation
from wherewhen.annotations.services.quality import refresh_task_quality
from wherewhen.core.exceptions import Conflict, Invalid, NotAllowed, NotFound

logger = logging.getLogger(__name__)

Status = Assignment.Status
Source = Assignment.Source

CANDIDATES_PER_TRY = 25
LOCK_TRIES = 8


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
    if not takes_tasks(annotator):
        raise NotAllowed("Only annotators get annotation tasks.")
    now = now or timezone.now()
    expire_leases(now)
    if project is not None:
        if not open_projects_for(annotator).filter(pk=project.pk).exists():
            raise NotAllowed("This project is not open to you.")
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
        raise NotFound("There is no such assignment.")
    if assignment.annotator_id != user.id:
        raise NotAllowed("This assignment belongs to another annotator.")
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
            raise Invalid(
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
