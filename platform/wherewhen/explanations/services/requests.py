"""Requesting explanations: the idempotency key, finding or creating the row, sending the
compute task, queueing failed or abandoned work again, and what the API reads back (status,
map).

The same inputs always give the same row (the key digests the video's content, the model's
fingerprint, the method with its canonical parameters, the target and the clip). The gpu
worker's side (claims, leases, results) is :mod:`wherewhen.explanations.claims`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from wherewhen.core import tasking
from wherewhen.core.exceptions import Conflict
from wherewhen.explanations import methods, storage
from wherewhen.explanations.models import Explanation, RegisteredModel
from wherewhen.explanations.services.checks import (
    check_clip,
    check_method_hears,
    check_params,
    check_sound,
    check_target,
    check_video_ready,
    check_windowed,
)
from wherewhen.videos.models import Video

log = logging.getLogger(__name__)


def digest(data: Any) -> str:
    """sha256 of ``data`` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def request_key(
    *,
    video: Video,
    model: RegisteredModel,
    method: str,
    params: dict,
    target: int | None,
    clip: tuple[float | None, float | None],
    windowed: bool = False,
) -> str:
    """The idempotency key: identical inputs give the same key, hence the same row (a windowed
    request of the same span is another request)."""
    data = {
        "video": [video.content_hash, video.pk],
        "model": [model.pk, model.fingerprint],
        "method": method,
        "params": params,
        "target": target,
        "clip": list(clip),
    }
    if windowed:
        data["windowed"] = True
    return digest(data)


QUEUE_UNREACHABLE = "Could not reach the task queue"


def send_compute(explanation: Explanation) -> None:
    """Send the compute task for ``explanation`` now, with its method family's time limits, or
    the windowed limits for a whole-span request (raises ``tasking.QueueUnavailable`` when the
    broker cannot be reached)."""
    soft, hard = methods.time_limits(explanation.method, windowed=explanation.windowed)
    tasking.send(
        tasking.EXPLANATION_COMPUTE,
        args=[explanation.pk],
        task_id=explanation.task_id,
        soft_time_limit=soft,
        time_limit=hard,
    )


def enqueue_compute(explanation: Explanation) -> None:
    """Send the compute task for ``explanation`` once the current transaction commits."""
    pk = explanation.pk

    def send() -> None:
        try:
            send_compute(explanation)
        except tasking.QueueUnavailable as exc:  # say so on the row, a new request retries
            log.exception("could not queue explanation %s", pk)
            Explanation.objects.filter(pk=pk, status=Explanation.Status.QUEUED).update(
                status=Explanation.Status.FAILED,
                error=f"{QUEUE_UNREACHABLE} ({str(exc).split(':')[0]}); request it again in a "
                "moment.",
                finished_at=timezone.now(),
            )

    transaction.on_commit(send)


@dataclass
class RequestOutcome:
    explanation: Explanation
    created: bool
    queued: bool  # a compute task was sent for this request


def request_explanation(
    user,
    *,
    video: Video,
    model: RegisteredModel,
    method: str,
    params: dict | None = None,
    target: int | None = None,
    clip_start: float | None = None,
    clip_end: float | None = None,
    windowed: bool = False,
) -> RequestOutcome:
    """Find or create the explanation for these inputs and queue its computation.

    ``windowed``: explain ``[clip_start, clip_end)`` (the whole video when both are None)
    window by window (``workers.windows``) instead of as one clip sampled from it.
    The same inputs always give the same row. A failed explanation, or one whose worker died
    (abandoned lease), is queued again; queued, running and done ones are returned as they are.
    """
    canonical = check_params(method, params)
    windowed = check_windowed(model, windowed)
    check_method_hears(method, model)
    check_video_ready(video)
    check_sound(video, model)
    target = check_target(model, target)
    clip = check_clip(video, clip_start, clip_end)
    key = request_key(
        video=video,
        model=model,
        method=method,
        params=canonical,
        target=target,
        clip=clip,
        windowed=windowed,
    )
    now = timezone.now()
    with transaction.atomic():
        existing = Explanation.objects.select_for_update().filter(request_key=key).first()
        if existing is None:
            try:
                with transaction.atomic():
                    explanation = Explanation.objects.create(
                        request_key=key,
                        video=video,
                        model=model,
                        method=method,
                        params=canonical,
                        params_hash=digest(canonical),
                        target=target,
                        clip_start=clip[0],
                        clip_end=clip[1],
                        windowed=windowed,
                        requested_by=user,
                        status=Explanation.Status.QUEUED,
                        task_id=str(uuid.uuid4()),
                        queued_at=now,
                    )
            except IntegrityError:
                explanation = None  # created concurrently by an identical request
            if explanation is not None:
                enqueue_compute(explanation)
                return RequestOutcome(explanation, created=True, queued=True)
            existing = Explanation.objects.select_for_update().get(request_key=key)
        if existing.status == Explanation.Status.FAILED or (
            existing.status == Explanation.Status.RUNNING
            and existing.lease_expires_at is not None
            and existing.lease_expires_at < now
        ):
            requeue(existing)
            return RequestOutcome(existing, created=False, queued=True)
        return RequestOutcome(existing, created=False, queued=False)


def requeue(explanation: Explanation) -> None:
    """Put a failed or abandoned explanation back in the queue (in the caller's transaction)."""
    explanation.status = Explanation.Status.QUEUED
    explanation.error = ""
    explanation.progress = 0.0
    explanation.claimed_by = ""
    explanation.lease_expires_at = None
    explanation.started_at = None
    explanation.finished_at = None
    explanation.task_id = str(uuid.uuid4())
    explanation.queued_at = timezone.now()
    explanation.save(
        update_fields=[
            "status",
            "error",
            "progress",
            "claimed_by",
            "lease_expires_at",
            "started_at",
            "finished_at",
            "task_id",
            "queued_at",
            "updated_at",
        ]
    )
    enqueue_compute(explanation)


# --- Status, results ----------------------------------------------------------------------------


#: The columns :func:`status_of` reads (the status URL loads no others).
STATUS_FIELDS = (
    "id", "status", "progress", "error", "attempts", "queued_at", "started_at", "finished_at",
)  # fmt: skip


def status_of(explanation: Explanation) -> dict[str, Any]:
    e = explanation
    return {
        "id": e.pk,
        "status": e.status,
        "progress": round(float(e.progress), 4),
        "error": e.error,
        "attempts": e.attempts,
        "queued_at": e.queued_at,
        "started_at": e.started_at,
        "finished_at": e.finished_at,
    }


def require_map(explanation: Explanation) -> None:
    """:class:`Conflict` unless ``explanation`` is done and has its map."""
    if explanation.status != Explanation.Status.DONE or not explanation.map_file:
        raise Conflict(
            f"Explanation {explanation.pk} has no map yet (status: {explanation.status})."
        )


def map_payload(explanation: Explanation) -> dict[str, Any]:
    """The map at token resolution as compact JSON (uint8 + scale/offset, base64).

    :class:`Conflict` when there is no map yet; ``FileNotFoundError`` when its file is gone."""
    require_map(explanation)
    arr = storage.read_map(explanation.map_file)
    return storage.encode_map(arr)
