"""Bookkeeping tasks. ``core.ping`` proves a round trip through the broker to a worker."""

from __future__ import annotations

import os
import platform
import socket

from celery import shared_task


@shared_task(name="core.ping", bind=True)
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
