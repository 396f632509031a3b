"""Celery tasks of the scoring app (queue ``default``; numpy only, never torch).

* ``scoring.recompute`` -- handle pending score requests: recompute the scores whose inputs
  changed, skip the rest (see :func:`wherewhen.scoring.services.process_requests`).
"""

from __future__ import annotations

from wherewhen.core import tasking


@tasking.task(tasking.SCORING_RECOMPUTE, soft_time_limit=900, time_limit=960)
def recompute(request_ids: list[int] | None = None) -> dict:
    from wherewhen.scoring import services

    return services.process_requests(request_ids)
