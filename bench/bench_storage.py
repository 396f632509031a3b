"""Media storage: ingest and explanation latency with the local disk vs an S3 endpoint.

    .venv/bin/python bench/bench_storage.py [--videos 3] [--seconds 4] [--size 640x360] [--quick]

The S3 endpoint is moto's standalone server (``moto_server``, from the dev extra): a test
double that speaks the S3 HTTP protocol, started on a free local port. It is used only in tests
and benches, never deployed; its numbers show the cost of the object-store code path (HTTP
round trips, multipart uploads, the worker's cache), not the speed of a real store.

The bench runs in this process on a throw-away SQLite database. For each storage in turn
(``local``: ``MEDIA_ROOT``; ``s3``: the endpoint, with an empty worker cache) and each of
``--videos`` generated H.264+AAC videos (a different one each time, so no cache is warm from
the other storage), it times:

* ``store original`` -- ``services.ingest_file`` without processing (hash, probe, put the file);
* ``process`` -- ``services.run_processing`` (fetch the original into the worker cache on S3,
  transcode/remux, frame table, poster, sprite, waveform, upload the outputs);
* ``explain (first)`` -- ``compute.run`` of one explanation (tiny model, ``staa``): the gpu
  worker's first touch of the video (on S3 a cache miss: download the playback file);
* ``explain (again)`` -- a second request on the same video, another clip window (the cached
  copy, on S3 a cache hit);
* ``map payload`` -- ``GET /api/v1/explanations/{id}/map/`` (read the map from the store);
* ``stream 1 MiB`` -- ``GET .../stream/`` with ``Range: bytes=0-1048575``: the local ranged
  answer, or on S3 the presigned redirect plus the ranged GET the browser makes to the store
  (and the same through ``MEDIA_STREAM_MODE=proxy``).

One unmeasured round on the local disk comes first (importing torch, loading the model, the
first request). Medians over the videos, milliseconds, side by side with the ratio s3 / local. The machine is
shared and busy: numbers are indicative, their order of magnitude is what to read.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]


def make_source(path: Path, size: str, seconds: float, seed: int) -> Path:
    from workers.video.tools import ffmpeg_exe

    args = ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration={seconds}",
            "-f", "lavfi", "-i", f"sine=frequency={220 + 20 * seed}:duration={seconds}",
            "-shortest", "-vf", f"hue=h={seed * 37 % 360}",
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac"]  # fmt: skip
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args, str(path)],
                   check=True)  # fmt: skip
    return path


class _Broker:
    """Stands in for Celery: this bench runs every task in its own process."""

    def send_task(self, *args, **kwargs) -> None:
        return None


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, (time.perf_counter() - start) * 1000.0


def run_storage(label: str, sources: list[Path], user, model, client) -> dict[str, list[float]]:
    from wherewhen.explanations import compute
    from wherewhen.explanations import services as explanations
    from wherewhen.videos import services as videos
    from wherewhen.videos.models import Video

    rows: dict[str, list[float]] = {}

    def add(name: str, ms: float) -> None:
        rows.setdefault(name, []).append(ms)

    for source in sources:
        outcome, ms = timed(
            videos.ingest_file,
            owner=user,
            path=source,
            original_name=f"{label}-{source.name}",
            process="none",
        )
        add("store original", ms)
        video = outcome.video
        status, ms = timed(videos.run_processing, video.pk)
        if status != Video.Status.READY:
            raise SystemExit(f"{label}: processing failed: {Video.objects.get(pk=video.pk).error}")
        add("process", ms)
        video.refresh_from_db()
        half = float(video.duration) / 2
        for name, window in (("explain (first)", (0.0, half)), ("explain (again)", (half, None))):
            row = explanations.request_explanation(
                user,
                video=video,
                model=model,
                method="staa",
                clip_start=window[0],
                clip_end=window[1],
            ).explanation
            _, ms = timed(compute.run, row.pk)
            row.refresh_from_db()
            if row.status != "done":
                raise SystemExit(f"{label}: explanation failed: {row.error}")
            add(name, ms)
        response, ms = timed(client.get, f"/api/v1/explanations/{row.pk}/map/")
        assert response.status_code == 200, response.content
        add("map payload", ms)
        add("stream 1 MiB", stream_ms(client, video.pk))
    return rows


def stream_ms(client, video_id: int) -> float:
    import requests

    start = time.perf_counter()
    response = client.get(f"/api/v1/videos/{video_id}/stream/", HTTP_RANGE="bytes=0-1048575")
    if response.status_code == 302:  # the browser follows the presigned URL
        got = requests.get(response["Location"], headers={"Range": "bytes=0-1048575"}, timeout=30)
        assert got.status_code in (200, 206), got.status_code
        _ = got.content
    else:
        assert response.status_code in (200, 206), response.status_code
        _ = b"".join(response.streaming_content)
    return (time.perf_counter() - start) * 1000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--quick", action="store_true", help="2 videos of 2 s at 320x180")
    args = parser.parse_args()
    if args.quick:
        args.videos, args.seconds, args.size = 2, 2.0, "320x180"

    var_dir = Path(tempfile.mkdtemp(prefix="wherewhen-bench-storage-"))
    for name in [n for n in os.environ if n.startswith("MEDIA_")]:
        del os.environ[name]
    os.environ.update(
        {
            "WHEREWHEN_VAR_DIR": str(var_dir),
            "DATABASE_URL": f"sqlite:///{var_dir / 'bench.sqlite3'}",
            "CELERY_BROKER_URL": f"sqla+sqlite:///{var_dir / 'broker.sqlite3'}",
            "SECRET_KEY": "bench-only-secret-key",
            "DJANGO_SETTINGS_MODULE": "wherewhen.settings",
            "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "testserver",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client, override_settings

    from tests.explanations_support import write_tiny_checkpoint
    from tests.s3_support import media_settings, moto_endpoint
    from wherewhen.accounts.models import User
    from wherewhen.core import tasking
    from wherewhen.explanations import services as explanations

    call_command("migrate", verbosity=0)
    tasking.celery_app = lambda: _Broker()
    user = User.objects.create_user("bench", role="researcher")
    model = explanations.register_model(
        owner=user, name="tiny", checkpoint_dir=str(write_tiny_checkpoint(var_dir / "tiny"))
    )
    client = Client()
    client.force_login(user)
    sources = [
        make_source(var_dir / f"src{i}.mp4", args.size, args.seconds, i)
        for i in range(3 * args.videos + 1)
    ]
    n = args.videos
    print(
        f"{n} video(s) per storage, {args.size}, {args.seconds:g} s, H.264+AAC; tiny model, staa; "
        "S3 endpoint: moto_server (a test double, not a real store)",
        flush=True,
    )
    # One unmeasured round first: torch, the model, the first requests warm up here.
    run_storage("warmup", sources[-1:], user, model, client)
    results: dict[str, dict[str, list[float]]] = {}
    results["local"] = run_storage("local", sources[:n], user, model, client)
    with moto_endpoint() as endpoint:
        with override_settings(**media_settings(endpoint, var_dir / "cache-redirect")):
            results["s3"] = run_storage("s3", sources[n : 2 * n], user, model, client)
        proxy = media_settings(endpoint, var_dir / "cache-proxy", stream_mode="proxy")
        with override_settings(**proxy):
            results["s3 proxy"] = run_storage("s3p", sources[2 * n : 3 * n], user, model, client)

    names = list(results["local"])
    header = f"{'step (median ms)':<18}{'local':>10}{'s3':>10}{'s3/local':>10}{'s3 proxy':>10}"
    print(header)
    print("-" * len(header))
    for name in names:
        local = statistics.median(results["local"][name])
        s3 = statistics.median(results["s3"][name])
        proxy_ms = statistics.median(results["s3 proxy"][name])
        print(f"{name:<18}{local:>10.1f}{s3:>10.1f}{s3 / local:>10.2f}{proxy_ms:>10.1f}")
    print(
        "s3 proxy: the same object store with MEDIA_STREAM_MODE=proxy (only the stream row "
        "differs in kind; the others repeat the s3 run on other videos)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
