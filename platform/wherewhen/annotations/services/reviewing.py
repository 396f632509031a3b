"""Review: reviewers (and the project's researcher) accept or reject submitted annotations. A
rejection needs a comment and goes back to its annotator, whose next ``next_task`` returns it
first; an acceptance counts toward the video's consensus at once."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from wherewhen.accounts.models import User
from wherewhen.annotations.models import Assignment
from wherewhen.annotations.services.access import assignments_visible_to, can_review
from wherewhen.annotations.services.content import geometry_of
from wherewhen.annotations.services.quality import refresh_task_quality
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
        cleaned_notes = _clean_notes(
            notes, geometry_of(assignment.task.video).n_frames, assignment.tracks.count()
        )
        assignment.status = Status.ACCEPTED if decision == "accept" else Status.REJECTED
        assignment.reviewer = reviewer
        assignment.reviewed_at = now
        assignment.review_comment = comment
        assignment.review_notes = cleaned_notes
        assignment.save(
            update_fields=["status", "reviewer", "reviewed_at", "review_comment", "review_notes"]
        )
        if decision == "accept":
            refresh_task_quality(assignment.task)
        return assignment
