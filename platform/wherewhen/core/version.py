"""The code version of this process: the package version and, where the source is a git
checkout, ``git describe``; computed once per process (provenance of stored numbers)."""

from __future__ import annotations

import functools
import subprocess
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


@functools.cache
def package_version() -> str:
    try:
        return metadata.version("wherewhen")
    except metadata.PackageNotFoundError:
        return _pyproject_version()


def _pyproject_version() -> str:
    import tomllib

    try:
        with open(ROOT / "pyproject.toml", "rb") as f:
            return str(tomllib.load(f)["project"]["version"])
    except (OSError, KeyError, ValueError):
        return "unknown"


@functools.cache
def git_describe() -> str:
    """``git describe --always --dirty`` of the source tree ("" where there is none)."""
    if not (ROOT / ".git").exists():
        return ""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


@functools.cache
def code_version() -> str:
    """``wherewhen <version>`` and `` (<git describe>)`` when known."""
    describe = git_describe()
    return f"wherewhen {package_version()}" + (f" ({describe})" if describe else "")
