"""Celery tasks of the scoring app (queue ``default``; numpy only, never torch).

* ``scoring.recompute`` -- handle pending score requests: recompute the scores whose inputs
  changed, skip the rest (see :func:`wherewhen.scoring.services.process_requests`).
"""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError


@shared_task(
    name="scoring.recompute",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError, OSError),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=900,
    time_limit=960,
)
def recompute(request_ids: list[int] | None = None) -> dict:
    from wherewhen.scoring import services

    return services.process_requests(request_ids)
