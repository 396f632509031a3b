"""Small video files made with ffmpeg at test time: every format and every kind of bad input.

Each good fixture knows the exact presentation times of its frames (``times``) and its display
size, so tests can check ingest, playback and sampling against ground truth.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workers.video.tools import ffmpeg_exe


@dataclass(frozen=True)
class VideoFixture:
    name: str
    path: Path
    times: tuple[float, ...]  # presentation time of every frame, seconds
    display_size: tuple[int, int]  # (W, H) as shown, rotation applied
    has_audio: bool
    codec: str
    rotation: int = 0
    variable: bool = False

    @property
    def frame_count(self) -> int:
        return len(self.times)


def _ffmpeg(*args: str) -> None:
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args]
    subprocess.run(cmd, check=True, capture_output=True)


def _src(size: str, rate: int, seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]


def _tone(seconds: float) -> list[str]:
    return ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=22050:duration={seconds}"]


def _cfr(rate: int, seconds: float, quantum: float | None = None) -> tuple[float, ...]:
    times = np.arange(round(rate * seconds)) / rate
    if quantum:
        times = np.round(times / quantum) * quantum
    return tuple(float(t) for t in times)


#: The un-rotated file the rotated fixture was made from (same folder, hidden name).
ROTATION_SOURCE = ".rotate-src.mp4"

# Variable frame rate: 10 frames 0.1 s apart, 6 frames 0.25 s apart, 10 frames 0.05 s apart.
VFR_TIMES = tuple(
    float(t)
    for t in np.concatenate(
        [np.arange(10) * 0.1, 1.0 + np.arange(6) * 0.25, 2.5 + np.arange(10) * 0.05]
    )
)


def make_good(folder: Path) -> dict[str, VideoFixture]:
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, VideoFixture] = {}

    def add(fixture: VideoFixture) -> None:
        out[fixture.name] = fixture

    path = folder / "h264 with sound.mp4"
    _ffmpeg(*_src("160x120", 10, 2), *_tone(2), "-c:v", "libx264", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-shortest", str(path))  # fmt: skip
    add(VideoFixture("mp4_h264_aac", path, _cfr(10, 2), (160, 120), True, "h264"))

    path = folder / "h264 silent.mp4"
    _ffmpeg(*_src("128x96", 12, 1.5), "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path))
    add(VideoFixture("mp4_h264", path, _cfr(12, 1.5), (128, 96), False, "h264"))

    path = folder / "vp9.webm"
    _ffmpeg(*_src("96x64", 12, 1.5), *_tone(1.5), "-c:v", "libvpx-vp9", "-b:v", "200k",
            "-deadline", "realtime", "-cpu-used", "8", "-c:a", "libopus", "-shortest", str(path))  # fmt: skip
    add(VideoFixture("webm_vp9", path, _cfr(12, 1.5, quantum=0.001), (96, 64), True, "vp9"))

    path = folder / "clip.mov"
    _ffmpeg(*_src("112x80", 10, 1.5), *_tone(1.5), "-c:v", "libx264", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-shortest", str(path))  # fmt: skip
    add(VideoFixture("mov_h264", path, _cfr(10, 1.5), (112, 80), True, "h264"))

    path = folder / "mjpeg.avi"
    _ffmpeg(*_src("96x64", 15, 1.4), *_tone(1.4), "-c:v", "mjpeg", "-q:v", "5",
            "-c:a", "pcm_s16le", "-shortest", str(path))  # fmt: skip
    add(VideoFixture("avi_mjpeg", path, _cfr(15, 1.4), (96, 64), True, "mjpeg"))

    path = folder / "vfr.mp4"
    expr = "round(1000*if(lt(N,10),N*0.1,if(lt(N,16),1.0+(N-10)*0.25,2.5+(N-16)*0.05)))"
    _ffmpeg(*_src("96x64", 30, 26 / 30), "-vf", f"settb=1/1000,setpts='{expr}'",
            "-fps_mode", "passthrough", "-enc_time_base:v", "1/1000",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path))  # fmt: skip
    add(VideoFixture("vfr", path, VFR_TIMES, (96, 64), False, "h264", variable=True))

    # Stored 160x96, shown rotated a quarter turn clockwise (phone held upright): 96x160.
    plain = folder / ROTATION_SOURCE
    _ffmpeg(*_src("160x96", 10, 1.5), "-c:v", "libx264", "-pix_fmt", "yuv420p", str(plain))
    path = folder / "rotated.mp4"
    _ffmpeg("-display_rotation", "-90", "-i", str(plain), "-c", "copy", str(path))
    add(VideoFixture("rotated", path, _cfr(10, 1.5), (96, 160), False, "h264", rotation=90))

    # Odd width and height need 4:4:4 H.264 (4:2:0 cannot store them); browsers play neither.
    path = folder / "odd size.mov"
    odd = ["-f", "lavfi", "-i", "testsrc=size=97x63:rate=10:duration=1.5"]  # RGB source: odd ok
    _ffmpeg(*odd, "-c:v", "libx264", "-pix_fmt", "yuv444p", str(path))
    add(VideoFixture("odd_dimensions", path, _cfr(10, 1.5), (97, 63), False, "h264"))

    path = folder / "Ünïcode clip — ½ ✓.mp4"
    _ffmpeg(*_src("96x64", 10, 1), "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path))
    add(VideoFixture("unicode_name", path, _cfr(10, 1), (96, 64), False, "h264"))
    return out


def make_bad(folder: Path, good: dict[str, VideoFixture]) -> dict[str, Path]:
    """Files that must be refused or fail with a reason."""
    folder.mkdir(parents=True, exist_ok=True)
    bad: dict[str, Path] = {}

    path = folder / "not a video.mp4"
    path.write_bytes(b"Quarterly report\n" * 200)
    bad["not_video"] = path

    path = folder / "empty.mp4"
    path.write_bytes(b"")
    bad["empty"] = path

    path = folder / "sound only.m4a"
    _ffmpeg(*_tone(1), "-c:a", "aac", str(path))
    bad["audio_only"] = path

    # Index (moov) first, then half of the frame data: opens fine, ends early.
    full = folder / ".faststart.mp4"
    _ffmpeg(*_src("160x120", 10, 2), "-c:v", "libx264", "-pix_fmt", "yuv420p",
            "-movflags", "+faststart", str(full))  # fmt: skip
    data = full.read_bytes()
    path = folder / "truncated.mp4"
    path.write_bytes(data[: len(data) // 2])
    bad["truncated"] = path
    # Frame data first, index last: cut in half, the index is gone.
    data = good["mp4_h264"].path.read_bytes()
    path = folder / "truncated no index.mp4"
    path.write_bytes(data[: len(data) // 2])
    bad["truncated_no_index"] = path
    full.unlink()

    # A raw video header claiming 20000 x 12000 pixels followed by a few bytes.
    path = folder / "absurd.y4m"
    path.write_bytes(b"YUV4MPEG2 W20000 H12000 F25:1 Ip A1:1 C420jpeg\nFRAME\n" + bytes(4096))
    bad["absurd_dimensions"] = path
    return bad
