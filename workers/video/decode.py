"""Decoding the frames a clip picks, resized by a fit rule (see :mod:`workers.video.sample`).

:func:`decode_frames` gives the frames at the given indices of a video's frame table, in the
order asked, at the model's size (``fit``): decoded in this process with PyAV
(:mod:`workers.video.decode_av`) or by one ffmpeg process (the fallback, and
``WHEREWHEN_DECODER=ffmpeg``), the same frames and pixels either way, through a bounded
per-process cache of decoded windows (:mod:`workers.video.cache`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from workers.models.spec import Preprocessing
from workers.video import cache as frame_cache
from workers.video import decode_av, tools
from workers.video.errors import VideoError
from workers.video.probe import _SHOWINFO, _SHOWINFO_SIZE, display_width, parse_showinfo_sar
from workers.video.processor import processor_frames
from workers.video.transcode import select_expression

FIT_MODES = ("squash", "crop", "processor", "source")
#: Seek (instead of decoding from the start) when the first wanted frame is later than this.
SEEK_AFTER_S = 2.0
#: Frames decoded at display size per ffmpeg run (``"processor"`` and ``"source"``), so a long
#: window of a large video is resized as it comes in, in bounded memory.
SOURCE_CHUNK_FRAMES = 16
#: Frames picked per ffmpeg run: its ``select`` expression (one ``eq(n,i)`` term per frame)
#: fails to parse ("Cannot allocate memory") beyond about 100 terms.
SELECT_MAX_FRAMES = 96
#: ``"av"``: decode in this process with PyAV (:mod:`workers.video.decode_av`), the same frames
#: and pixels as the ffmpeg command, which stays the fallback; ``"ffmpeg"``: one ffmpeg process
#: per decode (``WHEREWHEN_DECODER=ffmpeg``).
DECODER = os.environ.get("WHEREWHEN_DECODER", "av").strip().lower()


def _scale_filters(size: int, fit: str) -> str:
    if fit in ("source", "processor"):  # display size in square pixels
        return "scale=w='round(iw*sar)':h=ih:flags=area,setsar=1"
    if fit == "squash":
        return f"scale={size}:{size}:flags=area"
    if fit == "crop":
        return (
            "scale=w='trunc(iw*sar)':h=ih:flags=area,setsar=1,"
            f"scale={size}:{size}:force_original_aspect_ratio=increase:flags=area,"
            f"crop={size}:{size}"
        )
    raise VideoError(f"unknown fit {fit!r}; use one of {', '.join(FIT_MODES)}")


def decode_frames(
    path: str | Path,
    timestamps: np.ndarray,
    indices: Sequence[int] | np.ndarray,
    size: int,
    *,
    fit: str = "squash",
    preprocessing: Preprocessing | None = None,
) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode the frames numbered ``indices`` (in the table ``timestamps``) at ``size`` x ``size``.

    Returns RGB uint8 frames in the order of ``indices`` and the source display size.
    ``fit="source"`` returns the frames at display size ``(N, H, W, 3)`` (``size`` unused);
    ``fit="processor"`` applies ``preprocessing`` to them (:func:`processor_frames`), decoding
    :data:`SOURCE_CHUNK_FRAMES` frames at a time. Model-sized results are kept in this
    process's cache of decoded windows (:mod:`workers.video.cache`). When the
    first wanted frame is far into the file, ffmpeg seeks to just before it (midway between it
    and the frame before); the decoded frames' own times are checked against the table, and a
    mismatch (a file whose seeking is unreliable) falls back to decoding from the start.
    """
    path = Path(path)
    table = np.asarray(timestamps, dtype=np.float64)
    order = np.asarray(indices, dtype=np.int64)
    if order.size == 0:
        raise VideoError("no frames were asked for")
    if order.min() < 0 or order.max() >= len(table):
        raise VideoError(f"frame index out of range for a {len(table)}-frame video")
    wanted = np.unique(order)
    if fit == "processor" and preprocessing is None:
        raise VideoError("fit 'processor' needs the model's preprocessing rule")
    cache = frame_cache.process_cache()
    key = None
    if cache.max_bytes > 0 and fit != "source":
        key = (
            frame_cache.file_key(path),
            tuple(int(i) for i in wanted),
            tuple(round(float(t), 6) for t in table[wanted]),
            int(size),
            fit,
            preprocessing if fit == "processor" else None,
        )
        if (hit := cache.get(key)) is not None:
            return hit[0][np.searchsorted(wanted, order)], hit[1]
    if fit in ("source", "processor"):
        parts, source_size = [], (0, 0)
        for i in range(0, len(wanted), SOURCE_CHUNK_FRAMES):
            part = wanted[i : i + SOURCE_CHUNK_FRAMES]
            chunk, source_size = _decode_wanted(path, table, part, size, "source")
            if fit == "processor":
                assert preprocessing is not None
                chunk = processor_frames(chunk, preprocessing)
            parts.append(chunk)
        frames = np.concatenate(parts) if len(parts) > 1 else parts[0]
    else:
        parts, source_size = [], (0, 0)
        for i in range(0, len(wanted), SELECT_MAX_FRAMES):
            chunk, source_size = _decode_wanted(
                path, table, wanted[i : i + SELECT_MAX_FRAMES], size, fit
            )
            parts.append(chunk)
        frames = np.concatenate(parts) if len(parts) > 1 else parts[0]
    if key is not None:
        cache.put(key, frames, source_size)
    rows = np.searchsorted(wanted, order)
    return frames[rows], source_size


def _decode_wanted(
    path: Path, table: np.ndarray, wanted: np.ndarray, size: int, fit: str
) -> tuple[np.ndarray, tuple[int, int]]:
    """The sorted, distinct frames ``wanted``, seeking when they start late in the file."""
    first = int(wanted[0])
    seek = None
    if first > 0 and table[first] > SEEK_AFTER_S:
        seek = float(table[first] - (table[first] - table[first - 1]) / 2)
    frames, source_size = None, (0, 0)
    for attempt_seek in [seek, None] if seek is not None else [None]:
        result = None
        if DECODER == "av":
            result = decode_av.decode_wanted(path, table, wanted, size, fit, attempt_seek)
        if result is None:
            result = _decode(path, table, wanted, size, fit, attempt_seek)
        if result is not None:
            frames, source_size = result
            break
    if frames is None:
        raise VideoError(
            f"the frames decoded from {path.name} do not match its frame timestamp table; "
            "was the table made from a different file?"
        )
    return frames, source_size


def _decode(
    path: Path, table: np.ndarray, wanted: np.ndarray, size: int, fit: str, seek: float | None
) -> tuple[np.ndarray, tuple[int, int]] | None:
    base = int(wanted[0]) if seek is not None else 0
    relative = [int(i) - base for i in wanted]
    cmd = [tools.ffmpeg_exe(), "-hide_banner", "-nostdin"]
    if seek is not None:
        cmd += ["-ss", f"{seek:.6f}"]
    cmd += [
        "-i",
        str(path),
        "-map",
        "0:v:0",
        "-vf",
        f"select='{select_expression(relative)}',showinfo=checksum=0,"
        f"{_scale_filters(size, fit)},format=rgb24",
        "-fps_mode",
        "passthrough",
        "-frames:v",
        str(len(wanted)),
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "pipe:1",
    ]
    proc = tools.run(cmd)
    stderr = proc.stderr.decode(errors="replace")
    if proc.returncode != 0:
        raise VideoError(f"ffmpeg could not decode {path.name}: {tools.tail(stderr, 400)}")
    times, source_size = [], (0, 0)
    for line in stderr.splitlines():
        if "Parsed_showinfo" not in line or not (match := _SHOWINFO.search(line)):
            continue
        if match.group(3) == "NOPTS":
            return None
        times.append(float(match.group(3)) + (seek or 0.0))
        if source_size == (0, 0) and (found := _SHOWINFO_SIZE.search(line)):
            width, height = int(found.group(1)), int(found.group(2))
            source_size = (display_width(width, parse_showinfo_sar(line)), height)
    expected = table[wanted]
    height = width = size
    if fit == "source":  # the display size; its width as ffmpeg rounded it
        height = source_size[1]
        width = len(proc.stdout) // max(1, len(wanted) * height * 3)
    frame_bytes = height * width * 3
    if (
        len(times) != len(wanted)
        or not frame_bytes
        or len(proc.stdout) != frame_bytes * len(wanted)
    ):
        return None
    gaps = np.diff(table)
    tolerance = min(2e-3, float(gaps.min()) / 4) if len(gaps) else 2e-3
    if np.max(np.abs(np.asarray(times) - expected)) > tolerance:
        return None
    frames = np.frombuffer(proc.stdout, dtype=np.uint8).reshape(len(wanted), height, width, 3)
    return frames.copy(), source_size
