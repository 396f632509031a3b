"""Tunables of the explanations app: a Django setting when present, else the environment.

| setting / environment variable | default | meaning |
|---|---|---|
| ``EXPLANATION_LEASE_SECONDS`` | 30 | a computing worker renews its claim this often x3; a claim not renewed for this long is abandoned and the work is queued again |
| ``EXPLANATION_BATCH_MAX`` | 8 | most queued requests (same model, method, parameters) one compute task takes together |
| ``EXPLANATION_IMPORT_MAX_BYTES`` | 64 MiB | largest ``.npz`` accepted for import |
| ``EXPLANATION_RESEND_SECONDS`` | 300 | a request still queued (never claimed) this long is sent to the queue again: its message may have been lost (a broker restarted without persistence, flushed, or down when it was sent) |
| ``EXPLANATION_MAX_ATTEMPTS`` | 3 | a request whose worker died this many times (crash, out of memory, hard time limit) fails instead of being queued again |
| ``EXPLANATION_MODEL_ROOTS`` | (any) | colon-separated folders; when set, only checkpoint directories inside them can be registered |
| ``EXPLANATION_TIME_LIMITS`` | fast 300/360 s, slow 3600/3700 s | (soft, hard) time limits per method family |
| ``EXPLANATION_NOTIFY_URL`` | the broker's, when Redis | Redis that workers publish "finished" on; none: waiting clients read the database |
| ``EXPLANATION_WAIT_MAX_SECONDS`` | 25 | longest one status wait (long-poll) is held open |
| ``EXPLANATION_WAIT_RECHECK_SECONDS`` | 2 (0.5 without Redis) | how often a waiting long-poll reads the row anyway (lost notices, progress) |
| ``EXPLANATION_WAIT_MAX_STREAMS`` | 200 | status waits one web process holds at once; beyond it: 429, poll instead |
"""

from __future__ import annotations

import os

from django.conf import settings


def _number(name: str, default: float) -> float:
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name) or os.environ.get(f"WHEREWHEN_{name}")
    return float(value) if value not in (None, "") else float(default)


def lease_seconds() -> float:
    return max(1.0, _number("EXPLANATION_LEASE_SECONDS", 30))


def resend_seconds() -> float:
    return max(1.0, _number("EXPLANATION_RESEND_SECONDS", 300))


def batch_max() -> int:
    return max(1, int(_number("EXPLANATION_BATCH_MAX", 8)))


def import_max_bytes() -> int:
    return int(_number("EXPLANATION_IMPORT_MAX_BYTES", 64 * 1024 * 1024))


def max_attempts() -> int:
    return max(1, int(_number("EXPLANATION_MAX_ATTEMPTS", 3)))


def model_roots() -> list[str]:
    """Folders registered checkpoints must lie in (empty: anywhere)."""
    value = getattr(settings, "EXPLANATION_MODEL_ROOTS", None)
    if value is None:
        value = os.environ.get("EXPLANATION_MODEL_ROOTS") or os.environ.get(
            "WHEREWHEN_EXPLANATION_MODEL_ROOTS", ""
        )
    if isinstance(value, str):
        value = [v for v in value.split(os.pathsep) if v.strip()]
    return [str(v) for v in value]


def notify_url() -> str:
    """Redis URL for "finished" notices (empty: none; waiters read the database)."""
    value = getattr(settings, "EXPLANATION_NOTIFY_URL", None)
    if value is None:
        value = os.environ.get("EXPLANATION_NOTIFY_URL") or os.environ.get(
            "WHEREWHEN_EXPLANATION_NOTIFY_URL"
        )
    if value is None:
        broker = str(getattr(settings, "CELERY_BROKER_URL", "") or "")
        value = broker if broker.startswith(("redis://", "rediss://")) else ""
    return str(value)


def wait_max_seconds() -> float:
    return max(0.0, _number("EXPLANATION_WAIT_MAX_SECONDS", 25))


def wait_max_streams() -> int:
    return max(0, int(_number("EXPLANATION_WAIT_MAX_STREAMS", 200)))


def wait_recheck_seconds(redis: bool) -> float:
    return max(0.05, _number("EXPLANATION_WAIT_RECHECK_SECONDS", 2.0 if redis else 0.5))
