"""Assisted tracking: follow the annotator's box forward or backward through the video, and hand
the boxes back as proposals (``tracked`` boxes the annotator accepts, corrects or discards).

A run of at most :data:`IN_PROCESS_FRAMES` frames happens in the request; a longer one is a
``media.annotations.track`` task on the ``media`` queue, whose progress the client polls and
which it may cancel. The tracker (:mod:`workers.tracking`) reads only the video's playback file:
never a model's prediction or explanation. OpenCV is loaded by the tracking functions the first
time they run (in the worker, or in a short-run request), never when the web process starts.

States: ``queued -> running -> done | failed | cancelled``, each step a conditional UPDATE, as
in :mod:`wherewhen.explanations.claims`:

* **claim** -- ``queued -> running`` with the process's identity (``claimed_by``: node, host,
  pid) and a lease of :data:`LEASE_SECONDS`; a second delivery finds the row claimed and does
  nothing.
* **heartbeat** -- every :data:`CHECK_EVERY` frames the owner writes its progress and pushes the
  lease forward (matching only a row it still owns), and looks for a cancel request.
* **finish** -- the result is written only if the owner still holds the row.
* **abandoned** -- a running job whose lease ran out, or whose owner process is gone from this
  host, is marked failed with a message saying to track again (:func:`fail_abandoned`, run
  lazily whenever a run is read or started: no periodic task is needed); so is a queued job no
  worker took within :data:`QUEUED_SECONDS`. A worker that wakes up after that writes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from wherewhen.accounts.models import User
from wherewhen.annotations.geometry import box_problems, quantize
from wherewhen.annotations.models import TrackingJob
from wherewhen.annotations.services.content import geometry_of
from wherewhen.annotations.services.work import _own_assignment_locked, _require_lease
from wherewhen.core import media, tasking
from wherewhen.core.exceptions import Conflict, Invalid, NotAllowed, NotFound
from wherewhen.core.owners import owner_is_alive, worker_identity
from wherewhen.videos.services import local_file
from workers.tracking import MAX_SPAN, METHODS, TrackingError, read_frames, track_box

log = logging.getLogger(__name__)

#: Runs up to this many frames are tracked in the request; longer ones on the ``media`` queue.
IN_PROCESS_FRAMES = 24
#: Name of the Celery task (the ``media.`` prefix routes it to the ``media`` queue).
TRACK_TASK = "media.annotations.track"
#: How often (frames) a run saves its progress, renews its lease and looks for a cancel request.
CHECK_EVERY = 8
#: A running job's lease: renewed every CHECK_EVERY frames (well under a second of tracking);
#: a job not renewed for this long is abandoned.
LEASE_SECONDS = 60
#: A queued job no worker took within this long is failed (its message was lost, or no
#: ``media`` worker runs).
QUEUED_SECONDS = 15 * 60
ABANDONED = (
    "The tracking worker stopped before finishing this run (it crashed or was restarted). "
    "Track again to retry."
)
NEVER_STARTED = (
    "No tracking worker picked this run up in time. Track again to retry, or track at most "
    f"{IN_PROCESS_FRAMES} frames at a time."
)

Job = TrackingJob
JobStatus = TrackingJob.Status


def start_tracking(
    assignment_id: int,
    user: User,
    *,
    frame: object,
    box: object,
    direction: object = "forward",
    count: object = None,
    method: object = "csrt",
    now: datetime | None = None,
) -> TrackingJob:
    """Track ``box`` (on ``frame``) through the next (or previous) ``count`` frames of the
    assignment's video, ``count`` defaulting to the rest of the video in that direction (at
    most :data:`workers.tracking.MAX_SPAN` - 1 frames a run). Short runs finish before this
    returns; long ones are queued (the job says which)."""
    now = now or timezone.now()
    if direction not in TrackingJob.Direction.values:
        raise Invalid({"direction": ["Choose forward or backward."]})
    if method not in METHODS:
        raise Invalid({"method": [f"Choose one of {', '.join(METHODS)}."]})
    if isinstance(frame, bool) or not isinstance(frame, int):
        raise Invalid({"frame": ["Give the frame number of the box (a whole number)."]})
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise Invalid({"count": ["Give how many frames to track (a whole number, 1 or more)."]})
    if not (isinstance(box, list | tuple) and len(box) == 4) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in box
    ):
        raise Invalid({"box": ["Give the box as [x0, y0, x1, y1]."]})
    fail_abandoned(now)
    with transaction.atomic():
        assignment = _own_assignment_locked(assignment_id, user)
        _require_lease(assignment, now)
        video = assignment.task.video
        geometry = geometry_of(video)
        if not 0 <= frame < geometry.n_frames:
            raise Invalid(
                {"frame": [f"The video has frames 0 to {geometry.n_frames - 1}; got {frame}."]}
            )
        problems = box_problems(tuple(float(v) for v in box), geometry)
        if problems:
            raise Invalid({"box": problems})
        room = geometry.n_frames - 1 - frame if direction == "forward" else frame
        if room == 0:
            where = "last" if direction == "forward" else "first"
            raise Invalid({"frame": [f"This is the video's {where} frame: nothing to track."]})
        wanted = room if count is None else min(count, room)
        if wanted > MAX_SPAN - 1:
            raise Invalid(
                {"count": [f"Track at most {MAX_SPAN - 1} frames at a time; got {wanted}."]}
            )
        if not video.playback or not media.exists(video.playback.name):
            raise Conflict("This video has no playable file yet, so it cannot be tracked.")
        end = frame + wanted if direction == "forward" else frame - wanted
        job = TrackingJob.objects.create(
            assignment=assignment,
            direction=direction,
            method=method,
            start_frame=frame,
            end_frame=end,
            box=[quantize(float(v)) for v in box],
            in_process=wanted <= IN_PROCESS_FRAMES,
        )
    if job.in_process:
        run_tracking(job.pk)
        job.refresh_from_db()
        return job
    try:
        tasking.send(TRACK_TASK, args=[job.pk])
    except tasking.QueueUnavailable:
        TrackingJob.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED,
            error="The tracking service is not running.",
            finished_at=timezone.now(),
        )
        raise Conflict(
            "The tracking service is not running right now; track at most "
            f"{IN_PROCESS_FRAMES} frames at a time until it is back."
        ) from None
    return job


def _lease_end() -> datetime:
    return timezone.now() + timedelta(seconds=LEASE_SECONDS)


def run_tracking(job_id: int, owner: str | None = None) -> str:
    """Run a queued job (the Celery task and short runs call this); returns its final status.
    A job that is not queued (cancelled, or claimed by another worker) is left alone."""
    owner = owner or worker_identity("tracking")
    claimed = TrackingJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, claimed_by=owner, lease_expires_at=_lease_end()
    )
    if not claimed:
        job = TrackingJob.objects.filter(pk=job_id).only("status").first()
        return job.status if job else "missing"
    job = TrackingJob.objects.select_related("assignment__task__video").get(pk=job_id)
    mine = TrackingJob.objects.filter(pk=job_id, status=JobStatus.RUNNING, claimed_by=owner)
    video = job.assignment.task.video
    forward = job.direction == TrackingJob.Direction.FORWARD
    step = 1 if forward else -1
    total = abs(job.end_frame - job.start_frame)

    def progress(done: int) -> None:
        if done % CHECK_EVERY == 0:  # the heartbeat: progress and a longer lease
            mine.update(progress=done / total, lease_expires_at=_lease_end())

    def cancelled() -> bool:
        progress_checks[0] += 1
        if job.in_process or progress_checks[0] % CHECK_EVERY:
            return False
        return TrackingJob.objects.filter(pk=job_id, cancel_requested=True).exists()

    progress_checks = [0]
    try:
        with local_file(video) as path:
            low, high = sorted((job.start_frame, job.end_frame))
            frames = read_frames(path, low, high + 1)
            if not forward:
                frames = reversed(list(frames))
            result = track_box(
                frames,
                tuple(job.box),
                method=job.method,
                on_progress=progress,
                should_stop=cancelled,
            )
    except (TrackingError, OSError) as error:
        mine.update(
            status=JobStatus.FAILED,
            error=str(error),
            finished_at=timezone.now(),
            lease_expires_at=None,
        )
        return JobStatus.FAILED
    boxes = []
    for offset, box in enumerate(result.found, start=1):
        boxes.append(
            {
                "frame": job.start_frame + step * offset,
                **dict(zip(("x0", "y0", "x1", "y1"), (quantize(v) for v in box), strict=True)),
            }
        )
    if not forward:
        boxes.reverse()
    lost_at = job.start_frame + step * (result.lost_at + 1) if result.lost_at is not None else None
    status = JobStatus.CANCELLED if result.cancelled else JobStatus.DONE
    finished = mine.update(
        status=status,
        boxes=boxes,
        lost_at=lost_at,
        progress=1.0 if status == JobStatus.DONE else F("progress"),
        finished_at=timezone.now(),
        lease_expires_at=None,
    )
    if not finished:  # declared abandoned meanwhile: the failure stands, nothing is written
        log.warning("tracking job %s: finished by %s after losing it", job_id, owner)
        return TrackingJob.objects.filter(pk=job_id).values_list("status", flat=True).first()
    return status


def fail_abandoned(now: datetime | None = None) -> int:
    """Mark failed the running jobs whose worker is gone (lease run out, or its process no
    longer exists on this host) and the queued jobs no worker took in time; returns how many.
    Idempotent: each row changes once, by a conditional UPDATE."""
    now = now or timezone.now()
    failed = 0
    gone = Q(lease_expires_at__lte=now) | Q(lease_expires_at__isnull=True)
    suspects = TrackingJob.objects.filter(status=JobStatus.RUNNING)
    for pk, owner, lease in suspects.values_list("pk", "claimed_by", "lease_expires_at"):
        if (lease is not None and lease > now) and owner_is_alive(owner) is not False:
            continue
        failed += (
            TrackingJob.objects.filter(pk=pk, status=JobStatus.RUNNING, claimed_by=owner)
            .filter(gone | Q(lease_expires_at=lease))
            .update(
                status=JobStatus.FAILED, error=ABANDONED, finished_at=now, lease_expires_at=None
            )
        )
    cutoff = now - timedelta(seconds=QUEUED_SECONDS)
    failed += TrackingJob.objects.filter(status=JobStatus.QUEUED, created_at__lte=cutoff).update(
        status=JobStatus.FAILED, error=NEVER_STARTED, finished_at=now
    )
    if failed:
        log.warning("tracking: %d abandoned run(s) marked failed", failed)
    return failed


def _own_job(job_id: int, user: User) -> TrackingJob:
    fail_abandoned()
    job = TrackingJob.objects.select_related("assignment").filter(pk=job_id).first()
    if job is None:
        raise NotFound("There is no such tracking run.")
    if job.assignment.annotator_id != user.id:
        raise NotAllowed("This tracking run belongs to another annotator.")
    return job


def tracking_job(job_id: int, user: User) -> TrackingJob:
    """One of the annotator's own tracking runs (its progress and, once done, its boxes)."""
    return _own_job(job_id, user)


def cancel_tracking(job_id: int, user: User) -> TrackingJob:
    """Stop a run: a queued one never starts, a running one stops at its next check (the
    boxes found so far are kept). A finished run is left as it is."""
    job = _own_job(job_id, user)
    if job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
        TrackingJob.objects.filter(pk=job.pk).update(cancel_requested=True)
        TrackingJob.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
            status=JobStatus.CANCELLED, finished_at=timezone.now()
        )
        job.refresh_from_db()
    return job
