"""A bounded, per-process cache of decoded windows (least recently used out first, by bytes).

:func:`workers.video.decode.decode_frames` keeps the frames it decoded (already resized for the
model) under a key naming the file (path, size and modification time, so a replaced file is
never served from the cache), the frames asked for, the target size, the fit and the model's
preprocessing rule. A second request for the same window (another method or class on the same
clip, a batch companion, the prefetch of a queued request) skips decoding. The cache holds at
most ``WHEREWHEN_CLIP_CACHE_MB`` megabytes (default 256; 0 turns it off); an entry larger than
the whole budget is not kept. Entries are read-only arrays: callers index them (a copy).
Thread-safe.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DEFAULT_MB = 256


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0


class FrameCache:
    """LRU of ``key -> (frames, source size)`` bounded by the frames' total bytes."""

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError("the cache size cannot be negative")
        self.max_bytes = int(max_bytes)
        self._entries: OrderedDict[Hashable, tuple[np.ndarray, tuple[int, int]]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.stats = CacheStats()

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def get(self, key: Hashable) -> tuple[np.ndarray, tuple[int, int]] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.stats.misses += 1
                return None
            self._entries.move_to_end(key)
            self.stats.hits += 1
            return entry

    def put(self, key: Hashable, frames: np.ndarray, source_size: tuple[int, int]) -> bool:
        """Keep ``frames`` (made read-only); False when it alone is over the budget."""
        size = int(frames.nbytes)
        if size > self.max_bytes:
            return False
        frames.setflags(write=False)
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= int(old[0].nbytes)
            self._entries[key] = (frames, source_size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _key, (evicted, _size) = self._entries.popitem(last=False)
                self._bytes -= int(evicted.nbytes)
                self.stats.evictions += 1
        return True

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0


def file_key(path: Path) -> tuple[str, int, int]:
    """``(path, size, mtime)``: a file replaced on disk gets a new key."""
    stat = path.stat()
    return (str(path.resolve()), int(stat.st_size), int(stat.st_mtime_ns))


_process_cache: FrameCache | None = None


def process_cache() -> FrameCache:
    """This process's cache, sized by ``WHEREWHEN_CLIP_CACHE_MB`` when first used."""
    global _process_cache
    if _process_cache is None:
        mb = float(os.environ.get("WHEREWHEN_CLIP_CACHE_MB", DEFAULT_MB))
        _process_cache = FrameCache(int(mb * 1024 * 1024))
    return _process_cache
