"""The quick start's run command on embedded defaults: healthy, logins work, Ctrl-C stops all.

Runs ``manage.py up`` (what ``make run`` ends with) in a fresh state folder with no service
configured: SQLite, the SQLite broker, local media, real gunicorn and Celery processes.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port
from wherewhen.metaeval.demo import DEMO_STUDY

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


def _call(base: str, path: str, body=None, headers=None, method=None):
    request = urllib.request.Request(
        base + path.lstrip("/"),
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        raw = response.read()
        kind = response.headers.get("Content-Type", "")
        return json.loads(raw) if kind.startswith("application/json") else raw


def _login(base: str, username: str, password: str) -> dict:
    return _call(base, "api/v1/auth/token/", {"username": username, "password": password})


def _studies(base: str, token: str) -> list[dict]:
    body = _call(base, "api/v1/studies/", headers={"Authorization": f"Token {token}"})
    return body["results"] if isinstance(body, dict) else body


def _take_first_trial(base: str, token: str) -> dict:
    """Open the demo study and take its first trial as an anonymous participant: every map
    and video of the trial loads through the participant media URLs."""
    demo = next(s for s in _studies(base, token) if s["slug"] == DEMO_STUDY)
    auth = {"Authorization": f"Token {token}"}
    _call(base, f"api/v1/studies/{demo['id']}/", {"status": "open"}, auth, method="PATCH")
    start = _call(
        base, f"api/v1/participate/start/{DEMO_STUDY}/", {"params": {"PROLIFIC_PID": "q1"}}
    )
    session = {"X-Study-Session": start["session"]}
    _call(base, "api/v1/participate/consent/", {"agree": True}, session)
    assert _call(base, "api/v1/participate/instructions/", {}, session)["stage"] == "trials"
    trial = _call(base, "api/v1/participate/trial/", headers=session)
    assert trial["stimuli"], trial
    for stimulus in trial["stimuli"]:
        assert len(_call(base, stimulus["map_url"], headers=session)) > 0
        assert len(_call(base, stimulus["video_url"], headers=session)) > 0
    return trial


def _wait_for_dry_run(base: str, token: str, timeout: float, log: list[str]) -> dict:
    deadline = time.monotonic() + timeout
    studies: list = []
    while time.monotonic() < deadline:
        failed = [line for line in log if "could not build the demo study" in line]
        assert not failed, "".join(log[-60:])
        studies = _studies(base, token)
        found = [s for s in studies if s["title"].endswith("(dry run)")]
        if found:
            return found[0]
        time.sleep(2)
    raise AssertionError(f"no demo dry run after {timeout} s: {studies}")


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
        token = _login(base, "researcher", "researcher-demo-pass")["token"]
        # The demo data ends with the demo study and its dry run (STAA+ maps, which light only
        # their key frames, included): the meta-evaluation has numbers on a fresh machine.
        drained: list[str] = []
        reader = threading.Thread(target=lambda: drained.extend(proc.stdout), daemon=True)
        reader.start()  # the workers keep logging: never let the pipe fill up
        dry_run = _wait_for_dry_run(base, token, timeout=300, log=drained)
        assert dry_run["n_stimuli"] >= 9 and dry_run["n_sessions"] > 0, dry_run
        # ...and the study itself can be opened and taken by an anonymous participant, its
        # maps and videos served on the embedded database
        _take_first_trial(base, token)
    finally:
        code = _stop(proc)
    assert code == 0
    reader.join(timeout=30)
    assert any("Stopped web and workers." in line for line in drained)
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
