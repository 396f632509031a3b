"""Derived files: a browser-safe playback MP4, a poster, and a thumbnail sprite.

A source that is browser-safe already (:mod:`workers.video.browser_safe`) is copied into the
playback MP4 (:func:`remux`: same streams, ``+faststart``); every other one is transcoded:

playback: H.264 (High profile, yuv420p), even width and height, square pixels, ``+faststart``
(the index first, so playback starts before the download ends), AAC stereo when the source has
sound. Frame timing is passed through unchanged (``-fps_mode passthrough``), so a variable
frame rate stays variable and every frame keeps its source presentation time. ffmpeg applies the
source's rotation to the pixels (and writes no rotation flag), so every player shows the same
upright frames. Odd sizes lose their last row/column (a crop, not a resample: pixel coordinates
stay those of the source); non-square pixels are resampled to square ones.

Every file is written under a temporary name in the destination folder and then renamed, so a
reader never sees half a file and a re-run simply replaces it.
"""

from __future__ import annotations

import contextlib
import math
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import ffmpeg
import numpy as np

from workers.video import tools
from workers.video.errors import DamagedVideoError, TruncatedVideoError, VideoError
from workers.video.probe import ProbeResult

ProgressFn = Callable[[float], None]

X264_PRESET = "veryfast"
X264_CRF = 20
AUDIO_BITRATE = "128k"


@contextlib.contextmanager
def atomic_output(dst: Path, suffix: str) -> Iterator[Path]:
    """A temporary path beside ``dst``; renamed onto ``dst`` when the block succeeds."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".tmp-{dst.stem}-", suffix=suffix, dir=dst.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o644)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def remove_partial_outputs(folder: Path) -> None:
    """Delete temporary files a crashed run left in ``folder``."""
    if folder.is_dir():
        for leftover in folder.glob(".tmp-*"):
            leftover.unlink(missing_ok=True)


def playback_filter(result: ProbeResult) -> tuple[str, dict]:
    """The video filter that makes frames square-pixelled with even sides (after autorotation)."""
    if result.sar[0] != result.sar[1]:
        return "scale", {"w": "trunc(iw*sar/2)*2", "h": "trunc(ih/2)*2", "flags": "bicubic"}
    return "crop", {"w": "trunc(iw/2)*2", "h": "trunc(ih/2)*2", "x": 0, "y": 0}


def transcode(
    src: str | Path,
    dst: str | Path,
    result: ProbeResult,
    *,
    progress: ProgressFn | None = None,
    preset: str = X264_PRESET,
    crf: int = X264_CRF,
    timeout: float | None = None,
) -> Path:
    """Write the browser-safe playback MP4 of ``src`` to ``dst`` (atomically)."""
    src, dst = Path(src), Path(dst)
    name, kwargs = playback_filter(result)
    source = ffmpeg.input(str(src))
    video = source["v:0"].filter(name, **kwargs)
    if name == "scale":
        video = video.filter("setsar", "1")
    video = video.filter("format", "yuv420p")
    streams = [video]
    audio_args: dict = {"an": None}
    if result.has_audio:
        streams.append(source["a:0"])
        audio_args = {"acodec": "aac", "audio_bitrate": AUDIO_BITRATE, "ac": 2}
    with atomic_output(dst, ".mp4") as tmp:
        out = ffmpeg.output(
            *streams,
            str(tmp),
            format="mp4",
            vcodec="libx264",
            preset=preset,
            crf=crf,
            pix_fmt="yuv420p",
            **{"profile:v": "high"},
            fps_mode="passthrough",
            # Keep the source's time base: exact frame times, VFR never snapped to a grid.
            **{"enc_time_base:v": "demux"},
            movflags="+faststart",
            map_metadata=-1,
            map_chapters=-1,
            max_muxing_queue_size=4096,
            **audio_args,
        ).global_args("-hide_banner", "-nostdin", "-nostats", "-loglevel", "error")
        out = out.global_args("-progress", "pipe:1", "-stats_period", "0.5").overwrite_output()
        _run_with_progress(out.compile(cmd=tools.ffmpeg_exe()), result.duration, progress, timeout)
    return dst


def remux(
    src: str | Path,
    dst: str | Path,
    result: ProbeResult,
    *,
    progress: ProgressFn | None = None,
    timeout: float | None = None,
) -> int | None:
    """Copy the first video stream (and the first sound stream) of ``src`` into a ``+faststart``
    MP4 at ``dst``, atomically, without re-encoding: for sources that are already browser-safe
    (see :mod:`workers.video.browser_safe`). Every packet keeps its timestamps. Returns the
    number of video packets written (ffmpeg's final progress report), None if it gave none."""
    src, dst = Path(src), Path(dst)
    with atomic_output(dst, ".mp4") as tmp:
        cmd = [tools.ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
               "-progress", "pipe:1", "-stats_period", "0.5", "-i", str(src), "-map", "0:v:0"]  # fmt: skip
        cmd += ["-map", "0:a:0"] if result.has_audio else ["-an"]
        cmd += ["-sn", "-dn", "-c", "copy", "-map_metadata", "-1", "-map_chapters", "-1",
                "-movflags", "+faststart", "-max_muxing_queue_size", "4096", "-f", "mp4",
                "-y", str(tmp)]  # fmt: skip
        packets = _run_with_progress(cmd, result.duration, progress, timeout)
    return packets


def _run_with_progress(
    cmd: list[str],
    duration: float | None,
    progress: ProgressFn | None,
    timeout: float | None,
) -> int | None:
    """Run ffmpeg with ``-progress pipe:1``; returns the last ``frame=`` count it reported."""
    frames = None
    with tempfile.TemporaryFile() as errors:
        proc = tools.popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.decode(errors="replace").strip()
                if line.startswith("frame=") and line[6:].isdigit():
                    frames = int(line[6:])
                if progress and duration and line.startswith("out_time_us="):
                    value = line.split("=", 1)[1]
                    if value.lstrip("-").isdigit():
                        progress(min(1.0, max(0.0, int(value) / 1e6 / duration)))
            proc.wait(timeout=timeout)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        errors.seek(0)
        stderr = errors.read()
    text = tools.tail(stderr, 400)
    if "partial file" in stderr.decode(errors="replace").lower():
        # ffmpeg converts what it can and exits 0; a cut-off source must not pass as complete.
        raise TruncatedVideoError(
            "The video file is truncated: its data ends before the frames its header announces, "
            "which usually means the upload or copy was cut off half-way."
        )
    if proc.returncode != 0:
        if "invalid data" in text.lower():
            raise DamagedVideoError(
                "The video could not be converted because its data is damaged or incomplete: "
                + text
            )
        raise VideoError(f"Converting the video for playback failed: {text}")
    return frames


def write_poster(playback: str | Path, dst: str | Path, at: float, max_width: int = 640) -> Path:
    """One JPEG frame of ``playback`` at ``at`` seconds, at most ``max_width`` wide."""
    playback, dst = Path(playback), Path(dst)
    with atomic_output(dst, ".jpg") as tmp:
        cmd = (
            ffmpeg.input(str(playback), ss=f"{max(0.0, at):.6f}")
            .video.filter("scale", f"min({max_width},iw)", "-2")
            .output(str(tmp), vframes=1, format="image2", update=1, **{"q:v": 3})
            .global_args("-hide_banner", "-nostdin", "-loglevel", "error")
            .overwrite_output()
            .compile(cmd=tools.ffmpeg_exe())
        )
        proc = tools.run(cmd)
        if proc.returncode != 0 or tmp.stat().st_size == 0:
            raise VideoError(f"The poster image could not be made: {tools.tail(proc.stderr)}")
    return dst


def sprite_layout(
    frame_count: int, display_size: tuple[int, int], max_tiles: int = 100, tile_width: int = 160
) -> dict:
    """Which frames become thumbnails and how they tile: ``floor(k * N / count)`` for k < count."""
    count = max(1, min(max_tiles, frame_count))
    columns = min(10, count)
    rows = math.ceil(count / columns)
    width, height = display_size
    tile_w = min(tile_width, width - width % 2) or 2
    tile_h = max(2, int(round(tile_w * height / max(width, 1) / 2)) * 2)
    indices = (np.arange(count) * frame_count) // count
    return {
        "count": count,
        "columns": columns,
        "rows": rows,
        "tile_width": tile_w,
        "tile_height": tile_h,
        "frame_indices": [int(i) for i in indices],
    }


def select_expression(indices: list[int]) -> str:
    """An ffmpeg ``select`` expression keeping exactly the frames numbered ``indices``.

    Use it quoted inside a filter graph (``select='...'``): the quotes protect its commas.
    """
    return "+".join(f"eq(n,{int(i)})" for i in sorted(set(indices)))


def write_sprite(
    playback: str | Path,
    dst: str | Path,
    timestamps: np.ndarray,
    display_size: tuple[int, int],
    *,
    max_tiles: int = 100,
    tile_width: int = 160,
) -> dict:
    """A JPEG grid of thumbnails for timeline scrubbing; returns its layout and times.

    ``times[k]`` is the presentation time of thumbnail k (row-major in the grid); a scrubber
    shows the last thumbnail whose time is at or before the pointer's time.
    """
    playback, dst = Path(playback), Path(dst)
    layout = sprite_layout(len(timestamps), display_size, max_tiles, tile_width)
    with atomic_output(dst, ".jpg") as tmp:
        cmd = [
            tools.ffmpeg_exe(),
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            str(playback),
            "-map",
            "0:v:0",
            "-vf",
            (
                f"select='{select_expression(layout['frame_indices'])}',"
                f"scale={layout['tile_width']}:{layout['tile_height']}:flags=area,"
                f"tile={layout['columns']}x{layout['rows']}"
            ),
            "-fps_mode",
            "passthrough",
            "-frames:v",
            "1",
            "-q:v",
            "4",
            "-f",
            "image2",
            "-update",
            "1",
            "-y",
            str(tmp),
        ]
        proc = tools.run(cmd)
        if proc.returncode != 0 or tmp.stat().st_size == 0:
            raise VideoError(
                f"The scrubbing thumbnails could not be made: {tools.tail(proc.stderr)}"
            )
    stamps = np.asarray(timestamps, dtype=np.float64)
    layout["times"] = [round(float(stamps[i]), 6) for i in layout["frame_indices"]]
    return layout
