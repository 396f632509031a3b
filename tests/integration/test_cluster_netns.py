"""A cluster on one machine: every host a Linux network namespace with a file system of its own.

Hosts (``tests/netns.py``): ``services`` (the S3 endpoint: moto's standalone server, a test
double that speaks the S3 HTTP protocol; never a deployment), ``web`` (gunicorn), ``media`` (a
Celery ``default,media`` worker), ``gpu1`` and ``gpu2`` (Celery ``gpu`` workers). PostgreSQL and
Redis are the machine's own, reached through the bridge (``tests/tcpforward.py``). Each host sees
its own folder at ``/mnt`` (its ``MEDIA_ROOT``, var folder and media cache) and an empty ``/tmp``;
media travels only through the object store.

The scenario: register a model and upload a real video through the web host's HTTP API; the
media host processes it; a gpu host explains it; the media host scores it; the web host plays
it back with byte ranges. Then a slow explanation starts on one gpu host, whose worker is
killed (SIGKILL, the whole host's worker) while it computes: the other gpu host takes it over
once the lease runs out and finishes it, with exactly one result. The time of every step is
printed at the end.

Skipped (locally) where namespaces cannot be made (not root, no ``ip``) or PostgreSQL/Redis are
missing; with ``WHEREWHEN_REQUIRE_SERVICES=1`` (CI) that is a failure instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
import requests
from django.db import close_old_connections

from tests.conftest import (
    TEST_REDIS_URL,
    database_url_for_test_db,
    is_postgres,
    missing_service,
    redis_reachable,
)
from tests.explanations_support import tiny_checkpoint_fixture  # noqa: F401 - fixture
from tests.netns import HOST_ROOT, ROOT, Cluster, remove_leftovers, why_unavailable

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

HOSTS = ("services", "web", "media", "gpu1", "gpu2")
WEB_PORT = 8000
S3_PORT = 5000
BUCKET = "wherewhen-cluster"
LEASE_SECONDS = 4
BOX = (40, 30, 80, 60)  # the ground truth box, in the 160 x 120 video's pixels
# Long enough that the worker is still computing when it is killed (one loaded model: about
# 1 s per 1000 masks on a busy core; the other host computes it again in full).
SLOW = {"method": "rise", "params": {"n_masks": 6000, "batch_size": 64}}


class Timings:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float]] = []
        self._start = time.monotonic()

    def step(self, name: str) -> None:
        now = time.monotonic()
        self.rows.append((name, now - self._start))
        self._start = now

    def table(self) -> str:
        width = max((len(n) for n, _ in self.rows), default=10)
        lines = ["", "cluster test: time of each step", f"{'step':<{width}}  seconds"]
        lines += [f"{name:<{width}}  {seconds:7.2f}" for name, seconds in self.rows]
        lines.append(f"{'total':<{width}}  {sum(s for _, s in self.rows):7.2f}")
        return "\n".join(lines)


def _under(path: str | Path, folder: str) -> bool:
    path = Path(os.path.realpath(path))
    return path == Path(folder) or Path(folder) in path.parents


def _hidden_folders(basetemp: Path) -> tuple[str, ...]:
    """What hosts must not see: pytest's temporary folders (the test's own MEDIA_ROOT), the
    checkout's var/ and /tmp (unless the code or the interpreter lives there)."""
    hide = [str(basetemp)]
    if (ROOT / "var").is_dir() and not _under(basetemp, str(ROOT / "var")):
        hide.insert(0, str(ROOT / "var"))
    elif (ROOT / "var").is_dir():
        hide = [str(ROOT / "var")]
    needed = [ROOT, sys.prefix, sys.base_prefix, sys.executable]
    if not any(_under(p, "/tmp") for p in needed):
        hide.append("/tmp")
    return tuple(hide)


def _wait(what: str, check, timeout: float, logs=lambda: "", every: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        close_old_connections()
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what}: not within {timeout:.0f} s\n{logs()}")


def _port_open(host: str, port: int) -> bool:
    import socket

    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _via(url: str, host: str) -> str:
    """``url`` with its host and port replaced by ``host`` (the bridge address of a service)."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    auth = f"{netloc[0]}@" if len(netloc) == 2 else ""
    port = parts.port
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{auth}{host}:{port}"))


def _make_video(path: Path) -> Path:
    """A 2 s, 10 fps, 160 x 120 H.264 + AAC MP4 (the annotation tests' geometry)."""
    from workers.video.tools import ffmpeg_exe

    subprocess.run(
        [
            ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10:duration=2",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050:duration=2",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return path


@pytest.fixture
def timings(capsys):
    """The steps' times, printed past pytest's capture (shown whether the test passes or not)."""
    recorded = Timings()
    yield recorded
    with capsys.disabled():
        sys.stderr.write(recorded.table() + "\n")


@pytest.fixture
def cluster(tmp_path_factory, timings):
    why = why_unavailable()
    if why:
        missing_service(f"cannot build the namespace cluster: {why}")
    if not is_postgres():
        missing_service("the cluster test needs PostgreSQL (set DATABASE_URL)")
    if not redis_reachable():
        missing_service(f"Redis is not reachable at {TEST_REDIS_URL}")
    try:
        import boto3  # noqa: F401
        import moto.server  # noqa: F401
        import storages  # noqa: F401
    except ImportError as exc:
        missing_service(f"object storage packages missing ({exc.name}); pip install -e '.[dev]'")
    left = remove_leftovers()
    basetemp = tmp_path_factory.getbasetemp()
    nodes = Cluster(
        base=tmp_path_factory.mktemp("cluster"), names=HOSTS, hide=_hidden_folders(basetemp)
    )
    try:
        nodes.up()
        db_url = urllib.parse.urlsplit(database_url_for_test_db())
        redis_url = urllib.parse.urlsplit(TEST_REDIS_URL)
        nodes.forward(db_url.port or 5432, redis_url.port or 6379)
        timings.step(f"network: 5 namespaces on a bridge ({len(left)} leftovers removed)")
        yield nodes
    finally:
        nodes.close()


def _host_env(nodes: Cluster, key_prefix: str) -> dict[str, str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CELERY_", "MEDIA_", "WHEREWHEN_", "DATABASE_URL", "CACHE_"))
    }
    broker = _via(TEST_REDIS_URL, nodes.gateway)
    s3 = f"http://{nodes.hosts['services'].ip}:{S3_PORT}"
    base.update(
        {
            "PYTHONPATH": os.pathsep.join([str(ROOT / "platform"), str(ROOT)]),
            "DJANGO_SETTINGS_MODULE": "wherewhen.settings",
            "PYTHONUNBUFFERED": "1",
            "DATABASE_URL": _via(database_url_for_test_db(), nodes.gateway),
            "CELERY_BROKER_URL": broker,
            "CELERY_RESULT_BACKEND": broker,
            "CACHE_KEY_PREFIX": key_prefix,
            "SECRET_KEY": "cluster-test-secret-key-shared-by-every-host",
            "ALLOWED_HOSTS": nodes.hosts["web"].ip,
            "WHEREWHEN_VAR_DIR": f"{HOST_ROOT}/var",
            "MEDIA_ROOT": f"{HOST_ROOT}/media",
            "MEDIA_STORAGE": "s3",
            "MEDIA_S3_BUCKET": BUCKET,
            "MEDIA_S3_ENDPOINT_URL": s3,
            "MEDIA_S3_ACCESS_KEY_ID": "cluster-test",
            "MEDIA_S3_SECRET_ACCESS_KEY": "cluster-test-secret",
            "MEDIA_S3_REGION": "us-east-1",
            "MEDIA_S3_ADDRESSING_STYLE": "path",
            "MEDIA_STREAM_MODE": "redirect",
            "MEDIA_CACHE_DIR": f"{HOST_ROOT}/var/media-cache",
            "WORKER_HEARTBEAT_SECONDS": "1",
            "WHEREWHEN_EXPLANATION_LEASE_SECONDS": str(LEASE_SECONDS),
            "WEB_CONCURRENCY": "1",
            "OMP_NUM_THREADS": "1",
        }
    )
    return base


def _s3_client(nodes: Cluster):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=f"http://{nodes.hosts['services'].ip}:{S3_PORT}",
        aws_access_key_id="cluster-test",
        aws_secret_access_key="cluster-test-secret",
        region_name="us-east-1",
    )


def test_cluster_of_namespaces(cluster, timings, tmp_path, tiny_checkpoint, monkeypatch):
    from celery import Celery
    from rest_framework.authtoken.models import Token

    from tests.annotation_support import make_project
    from tests.scoring_support import box_from, ground_truth
    from wherewhen.accounts.models import Role, User
    from wherewhen.celery import app as platform_app
    from wherewhen.core import tasking
    from wherewhen.core.management.commands.up import web_command, worker_command
    from wherewhen.core.models import WorkerHeartbeat
    from wherewhen.explanations.models import Explanation
    from wherewhen.scoring.models import ExplanationScore, ScoreRequest
    from wherewhen.videos.models import Video

    nodes = cluster
    hosts = nodes.hosts
    import redis

    redis.Redis.from_url(TEST_REDIS_URL).flushdb()
    env = _host_env(nodes, key_prefix=f"cluster-{uuid.uuid4().hex[:8]}")

    def logs() -> str:
        return "\n".join(
            f"--- {p.host.name}/{p.label} ({'running' if p.alive() else 'exited'})\n{p.output(3000)}"
            for p in nodes.processes
        )

    # --- no host shares a media directory with another -----------------------------------------
    for name, host in hosts.items():
        (host.folder / "media" / "whoami").write_text(f"{name}\n")
    # Each host reads its own name at the same path, and finds every hidden folder (pytest's
    # temporary folders with this process's MEDIA_ROOT, the checkout's var/, /tmp) empty.
    look = f'cat {HOST_ROOT}/media/whoami; for d in "$@"; do ls -A "$d" | wc -l; done'
    for name in HOSTS:
        result = nodes.run(name, ["sh", "-c", look, "sh", *nodes.hide], env)
        assert result.returncode == 0, result.stderr
        expected = [name] + ["0"] * len(nodes.hide)
        assert result.stdout.split() == expected, (name, nodes.hide, result.stdout, result.stderr)
    assert len({h.folder.resolve() for h in hosts.values()}) == len(HOSTS)
    timings.step(f"isolation: own /mnt per host, {len(nodes.hide)} shared folders hidden")

    # --- the S3 endpoint on the services host ---------------------------------------------------
    s3_ip = hosts["services"].ip
    nodes.start(
        "services",
        "s3",
        [sys.executable, "-m", "moto.server", "-H", s3_ip, "-p", str(S3_PORT)],
        env,
    )
    _wait("moto's S3 server", lambda: _port_open(s3_ip, S3_PORT), 60, logs)
    timings.step("S3 endpoint (moto, test only) on services")

    # --- web, media, gpu1, gpu2 -------------------------------------------------------------------
    web_ip = hosts["web"].ip
    monkeypatch.setenv("WEB_CONCURRENCY", "1")  # web_command reads it here
    # The web host makes the bucket as a deployment does (docker-compose), while the rest starts.
    bucket = nodes.start(
        "web", "ensure-bucket", [sys.executable, "manage.py", "ensure_media_bucket"], env
    )
    nodes.start("web", "gunicorn", web_command(web_ip, WEB_PORT), env)
    media = nodes.start("media", "worker", worker_command("default,media", "media", 1), env)
    gpu = {
        name: nodes.start(name, "worker", worker_command("gpu", "gpu", 1), env)
        for name in ("gpu1", "gpu2")
    }
    names = {"media@media", "gpu@gpu1", "gpu@gpu2"}

    def workers_ready() -> bool:
        for process in nodes.processes:
            # The bucket command is one-shot: done (exit 0) is fine, a failure is not. Every other
            # process is a service that must still be running.
            failed = (
                process.proc.poll() not in (None, 0) if process is bucket else not process.alive()
            )
            if failed:
                raise AssertionError(f"{process.host.name}/{process.label} exited\n{logs()}")
        return WorkerHeartbeat.objects.filter(hostname__in=names).count() == len(names)

    _wait("workers' heartbeats", workers_ready, 90, logs)
    base = f"http://{web_ip}:{WEB_PORT}"

    def healthy() -> bool:
        try:
            return requests.get(f"{base}/healthz", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    _wait("web /healthz green", healthy, 60, logs)
    assert bucket.proc.wait(timeout=60) == 0, bucket.output()
    assert "Created the media bucket" in bucket.output(), bucket.output()
    s3 = _s3_client(nodes)  # the test's own look into the store
    timings.step("web (gunicorn) + media + 2 gpu workers ready, bucket made")

    # --- a researcher, a model deployed on the web and gpu hosts --------------------------------
    rita = User.objects.create_user("rita", password="rita-pw-cluster-42", role=Role.RESEARCHER)
    api = requests.Session()
    api.headers["Authorization"] = f"Token {Token.objects.create(user=rita).key}"
    for name in ("web", "gpu1", "gpu2"):  # the same checkpoint, copied to each machine
        shutil.copytree(tiny_checkpoint, hosts[name].path(f"{HOST_ROOT}/models/tiny"))
    response = api.post(
        f"{base}/api/v1/models/",
        json={"name": "tiny", "checkpoint_dir": f"{HOST_ROOT}/models/tiny", "public": False},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    model_id = response.json()["id"]
    timings.step("model registered through the web host")

    # --- upload, processed on the media host -------------------------------------------------------
    source = _make_video(tmp_path / "cluster clip.mp4")
    with open(source, "rb") as handle:
        response = api.post(
            f"{base}/api/v1/videos/",
            files={"file": ("cluster clip.mp4", handle, "video/mp4")},
            data={"title": "cluster", "label": "red"},
            timeout=60,
        )
    assert response.status_code == 201, response.text
    video_id = response.json()["id"]
    timings.step("upload through the web host")

    def processed():
        body = api.get(f"{base}/api/v1/videos/{video_id}/", timeout=10).json()
        if body["status"] == "failed":
            raise AssertionError(f"processing failed: {body.get('error')}\n{logs()}")
        return body if body["status"] == "ready" else None

    video = _wait("video processed", processed, 90, logs)
    row = Video.objects.get(pk=video_id)
    assert row.frame_count == 20 and row.has_audio
    assert "media.videos.process" in media.output(100_000)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    assert {row.original.name, row.playback.name, row.poster.name} <= keys, keys
    for name, host in hosts.items():  # nothing reached any host's media directory
        assert sorted(p.name for p in (host.folder / "media").iterdir()) == ["whoami"], name
    timings.step("processed on the media host (files in the object store)")

    # --- ground truth (the scores' reference), explained on a gpu host, scored --------------------
    sender = Celery("cluster-test", broker=TEST_REDIS_URL, backend=TEST_REDIS_URL)
    sender.conf.update(
        task_queues=platform_app.conf.task_queues,
        task_routes=platform_app.conf.task_routes,
        task_default_queue="default",
    )
    monkeypatch.setattr(tasking, "celery_app", lambda: sender)  # this process sends to the cluster
    project = make_project(rita, labels=["red", "green"])
    ground_truth(project, row, [box_from(0, BOX, label="red")])

    def explain(method: str, params: dict) -> int:
        response = api.post(
            f"{base}/api/v1/explanations/",
            json={
                "video": video_id,
                "model": model_id,
                "method": method,
                "params": params,
                "target": 0,
            },  # fmt: skip
            timeout=30,
        )
        assert response.status_code == 202, response.text
        return response.json()["id"]

    def done(pk: int):
        def check():
            body = api.get(f"{base}/api/v1/explanations/{pk}/", timeout=10).json()
            if body["status"] == "failed":
                raise AssertionError(f"explanation failed: {body.get('error')}\n{logs()}")
            return body if body["status"] == "done" else None

        return check

    # Two requests at once: with one task reserved per worker, each gpu host usually takes one
    # (and loads the model, so the takeover below is not slowed by a cold start).
    first, second = explain("staa", {}), explain("staa_plus", {})
    for pk in (first, second):
        _wait("explanation done", done(pk), 150, logs)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    ran_on = []
    for pk in (first, second):
        finished = Explanation.objects.get(pk=pk)
        ran_on.append(finished.claimed_by.split("|")[1])
        assert finished.map_file in keys, (finished.map_file, keys)
    assert set(ran_on) <= {"gpu1", "gpu2"}, ran_on
    timings.step(f"explained on {' and '.join(ran_on)} (staa, staa_plus)")

    def scored(pk: int):
        def check():
            if ScoreRequest.objects.filter(project=project).exists():
                return None
            return ExplanationScore.objects.filter(explanation_id=pk).count() or None

        return check

    per_explanation = _wait("scores", scored(first), 60, logs)
    assert per_explanation == 2  # the consensus and the one annotation
    assert _wait("scores", scored(second), 60, logs) == per_explanation
    assert "scoring.recompute" in media.output(100_000)
    response = api.get(f"{base}/api/v1/scoring/scores/", params={"explanation": first}, timeout=10)
    assert response.status_code == 200, response.text
    timings.step("scored on the media host (default queue)")

    # --- playback with byte ranges ----------------------------------------------------------------
    whole = s3.get_object(Bucket=BUCKET, Key=row.playback.name)["Body"].read()
    stream = urllib.parse.urljoin(f"{base}/", video["stream_url"])
    part = api.get(stream, headers={"Range": "bytes=100-199"}, timeout=10)
    assert part.status_code == 206, (part.status_code, part.text[:300])
    assert part.content == whole[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(whole)}"
    tail = api.get(stream, headers={"Range": f"bytes={len(whole) - 10}-"}, timeout=10)
    assert tail.status_code == 206 and tail.content == whole[-10:]
    timings.step("played back with ranges (206)")

    # --- a gpu host dies mid-explanation; the other finishes it ------------------------------------
    slow = explain(SLOW["method"], SLOW["params"])

    def claimed():
        close_old_connections()
        r = Explanation.objects.get(pk=slow)
        if r.status == Explanation.Status.DONE:
            raise AssertionError("the slow explanation finished before a worker could be killed")
        return r.claimed_by if r.status == Explanation.Status.RUNNING else None

    owner = _wait("slow explanation claimed", claimed, 60, logs, every=0.05)
    victim = owner.split("|")[1]
    survivor = "gpu2" if victim == "gpu1" else "gpu1"
    time.sleep(0.3)  # computing now
    gpu[victim].kill()
    assert Explanation.objects.get(pk=slow).status == Explanation.Status.RUNNING
    timings.step(f"{SLOW['method']} claimed by {victim}; its worker SIGKILLed")

    final = _wait("explanation taken over", done(slow), 120 + LEASE_SECONDS, logs)
    rows = Explanation.objects.filter(video_id=video_id, model_id=model_id, method=SLOW["method"])
    assert rows.count() == 1
    taken = rows.get()
    assert taken.claimed_by.split("|")[1] == survivor, taken.claimed_by
    assert taken.attempts == 2 and final["status"] == "done"
    maps = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
        if o["Key"] == taken.map_file
    ]
    assert len(maps) == 1
    assert _wait("scores of the taken-over one", scored(slow), 60, logs) == per_explanation
    timings.step(f"finished by {survivor} after the lease ran out; one result")

    # --- the gpu hosts fetched their input over the network, into caches of their own -----------
    cache = hosts[survivor].path(f"{HOST_ROOT}/var/media-cache")
    assert cache.is_dir() and any(p.is_file() for p in cache.rglob("*")), logs()
    sender.close()
