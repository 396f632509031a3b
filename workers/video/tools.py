"""Where the ffmpeg and ffprobe binaries come from, and how they are run.

ffmpeg: ``$WHEREWHEN_FFMPEG`` if set, else the binary shipped by the ``imageio-ffmpeg`` wheel
(so a fresh machine needs no system package). ffprobe: ``$WHEREWHEN_FFPROBE`` if set (``none``
or ``off`` disables it), else ``ffprobe`` on ``PATH`` (Debian's ``ffmpeg`` package installs
one); imageio-ffmpeg ships none, so without it probing parses ``ffmpeg -i`` instead (see
:mod:`workers.video.probe`).

Every run is fenced (``popen``/``run`` set resource limits in the child before it executes):
``FFMPEG_MAX_MEMORY_MB`` of address space (default 8192) and ``FFMPEG_MAX_CPU_SECONDS`` of CPU
time (default 3600; the kernel stops the process past it). A crafted file that makes a decoder
allocate without bound, or loop, fails that one run with an error instead of taking the
machine down. ``0`` lifts a limit.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import subprocess
from collections.abc import Callable, Sequence

from workers.video.errors import ToolMissingError

DISABLED = {"", "0", "none", "off", "false", "no"}


@functools.cache
def _imageio_ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary to run."""
    configured = os.environ.get("WHEREWHEN_FFMPEG", "").strip()
    if configured:
        found = shutil.which(configured)
        if not found:
            raise ToolMissingError(f"WHEREWHEN_FFMPEG={configured!r} is not an executable")
        return found
    try:
        return _imageio_ffmpeg()
    except Exception as exc:  # imageio-ffmpeg raises RuntimeError with its own wording
        raise ToolMissingError(f"no ffmpeg binary available: {exc}") from exc


def ffprobe_exe() -> str | None:
    """Path of an ffprobe binary, or None when there is none (or it is switched off)."""
    configured = os.environ.get("WHEREWHEN_FFPROBE")
    if configured is not None:
        if configured.strip().lower() in DISABLED:
            return None
        found = shutil.which(configured.strip())
        if not found:
            raise ToolMissingError(f"WHEREWHEN_FFPROBE={configured!r} is not an executable")
        return found
    return shutil.which("ffprobe")


def _limit(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def resource_limits() -> dict[int, int]:
    """The rlimits every tool run gets (``resource.RLIMIT_*`` -> value; absent: unlimited)."""
    limits = {}
    memory_mb = _limit("FFMPEG_MAX_MEMORY_MB", 8192)
    cpu_seconds = _limit("FFMPEG_MAX_CPU_SECONDS", 3600)
    if memory_mb > 0:
        limits[resource.RLIMIT_AS] = memory_mb * 1024 * 1024
    if cpu_seconds > 0:
        limits[resource.RLIMIT_CPU] = cpu_seconds
    return limits


def _preexec(limits: dict[int, int]) -> Callable[[], None]:
    """What the child runs between fork and exec: only setrlimit calls, nothing that imports
    or allocates, so it is safe in a process with threads."""
    items = list(limits.items())
    setrlimit = resource.setrlimit

    def apply() -> None:
        for kind, value in items:
            setrlimit(kind, (value, value))

    return apply


def popen(args: Sequence[str], **kwargs) -> subprocess.Popen:
    """``subprocess.Popen`` with the resource limits applied in the child."""
    try:
        return subprocess.Popen(list(args), preexec_fn=_preexec(resource_limits()), **kwargs)
    except FileNotFoundError as exc:
        raise ToolMissingError(f"cannot run {args[0]}: {exc}") from exc


def run(
    args: Sequence[str], *, timeout: float | None = None, input: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run a tool with stdin closed (or fed), capturing stdout and stderr as bytes, within the
    resource limits."""
    try:
        return subprocess.run(
            list(args),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
            preexec_fn=_preexec(resource_limits()),
        )
    except FileNotFoundError as exc:
        raise ToolMissingError(f"cannot run {args[0]}: {exc}") from exc


def tail(stderr: bytes | str, limit: int = 600) -> str:
    """The last few meaningful lines of a tool's stderr, for logs and error details."""
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(lines)[-limit:]
