"""``manage.py up`` supervises its children: a worker that dies is started again while the web
server keeps answering."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _children(pid: int) -> dict[int, str]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    found = {}
    for child in map(int, out.split()):
        try:
            found[child] = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except FileNotFoundError:
            continue
    return found


def _worker_pid(up_pid: int) -> int | None:
    for pid, cmd in _children(up_pid).items():
        if "celery" in cmd and "default@" in cmd:
            return pid
    return None


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_killed_worker_is_restarted_and_the_web_stays_up(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}}
    env.pop("CELERY_RESULT_BACKEND", None)
    env.pop("MEDIA_ROOT", None)
    env.update(
        WHEREWHEN_VAR_DIR=str(tmp_path),
        PYTHONUNBUFFERED="1",
        WEB_CONCURRENCY="1",
        WORKER_HEARTBEAT_SECONDS="1",
        WORKER_STALE_SECONDS="5",
    )
    log = open(tmp_path / "up.log", "wb")  # noqa: SIM115 - handed to the child process
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "up", "--no-demo", "--port", str(port), "--wait", "240"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()

    def output() -> str:
        return (tmp_path / "up.log").read_text(errors="replace")

    def wait_for(predicate, timeout: float, what: str):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            assert proc.poll() is None, f"up exited ({proc.returncode}):\n{output()[-4000:]}"
            time.sleep(0.5)
        raise AssertionError(f"{what} within {timeout} s:\n{output()[-4000:]}")

    try:
        wait_for(lambda: "Press Ctrl-C" in output(), 300, "not started")
        first = _worker_pid(proc.pid)
        assert first is not None, _children(proc.pid)
        os.kill(first, signal.SIGKILL)  # as the kernel's OOM killer would

        # The web server answers all along, and a new worker takes the old one's place.
        second = wait_for(
            lambda: (
                (_get(base + "api/v1/") == 200)
                and (_worker_pid(proc.pid) or 0) != first
                and _worker_pid(proc.pid)
            ),
            60,
            "no new worker",
        )
        assert second != first
        assert "worker-default exited with code -9; restarting in 1 s" in output()

        def healthy():
            status = _get(base + "healthz")
            return status == 200

        wait_for(healthy, 90, "not healthy again")
        with urllib.request.urlopen(base + "healthz", timeout=30) as response:
            queues = json.loads(response.read())["checks"]["workers"]["queues"]
        assert queues["default"] and queues["media"] and queues["gpu"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert code == 0, output()[-4000:]
