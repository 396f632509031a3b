"""The web server as ``manage.py up`` runs it: slow clients cannot starve it, oversize bodies are
refused before they are read, and it believes no forwarded address by itself."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import ROOT, database_url_for_test_db, free_port
from wherewhen.core.management.commands.up import web_command

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture
def web(transactional_db, tmp_path, settings):
    port = free_port()
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
        DATABASE_URL=database_url_for_test_db(),
        WHEREWHEN_VAR_DIR=str(tmp_path),
        SECRET_KEY="test-secret-key-for-web-processes-only",
        WEB_CONCURRENCY="1",
        LOGIN_THROTTLE_RATE="2/day",
        CACHE_URL="db",
        CACHE_KEY_PREFIX=f"test-{time.monotonic_ns()}",
    )
    from django.core.management import call_command

    settings.CACHES = {
        "default": {"BACKEND": "wherewhen.core.cache.DatabaseCache", "LOCATION": "wherewhen_cache"}
    }
    call_command("createcachetable", verbosity=0)
    log = open(tmp_path / "web.log", "wb")  # noqa: SIM115 - handed to the child process
    proc = subprocess.Popen(
        web_command("127.0.0.1", port), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    log.close()
    base = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            _get(base + "healthz", timeout=60)
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise AssertionError((tmp_path / "web.log").read_text()[-4000:]) from None
            time.sleep(0.3)
    yield base, port
    proc.terminate()
    proc.wait(timeout=30)


def _get(url: str, timeout: float) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_healthz_answers_while_slow_clients_hold_connections(web):
    base, port = web
    for _ in range(3):  # warm: both processes have their connections
        assert _get(base + "healthz", timeout=60) in (200, 503)
    started = time.monotonic()
    _get(base + "healthz", timeout=60)
    unloaded = time.monotonic() - started
    slow = []
    try:
        for _ in range(20):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(
                b"POST /api/v1/videos/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: multipart/form-data; boundary=xyz\r\n"
                b"Content-Length: 10485760\r\n\r\n" + b"x" * 100
            )
            slow.append(sock)
        time.sleep(0.5)
        for _ in range(5):
            started = time.monotonic()
            status = _get(base + "healthz", timeout=5)
            elapsed = time.monotonic() - started
            assert status in (200, 503)
            # This fault test bounds latency on purpose: a starved server would not answer.
            assert elapsed < 1.0, f"/healthz took {elapsed:.2f} s (alone: {unloaded:.2f} s)"
    finally:
        for sock in slow:
            sock.close()


def test_a_body_over_the_limit_is_refused_before_it_is_read(web):
    base, port = web
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            b"POST /api/v1/videos/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: multipart/form-data; boundary=xyz\r\n"
            b"Content-Length: 1000000000000\r\n\r\n"
        )
        chunks = []
        while chunk := sock.recv(65536):  # the server closes after answering
            chunks.append(chunk)
        answer = b"".join(chunks).decode()
    assert answer.startswith("HTTP/1.1 413")
    assert "larger than the limit" in answer


def test_the_server_believes_no_forwarded_address(web):
    base, _ = web
    from wherewhen.accounts.models import Role, User

    User.objects.create_user("rita", password="s3cret-pass!", role=Role.RESEARCHER)

    def attempt(forged: str) -> int:
        request = urllib.request.Request(
            base + "api/v1/auth/token/",
            data=json.dumps({"username": "rita", "password": "wrong"}).encode(),
            headers={"Content-Type": "application/json", "X-Forwarded-For": forged},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert [attempt(f"198.51.100.{i}") for i in range(3)] == [400, 400, 429]
