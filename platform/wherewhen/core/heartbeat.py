"""Worker heartbeats: how /healthz knows which queues have a live worker.

Broadcast-based inspection (``celery inspect ping``) needs a broker with fanout exchanges,
which the embedded SQLite broker does not have. Instead each worker's main process writes its
hostname and queues to the database every ``WORKER_HEARTBEAT_SECONDS``; a clean shutdown removes
the row at once, a killed worker goes stale after ``WORKER_STALE_SECONDS``.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

logger = logging.getLogger(__name__)

_state: dict = {"thread": None, "stop": None, "hostname": None}


def beat(hostname: str, queues: list[str], started_at) -> None:
    from wherewhen.core.models import WorkerHeartbeat

    WorkerHeartbeat.objects.update_or_create(
        hostname=hostname,
        defaults={
            "queues": queues,
            "pid": os.getpid(),
            "started_at": started_at,
            "last_seen": timezone.now(),
        },
    )


def _loop(hostname: str, queues: list[str], stop: threading.Event) -> None:
    started_at = timezone.now()
    while True:
        try:
            close_old_connections()
            beat(hostname, queues, started_at)
        except DatabaseError as exc:  # a busy or restarting database: try again next beat
            logger.warning("worker heartbeat not written: %s", exc)
        if stop.wait(settings.WORKER_HEARTBEAT_SECONDS):
            break
    connection.close()


def start(hostname: str, queues: list[str]) -> None:
    stop = threading.Event()
    thread = threading.Thread(
        target=_loop, args=(hostname, queues, stop), name="wherewhen-heartbeat", daemon=True
    )
    _state.update(thread=thread, stop=stop, hostname=hostname)
    thread.start()


def stop() -> None:
    from wherewhen.core.models import WorkerHeartbeat

    if _state["stop"] is None:
        return
    _state["stop"].set()
    _state["thread"].join(timeout=5)
    try:
        WorkerHeartbeat.objects.filter(hostname=_state["hostname"]).delete()
    except DatabaseError as exc:
        logger.warning("worker heartbeat not removed: %s", exc)
    finally:
        connection.close()
    _state.update(thread=None, stop=None, hostname=None)


def live_workers() -> dict[str, list[str]]:
    """Queue name -> hostnames of workers seen within ``WORKER_STALE_SECONDS``."""
    from wherewhen.core.models import WorkerHeartbeat

    cutoff = timezone.now() - timedelta(seconds=settings.WORKER_STALE_SECONDS)
    by_queue: dict[str, list[str]] = {q.name: [] for q in settings.CELERY_TASK_QUEUES}
    for worker in WorkerHeartbeat.objects.filter(last_seen__gte=cutoff):
        for queue in worker.queues:
            by_queue.setdefault(queue, []).append(worker.hostname)
    return by_queue
