"""The "explanation finished" signal across processes, and waiting for it without a thread.

A worker that finishes (or fails) an explanation publishes its id on a Redis channel
(``wherewhen:explanation:<id>``) when the platform has a Redis URL
(:func:`wherewhen.explanations.conf.notify_url`: ``EXPLANATION_NOTIFY_URL``, by default the
broker's when it is Redis); on the embedded SQLite broker there is nothing to
publish to and waiters read the database instead.

:func:`wait_for_change` is a coroutine for the long-poll view: it subscribes first, then reads
the row (so a result that landed in between is never missed), and returns as soon as the status
or progress differs from what the client already knows, a message arrives, or the time is up.
While it waits it reads the row again every ``recheck`` seconds (a lost message, a worker on
another broker, and progress of slow methods still get through). It holds a coroutine and, with
Redis, one subscription; never a thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from wherewhen.explanations import conf

log = logging.getLogger(__name__)

CHANNEL = "wherewhen:explanation:{}"

_publisher = None
_publisher_url: str | None = None


def notify_url() -> str | None:
    url = conf.notify_url()
    return url if url.startswith(("redis://", "rediss://")) else None


def publish(ids: Iterable[int]) -> None:
    """Tell waiting clients that these explanations changed state (best effort, never raises)."""
    global _publisher, _publisher_url
    url = notify_url()
    if url is None:
        return
    try:
        if _publisher is None or _publisher_url != url:
            import redis

            _publisher = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
            _publisher_url = url
        pipe = _publisher.pipeline(transaction=False)
        for pk in ids:
            pipe.publish(CHANNEL.format(int(pk)), b"1")
        pipe.execute()
    except Exception:  # waiters re-read the database: a lost notice costs latency only
        log.warning("could not publish the end of explanation(s) %s", list(ids), exc_info=True)


def changed(state: dict[str, Any], known_status: str | None, known_progress: float | None) -> bool:
    if state["status"] in ("done", "failed"):
        return True
    if known_status is not None and state["status"] != known_status:
        return True
    return known_progress is not None and abs(float(state["progress"]) - known_progress) >= 0.01


async def wait_for_change(
    explanation_id: int,
    read: Callable[[], Awaitable[dict[str, Any]]],
    known_status: str | None,
    known_progress: float | None,
    timeout: float,
    recheck: float | None = None,
) -> dict[str, Any]:
    """The row's status (``await read()``) once it differs from what the client knows, or when
    ``timeout`` seconds have passed."""
    url = notify_url()
    if recheck is None:
        recheck = conf.wait_recheck_seconds(url is not None)
    deadline = time.monotonic() + timeout
    pubsub = client = None
    if url is not None:
        try:
            import redis.asyncio as aioredis

            client = aioredis.Redis.from_url(url, socket_connect_timeout=2)
            pubsub = client.pubsub()
            await pubsub.subscribe(CHANNEL.format(int(explanation_id)))
        except Exception:
            log.warning("cannot subscribe to explanation notices; reading the database instead")
            pubsub = None
            recheck = conf.wait_recheck_seconds(False)
    try:
        state = await read()
        while not changed(state, known_status, known_progress):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            pause = min(recheck, left)
            if pubsub is not None:
                try:
                    await pubsub.get_message(ignore_subscribe_messages=True, timeout=pause)
                except Exception:
                    pubsub = None
                    await asyncio.sleep(pause)
            else:
                await asyncio.sleep(pause)
            state = await read()
        return state
    finally:
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()
