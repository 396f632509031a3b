"""Celery tasks in one place: their names, sending them by name, and the one task policy.

* **Names.** Every task's name is written here once; a name carries its queue (``media.*`` and
  ``gpu.*`` route to those queues, everything else to ``default``, see ``wherewhen.celery``).
  The web process sends tasks by name and never imports the code that runs them.
* **Sending.** :func:`send` sends a task by name; a broker that cannot be reached raises
  :class:`QueueUnavailable`, and each caller says what that means for its rows.
* **Policy.** :func:`task` declares a task with the policy every long task shares: it is
  acknowledged late and rejected back to the queue when its worker dies (so another worker runs
  it), it retries only transient errors (the database or the disk hiccuped) with exponential
  backoff and jitter, and it has time limits. Tasks are thin adapters: they take ids and call
  a service.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError

VIDEO_PROCESS = "media.videos.process"
EXPLANATION_COMPUTE = "gpu.explanations.compute"
EXPLANATION_RENDER = "media.explanations.render_overlay"
EXPLANATION_REQUEUE = "explanations.requeue_abandoned"
SCORING_RECOMPUTE = "scoring.recompute"
PING = "core.ping"

#: Errors worth a retry: the database or the disk hiccuped.
TRANSIENT: tuple[type[BaseException], ...] = (OperationalError, InterfaceError, OSError)


class QueueUnavailable(Exception):
    """The task could not be handed to the broker (it is down or unreachable)."""


def celery_app():
    from wherewhen.celery import app

    return app


def send(name: str, *, args: Iterable[Any] = (), kwargs: dict | None = None, **options) -> None:
    """Send task ``name`` (``options``: ``task_id``, ``queue``, time limits, ...).

    Nothing waits for the task's Celery result (its rows in the database are the result), so it
    is sent with ``ignore_result``: the worker stores none, and the sending process does not
    subscribe to the task's result channel, which the Redis result backend otherwise does for
    every task sent and keeps until a result is read (one subscription more per request, for
    the life of the web process)."""
    if kwargs:
        options["kwargs"] = kwargs
    options.setdefault("ignore_result", True)
    try:
        celery_app().send_task(name, args=list(args), **options)
    except Exception as exc:  # kombu raises many kinds of connection errors
        raise QueueUnavailable(f"{exc.__class__.__name__}: {exc}") from exc


def task(
    name: str,
    *,
    transient: tuple[type[BaseException], ...] = TRANSIENT,
    max_retries: int = 5,
    soft_time_limit: float | None = None,
    time_limit: float | None = None,
    **options: Any,
) -> Callable:
    """Declare a Celery task with the shared policy (see the module docstring). ``options``
    pass through to Celery (``bind``, ``base``, ``ignore_result``, ...)."""
    policy: dict[str, Any] = {
        "name": name,
        "acks_late": True,
        "reject_on_worker_lost": True,
        "autoretry_for": transient,
        "retry_backoff": 2,
        "retry_backoff_max": 60,
        "retry_jitter": True,
        "max_retries": max_retries,
    }
    if soft_time_limit is not None:
        policy["soft_time_limit"] = soft_time_limit
    if time_limit is not None:
        policy["time_limit"] = time_limit
    policy.update(options)
    return shared_task(**policy)
