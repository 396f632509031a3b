"""The compute side of the explanation protocol: claiming work, leases, results (no torch).

States: ``queued -> running -> done | failed``. Every step is a conditional UPDATE (or a row
lock), so any number of deliveries of the same task, on any number of workers, leave exactly
one result:

* **claim** -- ``queued -> running`` with the worker's identity (``claimed_by``: node, host,
  pid) and a lease (``lease_expires_at``). A running row can be claimed again only when its
  owner is gone: the lease ran out, or the owner's process no longer exists on this host.
* **renew** -- while computing, the owner pushes its lease forward and writes progress; the
  UPDATE matches only rows it still owns.
* **finish** -- the map file is written first (atomically, at a deterministic path), then one
  UPDATE flips ``running -> done`` with the result, *only if the row is still owned by this
  worker*. A worker that lost its claim writes the same file to the same path and changes no row.
* **release** -- on a transient error the owner puts the row back to ``queued`` before Celery
  retries the task.
* **requeue abandoned** -- a sweep run by every gpu worker (at start and then periodically)
  finds running rows whose owner is gone and queues them again (new task message). A message
  redelivered later by the broker finds the row done and does nothing.
* **resend lost** -- the same sweep sends the task again for rows still ``queued`` (nobody ever
  claimed them) ``EXPLANATION_RESEND_SECONDS`` after they were queued or last re-sent: their
  message may be gone (a broker flushed or restarted without persistence). A second message
  for a row that was merely waiting its turn is harmless: whichever comes second finds the row
  claimed or done and does nothing.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

# worker_identity is re-exported: the compute side names it here.
from wherewhen.core.owners import owner_is_alive
from wherewhen.core.owners import worker_identity as worker_identity
from wherewhen.explanations import conf, notify
from wherewhen.explanations.models import Explanation

log = logging.getLogger(__name__)
Status = Explanation.Status

#: Sent with ``explanation_id`` once :func:`finish` has flipped a row to done. The flip is a
#: conditional UPDATE, which sends no ``post_save``; listeners (scoring) hear about results here.
explanation_finished = Signal()


def _abandoned(row: Explanation, now) -> bool:
    if row.status != Status.RUNNING:
        return False
    if row.lease_expires_at is None or row.lease_expires_at < now:
        return True
    return owner_is_alive(row.claimed_by) is False


def _give_up(row: Explanation, now) -> None:
    log.warning("explanation %s: its worker stopped %s times; giving up", row.pk, row.attempts)
    row.status = Status.FAILED
    row.error = (
        f"The worker computing this stopped {row.attempts} times without finishing (a crash, "
        "running out of memory, or the hard time limit); request it again to retry."
    )
    row.finished_at = now
    row.lease_expires_at = None
    row.save(update_fields=["status", "error", "finished_at", "lease_expires_at", "updated_at"])


def _lock(qs):
    if connection.vendor == "postgresql":
        return qs.select_for_update(skip_locked=True, of=("self",))
    return qs.select_for_update()  # SQLite: the IMMEDIATE transaction is the lock


def claim(explanation_id: int, owner: str) -> Explanation | None:
    """Claim one explanation for ``owner``; None when it is finished or owned by a live worker."""
    now = timezone.now()
    lease = timedelta(seconds=conf.lease_seconds())
    with transaction.atomic():
        # The video and model come along (one query, not one per attribute read later).
        row = (
            Explanation.objects.select_related("video", "model")
            .select_for_update(of=("self",))
            .filter(pk=explanation_id)
            .first()
        )
        if row is None:
            return None
        if _abandoned(row, now) and row.attempts >= conf.max_attempts():
            _give_up(row, now)
            return None
        if row.status == Status.QUEUED or _abandoned(row, now):
            if row.status == Status.RUNNING:
                log.warning(
                    "explanation %s: taking over from %s (gone)", row.pk, row.claimed_by or "?"
                )
            row.status = Status.RUNNING
            row.claimed_by = owner
            row.lease_expires_at = now + lease
            row.attempts += 1
            row.started_at = now
            row.progress = 0.0
            row.error = ""
            row.save(
                update_fields=[
                    "status",
                    "claimed_by",
                    "lease_expires_at",
                    "attempts",
                    "started_at",
                    "progress",
                    "error",
                    "updated_at",
                ]
            )
            return row
    return None


def claim_companions(primary: Explanation, owner: str, limit: int) -> list[Explanation]:
    """Claim up to ``limit`` other queued requests that can run in the same ``explain()`` batch:
    same model, method and parameters, and the same kind of target (all top-1, or all given)."""
    if limit <= 0 or primary.model_id is None or primary.windowed:
        return []
    now = timezone.now()
    lease = timedelta(seconds=conf.lease_seconds())
    with transaction.atomic():
        qs = Explanation.objects.filter(
            status=Status.QUEUED,
            source=Explanation.Source.COMPUTED,
            model_id=primary.model_id,
            method=primary.method,
            params_hash=primary.params_hash,
            target__isnull=primary.target is None,
            windowed=False,
        ).exclude(pk=primary.pk)
        qs = qs.select_related("video", "model").order_by("created_at", "id")
        rows = list(_lock(qs)[:limit])
        claimed = []
        for row in rows:
            fields = {
                "status": Status.RUNNING,
                "claimed_by": owner,
                "lease_expires_at": now + lease,
                "attempts": row.attempts + 1,
                "started_at": now,
                "progress": 0.0,
                "error": "",
                "updated_at": now,
            }
            updated = Explanation.objects.filter(pk=row.pk, status=Status.QUEUED).update(**fields)
            if updated:
                for name, value in fields.items():  # what the UPDATE wrote, without a re-read
                    setattr(row, name, value)
                claimed.append(row)
    return claimed


def renew(ids: Iterable[int], owner: str, progress: float | None = None) -> set[int]:
    """Extend the lease of the rows ``owner`` still holds; returns their ids."""
    ids = list(ids)
    now = timezone.now()
    fields: dict[str, Any] = {
        "lease_expires_at": now + timedelta(seconds=conf.lease_seconds()),
        "updated_at": now,
    }
    if progress is not None:
        fields["progress"] = max(0.0, min(0.99, float(progress)))
    qs = Explanation.objects.filter(pk__in=ids, status=Status.RUNNING, claimed_by=owner)
    with transaction.atomic():
        held = set(qs.values_list("pk", flat=True))
        if held:
            Explanation.objects.filter(pk__in=held).update(**fields)
    return held


def finish(explanation_id: int, owner: str, result: dict[str, Any]) -> bool:
    """Flip ``running -> done`` with ``result`` if ``owner`` still holds the claim."""
    now = timezone.now()
    with transaction.atomic():
        updated = Explanation.objects.filter(
            pk=explanation_id, status=Status.RUNNING, claimed_by=owner
        ).update(
            status=Status.DONE,
            progress=1.0,
            finished_at=now,
            lease_expires_at=None,
            updated_at=now,
            error="",
            **result,
        )
    if not updated:
        log.warning("explanation %s: finished by %s after losing the claim", explanation_id, owner)
    else:
        _published(explanation_id)
        explanation_finished.send(sender=Explanation, explanation_id=explanation_id)
    return bool(updated)


def _published(explanation_id: int) -> None:
    """Wake the clients waiting on this explanation once the change is committed."""
    transaction.on_commit(lambda: notify.publish([explanation_id]))


def fail(explanation_id: int, owner: str | None, reason: str) -> bool:
    """Mark failed with ``reason`` (only if ``owner`` holds it; ``None``: if not finished)."""
    now = timezone.now()
    qs = Explanation.objects.filter(pk=explanation_id)
    qs = (
        qs.filter(status=Status.RUNNING, claimed_by=owner)
        if owner
        else qs.exclude(status__in=[Status.DONE, Status.FAILED])
    )
    with transaction.atomic():
        updated = qs.update(
            status=Status.FAILED,
            error=reason[:4000],
            finished_at=now,
            lease_expires_at=None,
            updated_at=now,
        )
    if updated:
        _published(explanation_id)
    return bool(updated)


def fail_if_queued(explanation_id: int, reason: str) -> bool:
    """Mark a queued (unclaimed) explanation failed: its task gave up before computing it."""
    now = timezone.now()
    with transaction.atomic():
        updated = Explanation.objects.filter(pk=explanation_id, status=Status.QUEUED).update(
            status=Status.FAILED, error=reason[:4000], finished_at=now, updated_at=now
        )
    if updated:
        _published(explanation_id)
    return bool(updated)


def release(ids: Iterable[int], owner: str) -> int:
    """Give claims back (``running -> queued``) before a retry."""
    now = timezone.now()
    with transaction.atomic():
        return Explanation.objects.filter(
            pk__in=list(ids), status=Status.RUNNING, claimed_by=owner
        ).update(
            status=Status.QUEUED,
            claimed_by="",
            lease_expires_at=None,
            progress=0.0,
            queued_at=now,
            updated_at=now,
        )


def requeue_abandoned(limit: int = 100) -> list[int]:
    """Queue again the running explanations whose worker is gone; returns their ids."""
    from wherewhen.explanations.services import requeue

    now = timezone.now()
    requeued: list[int] = []
    with transaction.atomic():
        # Expired leases anywhere, and claims held by processes of this host (checked by pid).
        suspects = Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True)
        suspects |= Q(claimed_by__contains=f"|{socket.gethostname()}|")
        candidates = _lock(
            Explanation.objects.filter(suspects, status=Status.RUNNING).order_by("id")
        )[:limit]
        for row in candidates:
            if not _abandoned(row, now):
                continue
            if row.attempts >= conf.max_attempts():
                _give_up(row, now)
            else:
                log.warning(
                    "explanation %s: worker %s is gone; queueing it again", row.pk, row.claimed_by
                )
                requeue(row)  # sends the task on commit
                requeued.append(row.pk)
    return requeued


def resend_lost(limit: int = 100) -> list[int]:
    """Send the compute task again for explanations queued too long; returns their ids.

    ``queued_at`` moves to now for each, so a row is re-sent at most once per
    ``EXPLANATION_RESEND_SECONDS``. When the broker cannot be reached the rows stay as they are
    (queued, with their old ``queued_at``) and the next sweep tries again.
    """
    from wherewhen.explanations.services import send_compute

    now = timezone.now()
    cutoff = now - timedelta(seconds=conf.resend_seconds())
    resent: list[int] = []
    with transaction.atomic():
        rows = _lock(
            Explanation.objects.filter(
                status=Status.QUEUED,
                source=Explanation.Source.COMPUTED,
                queued_at__lt=cutoff,
            ).order_by("queued_at", "id")
        )[:limit]
        for row in rows:
            Explanation.objects.filter(pk=row.pk).update(queued_at=now, updated_at=now)
            resent.append(row)
    sent = []
    for row in resent:  # after the commit: the worker that takes it sees the row as it is now
        try:
            send_compute(row)
        except Exception:
            log.warning("explanation %s: could not send it again", row.pk, exc_info=True)
            Explanation.objects.filter(pk=row.pk, status=Status.QUEUED).update(
                queued_at=row.queued_at
            )
            continue
        log.warning(
            "explanation %s: queued since %s and never claimed; sent again", row.pk, row.queued_at
        )
        sent.append(row.pk)
    return sent
