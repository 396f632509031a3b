"""Uploading videos through the API: streaming to disk, dedup, limits, and every bad input."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from tests.platform.videohelpers import (
    LIST_URL,
    client_for,
    make_user,
    media_files,
    record_enqueued,
    upload,
)
from wherewhen.accounts.models import Role
from wherewhen.core import media
from wherewhen.videos import services
from wherewhen.videos.models import Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch) -> list[int]:
    return record_enqueued(monkeypatch)


@pytest.fixture
def rita():
    return make_user("rita")


def test_upload_creates_video_and_queues_processing(
    rita, video_files, queued, django_capture_on_commit_callbacks
):
    fixture = video_files["mp4_h264_aac"]
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client_for(rita), fixture.path, label="waving", split="train")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "uploaded"
    assert body["original_name"] == fixture.path.name
    assert body["title"] == "h264 with sound"
    assert (body["label"], body["split"], body["owner"]) == ("waving", "train", "rita")
    assert body["size_bytes"] == fixture.path.stat().st_size
    assert body["stream_url"] is None  # not playable before processing
    video = Video.objects.get(pk=body["id"])
    assert queued == [video.pk]
    stored = media.local_path(video.original.name)
    assert stored.read_bytes() == fixture.path.read_bytes()
    assert video.content_hash == services.sha256_file(fixture.path)
    assert video.source_info["video_codec"] == "h264"
    # Nothing is left in the temporary upload folder.
    assert media_files() == [stored]


def test_same_content_twice_returns_the_existing_video(rita, video_files, queued):
    client = client_for(rita)
    first = upload(client, video_files["mp4_h264"].path)
    second = upload(client, video_files["mp4_h264"].path, name="renamed copy.mp4")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Video.objects.count() == 1
    assert len(media_files()) == 1
    # Another researcher's identical upload is their own video.
    other = upload(client_for(make_user("sam")), video_files["mp4_h264"].path)
    assert other.status_code == 201
    assert other.json()["id"] != first.json()["id"]


def test_unicode_and_spaces_in_names(rita, video_files, queued):
    fixture = video_files["unicode_name"]
    response = upload(client_for(rita), fixture.path, dataset="Ünïcode set")
    assert response.status_code == 201
    body = response.json()
    assert body["original_name"] == "Ünïcode clip — ½ ✓.mp4"
    assert body["datasets"] == ["Ünïcode set"]
    video = Video.objects.get(pk=body["id"])
    # Stored under the content hash: the person's file name never reaches the file system.
    assert video.original.name == f"videos/{rita.pk}/{video.content_hash}/original.mp4"
    download = client_for(rita).get(body["original_url"])
    assert download.status_code == 200
    assert "filename*=UTF-8''%C3%9Cn%C3%AFcode%20clip" in download["Content-Disposition"]


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("not_video", "not a video WhereWhen can read"),
        ("empty", "empty"),
        ("audio_only", "only audio"),
        ("absurd_dimensions", "20000×12000"),
        ("truncated_no_index", "incomplete or damaged"),
    ],
)
def test_bad_files_are_refused_and_leave_nothing(rita, bad_video_files, queued, kind, message):
    response = upload(client_for(rita), bad_video_files[kind])
    assert response.status_code == 400, response.content
    assert message in str(response.json())
    assert Video.objects.count() == 0
    assert media_files() == []
    assert queued == []


def test_upload_without_a_file(rita):
    response = client_for(rita).post(LIST_URL, {"title": "x"}, format="multipart")
    assert response.status_code == 400
    assert "multipart/form-data field 'file'" in str(response.json())


def test_too_large_declared_is_refused_before_reading(rita, tmp_path, settings, queued):
    settings.VIDEO_UPLOAD_MAX_BYTES = 1000
    big = tmp_path / "big.mp4"
    big.write_bytes(os.urandom(1024 * 1024 + 4096))  # beyond limit + multipart slack
    response = upload(client_for(rita), big)
    assert response.status_code == 413
    assert response.json()["detail"] == "The file is larger than the upload limit of 1000 bytes."
    assert Video.objects.count() == 0
    assert media_files() == []


def test_too_large_while_streaming_is_stopped(rita, video_files, settings, queued):
    settings.VIDEO_UPLOAD_MAX_BYTES = 4096  # the declared length passes, the file does not
    response = upload(client_for(rita), video_files["mp4_h264_aac"].path)
    assert response.status_code == 413
    assert "upload limit of 4.0 KiB" in response.json()["detail"]
    assert Video.objects.count() == 0
    assert media_files() == []


def _multipart(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return encode_multipart(BOUNDARY, {"file": handle, "label": "cut"})


@pytest.mark.parametrize("auth", ["token", "session"])
def test_upload_cut_off_half_way_leaves_nothing(rita, video_files, queued, auth):
    body = _multipart(video_files["mp4_h264_aac"].path)
    cut = body[: len(body) // 2]  # the closing boundary never arrives
    if auth == "token":
        client = client_for(rita)
        response = client.generic("POST", LIST_URL, cut, content_type=MULTIPART_CONTENT)
    else:
        # Session auth parses the body during the CSRF check: the handler must be in place.
        client = Client(enforce_csrf_checks=True)
        client.force_login(rita)
        client.get("/login")  # sets the CSRF cookie
        token = client.cookies["csrftoken"].value
        response = client.generic(
            "POST", LIST_URL, cut, content_type=MULTIPART_CONTENT, HTTP_X_CSRFTOKEN=token
        )
    assert response.status_code == 400, response.content
    assert "interrupted" in response.json()["detail"]
    assert Video.objects.count() == 0
    assert media_files() == []


def test_session_upload_with_csrf(rita, video_files, queued):
    client = Client(enforce_csrf_checks=True)
    client.force_login(rita)
    client.get("/login")
    token = client.cookies["csrftoken"].value
    body = _multipart(video_files["mp4_h264"].path)
    response = client.generic(
        "POST", LIST_URL, body, content_type=MULTIPART_CONTENT, HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201, response.content
    assert response.json()["label"] == "cut"
    refused = client.generic("POST", LIST_URL, body, content_type=MULTIPART_CONTENT)
    assert refused.status_code == 403  # no CSRF token: refused, and nothing left behind
    assert Video.objects.count() == 1
    assert len(media_files()) == 1


@pytest.mark.parametrize("role", [Role.ANNOTATOR, Role.REVIEWER, Role.PARTICIPANT])
def test_only_researchers_upload(video_files, role, queued):
    user = make_user(f"user-{role}", role)
    response = upload(client_for(user), video_files["mp4_h264"].path)
    assert response.status_code == 403
    assert Video.objects.count() == 0
    assert media_files() == []


def test_anonymous_cannot_upload(video_files):
    response = upload(client_for(None), video_files["mp4_h264"].path)
    assert response.status_code == 403
    assert media_files() == []


def test_limits_endpoint(rita, settings):
    settings.VIDEO_UPLOAD_MAX_BYTES = 12345
    body = client_for(rita).get(f"{LIST_URL}limits/").json()
    assert body == {"max_upload_bytes": 12345, "max_dimension": settings.VIDEO_MAX_DIMENSION}


def test_a_frame_over_the_pixel_budget_is_refused(rita, video_files, queued, settings):
    settings.VIDEO_MAX_PIXELS = 1000
    response = upload(client_for(rita), video_files["mp4_h264_aac"].path)
    assert response.status_code == 400, response.content
    assert "megapixels" in str(response.json())
    assert Video.objects.count() == 0 and media_files() == [] and queued == []
