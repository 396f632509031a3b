"""On-demand explanations end to end: request -> result latency and throughput, real worker.

    python bench/bench_explanations.py [--requests 20] [--broker redis|embedded] [--model DIR]

Sets up a throw-away platform in a temporary folder (SQLite database, media folder, and either
a Redis database of its own, ``$WHEREWHEN_BENCH_REDIS_URL`` = redis://127.0.0.1:6379/12 by
default, or the embedded SQLite broker), starts one real ``gpu`` Celery worker process
(concurrency 1, as deployed) and the web server (``manage.py up``'s), and drives it through the
HTTP API as browsers do (``--client test``: Django's test client in this process instead):

* **STAA, warm worker** -- a request for an explanation not computed yet, from ``POST`` to the
  status turning ``done`` (the worker has already loaded the model): p50 and p95.
* **cached result** -- the same request again (answered from the database: 200, no task) plus
  fetching its map: p50 and p95.
* **throughput** at 1, 4 and 16 concurrent clients, each requesting new explanations and waiting
  for them; the worker batches queued requests of the same model, so more clients -> bigger
  batches.

The model is the bundled one when it is present, else a randomly initialized model of the same
shape (timings do not depend on the weights).

Two request paths are measured side by side in one run, each with its own worker process:

* **lean** (today's): clips decoded in the worker process with PyAV, the cache of decoded
  windows, prefetch of queued requests, and the client learns "done" from the status long-poll
  (``.../status/wait/``, woken by the worker's Redis notice);
* **before** (``--modes before``): one ffmpeg process per clip (``WHEREWHEN_DECODER=ffmpeg``), no
  cache (``WHEREWHEN_CLIP_CACHE_MB=0``), and the client reads the row every 20 ms (what this bench
  did before the long-poll existed, so its numbers compare with earlier ones).

Every video row has its own copy of the clip file, so the cache never serves one request from
another's decode. Prints a table per path and a per-stage table of the warm single-client
requests: request (the POST), queue wait (row created -> claimed by the worker), decode,
preprocess, model, write (map file, finish and other bookkeeping until the row is done), notify
(row done -> the client knows), total; and the CPU each explanation cost in the worker, the web
server and the clients at each concurrency, with the rate at which that would fill every core
(on one machine the three share the cores, so this ceiling bounds the throughput rows).

The database is SQLite, as in the quick start, unless ``$WHEREWHEN_BENCH_DATABASE_URL`` names
another (an empty PostgreSQL database, as deployed); the clip is a synthetic scene like the
bundled model's (``--video noise``: uniform noise, a decoding worst case).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]


STAGES = ("request", "queue wait", "decode", "preprocess", "model", "write", "notify", "total")
MODES = {
    "lean": ({"WHEREWHEN_DECODER": "av"}, "wait"),
    "before": ({"WHEREWHEN_DECODER": "ffmpeg", "WHEREWHEN_CLIP_CACHE_MB": "0"}, "db"),
}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def cpu_seconds(root: int, descendants: bool = True) -> float:
    """CPU seconds (user + system, all threads) used so far by process ``root`` and, unless
    told otherwise, its live descendants; NaN when ``root`` is gone."""
    try:
        process = psutil.Process(root)
        processes = [process, *(process.children(recursive=True) if descendants else [])]
    except psutil.Error:
        return float("nan")
    total = 0.0
    for each in processes:
        with contextlib.suppress(psutil.Error):  # a child that ended meanwhile
            times = each.cpu_times()
            total += times.user + times.system
    return total


def prepare_env(var_dir: Path, broker: str) -> dict:
    env = {
        "WHEREWHEN_VAR_DIR": str(var_dir),
        "MEDIA_ROOT": str(var_dir / "media"),
        "DATABASE_URL": os.environ.get("WHEREWHEN_BENCH_DATABASE_URL")
        or f"sqlite:///{var_dir / 'bench.sqlite3'}",
        "SECRET_KEY": "bench-only-secret-key",
        "DJANGO_SETTINGS_MODULE": "wherewhen.settings",
        "WORKER_HEARTBEAT_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }
    if broker == "redis":
        url = os.environ.get("WHEREWHEN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
        env["CELERY_BROKER_URL"] = env["CELERY_RESULT_BACKEND"] = url
    else:
        env["CELERY_BROKER_URL"] = f"sqla+sqlite:///{var_dir / 'broker.sqlite3'}"
        env["CELERY_RESULT_BACKEND"] = f"db+sqlite:///{var_dir / 'results.sqlite3'}"
    return env


def model_dir(arg: str | None, var_dir: Path) -> tuple[Path, str]:
    from workers.models.checkpoint_info import CheckpointError, read_checkpoint_info
    from workers.models.loader import bundled_model_path

    if arg:
        return Path(arg).resolve(), "given"
    try:
        read_checkpoint_info(bundled_model_path())
        return bundled_model_path(), "bundled"
    except CheckpointError:
        pass
    import torch

    from workers.models.loader import build_model, save_model
    from workers.models.spec import InputSpec

    torch.manual_seed(0)
    spec = InputSpec(num_frames=8, image_size=64, patch_size=16)
    model = build_model(
        "timesformer",
        spec,
        ["red", "green", "blue", "yellow"],
        hidden_size=96,
        num_hidden_layers=3,
        num_attention_heads=4,
        intermediate_size=384,
    )
    path = var_dir / "random-tiny-timesformer"
    save_model(model, path)
    return path, "random weights, bundled shape"


def bench_frames(kind: str):
    """4 s at 25 fps, 128 x 96: a ``scene`` of the bundled model's own kind (moving textured
    shapes over a drifting background, with sensor noise; H.264 packs it in about 46 kB) or
    uniform ``noise`` (every pixel random: about 790 kB, a decoding worst case)."""
    import numpy as np

    if kind == "noise":
        rng = np.random.default_rng(0)
        return rng.integers(0, 256, (100, 96, 128, 3), dtype=np.uint8)
    from workers.synthetic.dataset import scene_for
    from workers.synthetic.scene import SceneConfig

    return scene_for(
        0, 0, SceneConfig(width=128, height=96, num_frames=100, fps=25)
    ).render_frames()


def make_videos(owner, media_root: Path, count: int, kind: str = "scene"):
    """One real clip file, and ``count`` ready Video rows pointing at it (distinct requests)."""
    from wherewhen.videos.models import Video
    from workers.synthetic.video import read_video, write_mp4

    frames = bench_frames(kind)
    folder = media_root / "videos" / "bench"
    path = write_mp4(folder / "playback.mp4", frames, 25)
    _frames, times = read_video(path)
    rows = []
    for i in range(count):
        name = f"videos/bench/{i}.mp4"  # a file per row: no request reuses another's decode
        shutil.copyfile(path, media_root / name)
        rows.append(
            Video(
                owner=owner,
                title=f"bench {i}",
                original_name="bench.mp4",
                content_hash=f"{i:064x}",
                size_bytes=path.stat().st_size,
                original=name,
                playback=name,
                status=Video.Status.READY,
                duration=4.0,
                fps=25.0,
                frame_count=len(times),
                width=128,
                height=96,
                frame_timestamps=[float(t) for t in times],
            )
        )
    return Video.objects.bulk_create(rows)


class WebTier:
    """The web server ``manage.py up`` runs (gunicorn managing ``WEB_CONCURRENCY`` uvicorn
    workers, 2 by default), on the bench's database and broker: the ``http`` clients' server."""

    def __init__(self, var_dir: Path) -> None:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = var_dir / "web.log"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> WebTier:
        import requests

        from wherewhen.core.management.commands.up import web_command

        command = web_command("127.0.0.1", self.port)
        command.remove("--access-logfile")
        command.remove("-")
        env = dict(os.environ, PYTHONPATH=f"{ROOT / 'platform'}{os.pathsep}{ROOT}")
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(self.log_path.read_text()[-3000:])
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).status_code in (200, 503):
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        self.__exit__()
        raise RuntimeError(f"the web server did not answer within 60 s: {self.log_path}")

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


class HttpClient:
    """A browser's calls over HTTP to :class:`WebTier` (token authentication, kept-alive)."""

    def __init__(self, url: str, token: str) -> None:
        import requests

        self.url = url
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def post(self, path: str, body: dict):
        return self.session.post(self.url + path, json=body, timeout=60)

    def get(self, path: str):
        return self.session.get(self.url + path, timeout=60)


class TestClient:
    """The same calls through Django's test client, in this process (no web server)."""

    def __init__(self, user) -> None:
        from django.test import Client

        self.client = Client()
        self.client.force_login(user)

    def post(self, path: str, body: dict):
        return self.client.post(path, json.dumps(body), content_type="application/json")

    def get(self, path: str):
        return self.client.get(path)


class Bench:
    def __init__(self, user, model, videos, follow: str, web_url: str | None = None):
        self.user, self.model, self.videos = user, model, videos
        self.follow = follow  # "wait": the status long-poll; "db": read the row every 20 ms
        self.web_url = web_url  # the web server's address; None: Django's test client
        self.token: str | None = None
        self.next_video = 0
        self.lock = threading.Lock()
        self.samples: list[dict] = []

    def client(self):
        if self.web_url is None:
            return TestClient(self.user)
        from rest_framework.authtoken.models import Token

        with self.lock:  # one token, made once, whichever client thread asks first
            if self.token is None:
                self.token = Token.objects.get_or_create(user=self.user)[0].key
        return HttpClient(self.web_url, self.token)

    def fresh_video(self):
        with self.lock:
            video = self.videos[self.next_video]
            self.next_video += 1
        return video

    def request(self, client, video) -> tuple[int, int]:
        body = {"video": video.pk, "model": self.model.pk, "method": "staa"}
        r = client.post("/api/v1/explanations/", body)
        if r.status_code not in (200, 202):
            raise RuntimeError(f"request refused: {r.status_code} {r.content[:300]!r}")
        return r.status_code, r.json()["id"]

    def wait_done(self, explanation_id: int, timeout: float = 300.0, client=None) -> None:
        if self.follow == "wait":
            return self.wait_long_poll(client, explanation_id, timeout)
        return self.wait_db(explanation_id, timeout)

    def wait_long_poll(self, client, explanation_id: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        known = "queued"
        while time.monotonic() < deadline:
            url = f"/api/v1/explanations/{explanation_id}/status/wait/?status={known}&timeout=20"
            r = client.get(url)
            if r.status_code != 200:
                raise RuntimeError(f"status wait refused: {r.status_code} {r.content[:300]!r}")
            known = r.json()["status"]
            if known == "done":
                return
            if known == "failed":
                raise RuntimeError(f"explanation {explanation_id} failed")
        raise TimeoutError(f"explanation {explanation_id} not done after {timeout} s")

    def wait_db(self, explanation_id: int, timeout: float = 300.0) -> None:
        from django.db import close_old_connections

        from wherewhen.explanations.models import Explanation

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = (
                Explanation.objects.filter(pk=explanation_id).values_list("status", flat=True).get()
            )
            if status == "done":
                return
            if status == "failed":
                raise RuntimeError(f"explanation {explanation_id} failed")
            time.sleep(0.02)
            close_old_connections()
        raise TimeoutError(f"explanation {explanation_id} not done after {timeout} s")

    def one_new(self, client, record: bool = False) -> float:
        video = self.fresh_video()
        t0, w0 = time.perf_counter(), time.time()
        _code, eid = self.request(client, video)
        posted = time.time()
        self.wait_done(eid, client=client)
        elapsed = time.perf_counter() - t0
        if record:
            self.samples.append({"id": eid, "t0": w0, "posted": posted, "done": w0 + elapsed})
        return elapsed

    def stage_rows(self) -> dict[str, list[float]]:
        """Per-stage seconds of the recorded requests (see the module docstring)."""
        from wherewhen.explanations.models import Explanation

        rows = {r.pk: r for r in Explanation.objects.filter(pk__in=[s["id"] for s in self.samples])}
        out: dict[str, list[float]] = {k: [] for k in STAGES}
        for s in self.samples:
            row = rows[s["id"]]
            worker = (row.cost or {}).get("stages", {})
            created, started = row.created_at.timestamp(), row.started_at.timestamp()
            finished = row.finished_at.timestamp()
            computed = (
                worker.get("decode", 0) + worker.get("preprocess", 0) + worker.get("model", 0)
            )
            values = {
                "request": s["posted"] - s["t0"],
                "queue wait": started - created,
                "decode": worker.get("decode", 0.0),
                "preprocess": worker.get("preprocess", 0.0),
                "model": worker.get("model", 0.0),
                "write": max(0.0, finished - started - computed),
                "notify": max(0.0, s["done"] - finished),
                "total": s["done"] - s["t0"],
            }
            for k, v in values.items():
                out[k].append(v)
        return out

    def one_cached(self, client, video) -> float:
        t0 = time.perf_counter()
        code, eid = self.request(client, video)
        r = client.get(f"/api/v1/explanations/{eid}/map/")
        elapsed = time.perf_counter() - t0
        assert code == 200 and r.status_code == 200
        return elapsed

    def throughput(self, concurrency: int, per_client: int) -> tuple[float, float]:
        from django.db import connection

        from wherewhen.explanations.models import Explanation

        def client_loop(_index: int) -> list[int]:
            client = self.client()
            ids = []
            try:
                for _ in range(per_client):
                    video = self.fresh_video()
                    _code, eid = self.request(client, video)
                    self.wait_done(eid, client=client)
                    ids.append(eid)
            finally:
                connection.close()
            return ids

        t0 = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            ids = [i for chunk in pool.map(client_loop, range(concurrency)) for i in chunk]
        elapsed = time.perf_counter() - t0
        sizes = list(Explanation.objects.filter(pk__in=ids).values_list("batch_size", flat=True))
        return len(ids) / elapsed, statistics.mean(sizes)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=20, help="samples for the latency rows")
    p.add_argument("--per-client", type=int, default=4, help="requests per client (throughput)")
    p.add_argument("--broker", choices=["redis", "embedded"], default=None)
    p.add_argument("--model", default=None, help="checkpoint directory (default: bundled)")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    p.add_argument("--modes", default="lean,before", help="request paths to measure: lean,before")
    p.add_argument(
        "--client",
        choices=["http", "test"],
        default="http",
        help="http: clients call the web server over HTTP, as browsers do (default); "
        "test: Django's test client in this process, no web server",
    )
    p.add_argument(
        "--video",
        choices=["scene", "noise"],
        default="scene",
        help="the clip: a synthetic scene like the bundled model's (default) or uniform noise",
    )
    args = p.parse_args()

    broker = args.broker
    if broker is None:
        try:
            import redis

            url = os.environ.get("WHEREWHEN_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
            broker = "redis"
        except Exception:
            broker = "embedded"
    var_dir = Path(tempfile.mkdtemp(prefix="wherewhen-bench-"))
    env = prepare_env(var_dir, broker)
    os.environ.update(env)
    if broker == "redis":
        import redis

        redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()

    import django

    django.setup()
    from django.core.management import call_command

    from wherewhen.accounts.models import User
    from wherewhen.core.models import WorkerHeartbeat
    from wherewhen.explanations import services

    call_command("migrate", verbosity=0)
    user = User.objects.create_user("bench", password="bench-pw-42", role="researcher")
    directory, which = model_dir(args.model, var_dir)
    model = services.register_model(owner=user, name="bench", checkpoint_dir=str(directory))
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    per_mode = 1 + args.requests + 2 + args.per_client * (1 + 4 + 16)
    videos = make_videos(user, Path(env["MEDIA_ROOT"]), per_mode * len(modes) + 8, args.video)
    web = WebTier(var_dir) if args.client == "http" else None
    bench = Bench(user, model, videos, "wait", web.url if web else None)
    exit_stack = contextlib.ExitStack()
    if web is not None:
        exit_stack.enter_context(web)
    tables: dict[str, list[tuple[str, str]]] = {}
    cpu_tables: dict[str, dict[int, tuple[float, dict[str, float]]]] = {}
    stage_tables: dict[str, dict[str, list[float]]] = {}
    try:
        for mode in modes:
            extra, follow = MODES[mode]
            bench.follow, bench.samples = follow, []
            rows = tables[mode] = []
            worker_env = dict(
                os.environ, PYTHONPATH=f"{ROOT / 'platform'}{os.pathsep}{ROOT}", **extra
            )
            log = open(var_dir / f"worker-{mode}.log", "wb")  # noqa: SIM115 - the worker's output
            node = f"bench-{mode}"
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "wherewhen", "worker", "-Q", "gpu", "-c", "1",
                 "-n", f"{node}@%h", "--without-gossip", "--without-mingle", "-l", "WARNING"],
                cwd=ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                deadline = time.monotonic() + 120
                while not WorkerHeartbeat.objects.filter(hostname__startswith=node).exists():
                    if worker.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError((var_dir / f"worker-{mode}.log").read_text()[-3000:])
                    time.sleep(0.2)
                client = bench.client()
                cold = bench.one_new(client)  # loads torch and the model: warm afterwards
                warm = [bench.one_new(client, record=True) for _ in range(args.requests)]
                stage_tables[mode] = bench.stage_rows()
                done_video = videos[1]
                cached = [
                    bench.one_cached(client, done_video) for _ in range(max(args.requests, 20))
                ]
                rows.append(
                    ("first request (cold worker: imports, model load)", f"{cold * 1000:.0f} ms")
                )
                rows.append(
                    (
                        "STAA request -> done, warm worker",
                        f"p50 {percentile(warm, 0.5) * 1000:.0f} ms, "
                        f"p95 {percentile(warm, 0.95) * 1000:.0f} ms",
                    )
                )
                rows.append(
                    (
                        "cached result (request + map)",
                        f"p50 {percentile(cached, 0.5) * 1000:.1f} ms, "
                        f"p95 {percentile(cached, 0.95) * 1000:.1f} ms",
                    )
                )
                rates = {}
                # The clients are this process's threads (its children are the servers).
                processes = {"worker": worker.pid, "clients": -os.getpid()}
                if web is not None:
                    processes["web"] = web.proc.pid
                for concurrency in (1, 4, 16):
                    before = {k: cpu_seconds(abs(pid), pid > 0) for k, pid in processes.items()}
                    rate, batch = bench.throughput(concurrency, args.per_client)
                    count = concurrency * args.per_client
                    spent = {
                        k: (cpu_seconds(abs(pid), pid > 0) - before[k]) / count * 1000
                        for k, pid in processes.items()
                    }
                    cpu_tables.setdefault(mode, {})[concurrency] = (rate, spent)
                    rates[concurrency] = rate
                    rows.append(
                        (
                            f"throughput, {concurrency} concurrent client(s)",
                            f"{rate:.1f} explanations/s (mean batch {batch:.1f})",
                        )
                    )
                rows.append(("throughput 4 clients / 1 client", f"{rates[4] / rates[1]:.2f}x"))
            finally:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
                log.close()
    finally:
        exit_stack.close()
    if not args.keep:
        shutil.rmtree(var_dir, ignore_errors=True)

    import platform

    import torch

    client_words = {
        "http": f"HTTP to the web server ({os.environ.get('WEB_CONCURRENCY', '2')} processes)",
        "test": "Django's test client in the bench process",
    }

    print(
        f"\nOn-demand explanations (STAA), model {directory.name} ({which}), video {args.video} "
        f"(4 s, 128x96, 25 fps), broker {broker}, clients: {client_words[args.client]}, "
        f"1 gpu worker (-c 1) on {platform.machine()} CPU x{os.cpu_count()}, torch "
        f"{torch.__version__}, {torch.get_num_threads()} threads\n"
    )
    for mode, rows in tables.items():
        follow = "status long-poll" if MODES[mode][1] == "wait" else "row read every 20 ms"
        print(f"\n[{mode}] decoder {MODES[mode][0]['WHEREWHEN_DECODER']}, client: {follow}")
        width = max(len(name) for name, _ in rows)
        print(f"{'measure':<{width}}  result")
        print(f"{'-' * width}  {'-' * 44}")
        for name, value in rows:
            print(f"{name:<{width}}  {value}")
    print(
        "\nCPU per explanation, ms (user + system, all threads and child processes), and the "
        f"rate at which it would fill all {os.cpu_count()} cores"
    )
    for mode, by_clients in cpu_tables.items():
        names = list(next(iter(by_clients.values()))[1])
        print(
            f"[{mode}] clients"
            + "".join(f"{n:>10}" for n in names)
            + "     total   ceiling  measured"
        )
        for concurrency, (rate, spent) in by_clients.items():
            total = sum(spent.values())
            ceiling = (os.cpu_count() or 1) * 1000 / total if total > 0 else float("nan")
            print(
                f"{'':{len(mode) + 3}}{concurrency:>7}"
                + "".join(f"{spent[n]:>10.1f}" for n in names)
                + f"{total:>10.1f}{ceiling:>8.1f}/s{rate:>8.1f}/s"
            )
    print(f"\nWhere the time goes: warm worker, one client, {args.requests} requests, mean ms")
    print(f"{'stage':<12}" + "".join(f"{m:>18}" for m in stage_tables))
    for stage in STAGES:
        cells = ""
        for data in stage_tables.values():
            mean = statistics.mean(data[stage]) * 1000
            share = statistics.mean(data[stage]) / statistics.mean(data["total"]) * 100
            cells += f"{mean:>10.1f} ({share:3.0f}%)"
        print(f"{stage:<12}{cells}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
