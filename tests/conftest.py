"""Shared fixtures: real Celery worker processes, service discovery, and headless Chromium.

Services: tests run against whatever ``DATABASE_URL`` and ``CELERY_BROKER_URL`` say (CI: the
machine's PostgreSQL and Redis), or the embedded defaults (SQLite, SQLite broker). A test that
needs a service that is not there is skipped with the reason; with
``WHEREWHEN_REQUIRE_SERVICES=1`` (set by CI) it fails instead, so nothing is silently skipped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REQUIRE_SERVICES = os.environ.get("WHEREWHEN_REQUIRE_SERVICES") == "1"
TEST_REDIS_URL = os.environ.get("WHEREWHEN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def missing_service(reason: str) -> None:
    """Skip (locally) or fail (when services are required) for a missing service."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service missing: {reason}")
    pytest.skip(reason)


def redis_reachable(url: str = TEST_REDIS_URL) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_for_test_db() -> str:
    """The URL of the database the tests run on, for processes the tests start."""
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    if connection.vendor == "postgresql":
        user = settings.get("USER") or "postgres"
        password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
        host = settings.get("HOST") or "127.0.0.1"
        port = settings.get("PORT") or 5432
        return f"postgres://{user}{password}@{host}:{port}/{settings['NAME']}"
    raise RuntimeError(f"unsupported database vendor {connection.vendor}")


def is_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config, items):
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL to a PostgreSQL database)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


class WorkerProcess:
    """One real ``celery worker`` process on the test database."""

    def __init__(self, *, queues: str, broker_url: str, result_backend: str, env: dict, log: Path):
        self.queues = queues
        self.broker_url = broker_url
        self.result_backend = result_backend
        self.env = env
        self.log_path = log
        self.name = f"test-{queues.replace(',', '-')}-{os.getpid()}-{time.monotonic_ns()}"
        self.proc: subprocess.Popen | None = None

    @property
    def hostname(self) -> str:
        return f"{self.name}@{socket.gethostname()}"

    def start(self) -> WorkerProcess:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child process
        cmd = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "wherewhen",
            "worker",
            "-Q",
            self.queues,
            "-n",
            f"{self.name}@%h",
            "-c",
            "1",
            "-l",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait for the worker's first heartbeat (it is written once the worker consumes)."""
        from django.db import close_old_connections

        from wherewhen.core.models import WorkerHeartbeat

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.output()}")
            close_old_connections()
            if WorkerHeartbeat.objects.filter(hostname=self.hostname).exists():
                return
            time.sleep(0.25)
        raise TimeoutError(f"worker not ready after {timeout} s:\n{self.output()}")

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-6000:]
        except FileNotFoundError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def kill(self) -> None:
        """SIGKILL the worker and its pool children, as a crash would."""
        if self.proc is None or self.proc.poll() is not None:
            return
        children = subprocess.run(
            ["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True
        ).stdout.split()
        self.proc.kill()
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        self.proc.wait()


def broker_for(kind: str, tmp_path: Path) -> tuple[str, str]:
    """(broker URL, result backend URL) for ``"redis"`` or ``"embedded"``."""
    if kind == "redis":
        if not redis_reachable():
            missing_service(f"Redis is not reachable at {TEST_REDIS_URL}")
        return TEST_REDIS_URL, TEST_REDIS_URL
    if kind == "embedded":
        return (
            f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}",
            f"db+sqlite:///{tmp_path / 'results.sqlite3'}",
        )
    if kind == "configured":
        from django.conf import settings

        return settings.CELERY_BROKER_URL, settings.CELERY_RESULT_BACKEND
    raise ValueError(kind)


@pytest.fixture
def celery_env_cleared(monkeypatch) -> None:
    """Celery prefers ``CELERY_BROKER_URL``/``CELERY_RESULT_BACKEND`` from the environment over
    any app's own configuration; drop them from this process (settings already read them) so
    that apps built by tests talk to the broker they were given."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.delenv("CELERY_RESULT_BACKEND", raising=False)


@pytest.fixture
def start_worker(
    transactional_db, tmp_path_factory, celery_env_cleared
) -> Iterator[Callable[..., WorkerProcess]]:
    """Factory: ``start_worker(queues="default", broker="embedded")`` → a ready worker."""
    started: list[WorkerProcess] = []
    broker_dir = tmp_path_factory.mktemp("broker")  # shared by the workers of one test

    def start(
        queues: str = "default,media,gpu",
        broker: str = "configured",
        extra_env: dict | None = None,
        wait: bool = True,
    ) -> WorkerProcess:
        tmp = tmp_path_factory.mktemp("worker")
        broker_url, backend = broker_for(broker, broker_dir)
        env = dict(os.environ)
        env.update(
            {
                "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
                "DJANGO_SETTINGS_MODULE": "wherewhen.settings",
                "DATABASE_URL": database_url_for_test_db(),
                "CELERY_BROKER_URL": broker_url,
                "CELERY_RESULT_BACKEND": backend,
                "WHEREWHEN_VAR_DIR": str(tmp),
                "MEDIA_ROOT": str(_settings().MEDIA_ROOT),
                "SECRET_KEY": "test-secret-key-for-worker-processes-only",
                "WORKER_HEARTBEAT_SECONDS": "1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra_env or {})
        worker = WorkerProcess(
            queues=queues,
            broker_url=broker_url,
            result_backend=backend,
            env=env,
            log=tmp / "worker.log",
        ).start()
        started.append(worker)
        if wait:
            worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()


def _settings():
    from django.conf import settings

    return settings


def celery_client(worker: WorkerProcess):
    """A Celery app that talks to the same broker and result backend as ``worker``."""
    from celery import Celery

    from wherewhen.celery import app as platform_app

    client = Celery(
        "wherewhen-test-client", broker=worker.broker_url, backend=worker.result_backend
    )
    client.conf.update(
        task_queues=platform_app.conf.task_queues,
        task_routes=platform_app.conf.task_routes,
        task_default_queue="default",
        broker_transport_options=dict(platform_app.conf.broker_transport_options or {}),
    )
    return client


@pytest.fixture(autouse=True)
def _private_cache(settings):
    """Each test counts sign-in attempts in its own cache namespace (a Redis cache outlives
    tests and is shared with other runs on the machine)."""
    import copy
    import uuid

    caches = copy.deepcopy(settings.CACHES)
    caches["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex}"
    settings.CACHES = caches


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()


# --- Browser --------------------------------------------------------------------------------


def chromium_path() -> str | None:
    for candidate in (
        os.environ.get("CHROMIUM_PATH"),
        "/usr/bin/chromium",
        shutil.which("chromium"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="module")
def browser():
    path = chromium_path()
    if path is None:
        missing_service("Debian's chromium is not installed (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread while it is started; the ORM
    # calls the tests make between page actions are still plain synchronous calls. One
    # Playwright per module, so the loop stops with the module's last test: tests that come
    # later call async views (the status long-poll) through Django's client, which refuses to
    # run in a thread with a running loop.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 720}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


# --- Video fixtures (generated with ffmpeg once per session) ---------------------------------


@pytest.fixture(scope="session")
def video_files(tmp_path_factory):
    """Good video files of every supported kind (see tests/videofiles.py)."""
    from tests.videofiles import make_good

    return make_good(tmp_path_factory.mktemp("videos"))


@pytest.fixture(scope="session")
def bad_video_files(tmp_path_factory, video_files):
    """Files that must be refused or fail with a reason (see tests/videofiles.py)."""
    from tests.videofiles import make_bad

    return make_bad(tmp_path_factory.mktemp("bad-videos"), video_files)
