"""Probing without Django: both back ends (ffprobe, ``ffmpeg -i``), bad inputs, frame tables."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import numpy as np
import pytest

from workers.video import (
    DamagedVideoError,
    NotAVideoError,
    ToolMissingError,
    UnsupportedVideoError,
    frame_rate_summary,
    probe,
    read_frame_timestamps,
    require_video,
    tools,
)
from workers.video.probe import parse_ffmpeg_info, parse_ffprobe_json


@pytest.fixture(autouse=True)
def _no_system_ffprobe(monkeypatch):
    """Tests pick the back end explicitly; a system ffprobe must not change the defaults."""
    monkeypatch.setenv("WHEREWHEN_FFPROBE", "none")


@pytest.mark.parametrize(
    "name",
    ["mp4_h264_aac", "mp4_h264", "webm_vp9", "mov_h264", "avi_mjpeg", "vfr", "rotated",
     "odd_dimensions", "unicode_name"],
)  # fmt: skip
def test_ffmpeg_backend_reads_every_fixture(video_files, name):
    fixture = video_files[name]
    result = probe(fixture.path)
    assert result.backend == "ffmpeg"
    assert result.has_video
    assert result.video_codec == fixture.codec
    assert result.display_size == fixture.display_size
    assert result.rotation == fixture.rotation
    assert result.has_audio == fixture.has_audio
    assert result.duration == pytest.approx(fixture.times[-1], abs=0.6)
    require_video(result)


@pytest.mark.parametrize(
    ("kind", "error", "words"),
    [
        ("not_video", NotAVideoError, "not a video WhereWhen can read"),
        ("empty", NotAVideoError, r"empty \(0 bytes\)"),
        ("truncated_no_index", DamagedVideoError, "cut off"),
    ],
)
def test_unreadable_files(bad_video_files, kind, error, words):
    with pytest.raises(error, match=words):
        probe(bad_video_files[kind])


def test_audio_only_and_absurd_sizes_are_refused(bad_video_files):
    with pytest.raises(NotAVideoError, match="only audio"):
        require_video(probe(bad_video_files["audio_only"]))
    absurd = probe(bad_video_files["absurd_dimensions"])
    assert absurd.display_size == (20000, 12000)
    with pytest.raises(UnsupportedVideoError, match="at most 8192 pixels"):
        require_video(absurd)
    with pytest.raises(UnsupportedVideoError, match="at most 100 pixels"):
        require_video(absurd, max_dimension=100)


def test_truncated_data_is_detected_when_decoding(bad_video_files):
    assert probe(bad_video_files["truncated"]).has_video  # the header is intact
    with pytest.raises(DamagedVideoError, match="truncated"):
        read_frame_timestamps(bad_video_files["truncated"])
    partial = read_frame_timestamps(bad_video_files["truncated"], strict=False)
    assert 0 < partial.count < 20


FFMPEG_TEXT = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'odd name, 0x31 (1).mp4':
  Duration: 00:01:02.50, start: 0.040000, bitrate: 159 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 1440x1080 [SAR 4:3 DAR 16:9], 79 kb/s, 29.97 fps, 29.97 tbr, 30k tbn (default)
    Metadata:
      rotate          : 90
      handler_name    : VideoHandler
    Side data:
      displaymatrix: rotation of -90.00 degrees
  Stream #0:1[0x2](eng): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, 5.1, fltp, 69 kb/s (default)
  Stream #0:2: Video: mjpeg (Baseline), yuvj420p(pc), 300x300, 90k tbr, 90k tbn (attached pic)
"""


def test_parse_ffmpeg_info_text():
    result = parse_ffmpeg_info(FFMPEG_TEXT)
    assert result.format_name == "mov,mp4,m4a,3gp,3g2,mj2"
    assert result.duration == pytest.approx(62.5)
    assert result.start_time == pytest.approx(0.04)
    assert (result.coded_width, result.coded_height, result.sar) == (1440, 1080, (4, 3))
    assert result.rotation == 90
    assert result.display_size == (1080, 1920)  # square pixels, then a quarter turn
    assert result.fps == pytest.approx(29.97)
    assert result.pix_fmt == "yuv420p"
    assert (result.audio_codec, result.audio_channels, result.sample_rate) == ("aac", 6, 48000)


def test_parse_ffmpeg_cover_art_is_not_video():
    text = """Input #0, mp3, from 'song.mp3':
  Duration: 00:03:00.00, start: 0.025057, bitrate: 320 kb/s
  Stream #0:0: Audio: mp3 (mp3float), 44100 Hz, stereo, fltp, 320 kb/s
  Stream #0:1: Video: png, rgb24(pc), 500x500, 90k tbr, 90k tbn (attached pic)
"""
    result = parse_ffmpeg_info(text)
    assert not result.has_video and result.has_audio and result.audio_channels == 2


FFPROBE_JSON = {
    "streams": [
        {
            "codec_type": "video",
            "codec_name": "hevc",
            "width": 1920,
            "height": 1080,
            "sample_aspect_ratio": "1:1",
            "avg_frame_rate": "30000/1001",
            "pix_fmt": "yuv420p10le",
            "nb_frames": "300",
            "side_data_list": [{"side_data_type": "Display Matrix", "rotation": -90}],
            "disposition": {"attached_pic": 0},
        },
        {"codec_type": "audio", "codec_name": "aac", "channels": 2, "sample_rate": "48000"},
    ],
    "format": {
        "format_name": "mov,mp4,m4a,3gp,3g2,mj2",
        "duration": "10.010000",
        "start_time": "0",
    },
}


def test_parse_ffprobe_json():
    result = parse_ffprobe_json(FFPROBE_JSON, "x.mp4")
    assert result.backend == "ffprobe"
    assert result.video_codec == "hevc"
    assert result.rotation == 90
    assert result.display_size == (1080, 1920)
    assert result.fps == pytest.approx(29.97, abs=1e-3)
    assert result.extra["nb_frames"] == 300
    assert (result.has_audio, result.audio_channels, result.sample_rate) == (True, 2, 48000)


def _fake_ffprobe(tmp_path: Path, payload: dict) -> Path:
    script = tmp_path / "ffprobe"
    script.write_text(f"#!{sys.executable}\nimport sys\nprint({json.dumps(json.dumps(payload))})\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_ffprobe_backend_is_used_when_available(tmp_path, monkeypatch, video_files):
    fake = _fake_ffprobe(tmp_path, FFPROBE_JSON)
    monkeypatch.setenv("WHEREWHEN_FFPROBE", str(fake))
    assert tools.ffprobe_exe() == str(fake)
    result = probe(video_files["mp4_h264"].path)
    assert result.backend == "ffprobe"
    assert result.video_codec == "hevc"  # what the (fake) ffprobe said
    assert probe(video_files["mp4_h264"].path, backend="ffmpeg").video_codec == "h264"


def test_ffprobe_on_path_is_found(tmp_path, monkeypatch):
    fake = _fake_ffprobe(tmp_path, FFPROBE_JSON)
    monkeypatch.delenv("WHEREWHEN_FFPROBE")
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    assert tools.ffprobe_exe() == str(fake)


@pytest.mark.skipif(
    not __import__("shutil").which("ffprobe"), reason="no system ffprobe (Debian's ffmpeg package)"
)
@pytest.mark.parametrize(
    "name", ["mp4_h264_aac", "webm_vp9", "avi_mjpeg", "rotated", "odd_dimensions"]
)
def test_both_backends_agree_with_a_real_ffprobe(video_files, name, monkeypatch):
    monkeypatch.delenv("WHEREWHEN_FFPROBE")
    path = video_files[name].path
    a, b = probe(path, backend="ffprobe"), probe(path, backend="ffmpeg")
    for field in (
        "has_video",
        "video_codec",
        "display_size",
        "rotation",
        "has_audio",
        "audio_codec",
    ):
        assert getattr(a, field) == getattr(b, field), field
    assert a.duration == pytest.approx(b.duration, abs=0.02)


def test_tool_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("WHEREWHEN_FFMPEG", str(tmp_path / "no-such-ffmpeg"))
    with pytest.raises(ToolMissingError, match="WHEREWHEN_FFMPEG"):
        tools.ffmpeg_exe()
    monkeypatch.delenv("WHEREWHEN_FFMPEG")
    assert Path(tools.ffmpeg_exe()).is_file()
    monkeypatch.setenv("WHEREWHEN_FFPROBE", "off")
    assert tools.ffprobe_exe() is None
    with pytest.raises(ToolMissingError):
        probe(__file__, backend="ffprobe")


@pytest.mark.parametrize("name", ["mp4_h264_aac", "webm_vp9", "avi_mjpeg", "vfr", "rotated"])
def test_frame_table_is_exact(video_files, name):
    fixture = video_files[name]
    table = read_frame_timestamps(fixture.path)
    np.testing.assert_allclose(table.timestamps, fixture.times, atol=1e-6)
    assert table.display_size == fixture.display_size
    fps, variable = frame_rate_summary(table.timestamps)
    assert variable == fixture.variable
    if not fixture.variable:
        span = fixture.times[-1] - fixture.times[0]
        assert fps == pytest.approx((fixture.frame_count - 1) / span, rel=1e-3)


def test_frame_rate_summary_tolerates_timebase_rounding():
    stamps = np.round(np.arange(100) / 30 * 12800) / 12800  # 1/30 s on a 1/12800 clock
    assert frame_rate_summary(stamps) == (pytest.approx(30, rel=1e-3), False)
    assert frame_rate_summary(np.array([0.0])) == (None, False)
