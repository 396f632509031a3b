"""Who runs a piece of work: a worker's identity and whether it is still alive.

A claim names its owner as ``node|host|pid`` (:func:`worker_identity`); a process on the same
host can tell whether that owner still exists (:func:`owner_is_alive`), so work held by a
crashed process is taken over at once instead of after its lease. Used by the explanation
claims and by assisted tracking runs.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def worker_identity(node: str | None = None) -> str:
    """``node|host|pid``: who holds a claim (the pid is the process doing the work)."""
    return f"{node or 'worker'}|{socket.gethostname()}|{os.getpid()}"


def owner_is_alive(claimed_by: str) -> bool | None:
    """True/False when the owner runs on this host (its pid is checked), None otherwise."""
    try:
        _node, host, pid_text = claimed_by.rsplit("|", 2)
        pid = int(pid_text)
    except ValueError:
        return None
    if host != socket.gethostname():
        return None
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """A process that exited but was not reaped yet (Linux): it runs nothing any more."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[:1] == ["Z"]
