"""Celery tasks of the annotations app: thin adapters over ``services``.

* ``media.annotations.track`` (queue ``media``) -- one assisted-tracking run too long for the
  request (:func:`wherewhen.annotations.services.run_tracking`).
"""

from __future__ import annotations

from wherewhen.annotations import services
from wherewhen.core import tasking


@tasking.task(services.TRACK_TASK, soft_time_limit=600, time_limit=660)
def track(job_id: int) -> dict:
    """Run one queued tracking job; safe to deliver twice (only a queued job is claimed)."""
    return {"job": job_id, "status": services.run_tracking(int(job_id))}
