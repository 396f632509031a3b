"""The annotator's work on an assignment they hold: resume, release, drafts and submission.

Every change locks the assignment's row first (and ``resume`` the annotator's user row before
it, as :func:`~wherewhen.annotations.services.queue.next_task` does), so two windows of one
annotator never both save, and a lapsed lease refuses the save (409) instead of losing work.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from wherewhen.accounts.models import User
from wherewhen.annotations.geometry import is_empty
from wherewhen.annotations.models import Assignment, Task
from wherewhen.annotations.services.content import clean_for_task, write_annotation
from wherewhen.annotations.services.quality import gold_feedback, refresh_task_quality
from wherewhen.annotations.services.queue import _lease_end, _lock_annotator, _reopen, live_q
from wherewhen.core.exceptions import Conflict, Invalid, NotAllowed, NotFound

Status = Assignment.Status


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


def _rework_open(assignment: Assignment, now: datetime) -> bool:
    """Whether rejected work is still its annotator's (its ``rework_minutes`` have not run out)."""
    return assignment.lease_expires_at is not None and assignment.lease_expires_at > now


def _require_lease(assignment: Assignment, now: datetime) -> None:
    if assignment.status in (Status.SUBMITTED, Status.ACCEPTED):
        raise Conflict("This task has already been submitted.")
    if assignment.status == Status.REJECTED:
        if _rework_open(assignment, now):
            return  # back with its annotator: their slot is held until its time runs out
        raise Conflict(
            "You did not come back to this rejected task in time and it went back to the pool. "
            "Open it again to continue (your draft is kept) if it is still free."
        )
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
        # The user row first, as next_task does: it may wait for the task's row below while
        # holding this assignment's, and next_task may reopen this assignment while holding the
        # task's row; taking the user row first keeps the two from waiting for each other.
        _lock_annotator(user)
        assignment = _own_assignment_locked(assignment_id, user)
        if assignment.status in (Status.SUBMITTED, Status.ACCEPTED):
            raise Conflict("This task has already been submitted.")
        if assignment.status == Status.IN_PROGRESS and assignment.lease_expires_at > now:
            assignment.lease_expires_at = _lease_end(assignment.task.project, now)
            assignment.save(update_fields=["lease_expires_at"])
            return assignment
        if assignment.status == Status.REJECTED and _rework_open(assignment, now):
            return _reopen(assignment, now)
        # Expired (or rejected work not taken up in time): only if a slot is still free
        # (locking the task as next_task does).
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
        if task.is_gold:
            # Kept whether or not the project shows it: qualification counts passed gold items.
            assignment.gold_feedback = gold_feedback(task, cleaned, user.id)
        assignment.draft = cleaned
        assignment.version += 1
        assignment.draft_saved_at = now
        assignment.submitted_at = now
        assignment.lease_expires_at = None
        assignment.reviewer = None
        assignment.reviewed_at = None
        assignment.review_holder = None
        assignment.review_lease_expires_at = None
        if task.project.auto_accept:
            assignment.status = Status.ACCEPTED
            assignment.reviewed_at = now
        else:
            assignment.status = Status.SUBMITTED
        assignment.save()
        if assignment.status == Status.ACCEPTED:
            refresh_task_quality(task)
        return assignment
