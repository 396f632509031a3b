"""The ingest fast path: browser-safe uploads are copied, not re-encoded, and keep their frame table.

Real files made with ffmpeg: for each, which way ingest goes (copy or transcode), and for the
copies, the frame table, duration, poster, sprite and waveform next to a forced transcode of the
same source.
"""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from workers.video import TruncatedVideoError, probe, process_video
from workers.video.browser_safe import REMUX, TRANSCODE, playback_plan
from workers.video.probe import ProbeResult, parse_ffmpeg_info, parse_ffprobe_json
from workers.video.tools import ffmpeg_exe


@pytest.fixture(autouse=True)
def _no_system_ffprobe(monkeypatch):
    monkeypatch.setenv("WHEREWHEN_FFPROBE", "none")


def _ffmpeg(*args: str) -> subprocess.CompletedProcess:
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    return subprocess.run(cmd, check=False, capture_output=True)


def _make(path: Path, *args: str) -> Path:
    proc = _ffmpeg(*args, str(path))
    if proc.returncode != 0:
        pytest.skip(f"this ffmpeg cannot make {path.name}: {proc.stderr.decode()[-200:]}")
    return path


SRC = ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=1.2"]
TONE = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100:duration=1.2"]
H264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
VFR_EXPR = "round(1000*if(lt(N,10),N*0.1,if(lt(N,16),1.0+(N-10)*0.25,2.5+(N-16)*0.05)))"


def _cfr_aac(folder: Path) -> Path:
    return _make(folder / "cfr aac.mp4", *SRC, *TONE, *H264, "-c:a", "aac", "-shortest")


SAFE = {
    "cfr_aac": _cfr_aac,
    "cfr_silent": lambda f: _make(f / "silent.mp4", *SRC, *H264),
    "cfr_aac_mov_600": lambda f: _make(
        f / "phone.mov",
        *SRC,
        *TONE,
        *H264,
        "-c:a",
        "aac",
        "-shortest",
        "-video_track_timescale",
        "600",
    ),  # fmt: skip
    "vfr": lambda f: _make(
        f / "vfr.mp4",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x120:rate=30:duration=0.8667",
        "-vf",
        f"settb=1/1000,setpts='{VFR_EXPR}'",
        "-fps_mode",
        "passthrough",
        "-enc_time_base:v",
        "1/1000",
        *H264,
    ),  # fmt: skip
    "vfr_aac": lambda f: _make(
        f / "vfr aac.mp4",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x120:rate=30:duration=0.8667",
        *TONE,
        "-vf",
        f"settb=1/1000,setpts='{VFR_EXPR}'",
        "-fps_mode",
        "passthrough",
        "-enc_time_base:v",
        "1/1000",
        *H264,
        "-c:a",
        "aac",
    ),  # fmt: skip
    "b_frames_offset": lambda f: _make(
        f / "offset.mp4", *SRC, *H264, "-bf", "3", "-output_ts_offset", "2"
    ),
    "baseline": lambda f: _make(f / "baseline.mp4", *SRC, *H264, "-profile:v", "baseline"),
}


def _cut_mid_gop(folder: Path) -> Path:
    """A copy cut between key frames: the MP4 edit list hides the frames before the cut."""
    source = _cfr_aac(folder)
    return _make(folder / "cut.mp4", "-ss", "0.55", "-i", str(source), "-c", "copy")


SAFE["cut_mid_gop"] = _cut_mid_gop


def _rotated(folder: Path) -> Path:
    plain = _make(folder / ".plain.mp4", *SRC, *H264)
    return _make(folder / "rotated.mp4", "-display_rotation", "-90", "-i", str(plain), "-c", "copy")


def _mirrored(folder: Path) -> Path:
    plain = _make(folder / ".plain2.mp4", *SRC, *H264)
    return _make(folder / "mirrored.mp4", "-display_vflip", "-i", str(plain), "-c", "copy")


UNSAFE = {
    "rotated": (_rotated, "rotation"),
    "mirrored": (_mirrored, "rotation or flip"),
    "odd_size": (
        lambda f: _make(
            f / "odd.mp4",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=97x63:rate=10:duration=1",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv444p",
        ),
        "not even",
    ),  # fmt: skip
    "yuv444p": (
        lambda f: _make(f / "444.mp4", *SRC, "-c:v", "libx264", "-pix_fmt", "yuv444p"),
        "High 4:4:4",
    ),
    "10_bit": (
        lambda f: _make(f / "10bit.mp4", *SRC, "-c:v", "libx264", "-pix_fmt", "yuv420p10le"),
        "yuv420p10le",
    ),
    "hevc": (
        lambda f: _make(
            f / "hevc.mp4",
            *SRC,
            "-c:v",
            "libx265",
            "-pix_fmt",
            "yuv420p",
            "-x265-params",
            "log-level=error",
        ),
        "hevc is not H.264",
    ),  # fmt: skip
    "full_range": (
        lambda f: _make(f / "jpeg range.mp4", *SRC, "-c:v", "libx264", "-pix_fmt", "yuvj420p"),
        "yuvj420p",
    ),
    "interlaced": (
        lambda f: _make(f / "interlaced.mp4", *SRC, *H264, "-flags", "+ildct+ilme"),
        "interlaced",
    ),
    "anamorphic": (
        lambda f: _make(f / "anamorphic.mp4", *SRC, "-vf", "setsar=4/3", *H264),
        "SAR 4:3",
    ),
    "mkv": (
        lambda f: _make(f / "h264.mkv", *SRC, *TONE, *H264, "-c:a", "aac", "-shortest"),
        "matroska",
    ),
    "mp3_sound": (
        lambda f: _make(f / "mp3.mp4", *SRC, *TONE, *H264, "-c:a", "libmp3lame", "-shortest"),
        "mp3",
    ),
    "surround_aac": (
        lambda f: _make(
            f / "surround.mp4",
            *SRC,
            "-f",
            "lavfi",
            "-i",
            "sine=duration=1.2,pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0",
            *H264,
            "-c:a",
            "aac",
            "-shortest",
        ),
        "6 channels",
    ),  # fmt: skip
    "vp9_webm": (
        lambda f: _make(
            f / "vp9.webm", *SRC, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"
        ),
        "vp9 is not H.264",
    ),  # fmt: skip
}


def _video_packets(path: Path) -> list[str]:
    """The video stream's packets as ffmpeg's framemd5 lists them (size and hash per packet)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i", str(path),
           "-map", "0:v:0", "-c", "copy", "-f", "framemd5", "-"]  # fmt: skip
    out = subprocess.run(cmd, check=True, capture_output=True).stdout.decode()
    rows = [line.split(",") for line in out.splitlines() if line and not line.startswith("#")]
    return [f"{row[4].strip()} {row[5].strip()}" for row in rows]  # size, hash


@pytest.mark.parametrize("name", sorted(SAFE))
def test_browser_safe_upload_is_copied_with_the_transcodes_frame_table(tmp_path, name):
    source = SAFE[name](tmp_path)
    fast = process_video(source, tmp_path / "fast")
    slow = process_video(source, tmp_path / "slow", allow_remux=False)

    assert fast.playback_plan.method == REMUX, fast.playback_plan.reasons
    assert slow.playback_plan.method == TRANSCODE
    # The frame table (and all that follows from it) is the transcode's, to the last bit.
    np.testing.assert_array_equal(fast.timestamps, slow.timestamps)
    assert fast.duration == slow.duration
    assert fast.fps == slow.fps
    assert fast.variable_frame_rate == slow.variable_frame_rate
    assert (fast.width, fast.height) == (slow.width, slow.height)
    assert fast.sprite_meta["times"] == slow.sprite_meta["times"]
    assert fast.has_audio == slow.has_audio == probe(source).has_audio
    assert (fast.waveform is not None) == fast.has_audio
    for path in (fast.poster, fast.sprite):
        assert path.stat().st_size > 0
    # A copy: the very packets of the upload, index first.
    assert _video_packets(fast.playback) == _video_packets(source)
    assert _video_packets(slow.playback) != _video_packets(source)
    data = fast.playback.read_bytes()
    assert 0 <= data.find(b"moov") < data.find(b"mdat")
    assert not list((tmp_path / "fast").glob(".tmp-*"))


@pytest.mark.parametrize("name", sorted(UNSAFE))
def test_everything_else_is_transcoded_with_a_reason(tmp_path, name):
    make, words = UNSAFE[name]
    plan = playback_plan(probe(make(tmp_path)))
    assert plan.method == TRANSCODE
    assert any(words in reason for reason in plan.reasons), plan.reasons


def test_a_transcoded_upload_says_why(tmp_path):
    make, _ = UNSAFE["rotated"]
    result = process_video(make(tmp_path), tmp_path / "out")
    assert result.playback_plan.method == TRANSCODE
    assert result.playback_plan.reasons == ["the stream carries a rotation or flip (90 degrees)"]
    assert (result.width, result.height) == (120, 160)


def test_a_copy_that_does_not_decode_cleanly_is_transcoded(tmp_path):
    source = _make(tmp_path / "long.mp4", "-f", "lavfi", "-i",
                   "testsrc2=size=320x240:rate=25:duration=3", *H264, "-g", "250")  # fmt: skip
    assert playback_plan(probe(source)).remux
    data = bytearray(source.read_bytes())
    start = data.find(b"mdat") + 2000  # damage frame data, keep the index intact
    data[start : start + 3000] = bytes(3000)
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    result = process_video(damaged, tmp_path / "out")
    assert result.playback_plan.method == TRANSCODE
    assert result.playback_plan.reasons == ["the stream copy did not decode cleanly"]
    assert result.frame_count > 0


def test_a_truncated_browser_safe_upload_still_fails(bad_video_files, tmp_path):
    path = bad_video_files["truncated"]
    assert playback_plan(probe(path)).remux
    with pytest.raises(TruncatedVideoError, match="cut off"):
        process_video(path, tmp_path / "out")
    assert not (tmp_path / "out" / "playback.mp4").exists()


# --- the rules, on probe results -------------------------------------------------------------


def _safe() -> ProbeResult:
    return ProbeResult(
        path="x.mp4", backend="ffprobe", format_name="mov,mp4,m4a,3gp,3g2,mj2", has_video=True,
        video_codec="h264", video_profile="High", pix_fmt="yuv420p", field_order="progressive",
        coded_width=1280, coded_height=720, fps=30.0, has_audio=True, audio_codec="aac",
        audio_profile="LC", audio_channels=2,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"video_level": 60}, "level 6.0"),
        ({"coded_width": 7680, "coded_height": 4320}, "above H.264 level 5.2"),
        ({"coded_width": 3840, "coded_height": 2160, "fps": 120.0}, "120 frames a second"),
        ({"fps": None}, "frame rate is unknown"),
        ({"audio_profile": "HE-AAC"}, "aac HE-AAC is not AAC-LC"),
        ({"audio_channels": None}, "unknown number of channels"),
        ({"video_profile": ""}, "profile unknown"),
        ({"video_profile": "Baseline"}, "profile Baseline"),
        ({"field_order": ""}, "unknown field order"),
        ({"display_matrix": True}, "rotation or flip (0 degrees)"),
    ],
)
def test_rules_refuse_what_they_cannot_vouch_for(change, words):
    assert playback_plan(_safe()).remux
    plan = playback_plan(replace(_safe(), **change))
    assert not plan.remux
    assert any(words in reason for reason in plan.reasons), plan.reasons


def test_probe_reads_profile_field_order_and_matrix_from_ffmpeg_text():
    text = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':
  Duration: 00:00:02.00, start: 0.000000, bitrate: 371 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 320x240 [SAR 1:1 DAR 4:3], 287 kb/s, 30 fps, 30 tbr, 15360 tbn (default)
    Side data:
      Display Matrix: rotation of -0.00 degrees
  Stream #0:1[0x2](und): Audio: aac (HE-AAC) (mp4a / 0x6134706D), 44100 Hz, stereo, fltp
"""  # noqa: E501
    result = parse_ffmpeg_info(text)
    assert (result.video_profile, result.field_order, result.pix_fmt) == (
        "High",
        "progressive",
        "yuv420p",
    )
    assert result.display_matrix and result.rotation == 0
    assert (result.audio_profile, result.audio_channels) == ("HE-AAC", 2)
    interlaced = parse_ffmpeg_info(text.replace("bt709, progressive", "bt709, top first"))
    assert interlaced.field_order == "interlaced" and interlaced.video_profile == "High"
    unknown = parse_ffmpeg_info(text.replace("(tv, bt709, progressive)", "(tv, bt709)"))
    assert unknown.field_order == ""


def test_probe_reads_profile_level_and_matrix_from_ffprobe_json():
    data = {
        "format": {"format_name": "mov,mp4,m4a,3gp,3g2,mj2", "duration": "2.0"},
        "streams": [
            {"codec_type": "video", "codec_name": "h264", "profile": "High", "level": 31,
             "pix_fmt": "yuv420p", "field_order": "progressive", "width": 320, "height": 240,
             "avg_frame_rate": "30/1",
             "side_data_list": [{"side_data_type": "Display Matrix", "rotation": 0}]},
            {"codec_type": "audio", "codec_name": "aac", "profile": "LC", "channels": 1},
        ],
    }  # fmt: skip
    result = parse_ffprobe_json(data)
    assert (result.video_profile, result.video_level, result.field_order) == (
        "High",
        31,
        "progressive",
    )
    assert result.display_matrix and result.audio_profile == "LC"
    del data["streams"][0]["side_data_list"]
    data["streams"][0]["field_order"] = "tt"
    plain = parse_ffprobe_json(data)
    assert not plain.display_matrix and plain.field_order == "interlaced"
