"""A worker's local copies of stored media, addressed by the SHA-256 of their content.

A worker on a machine without the web server's disk needs a local file for ffmpeg, PyAV,
tracking and explanation compute. :class:`ContentCache` keeps such copies in one folder,
``<root>/<ab>/<sha256><suffix>``, bounded in bytes, the least recently used out first.

Several worker processes on one host share the folder safely:

* a copy is fetched to a temporary name in the cache folder and linked into place only if
  the name is free, so nobody sees half a file, two processes fetching the same content leave
  one file, and a copy in use is never replaced;
* a process using a copy holds a shared ``flock`` on the file itself for as long as it uses it
  (:meth:`ContentCache.use`); eviction takes the exclusive lock without waiting and skips files
  it cannot lock, so a file in use is never deleted from under its reader;
* eviction runs under one exclusive lock on ``<root>/.lock``, so two processes do not race
  over the same bookkeeping. "Recently used" is the file's modification time, set to now on
  every use (``os.utime``), which is shared by every process and survives restarts.

When everything in the cache is in use the cache may stand over its bound until a reader
lets go; a single file larger than the bound is still served (and evicted first afterwards).
No Django here: the platform gives it the folder, the bound and a fetch function.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_KEY = re.compile(r"^[0-9a-f]{64}$")
_SUFFIX = re.compile(r"^(\.[A-Za-z0-9]{1,8})?$")
#: Temporary files older than this (seconds) belong to a process that died mid-fetch.
STALE_TEMP_SECONDS = 3600

Fetch = Callable[[BinaryIO], None]


class CacheError(ValueError):
    """A fetched copy does not have the content its key names (or the key is not a SHA-256)."""


@dataclass(frozen=True)
class Entry:
    path: Path
    size: int
    used: float


class ContentCache:
    """``use(key, fetch)``: a local path holding the content whose SHA-256 is ``key``."""

    def __init__(self, root: str | Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = int(max_bytes)
        self.root.mkdir(parents=True, exist_ok=True)

    # --- public --------------------------------------------------------------------------------

    @contextlib.contextmanager
    def use(
        self, key: str, fetch: Fetch, *, suffix: str = "", verify: bool = True
    ) -> Iterator[Path]:
        """Yield the path of the cached copy of ``key``, fetching it first when missing.

        ``fetch(handle)`` writes the content to an open binary file. With ``verify`` the
        written bytes must hash to ``key`` (else :class:`CacheError`, nothing is kept); keys
        that are not content hashes (a name-derived key for a file whose hash is unknown) pass
        ``verify=False``. The copy cannot be evicted while the ``with`` block runs.
        """
        if not _KEY.match(key):
            raise CacheError(f"not a SHA-256 hex digest: {key!r}")
        if not _SUFFIX.match(suffix):
            raise CacheError(f"unusable suffix: {suffix!r}")
        path = self.path_for(key, suffix)
        while True:
            handle = self._open_locked(path)
            if handle is None:
                self._fetch(path, key, fetch, verify)
                continue
            # An evictor may have unlinked the file between our open and our lock: retry.
            if not self._still_linked(handle, path):
                handle.close()
                continue
            break
        try:
            with contextlib.suppress(OSError):
                os.utime(path)
            self.evict()
            yield path
        finally:
            handle.close()  # releases the shared lock

    def path_for(self, key: str, suffix: str = "") -> Path:
        return self.root / key[:2] / f"{key}{suffix}"

    def entries(self) -> list[Entry]:
        found = []
        for path in self.root.glob("??/*"):
            if path.name.startswith("."):
                continue
            with contextlib.suppress(FileNotFoundError):
                stat = path.stat()
                found.append(Entry(path, stat.st_size, stat.st_mtime))
        return found

    def total_bytes(self) -> int:
        return sum(entry.size for entry in self.entries())

    def evict(self) -> list[Path]:
        """Delete least recently used copies (not in use) until the cache fits its bound."""
        removed: list[Path] = []
        with self._global_lock():
            self._remove_stale_temporaries()
            entries = sorted(self.entries(), key=lambda e: e.used)
            total = sum(e.size for e in entries)
            for entry in entries:
                if total <= self.max_bytes:
                    break
                if self._remove_if_unused(entry.path):
                    total -= entry.size
                    removed.append(entry.path)
        return removed

    # --- internals -----------------------------------------------------------------------------

    def _open_locked(self, path: Path) -> BinaryIO | None:
        try:
            handle = open(path, "rb")  # noqa: SIM115 - returned to the caller, closed there
        except FileNotFoundError:
            return None
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        return handle

    @staticmethod
    def _still_linked(handle: BinaryIO, path: Path) -> bool:
        try:
            current = path.stat()
        except FileNotFoundError:
            return False
        mine = os.fstat(handle.fileno())
        return (mine.st_ino, mine.st_dev) == (current.st_ino, current.st_dev)

    def _fetch(self, path: Path, key: str, fetch: Fetch, verify: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".fetch-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                fetch(handle)
                handle.flush()
                os.fsync(handle.fileno())
            if verify and sha256_of(tmp) != key:
                raise CacheError(f"the fetched copy of {key} has other content")
            os.chmod(tmp, 0o644)
            # Put in place only if nobody did meanwhile: a concurrent fetch of the same key
            # keeps the first copy (which a reader may hold), never replaces it.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    @contextlib.contextmanager
    def _global_lock(self) -> Iterator[None]:
        with open(self.root / ".lock", "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    @staticmethod
    def _remove_if_unused(path: Path) -> bool:
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError:
            return False
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # a reader holds it
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            return True

    def _remove_stale_temporaries(self) -> None:
        cutoff = time.time() - STALE_TEMP_SECONDS
        for tmp in self.root.glob("??/.fetch-*"):
            with contextlib.suppress(FileNotFoundError):
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()


def sha256_of(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
