"""The quick start's run command on embedded defaults: healthy, logins work, Ctrl-C stops all.

Runs ``manage.py up`` (what ``make run`` ends with) in a fresh state folder with no service
configured: SQLite, the SQLite broker, local media, real gunicorn and Celery processes.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _start(var_dir: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.update(WHEREWHEN_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1", WEB_CONCURRENCY="1")
    env.pop("CELERY_RESULT_BACKEND", None)
    env.pop("MEDIA_ROOT", None)
    return subprocess.Popen(
        [sys.executable, "manage.py", "up", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _read_until(proc: subprocess.Popen, marker: str, timeout: float) -> str:
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        lines.append(line)
        if marker in line:
            return "".join(lines)
    raise AssertionError(f"'{marker}' not printed:\n{''.join(lines[-80:])}")


def _stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=45)
    finally:
        if proc.poll() is None:
            proc.kill()


def _login(base: str, username: str, password: str) -> dict:
    request = urllib.request.Request(
        base + "api/v1/auth/token/",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_run_command_starts_healthy_platform_and_stops_cleanly(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    proc = _start(tmp_path, port)
    try:
        output = _read_until(proc, "Press Ctrl-C", timeout=240)
        assert f"WhereWhen is running at {base}" in output
        for user in ("researcher", "annotator", "reviewer", "participant"):
            assert f"{user}-demo-pass" in output
        with urllib.request.urlopen(base + "healthz", timeout=10) as response:
            health = json.loads(response.read())
        assert health["status"] == "ok"
        assert all(health["checks"]["workers"]["queues"][q] for q in ("default", "media", "gpu"))
        assert health["checks"]["broker"]["detail"] == "sqla+sqlite"
        assert health["checks"]["database"]["detail"] == "sqlite"
        assert "token" in _login(base, "researcher", "researcher-demo-pass")
    finally:
        code = _stop(proc)
    assert code == 0
    assert "Stopped web and workers." in proc.stdout.read()
    assert (tmp_path / "db.sqlite3").exists()
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0

    # A second run reuses what the first made (same secret, same users) and starts again.
    secret = (tmp_path / "secret_key").read_text()
    proc = _start(tmp_path, port)
    try:
        _read_until(proc, "Press Ctrl-C", timeout=240)
        assert "token" in _login(base, "annotator", "annotator-demo-pass")
    finally:
        assert _stop(proc) == 0
    assert (tmp_path / "secret_key").read_text() == secret
