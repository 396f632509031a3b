"""The worker's content-addressed cache (``workers.mediacache``): content, bounds, least
recently used out first, files in use kept, and several processes sharing one folder."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from workers.mediacache import CacheError, ContentCache


def blob(n: int, size: int) -> bytes:
    return hashlib.sha256(str(n).encode()).digest() * (size // 32) + b"x" * (size % 32)


def key_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def writer(data: bytes, calls: list | None = None):
    def fetch(handle) -> None:
        if calls is not None:
            calls.append(1)
        handle.write(data)

    return fetch


def test_fetches_once_and_serves_the_content(tmp_path):
    cache = ContentCache(tmp_path, max_bytes=10_000)
    data = blob(1, 1000)
    calls: list = []
    with cache.use(key_of(data), writer(data, calls), suffix=".mp4") as path:
        assert path.read_bytes() == data and path.suffix == ".mp4"
    with cache.use(key_of(data), writer(data, calls), suffix=".mp4") as again:
        assert again == path
    assert len(calls) == 1


def test_wrong_content_is_refused_and_not_kept(tmp_path):
    cache = ContentCache(tmp_path, max_bytes=10_000)
    data = blob(1, 100)
    with pytest.raises(CacheError), cache.use(key_of(data), writer(b"other bytes")):
        pass
    assert cache.entries() == []
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and p.name != ".lock"]
    # A failing fetch leaves nothing either.

    def broken(handle):
        handle.write(b"half")
        raise OSError("connection reset")

    with pytest.raises(OSError), cache.use(key_of(data), broken):
        pass
    assert cache.entries() == []


def test_keys_must_be_sha256(tmp_path):
    cache = ContentCache(tmp_path, max_bytes=10)
    with pytest.raises(CacheError), cache.use("../../etc/passwd", writer(b"")):
        pass


def test_bound_in_bytes_least_recently_used_out_first(tmp_path):
    cache = ContentCache(tmp_path, max_bytes=3000)
    blobs = [blob(i, 1000) for i in range(4)]
    for i in range(3):
        with cache.use(key_of(blobs[i]), writer(blobs[i])):
            pass
        time.sleep(0.02)  # distinct use times
    # Use the oldest again: now blob 1 is the least recently used.
    with cache.use(key_of(blobs[0]), writer(blobs[0])):
        pass
    time.sleep(0.02)
    with cache.use(key_of(blobs[3]), writer(blobs[3])):
        pass
    kept = {p.path.name for p in cache.entries()}
    assert kept == {key_of(blobs[i]) for i in (0, 2, 3)}
    assert cache.total_bytes() <= 3000


def test_a_file_in_use_is_not_evicted(tmp_path):
    cache = ContentCache(tmp_path, max_bytes=1500)
    a, b = blob(1, 1000), blob(2, 1000)
    with cache.use(key_of(a), writer(a)) as held:
        time.sleep(0.02)
        # b needs room, but a is in use (and older): a stays, the cache stands over its bound.
        with cache.use(key_of(b), writer(b)):
            assert held.read_bytes() == a
            assert cache.total_bytes() == 2000
    # Once nobody uses a, the next eviction takes it (least recently used).
    assert cache.evict() == [cache.path_for(key_of(a))]
    assert [e.path.name for e in cache.entries()] == [key_of(b)]


def test_stale_temporary_files_are_swept(tmp_path):
    cache = ContentCache(tmp_path, max_bytes=1000)
    (tmp_path / "ab").mkdir()
    stale = tmp_path / "ab" / ".fetch-dead"
    stale.write_bytes(b"partial")
    old = time.time() - 7200
    os.utime(stale, (old, old))
    fresh = tmp_path / "ab" / ".fetch-alive"
    fresh.write_bytes(b"partial")
    cache.evict()
    assert not stale.exists() and fresh.exists()


# --- several processes ------------------------------------------------------------------------

N_BLOBS = 6
BLOB_SIZE = 64 * 1024
BOUND = 2 * BLOB_SIZE  # smaller than what 4 processes hold at once


def _worker(root: str, seed: int, rounds: int, results) -> None:
    cache = ContentCache(root, max_bytes=BOUND)
    fetched = 0
    bad = 0
    order = [(seed * 7 + k * 5) % N_BLOBS for k in range(rounds)]
    for n in order:
        data = blob(n, BLOB_SIZE)

        def fetch(handle, data=data):
            nonlocal fetched
            fetched += 1
            # Written in pieces, slowly, so other processes see the fetch in progress.
            for i in range(0, len(data), 16 * 1024):
                handle.write(data[i : i + 16 * 1024])
                time.sleep(0.001)

        with cache.use(key_of(data), fetch) as path:
            # The copy must stay intact while in use, whatever the others evict.
            time.sleep(0.01)
            if path.read_bytes() != data:
                bad += 1
    results.put((seed, fetched, bad))


def test_several_processes_share_one_cache(tmp_path):
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(tmp_path), s, 30, results)) for s in range(4)]
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert all(bad == 0 for _seed, _fetched, bad in outcomes), outcomes
    cache = ContentCache(tmp_path, max_bytes=BOUND)
    entries = cache.entries()
    # Nothing in use now: one more eviction brings the cache within its bound, and every
    # remaining copy holds the content its name says.
    cache.evict()
    assert cache.total_bytes() <= BOUND
    for entry in cache.entries():
        assert key_of(entry.path.read_bytes()) == entry.path.name
    assert not list(Path(tmp_path).glob("??/.fetch-*"))
    assert entries  # the run did use the cache
