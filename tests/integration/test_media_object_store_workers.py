"""Real Celery workers that share no disk with the web process: media only through an S3
endpoint (moto's standalone server, a test double speaking the S3 HTTP protocol).

Each worker gets a ``MEDIA_ROOT`` and a cache of its own; the web (this test process) another.
An upload is processed by the media worker, explained by the gpu worker, exported by the media
worker, played back through a presigned redirect with ranges, and deleted with every object.
No media file may appear in any ``MEDIA_ROOT``.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
import requests
from django.db import close_old_connections

from tests.explanations_support import (  # noqa: F401 - fixtures
    register_tiny_model,
    researcher_fixture,
    tiny_checkpoint_fixture,
)
from tests.integration.test_explanations_worker import redis_app  # noqa: F401 - a fixture
from tests.platform.videohelpers import client_for, upload
from tests.s3_support import moto_endpoint, moto_server_exe, use_endpoint
from wherewhen.core import media
from wherewhen.explanations.models import Explanation
from wherewhen.videos import services
from wherewhen.videos.models import Video

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(moto_server_exe() is None, reason="moto_server is not installed"),
]


def wait_for(predicate, timeout: float, what: str, *workers):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        close_old_connections()
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    logs = "\n".join(w.output()[-4000:] for w in workers)
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


@pytest.mark.usefixtures("redis_app")
def test_workers_without_a_shared_disk(
    start_worker, researcher, tiny_checkpoint, video_files, settings, tmp_path
):
    with moto_endpoint() as endpoint:
        prefix = "cluster"
        use_endpoint(settings, endpoint, tmp_path / "web-cache", prefix=prefix)
        hosts = {name: tmp_path / name for name in ("media-host", "gpu-host")}

        def host_env(name: str) -> dict:
            return {
                **endpoint.env(),
                "MEDIA_S3_PREFIX": prefix,
                "MEDIA_ROOT": str(hosts[name] / "media"),
                "MEDIA_CACHE_DIR": str(hosts[name] / "cache"),
                "WHEREWHEN_EXPLANATION_LEASE_SECONDS": "5",
            }

        media_worker = start_worker(
            queues="default,media", broker="redis", extra_env=host_env("media-host")
        )
        gpu_worker = start_worker(queues="gpu", broker="redis", extra_env=host_env("gpu-host"))
        workers = (media_worker, gpu_worker)
        client = client_for(researcher)

        started = time.monotonic()
        response = upload(client, video_files["mp4_h264_aac"].path)
        assert response.status_code == 201, response.content
        video_id = response.json()["id"]
        wait_for(
            lambda: Video.objects.get(pk=video_id).status == Video.Status.READY,
            120,
            "processing",
            *workers,
        )
        video = Video.objects.get(pk=video_id)
        print(f"upload + processing: {time.monotonic() - started:.1f} s")

        model = register_tiny_model(researcher, tiny_checkpoint)
        started = time.monotonic()
        body = {"video": video_id, "model": model.pk, "method": "staa"}
        asked = client.post(
            "/api/v1/explanations/", json.dumps(body), content_type="application/json"
        )
        assert asked.status_code == 202, asked.content
        explanation_id = asked.json()["id"]
        wait_for(
            lambda: Explanation.objects.get(pk=explanation_id).status == "done",
            120,
            "explanation",
            *workers,
        )
        print(f"explanation: {time.monotonic() - started:.1f} s")
        row = Explanation.objects.get(pk=explanation_id)
        assert media.exists(row.map_file)
        assert client.get(f"/api/v1/explanations/{explanation_id}/map/").status_code == 200
        # The gpu host decoded its own cached copy of the playback file.
        cached = [p.name for p in files_under(hosts["gpu-host"] / "cache") if p.name[0] != "."]
        assert f"{services.playback_sha256(video)}.mp4" in cached

        exported = client.post(
            f"/api/v1/explanations/{explanation_id}/exports/",
            json.dumps({"kind": "png"}),
            content_type="application/json",
        )
        assert exported.status_code == 202, exported.content
        export = wait_for(
            lambda: (
                (e := client.get(f"/api/v1/explanation-exports/{exported.json()['id']}/").json())
                and e["status"] == "done"
                and e
            ),
            60,
            "export",
            *workers,
        )
        download = client.get(export["download_url"])
        assert download.status_code == 302
        assert requests.get(download["Location"], timeout=10).content.startswith(b"\x89PNG")

        stream = client.get(f"/api/v1/videos/{video_id}/stream/")
        assert stream.status_code == 302
        ranged = requests.get(stream["Location"], headers={"Range": "bytes=0-99"}, timeout=10)
        assert ranged.status_code == 206
        assert ranged.content == media.read_bytes(video.playback.name)[:100]
        assert hashlib.sha256(media.read_bytes(video.original.name)).hexdigest() == (
            video.content_hash
        )

        # No host holds a media file of its own: everything is in the store.
        for folder in (Path(settings.MEDIA_ROOT), *(h / "media" for h in hosts.values())):
            assert files_under(folder) == [], folder

        assert client.delete(f"/api/v1/videos/{video_id}/").status_code == 204
        assert endpoint.keys(f"{prefix}/") == []
