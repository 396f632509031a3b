"""Bookkeeping tasks. ``core.ping`` proves a round trip through the broker to a worker."""

from __future__ import annotations

import os
import platform
import socket

from celery import shared_task

from wherewhen.core import tasking


@shared_task(name=tasking.PING, bind=True)
def ping(self) -> dict:
    """Answer with who ran it; also shows that the stdlib ``platform`` module is the real one."""
    return {
        "pong": True,
        "worker": self.request.hostname,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "system": platform.system(),
        "torch_loaded": "torch" in __import__("sys").modules,
    }
