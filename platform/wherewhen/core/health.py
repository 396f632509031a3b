"""Health checks behind /healthz: the database, the broker and a live worker per queue."""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError, connection

from wherewhen.celery import app


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return {"ok": False, "detail": f"database unreachable: {exc}"}
    return {"ok": True, "detail": connection.vendor}


def check_broker() -> dict:
    transport = app.conf.broker_url.split("://", 1)[0]
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception as exc:  # kombu raises transport-specific errors
        return {"ok": False, "detail": f"broker unreachable ({transport}): {exc}"}
    return {"ok": True, "detail": transport}


def check_workers() -> dict:
    from wherewhen.core.heartbeat import live_workers

    try:
        queues = live_workers()
    except DatabaseError as exc:
        return {"ok": False, "queues": {}, "detail": f"cannot read worker heartbeats: {exc}"}
    missing = [name for name, hosts in queues.items() if not hosts]
    if missing:
        detail = "no live worker on queue " + ", ".join(missing)
    else:
        detail = "every queue has a live worker"
    return {"ok": not missing, "queues": queues, "detail": detail}


def report() -> dict:
    checks = {
        "database": check_database(),
        "broker": check_broker(),
        "workers": check_workers(),
    }
    healthy = all(check["ok"] for check in checks.values())
    return {
        "status": "ok" if healthy else "degraded",
        "checks": checks,
        "queues": [queue.name for queue in settings.CELERY_TASK_QUEUES],
    }
