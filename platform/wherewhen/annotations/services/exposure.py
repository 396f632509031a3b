"""Who has seen explanations of which videos, and which annotations that makes unclean.

An **exposure** is a (user, video, source) row with the first time: the user opened an
explanation of the video in the review player (its detail, map or ground-truth overlay), took
part in a study showing one, or worked on the video in a project that shows model predictions.
Writes are idempotent and cheap: one ``INSERT ... ON CONFLICT DO NOTHING``; a second write of
the same row changes nothing, and a failed write is logged, never raised into the request that
caused it.

**The exclusion rule** (one place; consensus, scoring and the leaderboard ask it): an accepted
crowd annotation is *exposed* when its annotator has an exposure to its video whose
``first_seen`` is not after the annotation was submitted (an annotation never submitted counts
as exposed once any exposure exists). Imported ground truth and gold answers have no annotator
and are never exposed. A project with ``exclude_exposed`` (the default) leaves exposed
annotations out of its ground truth.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.db import DatabaseError, transaction
from django.utils import timezone

from wherewhen.annotations.models import Assignment, Exposure

log = logging.getLogger(__name__)

Source = Exposure.Source


def record_exposures(
    user, video_ids: Iterable[int], source: str, at: datetime | None = None
) -> None:
    """Record that ``user`` saw explanations of ``video_ids`` (anonymous users: nothing). The
    first sighting of each (user, video, source) is kept; repeats are no-ops."""
    if user is None or not getattr(user, "is_authenticated", False):
        return
    at = at or timezone.now()
    rows = [
        Exposure(user_id=user.pk, video_id=int(v), source=source, first_seen=at)
        for v in sorted({int(v) for v in video_ids})
    ]
    if not rows:
        return
    try:
        with transaction.atomic():
            Exposure.objects.bulk_create(rows, ignore_conflicts=True)
    except DatabaseError:  # e.g. the video was deleted meanwhile: seeing it is moot
        log.exception("could not record exposure of user %s to videos", user.pk)


def record_exposure(user, video_id: int, source: str, at: datetime | None = None) -> None:
    record_exposures(user, [video_id], source, at)


def exposed_annotations(assignments: Iterable[Assignment]) -> set[int]:
    """The ids of the crowd ``assignments`` whose annotator was exposed to their video before
    submitting (the rule in the module docstring). Needs ``task__video_id`` (``task``
    selected, or the ``video_id`` attribute set by the caller) on each; one query."""
    crowd = [a for a in assignments if a.annotator_id is not None]
    if not crowd:
        return set()
    video_of = {a.pk: _video_id(a) for a in crowd}
    first: dict[tuple[int, int], datetime] = {}
    rows = Exposure.objects.filter(
        video_id__in=set(video_of.values()), user_id__in={a.annotator_id for a in crowd}
    ).values_list("user_id", "video_id", "first_seen")
    for user_id, video_id, seen in rows:
        key = (user_id, video_id)
        if key not in first or seen < first[key]:
            first[key] = seen
    out = set()
    for a in crowd:
        seen = first.get((a.annotator_id, video_of[a.pk]))
        if seen is not None and (a.submitted_at is None or seen <= a.submitted_at):
            out.add(a.pk)
    return out


def _video_id(assignment: Assignment) -> int:
    video_id = getattr(assignment, "video_id", None)
    return int(video_id) if video_id is not None else int(assignment.task.video_id)


def assignment_started(assignment: Assignment) -> None:
    """A crowd assignment in a project that shows model predictions exposes its annotator to
    the video from the moment they get it."""
    if assignment.annotator_id is None:
        return
    row = (
        Assignment.objects.filter(pk=assignment.pk, task__project__show_predictions=True)
        .values_list("task__video_id", flat=True)
        .first()
    )
    if row is not None:
        record_exposure(assignment.annotator, row, Source.PROJECT, assignment.created_at)


def exposures_of(user_id: int) -> list[dict]:
    """A user's exposures, oldest first (for the admin and support)."""
    return list(Exposure.objects.filter(user_id=user_id).values("video_id", "source", "first_seen"))
