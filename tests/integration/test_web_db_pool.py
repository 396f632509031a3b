"""The ASGI web tier under a burst: a bounded pool of PostgreSQL connections per web process.

Each ASGI request runs in a thread of its own; with persistent connections every thread kept
one, and a burst of 50 requests ran the server out of connections. The web tier now borrows
from a pool of ``DATABASE_POOL_MAX_SIZE`` per process, and a request that cannot get one within
``DATABASE_POOL_TIMEOUT`` seconds is told to retry (503 with ``Retry-After``), never a 500.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from tests.conftest import ROOT, database_url_for_test_db, free_port
from wherewhen.core.management.commands.up import web_command

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.postgres]


def _start_web(tmp_path, **extra_env) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
        DATABASE_URL=database_url_for_test_db(),
        WHEREWHEN_VAR_DIR=str(tmp_path),
        SECRET_KEY="test-secret-key-for-web-processes-only",
        CACHE_URL="db",
        CACHE_KEY_PREFIX=f"test-{time.monotonic_ns()}",
    )
    env.update(extra_env)
    log = open(tmp_path / "web.log", "wb")  # noqa: SIM115 - handed to the child process
    command = web_command("127.0.0.1", port)
    command[command.index("--workers") + 1] = env.get("WEB_CONCURRENCY", "2")
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    base = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(base + "healthz", timeout=30).close()
            break
        except urllib.error.HTTPError:
            break  # answering (503 while the worker is absent is fine)
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise AssertionError((tmp_path / "web.log").read_text()[-4000:]) from None
            time.sleep(0.3)
    return proc, base


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _get(url: str, token: str, timeout: float = 60) -> tuple[int, dict, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"{}")


def _connections(dbname: str) -> int:
    with psycopg.connect(_dsn(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (dbname,)
        ).fetchone()
        return int(row[0])


def _dsn() -> str:
    return database_url_for_test_db().replace("postgres://", "postgresql://", 1)


@pytest.fixture
def researcher_token(transactional_db, settings):
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from wherewhen.accounts.models import Role, User

    settings.CACHES = {
        "default": {"BACKEND": "wherewhen.core.cache.DatabaseCache", "LOCATION": "wherewhen_cache"}
    }
    call_command("createcachetable", verbosity=0)
    user = User.objects.create_user("pool-researcher", password="x" * 12, role=Role.RESEARCHER)
    return Token.objects.create(user=user).key


def test_a_burst_stays_within_the_pool_and_every_request_is_answered(researcher_token, tmp_path):
    from django.db import connection

    dbname = connection.settings_dict["NAME"]
    workers, pool = 2, 3
    proc, base = _start_web(
        tmp_path, WEB_CONCURRENCY=str(workers), DATABASE_POOL_MAX_SIZE=str(pool)
    )
    try:
        baseline = _connections(dbname)
        peak = [baseline]
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                peak[0] = max(peak[0], _connections(dbname))
                time.sleep(0.02)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        burst = 60
        barrier = threading.Barrier(burst)

        def one(_):
            barrier.wait(timeout=60)
            return _get(base + "api/v1/videos/", researcher_token)

        with ThreadPoolExecutor(burst) as pool_of_clients:
            results = list(pool_of_clients.map(one, range(burst)))
        stop.set()
        watcher.join(timeout=5)
    finally:
        _stop(proc)

    statuses = sorted({status for status, _, _ in results})
    assert statuses == [200], (statuses, (tmp_path / "web.log").read_text()[-3000:])
    # The web processes never held more than their pools (plus the watcher's own connection);
    # before the pool, each of the 60 request threads kept a connection of its own.
    assert peak[0] - baseline <= workers * pool + 1, (peak[0], baseline)


def test_a_request_that_waits_in_vain_for_a_connection_gets_503_not_500(researcher_token, tmp_path):
    proc, base = _start_web(
        tmp_path, WEB_CONCURRENCY="1", DATABASE_POOL_MAX_SIZE="1", DATABASE_POOL_TIMEOUT="0.5"
    )
    try:
        # The one pooled connection is held by a request stuck behind a lock on the token
        # table (as a slow query would hold it); the next request cannot get a connection.
        with psycopg.connect(_dsn()) as locker:
            locker.execute("LOCK TABLE authtoken_token IN ACCESS EXCLUSIVE MODE")
            with ThreadPoolExecutor(1) as background:
                stuck = background.submit(_get, base + "api/v1/videos/", researcher_token)
                time.sleep(1.0)  # it has the connection and waits for the lock
                second = _get(base + "api/v1/videos/", researcher_token)
                locker.rollback()  # releases the lock: the stuck request completes
                first = stuck.result(timeout=60)
    finally:
        _stop(proc)

    # One request held the connection and completed once the lock went; the other waited
    # half a second for a connection and was told to retry (whichever of them came first).
    answers = sorted([first, second], key=lambda answer: answer[0])
    assert [status for status, _, _ in answers] == [200, 503], (
        answers,
        (tmp_path / "web.log").read_text()[-3000:],
    )
    _, headers, body = answers[1]
    assert "try again" in body["detail"]
    assert headers.get("Retry-After") == "2"
