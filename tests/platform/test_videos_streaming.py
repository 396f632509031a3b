"""Serving playback files with HTTP ranges, conditional requests and permission checks."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.platform.videohelpers import client_for, make_user
from wherewhen.accounts.models import Role
from wherewhen.core import media
from wherewhen.core.streaming import parse_range
from wherewhen.videos import services
from wherewhen.videos.models import Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def rita():
    return make_user("rita")


@pytest.fixture
def ready_video(rita, video_files) -> Video:
    fixture = video_files["mp4_h264_aac"]
    video = services.ingest_file(
        owner=rita, path=fixture.path, original_name=fixture.path.name, process="now"
    ).video
    assert video.status == Video.Status.READY, video.error
    return video


def body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=990-5000", (990, 999)),
        ("bytes=1000-", "unsatisfiable"),
        ("bytes=-0", "unsatisfiable"),
        ("bytes=5-1", None),
        ("bytes=0-1,5-9", None),
        ("items=0-1", None),
        ("bytes=abc", None),
        ("bytes=-", None),
    ],
)
def test_parse_range(header, expected):
    assert parse_range(header, 1000) == expected


def test_full_and_partial_content(rita, ready_video):
    client = client_for(rita)
    url = f"/api/v1/videos/{ready_video.pk}/stream/"
    data = media.local_path(ready_video.playback.name).read_bytes()
    size = len(data)

    full = client.get(url)
    assert full.status_code == 200
    assert full["Content-Type"] == "video/mp4"
    assert full["Accept-Ranges"] == "bytes"
    assert full["Content-Length"] == str(size)
    assert full["ETag"].startswith('"')
    assert "private" in full["Cache-Control"]
    assert body(full) == data

    part = client.get(url, HTTP_RANGE="bytes=0-99")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 0-99/{size}"
    assert part["Content-Length"] == "100"
    assert body(part) == data[:100]

    # What Chromium sends first, then to seek.
    opening = client.get(url, HTTP_RANGE="bytes=0-")
    assert opening.status_code == 206
    assert opening["Content-Range"] == f"bytes 0-{size - 1}/{size}"
    middle = client.get(url, HTTP_RANGE=f"bytes={size // 2}-")
    assert body(middle) == data[size // 2 :]
    tail = client.get(url, HTTP_RANGE="bytes=-16")
    assert body(tail) == data[-16:]

    beyond = client.get(url, HTTP_RANGE=f"bytes={size}-")
    assert beyond.status_code == 416
    assert beyond["Content-Range"] == f"bytes */{size}"

    several = client.get(url, HTTP_RANGE="bytes=0-1,4-5")
    assert several.status_code == 200 and body(several) == data

    head = client.head(url, HTTP_RANGE="bytes=0-9")
    assert head.status_code == 206 and head["Content-Length"] == "10"


def test_conditional_requests(rita, ready_video):
    client = client_for(rita)
    url = f"/api/v1/videos/{ready_video.pk}/stream/"
    first = client.get(url)
    etag = first["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200
    assert client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]).status_code == 304
    # If-Range: the range only applies while the file is the one the client knows.
    assert client.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=etag).status_code == 206
    assert client.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"stale"').status_code == 200


def test_poster_sprite_original(rita, ready_video, video_files):
    client = client_for(rita)
    base = f"/api/v1/videos/{ready_video.pk}"
    for kind in ("poster", "sprite"):
        response = client.get(f"{base}/{kind}/")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert body(response)[:2] == b"\xff\xd8"
    original = client.get(f"{base}/original/")
    assert body(original) == video_files["mp4_h264_aac"].path.read_bytes()
    assert original["Content-Disposition"].startswith("attachment;")
    detail = client.get(f"{base}/").json()
    assert detail["stream_url"] == f"{base}/stream/"
    assert detail["poster_url"] == f"{base}/poster/"
    assert detail["sprite"]["count"] == 20
    assert detail["sprite"]["times"][:3] == [0.0, 0.1, 0.2]


def test_token_auth_and_permissions(rita, ready_video):
    url = f"/api/v1/videos/{ready_video.pk}/stream/"
    token = Token.objects.create(user=rita)
    with_token = APIClient()
    with_token.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert with_token.get(url, HTTP_RANGE="bytes=0-9").status_code == 206
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token nope")
    assert bad.get(url).status_code == 403
    assert APIClient().get(url).status_code == 403
    assert client_for(make_user("sam")).get(url).status_code == 404
    assert client_for(make_user("rev", Role.REVIEWER)).get(url).status_code == 200
    assert client_for(make_user("ann", Role.ANNOTATOR)).get(url).status_code == 404
    assert client_for(rita).post(url).status_code == 405


def test_not_ready_is_409(rita, video_files):
    fixture = video_files["mp4_h264"]
    video = services.ingest_file(
        owner=rita, path=fixture.path, original_name="a.mp4", process="none"
    ).video
    response = client_for(rita).get(f"/api/v1/videos/{video.pk}/stream/")
    assert response.status_code == 409
    assert "not ready" in response.json()["detail"]
    assert client_for(rita).get(f"/api/v1/videos/{video.pk}/poster/").status_code == 404
    assert client_for(rita).get("/api/v1/videos/999999/stream/").status_code == 404
