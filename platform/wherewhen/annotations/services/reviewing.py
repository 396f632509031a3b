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
from wherewhen.annotations.services.quality import refresh_task_quality
from wherewhen.core.exceptions import Conflict, Invalid, NotAllowed, NotFound

Status = Assignment.Status


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
        raise Invalid({"decision": ["Choose accept or reject."]})
    comment = (comment or "").strip()
    if decision == "reject" and not comment:
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
        assignment.status = Status.ACCEPTED if decision == "accept" else Status.REJECTED
        assignment.reviewer = reviewer
        assignment.reviewed_at = now
        assignment.review_comment = comment
        assignment.save(update_fields=["status", "reviewer", "reviewed_at", "review_comment"])
        if decision == "accept":
            refresh_task_quality(assignment.task)
        return assignment
