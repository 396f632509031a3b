"""Review: reviewers (and the project's researcher) accept or reject submitted annotations, and
take them one at a time from the review queue.

A rejection needs a comment (or a note pinned to a frame, and optionally a track) and goes back
to its annotator, whose next ``next_task`` returns it first; it keeps its slot for the
project's ``rework_minutes`` (see :mod:`~wherewhen.annotations.services.queue`). An acceptance
counts toward the video's consensus at once.

The review queue
    ``next_review`` gives a reviewer the oldest submitted annotation they may review that no
    other reviewer holds, with a lease of the project's ``lease_minutes``
    (``review_holder``, ``review_lease_expires_at``); the reviewer's own held item comes first
    (lease renewed). Nobody reviews their own annotation. On PostgreSQL the pick locks the row
    with ``FOR NO KEY UPDATE SKIP LOCKED``, so concurrent reviewers never wait on each other nor
    get the same item: a row another request is taking is skipped, and one taken before the
    query started is excluded by its lease (PostgreSQL re-checks the condition on the row it
    locks). One reviewer's requests are serialized by locking their user row (on SQLite that
    write serializes the whole transaction). ``review`` releases the lease; another reviewer's
    decision on a held item is refused (409) until its lease runs out; ``release_review`` gives
    an item back early. A lapsed lease needs no sweep: the pick ignores it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from wherewhen.accounts.models import User
from wherewhen.annotations.models import Assignment, Project
from wherewhen.annotations.services.access import assignments_visible_to, can_review
from wherewhen.annotations.services.content import geometry_of
from wherewhen.annotations.services.quality import refresh_task_quality
from wherewhen.annotations.services.queue import _lock_annotator
from wherewhen.core.exceptions import Conflict, Invalid, NotAllowed, NotFound

Status = Assignment.Status


MAX_NOTES = 50
MAX_NOTE_LENGTH = 1000


def _clean_notes(notes: object, n_frames: int, n_tracks: int) -> list[dict]:
    """Notes pinned to frames (and optionally a track, by its index), every problem in words."""
    if notes is None:
        return []
    if not isinstance(notes, list):
        raise Invalid({"notes": ["Notes must be a list of {frame, track, text}."]})
    if len(notes) > MAX_NOTES:
        raise Invalid({"notes": [f"At most {MAX_NOTES} notes."]})
    cleaned, problems = [], []
    for i, note in enumerate(notes, start=1):
        if not isinstance(note, dict):
            problems.append(f"Note {i} must be an object with frame and text.")
            continue
        frame, track, text = note.get("frame"), note.get("track"), note.get("text")
        text = text.strip() if isinstance(text, str) else ""
        if isinstance(frame, bool) or not isinstance(frame, int) or not 0 <= frame < n_frames:
            problems.append(f"Note {i}: the frame must be a whole number from 0 to {n_frames - 1}.")
        elif track is not None and (
            isinstance(track, bool) or not isinstance(track, int) or not 0 <= track < n_tracks
        ):
            problems.append(f"Note {i}: there is no track {track} in this annotation.")
        elif not text or len(text) > MAX_NOTE_LENGTH:
            problems.append(f"Note {i} needs a text of 1 to {MAX_NOTE_LENGTH} characters.")
        else:
            cleaned.append({"frame": frame, "track": track, "text": text})
    if problems:
        raise Invalid({"notes": problems})
    return sorted(cleaned, key=lambda n: (n["frame"], n["track"] is not None, n["track"] or 0))


def review(
    assignment_id: int,
    reviewer: User,
    decision: str,
    comment: str = "",
    now: datetime | None = None,
    notes: object = None,
) -> Assignment:
    """Accept or reject a submitted annotation; a rejection (which needs a comment or a note)
    goes back to its annotator with the comment and the notes pinned to frames (and tracks)."""
    now = now or timezone.now()
    if decision not in ("accept", "reject"):
        raise Invalid({"decision": ["Choose accept or reject."]})
    comment = (comment or "").strip()
    if decision == "reject" and not comment and not notes:
        raise Invalid(
            {"comment": ["Say what to fix: a rejection needs a comment for the annotator."]}
        )
    with transaction.atomic():
        if not can_review(reviewer):
            raise NotAllowed("Only reviewers and researchers review annotations.")
        visible = assignments_visible_to(reviewer)
        assignment = (
            Assignment.objects.select_for_update(of=("self",))
            .select_related("task__project", "task__video")
            .filter(pk=assignment_id)
            .first()
        )
        if assignment is None or not visible.filter(pk=assignment_id).exists():
            raise NotFound("There is no such annotation to review.")
        if assignment.annotator_id == reviewer.id:
            raise NotAllowed("You cannot review your own annotation.")
        if assignment.status != Status.SUBMITTED:
            raise Conflict(
                f"Only submitted annotations can be reviewed; this one is {assignment.get_status_display().lower()}."
            )
        if _held_by_another(assignment, reviewer, now):
            raise Conflict(
                f"{assignment.review_holder.username} is reviewing this annotation now; take "
                "the next one from the review queue."
            )
        cleaned_notes = _clean_notes(
            notes, geometry_of(assignment.task.video).n_frames, assignment.tracks.count()
        )
        assignment.status = Status.ACCEPTED if decision == "accept" else Status.REJECTED
        assignment.reviewer = reviewer
        assignment.reviewed_at = now
        assignment.review_comment = comment
        assignment.review_notes = cleaned_notes
        assignment.review_holder = None
        assignment.review_lease_expires_at = None
        if decision == "reject":
            # Back with its annotator until the project's rework time runs out.
            rework = timedelta(minutes=assignment.task.project.rework_minutes)
            assignment.lease_expires_at = now + rework
        assignment.save(
            update_fields=[
                "status",
                "reviewer",
                "reviewed_at",
                "review_comment",
                "review_notes",
                "review_holder",
                "review_lease_expires_at",
                "lease_expires_at",
            ]
        )
        if decision == "accept":
            refresh_task_quality(assignment.task)
        return assignment


def _held_by_another(assignment: Assignment, reviewer: User, now: datetime) -> bool:
    return (
        assignment.review_holder_id is not None
        and assignment.review_holder_id != reviewer.id
        and assignment.review_lease_expires_at is not None
        and assignment.review_lease_expires_at > now
    )


def _reviewable(reviewer: User, project: Project | None) -> QuerySet[Assignment]:
    """Submitted crowd work the reviewer may judge (never their own), oldest first."""
    qs = (
        assignments_visible_to(reviewer)
        .filter(status=Status.SUBMITTED, source=Assignment.Source.CROWD)
        .exclude(annotator=reviewer)
    )
    if project is not None:
        qs = qs.filter(task__project=project)
    return qs.order_by("submitted_at", "id")


def _review_lease_end(assignment: Assignment, now: datetime) -> datetime:
    return now + timedelta(minutes=assignment.task.project.lease_minutes)


def next_review(
    reviewer: User, project: Project | None = None, now: datetime | None = None
) -> Assignment | None:
    """The reviewer's next submission to review, leased to them; None when nothing waits.

    Their own held item first (lease renewed), then the oldest submission nobody holds. Safe
    to call concurrently: two reviewers never get the same item (see the module doc)."""
    now = now or timezone.now()
    if not can_review(reviewer):
        raise NotAllowed("Only reviewers and researchers review annotations.")
    with transaction.atomic():
        _lock_annotator(reviewer)  # serializes one reviewer's requests (any user row works)
        mine = (
            _reviewable(reviewer, project)
            .filter(review_holder=reviewer, review_lease_expires_at__gt=now)
            .first()
        )
        if mine is None:
            free = _reviewable(reviewer, project).filter(
                Q(review_lease_expires_at__isnull=True) | Q(review_lease_expires_at__lte=now)
            )
            if connection.features.has_select_for_update_skip_locked:
                free = free.select_for_update(skip_locked=True, no_key=True, of=("self",))
            mine = free.first()
        if mine is None:
            return None
        mine.review_holder = reviewer
        mine.review_lease_expires_at = _review_lease_end(mine, now)
        mine.save(update_fields=["review_holder", "review_lease_expires_at"])
        return mine


def release_review(assignment_id: int, reviewer: User, now: datetime | None = None) -> Assignment:
    """Give a held submission back to the review queue (nothing changes when the reviewer
    does not hold it)."""
    now = now or timezone.now()
    if not can_review(reviewer):
        raise NotAllowed("Only reviewers and researchers review annotations.")
    assignment = assignments_visible_to(reviewer).filter(pk=assignment_id).first()
    if assignment is None:
        raise NotFound("There is no such annotation to review.")
    released = Assignment.objects.filter(pk=assignment_id, review_holder=reviewer).update(
        review_holder=None, review_lease_expires_at=None
    )
    if released:
        assignment.review_holder = None
        assignment.review_lease_expires_at = None
    return assignment
