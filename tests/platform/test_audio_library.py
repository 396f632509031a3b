"""Sound in the video library: the waveform at ingest, its endpoint, and a broken audio stream
that must not fail the video (real ffmpeg, real files, the media task's work in-process)."""

from __future__ import annotations

import json

import pytest

from tests.platform.videohelpers import client_for, make_user
from tests.workers.test_video_audio import broken_audio_video
from wherewhen.accounts.models import Role
from wherewhen.core import media
from wherewhen.videos import services
from wherewhen.videos.models import Video
from workers.video.audio import MAX_WAVEFORM_BINS, WAVEFORM_NAME

pytestmark = pytest.mark.django_db


@pytest.fixture
def rita():
    return make_user("rita")


def ingest(owner, path) -> Video:
    outcome = services.ingest_file(owner=owner, path=path, original_name=path.name, process="now")
    return outcome.video


def test_video_with_sound_gets_a_waveform(rita, video_files):
    video = ingest(rita, video_files["mp4_h264_aac"].path)
    assert video.status == Video.Status.READY, video.error
    assert video.has_audio and video.audio_error == ""
    path = media.local_path(video.waveform.name)
    assert path.name == WAVEFORM_NAME and path.parent == media.local_path(video.folder)
    body = client_for(rita).get(f"/api/v1/videos/{video.pk}/").json()
    assert body["has_audio"] is True and body["audio_error"] == ""
    assert body["waveform_url"] == f"/api/v1/videos/{video.pk}/waveform/"

    response = client_for(rita).get(body["waveform_url"])
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    overview = json.loads(b"".join(response.streaming_content))
    assert overview["duration"] == pytest.approx(video.duration, abs=1e-3)
    assert overview["bins"] == len(overview["min"]) == len(overview["max"]) <= MAX_WAVEFORM_BINS
    assert overview["bins"] == round(overview["duration"] * overview["bins_per_second"])
    assert max(overview["max"]) > 0.05  # the fixture's 440 Hz tone
    assert response["ETag"]
    again = client_for(rita).get(body["waveform_url"], HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_waveform_has_the_posters_permissions(rita, video_files):
    video = ingest(rita, video_files["mp4_h264_aac"].path)
    url = f"/api/v1/videos/{video.pk}/waveform/"
    assert client_for(None).get(url).status_code == 403
    olga = make_user("olga")
    assert client_for(olga).get(url).status_code == 404
    annotator = make_user("alex", Role.ANNOTATOR)
    assert client_for(annotator).get(url).status_code == 404
    reviewer = make_user("robin", Role.REVIEWER)
    assert client_for(reviewer).get(url).status_code == 200
    assert client_for(rita).get("/api/v1/videos/999999/waveform/").status_code == 404


def test_silent_video_has_no_waveform_and_says_so(rita, video_files):
    video = ingest(rita, video_files["mp4_h264"].path)
    assert video.status == Video.Status.READY and not video.has_audio
    assert not video.waveform
    assert not media.local_path(f"{video.folder}/{WAVEFORM_NAME}").exists()
    body = client_for(rita).get(f"/api/v1/videos/{video.pk}/").json()
    assert body["has_audio"] is False and body["waveform_url"] is None
    response = client_for(rita).get(f"/api/v1/videos/{video.pk}/waveform/")
    assert response.status_code == 404
    assert response.json() == {"detail": "This video has no sound, so it has no waveform."}


def test_broken_audio_stream_leaves_a_ready_video_without_sound(rita, tmp_path):
    video = ingest(rita, broken_audio_video(tmp_path))
    assert video.status == Video.Status.READY, video.error
    assert video.error == ""
    assert not video.has_audio and not video.waveform
    assert "sound could not be converted" in video.audio_error
    assert video.source_info["has_audio"] is True  # what the upload claimed
    assert media.local_path(video.playback.name).is_file()
    response = client_for(rita).get(f"/api/v1/videos/{video.pk}/waveform/")
    assert response.status_code == 404
    assert "sound could not be converted" in response.json()["detail"]
    body = client_for(rita).get(f"/api/v1/videos/{video.pk}/").json()
    assert body["waveform_url"] is None and body["audio_error"] == video.audio_error


def test_rerun_makes_a_missing_waveform_and_delete_removes_it(
    rita, video_files, django_capture_on_commit_callbacks
):
    video = ingest(rita, video_files["mp4_h264_aac"].path)
    path = media.local_path(video.waveform.name)
    first = path.read_bytes()
    path.unlink()  # e.g. a video processed before waveforms existed
    assert services.run_processing(video.pk) == Video.Status.READY
    assert path.read_bytes() == first
    mtime = path.stat().st_mtime_ns
    assert services.run_processing(video.pk) == Video.Status.READY  # nothing to do
    assert path.stat().st_mtime_ns == mtime
    assert services.run_processing(video.pk, force=True) == Video.Status.READY
    assert path.read_bytes() == first
    folder = media.local_path(video.folder)
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(rita).delete(f"/api/v1/videos/{video.pk}/")
    assert response.status_code == 204
    assert not path.exists() and not folder.exists()


def test_waveform_of_a_video_not_ready_is_a_409(rita, video_files):
    outcome = services.ingest_file(
        owner=rita,
        path=video_files["mp4_h264_aac"].path,
        original_name="x.mp4",
        process="none",
    )
    response = client_for(rita).get(f"/api/v1/videos/{outcome.video.pk}/waveform/")
    assert response.status_code == 409
    assert "not processed yet" in response.json()["detail"]
