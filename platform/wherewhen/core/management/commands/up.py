"""Start the whole platform on this machine: web server and Celery workers, with demo data.

``make run`` calls this after installing. It migrates, seeds the demo data, starts gunicorn and
two worker processes (``default``+``media`` and ``gpu``), waits until /healthz is green, prints
the URL and the demo logins, and on Ctrl-C (or SIGTERM) stops every child cleanly.

It also supervises them: a child that exits on its own (a worker killed by the kernel for
memory, a crash) is started again after a back-off (1 s, doubling to ``RESTART_MAX_DELAY``;
back to 1 s once it has stayed up for ``RESTART_RESET_AFTER``), while the others keep running.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

PLATFORM_DIR = Path(settings.BASE_DIR).parent
RESTART_FIRST_DELAY = 1.0
RESTART_MAX_DELAY = 60.0
RESTART_RESET_AFTER = 60.0


@dataclass
class Child:
    """One supervised process: how to start it, the running process, when to restart it."""

    label: str
    cmd: list[str]
    env: dict[str, str]
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    delay: float = RESTART_FIRST_DELAY
    restart_at: float | None = None
    restarts: int = field(default=0)

    def start(self) -> None:
        self.proc = subprocess.Popen(self.cmd, env=self.env, start_new_session=True)
        self.started_at = time.monotonic()
        self.restart_at = None

    def poll(self, log) -> None:
        """Notice an exit and schedule the restart; restart when its time has come."""
        now = time.monotonic()
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.restarts += 1
                log(f"starting {self.label} again (restart {self.restarts})")
                self.start()
            return
        if self.proc is None or self.proc.poll() is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # what it left behind (pool processes)
        if now - self.started_at >= RESTART_RESET_AFTER:
            self.delay = RESTART_FIRST_DELAY  # it ran fine for a while: not a crash loop
        log(f"{self.label} exited with code {self.proc.returncode}; restarting in {self.delay:g} s")
        self.restart_at = now + self.delay
        self.delay = min(RESTART_MAX_DELAY, self.delay * 2)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(PLATFORM_DIR), str(settings.REPO_DIR), env.get("PYTHONPATH", "")]
    ).rstrip(os.pathsep)
    env.setdefault("DJANGO_SETTINGS_MODULE", "wherewhen.settings")
    env["WHEREWHEN_VAR_DIR"] = str(settings.VAR_DIR)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def worker_command(queues: str, name: str, concurrency: int, loglevel: str = "INFO") -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "wherewhen",
        "worker",
        "-Q",
        queues,
        "-n",
        f"{name}@%h",
        "-c",
        str(concurrency),
        "-l",
        loglevel,
        "--without-gossip",
        "--without-mingle",
    ]


def web_command(host: str, port: int) -> list[str]:
    """gunicorn managing uvicorn (ASGI) workers: request bodies are received on an event loop
    before a thread runs the view, so slow clients hold no thread (see ``wherewhen.asgi``).

    The server believes no ``X-Forwarded-*`` header itself (``--forwarded-allow-ips ""``): the
    client address is Django's to work out, from ``TRUSTED_PROXIES`` (``core.clientaddr``).
    """
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "wherewhen.asgi:application",
        "--worker-class",
        "uvicorn_worker.UvicornWorker",
        "--bind",
        f"{host}:{port}",
        "--workers",
        os.environ.get("WEB_CONCURRENCY", "2"),
        "--timeout",
        "120",
        "--graceful-timeout",
        "20",
        "--forwarded-allow-ips",
        "",
        "--access-logfile",
        "-",
    ]


class Command(BaseCommand):
    help = "Start web + Celery workers with demo data (embedded defaults unless configured)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-demo", action="store_true", help="Skip demo users and data.")
        parser.add_argument(
            "--wait", type=float, default=120.0, help="Seconds to wait for /healthz to turn green."
        )

    def handle(self, *args, **options):
        host, port = options["host"], options["port"]
        call_command("migrate", interactive=False, verbosity=0)
        logins = []
        if not options["no_demo"]:
            logins = call_command("seed_demo", verbosity=0) or ""
        env = child_env()
        children: list[Child] = []

        def spawn(label: str, cmd: list[str]) -> None:
            child = Child(label, cmd, env)
            child.start()
            children.append(child)

        stopping = {"flag": False}

        def stop(signum=None, frame=None) -> None:
            stopping["flag"] = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)

        def log(message: str) -> None:
            self.stderr.write(message)

        try:
            spawn("web", web_command(host, port))
            spawn("worker-default", worker_command("default,media", "default", 2))
            spawn("worker-gpu", worker_command("gpu", "gpu", 1))
            url = f"http://{host}:{port}/"
            self._wait_healthy(url, options["wait"], children, stopping)
            if stopping["flag"]:
                return
            self.stdout.write(self.style.SUCCESS(f"\nWhereWhen is running at {url}"))
            if logins:
                self.stdout.write("Demo logins (username / password):")
                self.stdout.write(logins)
            self.stdout.write("Press Ctrl-C to stop web and workers.\n")
            while not stopping["flag"]:
                for child in children:
                    child.poll(log)
                time.sleep(0.5)
        finally:
            self._stop_children(children)

    def _wait_healthy(self, url, timeout, children, stopping) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline and not stopping["flag"]:
            for child in children:
                if child.proc.poll() is not None:
                    raise CommandError(
                        f"{child.label} exited during start-up (code {child.proc.returncode})"
                    )
            try:
                with urllib.request.urlopen(url + "healthz", timeout=5) as response:
                    if response.status == 200:
                        return
            except urllib.error.HTTPError as exc:
                last = json.loads(exc.read() or b"{}")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(1)
        if not stopping["flag"]:
            raise CommandError(f"the platform did not become healthy in {timeout:.0f} s: {last}")

    def _stop_children(self, children: list[Child]) -> None:
        for child in children:
            if child.proc.poll() is None:
                # The process leader only: gunicorn and Celery stop their own children gracefully.
                child.proc.terminate()
        deadline = time.monotonic() + 20
        for label, proc in ((child.label, child.proc) for child in children):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{label} did not stop in time; killing it")
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if children:
            self.stdout.write("Stopped web and workers.")
