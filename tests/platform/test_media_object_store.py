"""Media in an S3-compatible object store (moto's standalone server, a test double that speaks
the S3 HTTP protocol): upload streamed into the store, processing and explanation compute from
a worker's local copies, the stream view (presigned redirect and proxied ranges) with its
permission checks, and deletion of every object. Plus: the default settings stay local."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from django.conf import settings as django_settings

from tests.explanations_support import (
    fake_broker_fixture,  # noqa: F401 - a fixture
    register_tiny_model,
    tiny_checkpoint_fixture,  # noqa: F401 - a fixture
)
from tests.platform.videohelpers import client_for, make_user, media_files, upload
from tests.s3_support import moto_endpoint, moto_server_exe, use_endpoint
from wherewhen.accounts.models import Role
from wherewhen.core import media
from wherewhen.videos import services
from wherewhen.videos.models import Video

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(moto_server_exe() is None, reason="moto_server is not installed"),
]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def endpoint():
    with moto_endpoint() as found:
        yield found


@pytest.fixture
def store(endpoint, settings, tmp_path):
    """This test's media in the object store under a prefix of its own."""
    prefix = f"t-{os.getpid()}-{tmp_path.name}"
    use_endpoint(settings, endpoint, tmp_path / "cache", prefix=prefix)
    endpoint.prefix = prefix
    return endpoint


@pytest.fixture
def rita():
    return make_user("rita")


def ingest(owner, fixture) -> Video:
    video = services.ingest_file(
        owner=owner, path=fixture.path, original_name=fixture.path.name, process="now"
    ).video
    assert video.status == Video.Status.READY, video.error
    return video


def keys_of(store, folder: str) -> list[str]:
    return [k.removeprefix(f"{store.prefix}/") for k in store.keys(f"{store.prefix}/{folder}/")]


def test_upload_processing_and_files_live_in_the_store(store, rita, video_files, monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr(services, "enqueue_processing", queued.append)
    fixture = video_files["mp4_h264_aac"]
    response = upload(client_for(rita), fixture.path)
    assert response.status_code == 201, response.content
    video = Video.objects.get(pk=response.json()["id"])
    assert keys_of(store, video.folder) == [video.original.name]
    assert media.read_bytes(video.original.name) == fixture.path.read_bytes()
    # Nothing on the web host's disk: no media folder content, no staged upload left.
    assert media_files() == []
    assert not [p for p in media.staging_dir("uploads").iterdir()]

    assert services.run_processing(video.pk) == Video.Status.READY
    video.refresh_from_db()
    names = ["original.mp4", "playback.mp4", "poster.jpg", "sprite.jpg", "waveform.json"]
    assert keys_of(store, video.folder) == [f"{video.folder}/{n}" for n in names]
    playback = media.read_bytes(video.playback.name)
    assert services.playback_sha256(video) == hashlib.sha256(playback).hexdigest()
    # The worker decoded from its content-addressed cache (the original, by its content hash).
    cached = list(Path(django_settings.MEDIA_CACHE_DIR).glob("??/*"))
    assert [p.name for p in cached] == [f"{video.content_hash}.mp4"]
    assert media_files() == []


def test_stream_redirects_to_a_presigned_url_that_honours_ranges(store, rita, video_files):
    video = ingest(rita, video_files["mp4_h264_aac"])
    url = f"/api/v1/videos/{video.pk}/stream/"
    # Permission first: nobody is redirected to the file without it.
    assert client_for(None).get(url).status_code == 403
    stranger = make_user("sam")
    denied = client_for(stranger).get(url)
    assert denied.status_code == 404 and "Location" not in denied
    response = client_for(rita).get(url)
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    location = response["Location"]
    assert location.startswith(store.url)
    query = parse_qs(urlparse(location).query)
    assert query["X-Amz-Expires"] == [str(django_settings.MEDIA_PRESIGN_SECONDS)]
    data = media.read_bytes(video.playback.name)
    ranged = requests.get(location, headers={"Range": "bytes=100-199"}, timeout=10)
    assert ranged.status_code == 206 and ranged.content == data[100:200]
    assert ranged.headers["Content-Type"] == "video/mp4"
    assert requests.get(location, timeout=10).content == data
    # Signed for this key (moto, a test double, does not check signatures; real stores do).
    assert query["X-Amz-Signature"] and query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert urlparse(location).path.endswith(f"/{video.playback.name}")


def test_stream_proxies_ranges_when_configured(store, rita, video_files, settings):
    settings.MEDIA_STREAM_MODE = "proxy"
    video = ingest(rita, video_files["mp4_h264_aac"])
    data = media.read_bytes(video.playback.name)
    size = len(data)
    client = client_for(rita)
    url = f"/api/v1/videos/{video.pk}/stream/"

    def body(response) -> bytes:
        return b"".join(response.streaming_content)

    full = client.get(url)
    assert full.status_code == 200 and body(full) == data
    assert full["Accept-Ranges"] == "bytes" and full["Content-Length"] == str(size)
    part = client.get(url, HTTP_RANGE="bytes=10-1009")
    assert part.status_code == 206 and body(part) == data[10:1010]
    assert part["Content-Range"] == f"bytes 10-1009/{size}"
    tail = client.get(url, HTTP_RANGE="bytes=-100")
    assert tail.status_code == 206 and body(tail) == data[-100:]
    beyond = client.get(url, HTTP_RANGE=f"bytes={size}-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == f"bytes */{size}"
    again = client.get(url, HTTP_IF_NONE_MATCH=full["ETag"])
    assert again.status_code == 304
    stale = client.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"not-the-etag"')
    assert stale.status_code == 200 and body(stale) == data
    head = client.head(url)
    assert head.status_code == 200 and head["Content-Length"] == str(size)
    poster = client.get(f"/api/v1/videos/{video.pk}/poster/")
    assert poster.status_code == 200 and body(poster) == media.read_bytes(video.poster.name)
    assert client_for(make_user("sam")).get(url).status_code == 404
    # An object gone from the store (removed behind the platform's back) answers 404, not 500.
    store.client().delete_object(Bucket=store.bucket, Key=f"{store.prefix}/{video.playback.name}")
    gone = client.get(url, HTTP_RANGE="bytes=0-9")
    assert gone.status_code == 404 and "detail" in gone.json()


def test_large_upload_is_streamed_in_parts(store, settings, tmp_path):
    """A file several parts long goes up as a multipart upload without being read whole."""
    part = 5 * 1024 * 1024  # S3's smallest part
    use_endpoint(settings, store, tmp_path / "cache", multipart_bytes=part, prefix=store.prefix)
    big = tmp_path / "big.bin"
    with open(big, "wb") as handle:
        for i in range(10):
            handle.write(hashlib.sha256(str(i).encode()).digest() * (part // 32))
    size = big.stat().st_size
    tracemalloc.start()
    try:
        media.put_file("videos/big/original.bin", big)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    info = media.stat("videos/big/original.bin")
    assert info.size == size
    assert info.etag.endswith("-10")  # ten parts
    # Memory follows the parts in flight (four at most), not the file's size.
    assert peak < 5 * part, f"peak {peak} bytes for a {size}-byte file"
    media.delete_folder("videos/big")
    assert not media.exists("videos/big/original.bin")


def test_explanations_compute_from_the_store_and_deleting_a_video_deletes_every_object(
    store, rita, video_files, tiny_checkpoint, fake_broker
):
    from wherewhen.explanations import compute, storage
    from wherewhen.explanations import services as explanation_services

    video = ingest(rita, video_files["mp4_h264_aac"])
    model = register_tiny_model(rita, tiny_checkpoint)
    row = explanation_services.request_explanation(
        rita, video=video, model=model, method="staa"
    ).explanation
    compute.run(row.pk)
    row.refresh_from_db()
    assert row.status == "done", row.error
    assert media.exists(row.map_file) and row.map_file.startswith(storage.MAP_DIR)
    stored = media.read_bytes(row.map_file)
    assert hashlib.sha256(stored).hexdigest() == row.map_sha256
    payload = client_for(rita).get(f"/api/v1/explanations/{row.pk}/map/")
    assert payload.status_code == 200
    assert payload.json()["shape"] == list(storage.read_map(row.map_file).shape)
    # The gpu side read the playback file from its cache, keyed by the playback's hash.
    cached = {p.name for p in Path(django_settings.MEDIA_CACHE_DIR).glob("??/*")}
    assert f"{services.playback_sha256(video)}.mp4" in cached

    response = client_for(rita).delete(f"/api/v1/videos/{video.pk}/")
    assert response.status_code == 204
    assert keys_of(store, video.folder) == []
    assert not media.exists(row.map_file)
    assert store.keys(f"{store.prefix}/") == []


def test_a_failed_processing_leaves_only_the_original(store, rita, bad_video_files):
    try:
        video = services.ingest_file(
            owner=rita, path=bad_video_files["truncated"], original_name="bad.mp4", process="none"
        ).video
    except services.VideoRejected:
        pytest.skip("this damaged file is refused at upload already")
    assert services.run_processing(video.pk) == Video.Status.FAILED
    assert keys_of(store, video.folder) == [video.original.name]


# --- the default: nothing changes -------------------------------------------------------------


def test_default_settings_keep_media_on_the_local_disk(tmp_path):
    """A fresh process with no MEDIA_* variables: FileSystemStorage on var/media, no cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIA_")}
    env["WHEREWHEN_VAR_DIR"] = str(tmp_path / "var")
    code = (
        "import json; from django.conf import settings; from wherewhen.core import media;"
        "s = media.storage();"
        "print(json.dumps({'backend': type(s).__module__ + '.' + type(s).__name__,"
        " 'location': str(s.location), 'root': str(settings.MEDIA_ROOT),"
        " 'local': media.is_local(), 'mode': settings.MEDIA_STREAM_MODE,"
        " 'same': media.storage() is media.storage()}))"
    )
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    found = json.loads(out.strip().splitlines()[-1])
    assert found["backend"] == "django.core.files.storage.filesystem.FileSystemStorage"
    assert found["location"] == found["root"] == str((tmp_path / "var" / "media").resolve())
    assert found["local"] is True and found["same"] is True
    assert not (tmp_path / "var" / "media-cache").exists()


def test_local_layout_is_unchanged(rita, video_files, settings):
    video = ingest(rita, video_files["mp4_h264_aac"])
    folder = Path(settings.MEDIA_ROOT) / "videos" / str(rita.pk) / video.content_hash
    assert sorted(p.name for p in folder.iterdir()) == [
        "original.mp4",
        "playback.mp4",
        "poster.jpg",
        "sprite.jpg",
        "waveform.json",
    ]
    assert media.local_path(video.playback.name) == folder / "playback.mp4"
    response = client_for(rita).get(f"/api/v1/videos/{video.pk}/stream/", HTTP_RANGE="bytes=0-9")
    assert response.status_code == 206
    assert b"".join(response.streaming_content) == (folder / "playback.mp4").read_bytes()[:10]
    services.delete_video(video)
    assert not folder.exists()
    assert not Path(settings.MEDIA_CACHE_DIR).exists() or not any(
        Path(settings.MEDIA_CACHE_DIR).glob("??/*")
    )


def test_reviewer_sees_but_participant_does_not(store, rita, video_files):
    video = ingest(rita, video_files["mp4_h264_aac"])
    url = f"/api/v1/videos/{video.pk}/stream/"
    assert client_for(make_user("rev", Role.REVIEWER)).get(url).status_code == 302
    assert client_for(make_user("pat", Role.PARTICIPANT)).get(url).status_code == 404


def test_ensure_media_bucket_creates_it_once(endpoint, settings, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    from tests.s3_support import S3Endpoint

    fresh = S3Endpoint(endpoint.url, f"fresh-{os.getpid()}-{tmp_path.name[-8:]}".lower())
    use_endpoint(settings, fresh, tmp_path / "cache")
    out = StringIO()
    call_command("ensure_media_bucket", stdout=out)
    call_command("ensure_media_bucket", stdout=out)
    assert out.getvalue().splitlines() == [
        f"Created the media bucket {fresh.bucket!r}.",
        f"Found the media bucket {fresh.bucket!r}.",
    ]
    media.put_bytes("probe/one.txt", b"1")
    assert fresh.keys() == ["probe/one.txt"]
