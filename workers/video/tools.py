"""Where the ffmpeg and ffprobe binaries come from, and how they are run.

ffmpeg: ``$WHEREWHEN_FFMPEG`` if set, else the binary shipped by the ``imageio-ffmpeg`` wheel
(so a fresh machine needs no system package). ffprobe: ``$WHEREWHEN_FFPROBE`` if set (``none``
or ``off`` disables it), else ``ffprobe`` on ``PATH`` (Debian's ``ffmpeg`` package installs
one); imageio-ffmpeg ships none, so without it probing parses ``ffmpeg -i`` instead (see
:mod:`workers.video.probe`).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Sequence

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


def run(
    args: Sequence[str], *, timeout: float | None = None, input: bytes | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run a tool with stdin closed (or fed), capturing stdout and stderr as bytes."""
    try:
        return subprocess.run(
            list(args),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ToolMissingError(f"cannot run {args[0]}: {exc}") from exc


def tail(stderr: bytes | str, limit: int = 600) -> str:
    """The last few meaningful lines of a tool's stderr, for logs and error details."""
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    lines = [line for line in text.splitlines() if line.strip()]
    return "\n".join(lines)[-limit:]
