"""A video's duration and frame count come from its frame table, exactly.

``ffmpeg -i`` prints the container's duration rounded to 10 ms (a 4.004 s video says
``00:00:04.00``); the stored duration is where the last frame ends instead: its presentation
time plus its duration, from the decode pass that lists every frame.
"""

from __future__ import annotations

import io
import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.platform.videohelpers import make_user
from wherewhen.core.exceptions import Invalid
from wherewhen.explanations import services as explanation_services
from wherewhen.explanations.models import Explanation
from wherewhen.videos import services
from wherewhen.videos.models import Video
from workers.video import probe, read_frame_timestamps
from workers.video.probe import parse_showinfo, table_duration
from workers.video.tools import ffmpeg_exe

NTSC_FRAMES = 120  # 120 frames at 30000/1001 fps: exactly 120 * 1001 / 30000 = 4.004 s
NTSC_DURATION = 4.004


@pytest.fixture(scope="module")
def ntsc_video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("duration") / "ntsc 4.004 s.mp4"
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=30000/1001",
        "-frames:v", str(NTSC_FRAMES), "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True)
    return path


def _stand_in_ffprobe(folder: Path) -> Path:
    """An ffprobe that describes the 4.004 s test video as a real one does (JSON)."""
    payload = {
        "streams": [
            {
                "codec_type": "video",
                "codec_name": "h264",
                "width": 96,
                "height": 64,
                "pix_fmt": "yuv420p",
                "sample_aspect_ratio": "1:1",
                "avg_frame_rate": "30000/1001",
                "r_frame_rate": "30000/1001",
                "nb_frames": str(NTSC_FRAMES),
                "duration": "4.004000",
                "disposition": {"attached_pic": 0},
            }
        ],
        "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "4.004000"},
    }
    script = folder / "ffprobe"
    script.write_text(f"#!{sys.executable}\nprint({json.dumps(json.dumps(payload))})\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


@pytest.fixture(params=["ffmpeg", "ffprobe"])
def backend(request, monkeypatch, tmp_path) -> str:
    """Probe with ``ffmpeg -i`` (no ffprobe), or with ffprobe: the system's when installed."""
    if request.param == "ffmpeg":
        monkeypatch.setenv("WHEREWHEN_FFPROBE", "none")
    elif shutil.which("ffprobe"):
        monkeypatch.delenv("WHEREWHEN_FFPROBE", raising=False)
    else:
        monkeypatch.setenv("WHEREWHEN_FFPROBE", str(_stand_in_ffprobe(tmp_path)))
    return request.param


def _process(owner, path: Path) -> Video:
    video = services.ingest_file(
        owner=owner, path=path, original_name=path.name, process="now"
    ).video
    assert video.status == Video.Status.READY, video.error
    return video


# --- the frame table --------------------------------------------------------------------------


def test_the_header_is_rounded_but_the_frame_table_is_exact(ntsc_video, monkeypatch):
    monkeypatch.setenv("WHEREWHEN_FFPROBE", "none")
    assert probe(ntsc_video).duration == pytest.approx(4.0, abs=1e-9)  # "00:00:04.00"
    table = read_frame_timestamps(ntsc_video)
    assert table.count == NTSC_FRAMES
    assert table.timestamps[-1] == pytest.approx(119 * 1001 / 30000, abs=1e-9)
    np.testing.assert_allclose(table.durations, 1001 / 30000, atol=1e-9)
    assert table.duration == pytest.approx(NTSC_DURATION, abs=1e-9)


SHOWINFO = """\
[Parsed_showinfo_0 @ 0x1] config in time_base: 1/30000, frame_rate: 30000/1001
[Parsed_showinfo_0 @ 0x1] n:   0 pts:      0 pts_time:0       duration:   1001 duration_time:0.0333667 fmt:yuv420p sar:1/1 s:96x64 i:P iskey:1 type:I
[Parsed_showinfo_0 @ 0x1] n:   1 pts:   2002 pts_time:0.0667333 duration:   3003 duration_time:0.1001 fmt:yuv420p sar:1/1 s:96x64 i:P iskey:0 type:P
"""  # noqa: E501


def test_showinfo_times_are_exact_from_integer_timestamps():
    table = parse_showinfo(SHOWINFO)
    assert table.timestamps.tolist() == [0.0, 2002 / 30000]
    assert table.durations.tolist() == [1001 / 30000, 3003 / 30000]
    assert table.duration == 5005 / 30000  # the last frame's own duration, not the interval
    assert table.fps == pytest.approx(30000 / 1001)
    assert (table.width, table.height) == (96, 64)


def test_unknown_last_duration_falls_back_to_the_previous_interval():
    unknown = SHOWINFO.replace(
        "duration:   3003 duration_time:0.1001", "duration: 0 duration_time:0"
    )
    assert parse_showinfo(unknown).duration == pytest.approx(2 * 2002 / 30000)
    # Older ffmpeg prints no duration at all, and maybe no time base either.
    old = "\n".join(
        f"[Parsed_showinfo_0 @ 0x1] n: {i} pts: {i * 40} pts_time:{i * 0.04:g} pos: 48 "
        "fmt:yuv420p sar:1/1 s:96x64 i:P iskey:1 type:I"
        for i in range(3)
    )
    assert parse_showinfo(old).duration == pytest.approx(0.12, abs=1e-9)


def test_a_single_frame_lasts_its_duration_or_one_frame_at_the_nominal_rate():
    assert table_duration(np.array([0.0]), np.array([0.5]), fps=25) == 0.5
    assert table_duration(np.array([0.0]), np.array([np.nan]), fps=30000 / 1001) == pytest.approx(
        1001 / 30000
    )
    assert table_duration(np.array([0.0, 0.1, 0.3])) == pytest.approx(0.5)
    assert table_duration(np.array([])) == 0.0


# --- processing stores the exact duration -----------------------------------------------------


@pytest.mark.django_db
def test_processing_stores_the_exact_duration_and_frame_count(ntsc_video, backend):
    video = _process(make_user("rita"), ntsc_video)
    assert video.source_info["backend"] == backend
    assert video.frame_count == NTSC_FRAMES
    assert len(video.frame_timestamps) == NTSC_FRAMES
    assert video.duration == pytest.approx(NTSC_DURATION, abs=1e-6)
    assert video.fps == pytest.approx(30000 / 1001, rel=1e-6)
    assert not video.variable_frame_rate


@pytest.mark.django_db
def test_variable_frame_rate_ends_with_its_last_frame(video_files, backend):
    fixture = video_files["vfr"]  # frames 0.1 s, then 0.25 s, then 0.05 s apart; last at 2.95
    if backend == "ffprobe" and not shutil.which("ffprobe"):
        pytest.skip("the stand-in ffprobe describes the 4.004 s video only")
    video = _process(make_user("vera"), fixture.path)
    assert video.variable_frame_rate
    assert video.frame_count == fixture.frame_count
    # The last frame lasts 0.05 s (not the median 0.1 s interval).
    assert video.duration == pytest.approx(fixture.times[-1] + 0.05, abs=1e-6)


# --- explanations use the exact duration ------------------------------------------------------


def _npz(timestamps) -> SimpleUploadedFile:
    buf = io.BytesIO()
    t = len(timestamps)
    rng = np.random.default_rng(0)
    np.savez_compressed(
        buf, map=rng.random((t, 4, 4)).astype(np.float32), timestamps=np.asarray(timestamps)
    )
    return SimpleUploadedFile("map.npz", buf.getvalue(), content_type="application/octet-stream")


@pytest.mark.django_db
def test_import_with_a_map_frame_at_4_002_s_is_accepted(ntsc_video, monkeypatch):
    monkeypatch.setenv("WHEREWHEN_FFPROBE", "none")
    owner = make_user("ines")
    video = _process(owner, ntsc_video)
    explanation, created = explanation_services.import_explanation(
        owner, video=video, upload=_npz([0.0, 2.0, 4.002]), method="external"
    )
    assert created and explanation.status == Explanation.Status.DONE
    assert explanation.timestamps == pytest.approx([0.0, 2.0, 4.002])
    # The very end is inside; a hair past it is not (no rounding, a microsecond's tolerance).
    explanation_services.import_explanation(
        owner, video=video, upload=_npz([0.0, NTSC_DURATION]), method="external"
    )
    with pytest.raises(Invalid, match=r"outside the video \(0 to 4\.004 s\)"):
        explanation_services.import_explanation(
            owner, video=video, upload=_npz([0.0, 4.0041]), method="external"
        )


@pytest.mark.django_db
def test_clip_window_is_checked_against_the_exact_duration(ntsc_video, monkeypatch):
    monkeypatch.setenv("WHEREWHEN_FFPROBE", "none")
    video = _process(make_user("carl"), ntsc_video)
    check = explanation_services.check_clip
    assert check(video, 4.0, 4.004) == (4.0, 4.004)
    assert check(video, 3.5, None) == (3.5, pytest.approx(4.004, abs=1e-6))
    with pytest.raises(Invalid, match=r"<= 4\.004 s"):
        check(video, 3.5, 4.0041)
