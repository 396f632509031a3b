"""The media task's work, run in-process: every format ingests to the right geometry and times."""

from __future__ import annotations

import numpy as np
import pytest

from tests.platform.videohelpers import make_user, media_files
from wherewhen.core import media
from wherewhen.videos import services
from wherewhen.videos.models import Video
from wherewhen.videos.serializers import VideoSerializer
from wherewhen.videos.tasks import process_video as process_task
from workers.models.spec import InputSpec
from workers.video import sample_clip

pytestmark = pytest.mark.django_db

# Which way each fixture's playback file is made: a stream copy of the browser-safe uploads.
REMUXED = {"mp4_h264_aac", "mp4_h264", "mov_h264", "vfr", "unicode_name"}

GOOD = [
    "mp4_h264_aac",
    "mp4_h264",
    "webm_vp9",
    "mov_h264",
    "avi_mjpeg",
    "vfr",
    "rotated",
    "odd_dimensions",
    "unicode_name",
]


@pytest.fixture
def rita():
    return make_user("rita")


@pytest.mark.parametrize("name", GOOD)
def test_every_format_becomes_ready_with_exact_timing(rita, video_files, name):
    fixture = video_files[name]
    outcome = services.ingest_file(
        owner=rita, path=fixture.path, original_name=fixture.path.name, process="now"
    )
    video = outcome.video
    assert video.status == Video.Status.READY, video.error
    assert video.progress == 1.0
    width, height = fixture.display_size
    assert (video.width, video.height) == (width - width % 2, height - height % 2)
    assert video.rotation == fixture.rotation
    assert video.has_audio == fixture.has_audio
    assert video.video_codec == fixture.codec
    assert video.variable_frame_rate == fixture.variable
    assert video.frame_count == fixture.frame_count
    np.testing.assert_allclose(video.frame_timestamps, fixture.times, atol=1.5e-3)
    assert video.duration == pytest.approx(fixture.times[-1], abs=0.5)
    for field in (video.playback, video.poster, video.sprite):
        assert media.local_path(field.name).is_file()
    assert video.sprite_meta["count"] == min(100, fixture.frame_count)
    method = "remux" if name in REMUXED else "transcode"
    assert video.source_info["playback"]["method"] == method
    assert bool(video.source_info["playback"]["reasons"]) == (method == "transcode")
    shown = VideoSerializer(video).data
    assert shown["playback_method"] == method
    assert shown["playback_reasons"] == video.source_info["playback"]["reasons"]
    assert len(video.sprite_meta["times"]) == video.sprite_meta["count"]
    # The model clip sampled from the playback file lands on the stored frame times.
    spec = InputSpec(num_frames=4, image_size=32, patch_size=8)
    clip = sample_clip(
        media.local_path(video.playback.name), spec, timestamps=video.frame_timestamps
    )
    picks = (np.arange(4) * fixture.frame_count) // 4
    np.testing.assert_allclose(clip.timestamps, np.asarray(fixture.times)[picks], atol=1.5e-3)
    assert clip.source_size == (video.width, video.height)
    assert clip.frames.shape == (4, 32, 32, 3)


def test_truncated_upload_fails_with_a_reason_and_no_derived_files(rita, bad_video_files):
    path = bad_video_files["truncated"]
    video = services.ingest_file(
        owner=rita, path=path, original_name=path.name, process="now"
    ).video
    assert video.status == Video.Status.FAILED
    assert "truncated" in video.error
    assert "cut off" in video.error
    assert not video.playback and not video.poster and video.frame_timestamps == []
    assert "playback" not in video.source_info
    assert media_files() == [media.local_path(video.original.name)]


def test_processing_is_idempotent_and_converges(rita, video_files):
    fixture = video_files["mp4_h264"]
    video = services.ingest_file(
        owner=rita, path=fixture.path, original_name="a.mp4", process="now"
    ).video
    stamps = list(video.frame_timestamps)
    # Ready stays ready: a repeated task message changes nothing.
    assert process_task.run(video.pk) == {"video": video.pk, "status": "ready"}
    # A worker killed half-way: status stuck, a temporary file left, the poster missing.
    folder = media.local_path(video.folder)
    (folder / ".tmp-playback-abc.mp4").write_bytes(b"half")
    media.local_path(video.poster.name).unlink()
    Video.objects.filter(pk=video.pk).update(status=Video.Status.PROCESSING, progress=0.4)
    assert services.run_processing(video.pk) == Video.Status.READY
    video.refresh_from_db()
    assert video.frame_timestamps == stamps
    assert media.local_path(video.poster.name).is_file()
    assert not list(folder.glob(".tmp-*"))
    assert process_task.run(video.pk, force=True)["status"] == "ready"


def test_video_deleted_while_processing_leaves_no_files(rita, video_files, monkeypatch):
    fixture = video_files["mp4_h264"]
    video = services.ingest_file(
        owner=rita, path=fixture.path, original_name="a.mp4", process="none"
    ).video
    real = services.process_video

    def delete_midway(*args, **kwargs):
        result = real(*args, **kwargs)
        Video.objects.filter(pk=video.pk).delete()  # the owner deleted it meanwhile
        return result

    monkeypatch.setattr(services, "process_video", delete_midway)
    assert services.run_processing(video.pk) == "missing"
    assert media_files() == []


def test_missing_original_fails_with_a_reason(rita, video_files):
    fixture = video_files["mp4_h264"]
    video = services.ingest_file(
        owner=rita, path=fixture.path, original_name="a.mp4", process="none"
    ).video
    media.local_path(video.original.name).unlink()
    assert services.run_processing(video.pk) == Video.Status.FAILED
    video.refresh_from_db()
    assert "missing" in video.error


def test_task_for_an_unknown_video_is_a_no_op():
    assert process_task.run(987654) == {"video": 987654, "status": "missing"}
