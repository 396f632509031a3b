"""The annotation task queue under a burst: many annotators asking for their next task at once.

    DATABASE_URL=postgres://USER@HOST:5432/NAME python bench/bench_queue.py \
        [--videos 20] [--overlap 3] [--annotators 50] [--bursts 5] [--modes service,http,server]

PostgreSQL only (the row locks are what is measured; SQLite serializes every writer). The
bench creates a throw-away database next to the one ``DATABASE_URL`` names (``bench_queue_<pid>``,
dropped at the end), migrates it, and makes one project of ``--videos`` videos with overlap
``k`` and ``--annotators`` annotators. Each burst starts one thread per annotator, each with its
own open database connection, and releases them together through a barrier to ask for their
next task:

* ``service`` -- ``services.next_task`` itself;
* ``http`` -- ``POST /api/v1/annotation/queue/next/`` through DRF's test client (the whole
  request in this process, no web server), on a second project of the same shape. Each
  thread opens the queue page (``GET /api/v1/annotation/queue/``) before the barrier;
* ``server`` -- the same request to the real web tier, started as ``manage.py up`` starts it
  (gunicorn with ``WEB_CONCURRENCY`` uvicorn workers, 2 by default) on the bench's database;
  each thread holds a keep-alive connection with an API token, opened on the queue page.

The first two run every request in this one Python process, so 50 at once also queue for its
interpreter lock; the ``server`` mode spreads them over the web tier's processes, as a
deployment does (its query count is not seen from here). Each web process borrows its
PostgreSQL connections from a bounded pool (``DATABASE_POOL_MAX_SIZE``), so a burst of 50 keeps
within the server's connection limit.

Between bursts the annotators who got a task submit it (every 10th), keep working on it (every
10th, so the next burst resumes it) or give it back (the rest), so every burst finds work. Each
call's latency is measured; after each burst the database is checked. The table gives per burst
and over all bursts: p50, p95 and max latency, calls, tasks given, database queries per call,
double assignments (one assignment given to two calls, an annotator holding two tasks, or the
same video twice: must be 0) and videos over ``k`` (must be 0). The exit status is 1 when either
is not 0 or a call failed; speed is only reported.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import nullcontext, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

TARGET_P95_MS = 500.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


@dataclass
class Call:
    annotator_id: int
    seconds: float = 0.0
    assignment_id: int | None = None
    queries: int = 0
    error: BaseException | None = None


@dataclass
class Burst:
    mode: str
    number: int
    calls: list[Call]
    double: int = 0
    over_k: int = 0

    @property
    def given(self) -> int:
        return sum(1 for c in self.calls if c.assignment_id is not None)

    @property
    def errors(self) -> int:
        return sum(1 for c in self.calls if c.error is not None)


def postgres_url() -> str | None:
    import dj_database_url

    url = os.environ.get("DATABASE_URL", "")
    if not url:
        return None
    engine = dj_database_url.parse(url).get("ENGINE", "")
    return url if "postgresql" in engine else None


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wherewhen.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if "WHEREWHEN_VAR_DIR" not in os.environ:
        os.environ["WHEREWHEN_VAR_DIR"] = tempfile.mkdtemp(prefix="bench-queue-")
    import django

    django.setup()


class WebTier:
    """The web server ``manage.py up`` runs, on the bench's database, for the ``server`` mode."""

    def __init__(self) -> None:
        import socket

        from django.db import connection

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        db = connection.settings_dict
        self.env = {
            **os.environ,
            "DATABASE_URL": (
                f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
                f"{db['PORT'] or 5432}/{db['NAME']}"
            ),
            "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
        }
        self.proc = None

    def __enter__(self) -> WebTier:
        import subprocess

        import requests

        from wherewhen.core.management.commands.up import web_command

        command = web_command("127.0.0.1", self.port)
        command.remove("--access-logfile")
        command.remove("-")
        self.log = Path(tempfile.mkstemp(prefix="bench-queue-web-", suffix=".log")[1])
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"the web server exited with status {self.proc.returncode} (see {self.log})"
                )
            try:
                # No Celery worker runs here, so /healthz says "degraded" (503); the web tier
                # and its database are what the bench needs.
                health = requests.get(f"{self.url}/healthz", timeout=2).json()
                if health["checks"]["database"]["ok"]:
                    return self
            except (requests.RequestException, ValueError, KeyError):
                pass
            time.sleep(0.3)
        self.__exit__()
        raise RuntimeError(f"the web server did not answer /healthz within 60 s (see {self.log})")

    def __exit__(self, *exc) -> None:
        import signal

        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except Exception:  # noqa: BLE001 - a server that will not stop is killed
                os.killpg(self.proc.pid, signal.SIGKILL)


def run_burst(
    mode: str, number: int, people: list, project, count_queries: bool, web: WebTier | None = None
) -> Burst:
    """One burst: every annotator's thread opens its connection, waits at the barrier, then
    asks for its next task once."""
    from django.db import connection

    from wherewhen.annotations import services

    barrier = threading.Barrier(len(people))
    calls = [Call(p.pk) for p in people]

    def ask(person, call: Call) -> None:
        client = None
        queries = [0]

        def counting(execute, sql, params, many, context):
            queries[0] += 1
            return execute(sql, params, many, context)

        try:
            if mode == "server":
                return ask_server(person, call)
            connection.ensure_connection()
            if mode == "http":
                from rest_framework.test import APIClient

                client = APIClient()
                client.force_authenticate(person)
                # The queue page, as an annotator opens it before asking; also loads the
                # client's middleware stack, which a server does once, not per request.
                warm = client.get("/api/v1/annotation/queue/")
                if warm.status_code != 200:
                    raise RuntimeError(f"queue page: HTTP {warm.status_code}")
            barrier.wait()
            with connection.execute_wrapper(counting) if count_queries else nullcontext():
                start = time.perf_counter()
                if client is None:
                    assignment = services.next_task(person, project)
                    call.assignment_id = assignment.pk if assignment is not None else None
                else:
                    response = client.post(
                        "/api/v1/annotation/queue/next/", {"project": project.pk}, format="json"
                    )
                    if response.status_code != 200:
                        raise RuntimeError(f"HTTP {response.status_code}: {response.content[:200]}")
                    got = response.json()["assignment"]
                    call.assignment_id = got["id"] if got else None
                call.seconds = time.perf_counter() - start
            call.queries = queries[0]
        except BaseException as error:  # noqa: BLE001 - counted and shown in the report
            call.error = error
            barrier.abort()
        finally:
            connection.close()

    def ask_server(person, call: Call) -> None:
        import requests
        from rest_framework.authtoken.models import Token

        token = Token.objects.get_or_create(user=person)[0].key
        connection.close()
        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        warm = session.get(f"{web.url}/api/v1/annotation/queue/", timeout=60)
        if warm.status_code != 200:
            raise RuntimeError(f"queue page: HTTP {warm.status_code}")
        barrier.wait()
        start = time.perf_counter()
        response = session.post(
            f"{web.url}/api/v1/annotation/queue/next/", json={"project": project.pk}, timeout=60
        )
        call.seconds = time.perf_counter() - start
        session.close()
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.content[:200]}")
        got = response.json()["assignment"]
        call.assignment_id = got["id"] if got else None

    threads = [
        threading.Thread(target=ask, args=(p, c)) for p, c in zip(people, calls, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    burst = Burst(mode, number, calls)
    check(burst, project)
    return burst


def check(burst: Burst, project) -> None:
    """Count double assignments and videos over k right after the burst (the fullest moment)."""
    from django.db.models import Count, F, OuterRef, Subquery
    from django.utils import timezone

    from wherewhen.annotations import services
    from wherewhen.annotations.models import Assignment, Task

    now = timezone.now()
    given = [c for c in burst.calls if c.assignment_id is not None]
    by_id = Assignment.objects.in_bulk([c.assignment_id for c in given])
    # The same assignment handed to two calls, or to someone else than the caller.
    double = sum(n - 1 for n in Counter(c.assignment_id for c in given).values())
    double += sum(1 for c in given if by_id[c.assignment_id].annotator_id != c.annotator_id)
    crowd = Assignment.objects.filter(task__project=project, source="crowd")
    # An annotator holding two tasks in progress at once.
    double += sum(
        row["n"] - 1
        for row in crowd.filter(services.live_q(now), status=Assignment.Status.IN_PROGRESS)
        .values("annotator")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    # Two assignments of one annotator on the same video (the database forbids it).
    double += sum(
        row["n"] - 1
        for row in crowd.values("task", "annotator").annotate(n=Count("id")).filter(n__gt=1)
    )
    live = (
        Assignment.objects.filter(task=OuterRef("pk"))
        .filter(services.live_q(now))
        .order_by()
        .values("task")
        .annotate(n=Count("id"))
        .values("n")
    )
    burst.over_k = (
        Task.objects.filter(project=project, is_gold=False)
        .annotate(live=Subquery(live), needed=F("project__overlap") + F("extra_overlap"))
        .filter(live__gt=F("needed"))
        .count()
    )
    burst.double = double


def between_bursts(burst: Burst, people: list) -> None:
    """Submit every 10th task, keep every 10th in progress, give the rest back."""
    from tests.annotation_support import annotation, box_track
    from wherewhen.annotations import services

    by_pk = {p.pk: p for p in people}
    for i, call in enumerate(burst.calls):
        if call.assignment_id is None:
            continue
        person = by_pk[call.annotator_id]
        if i % 10 == 0:
            payload = annotation(box_track((2, (10, 10, 50, 50))), visual=(0.2, 0.8))
            services.submit(call.assignment_id, person, payload)
        elif i % 10 == 1:
            continue  # still working on it: the next burst resumes it
        else:
            services.release(call.assignment_id, person)


def make_project(researcher, videos: int, overlap: int, name: str):
    from tests.annotation_support import make_project as project_with
    from tests.annotation_support import make_video

    clips = [make_video(researcher, f"{name}-v{i}") for i in range(videos)]
    return project_with(researcher, clips, name=name, overlap=overlap, max_overlap=overlap)


def report(bursts: list[Burst], args, server: str, count_queries: bool) -> None:
    header = (
        f"{'mode':<8}{'burst':>6}{'calls':>7}{'given':>7}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'max ms':>9}{'queries':>9}{'double':>8}{'over k':>8}{'errors':>8}"
    )
    print(
        f"task queue burst: {args.annotators} annotators at once, {args.videos} videos, "
        f"k={args.overlap}, {args.bursts} bursts per mode, {os.cpu_count()} CPU(s), {server}"
    )
    print(header)
    print("-" * len(header))

    def row(mode: str, label: str, group: list[Burst]) -> None:
        calls = [c for b in group for c in b.calls]
        ms = [c.seconds * 1000 for c in calls if c.error is None]
        counted = count_queries and mode != "server"
        queries = sum(c.queries for c in calls) / max(1, len(calls)) if counted else None
        print(
            f"{mode:<8}{label:>6}{len(calls):>7}{sum(b.given for b in group):>7}"
            f"{percentile(ms, 0.5):>9.1f}{percentile(ms, 0.95):>9.1f}{max(ms, default=0):>9.1f}"
            f"{'-' if queries is None else f'{queries:.1f}':>9}"
            f"{sum(b.double for b in group):>8}{sum(b.over_k for b in group):>8}"
            f"{sum(b.errors for b in group):>8}"
        )

    for mode in dict.fromkeys(b.mode for b in bursts):
        group = [b for b in bursts if b.mode == mode]
        for b in group:
            row(mode, str(b.number), [b])
        row(mode, "all", group)
    print(
        f"(latency of one call; queries: database queries per call; double assignments and "
        f"videos over k must be 0; target p95 <= {TARGET_P95_MS:.0f} ms)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=20)
    parser.add_argument("--overlap", type=int, default=3, help="annotators per video (k)")
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--bursts", type=int, default=5, help="bursts per mode")
    parser.add_argument(
        "--modes", default="service,http,server", help="any of service, http, server"
    )
    parser.add_argument(
        "--no-query-count", action="store_true", help="do not count database queries per call"
    )
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or set(modes) - {"service", "http", "server"}:
        parser.error("--modes takes service, http and server, comma-separated")
    if postgres_url() is None:
        print(
            "bench_queue measures row locking under concurrency and needs PostgreSQL: set "
            "DATABASE_URL=postgres://USER@HOST:5432/NAME (SQLite serializes every writer, so a "
            "burst there measures nothing). The bench works in a database of its own, "
            "created and dropped next to that one.",
            file=sys.stderr,
        )
        return 2
    setup_django()

    from django.db import connection, connections
    from django.test.utils import setup_test_environment

    from tests.annotation_support import user
    from wherewhen.accounts.models import Role

    if connection.vendor != "postgresql":
        print(f"bench_queue needs PostgreSQL, not {connection.vendor}", file=sys.stderr)
        return 2
    setup_test_environment()  # the test client's host name is allowed
    connection.settings_dict["TEST"]["NAME"] = f"bench_queue_{os.getpid()}"
    print("creating and migrating a throw-away database ...", file=sys.stderr, flush=True)
    with redirect_stdout(sys.stderr):
        old_name = connection.creation.create_test_db(
            verbosity=0, autoclobber=True, serialize=False
        )
    count_queries = not args.no_query_count
    bursts: list[Burst] = []
    try:
        server = f"PostgreSQL {connection.pg_version // 10000}"
        researcher = user("bench-researcher", Role.RESEARCHER)
        people = [user(f"bench-annotator-{i}") for i in range(args.annotators)]
        for mode in modes:
            project = make_project(researcher, args.videos, args.overlap, f"bench-{mode}")
            web = WebTier() if mode == "server" else None
            with web or nullcontext():
                run_mode(mode, project, people, args, count_queries, bursts, web)
            project.active = False
            project.save(update_fields=["active"])
        report(bursts, args, server, count_queries)
    finally:
        connections.close_all()
        connection.creation.destroy_test_db(old_name, verbosity=0)
    failed = any(b.double or b.over_k or b.errors for b in bursts)
    return 1 if failed else 0


def run_mode(mode, project, people, args, count_queries, bursts, web) -> None:
    """The bursts of one mode, with the work between them."""
    from django.db import connection

    for number in range(1, args.bursts + 1):
        connection.close()
        burst = run_burst(mode, number, people, project, count_queries, web)
        bursts.append(burst)
        for call in burst.calls:
            if call.error is not None and not isinstance(call.error, threading.BrokenBarrierError):
                print(f"{mode} burst {number}: {call.error!r}", file=sys.stderr)
        between_bursts(burst, people)


if __name__ == "__main__":
    raise SystemExit(main())
