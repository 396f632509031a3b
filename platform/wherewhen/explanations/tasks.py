"""Celery tasks of the explanations app: thin adapters over ``compute`` and ``exporting``.

* ``gpu.explanations.compute`` (queue ``gpu``) -- compute one explanation, batched with queued
  companions; the web sends it by name with per-method-family time limits.
* ``media.explanations.render_overlay`` (queue ``media``) -- render an export (MP4 or PNG).
* ``explanations.requeue_abandoned`` (queue ``default``) -- queue again work whose worker died.

Nothing here imports torch at import time: the web process and the default/media workers load
this module too.
"""

from __future__ import annotations

import logging
import threading

from celery import Task, shared_task
from celery.signals import worker_ready, worker_shutdown
from django.db import InterfaceError, OperationalError

from wherewhen.core import tasking
from wherewhen.explanations.compute import TransientError

log = logging.getLogger(__name__)

# Errors worth a retry with backoff: the database or the disk hiccuped, the GPU was full.
TRANSIENT = (*tasking.TRANSIENT, TransientError)


class ComputeTask(Task):
    """Marks the explanation failed when the task gives up (retries exhausted, or an error
    before the row was claimed), unless another worker holds it or it is finished."""

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if not args:
            return
        from wherewhen.explanations import claims

        try:
            claims.fail_if_queued(
                int(args[0]),
                f"Gave up after {self.request.retries + 1} attempt(s); the last error was: {exc}",
            )
        except Exception:  # the database is still down: the row stays queued, a new request retries
            log.warning("could not mark explanation %s failed", args[0], exc_info=True)


@tasking.task(
    tasking.EXPLANATION_COMPUTE,
    base=ComputeTask,
    bind=True,
    transient=TRANSIENT,
    soft_time_limit=300,
    time_limit=360,
    ignore_result=True,  # the row is the result; the worker's log still shows the outcome
)
def compute_explanation(self, explanation_id: int) -> dict:
    """Compute explanation ``explanation_id`` unless it is done or owned by a live worker.

    The web sends it with the time limits of the method's family (``methods.time_limits``);
    the decorator's limits apply to messages sent without them.
    """
    from wherewhen.explanations import compute

    return compute.run(int(explanation_id), node=self.request.hostname)


@tasking.task(
    tasking.EXPLANATION_RENDER,
    bind=True,
    transient=(OperationalError, InterfaceError),
    max_retries=3,
    soft_time_limit=900,
    time_limit=960,
)
def render_overlay(self, export_id: int) -> dict:
    """Render export ``export_id`` (overlay MP4 or keyframe PNG strip) with ffmpeg."""
    from wherewhen.explanations import exporting

    return exporting.render(int(export_id))


@shared_task(name=tasking.EXPLANATION_REQUEUE)
def requeue_abandoned() -> list[int]:
    """Queue again the explanations whose worker died (also run by every gpu worker)."""
    from wherewhen.explanations import claims

    return claims.requeue_abandoned()


# --- The sweep inside gpu workers ----------------------------------------------------------------

_sweeper: _Sweeper | None = None


class _Sweeper(threading.Thread):
    """In a gpu worker's main process, at start and then periodically: requeue abandoned work
    and send again the work whose message was lost (celery beat is not needed)."""

    def __init__(self, interval: float) -> None:
        super().__init__(name="explanation-sweeper", daemon=True)
        self.interval = interval
        self.stopping = threading.Event()

    def run(self) -> None:
        from django.db import close_old_connections, connection

        from wherewhen.explanations import claims

        try:
            while True:
                try:
                    close_old_connections()
                    ids = claims.requeue_abandoned()
                    if ids:
                        log.warning("queued abandoned explanation(s) %s again", ids)
                    ids = claims.resend_lost()
                    if ids:
                        log.warning("sent lost explanation(s) %s again", ids)
                except Exception:
                    log.warning("the abandoned-work sweep failed", exc_info=True)
                if self.stopping.wait(self.interval):
                    return
        finally:
            connection.close()


@worker_ready.connect
def _start_sweeper(sender, **kwargs) -> None:  # sender: the worker's Consumer
    global _sweeper
    try:
        queues = {queue.name for queue in sender.task_consumer.queues}
    except AttributeError:
        return
    if "gpu" not in queues or _sweeper is not None:
        return
    from wherewhen.explanations import conf

    interval = min(conf.lease_seconds() / 2, conf.resend_seconds() / 2)
    _sweeper = _Sweeper(interval=max(1.0, interval))
    _sweeper.start()


@worker_shutdown.connect
def _stop_sweeper(sender=None, **kwargs) -> None:
    global _sweeper
    if _sweeper is not None:
        _sweeper.stopping.set()
        _sweeper = None
