"""Rendering explanations over their video: an overlay MP4 and a PNG strip of keyframes.

numpy + ffmpeg only (no torch), so the ``media`` worker can run it. The drawing follows the
review player in the browser (``frontend/src/pages/explanations/overlay.ts``) so an export looks
like what the reviewer saw:

* the map is normalized over the whole explanation, ``(v - min) / (max - min)``;
* each map frame is upsampled bilinearly (cell centres at ``(j + 0.5) * W / w``) to the frame;
* a pixel whose normalized value is below ``threshold`` is left as it is, the others get the
  colormap's colour blended with ``opacity``;
* video time ``t`` shows the last map frame whose timestamp is ``<= t`` (the first before it);
* the MP4 adds a strip under the video with the temporal importance curve and a playhead.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from struct import pack

import numpy as np

from workers.video import tools

# Colormap anchor colours (RGB 0..255), linearly interpolated to a 256-entry table.
_ANCHORS: dict[str, list[tuple[float, tuple[int, int, int]]]] = {
    "jet": [
        (0.0, (0, 0, 131)),
        (0.125, (0, 0, 255)),
        (0.375, (0, 255, 255)),
        (0.625, (255, 255, 0)),
        (0.875, (255, 0, 0)),
        (1.0, (128, 0, 0)),
    ],
    "viridis": [
        (0.0, (68, 1, 84)),
        (0.25, (59, 82, 139)),
        (0.5, (33, 145, 140)),
        (0.75, (94, 201, 98)),
        (1.0, (253, 231, 37)),
    ],
    # cividis: perceptually uniform and readable with red-green colour blindness (matplotlib's
    # table at every eighth).
    "cividis": [
        (0.0, (0, 34, 78)),
        (0.125, (26, 56, 111)),
        (0.25, (67, 78, 108)),
        (0.375, (97, 101, 111)),
        (0.5, (125, 124, 120)),
        (0.625, (155, 148, 118)),
        (0.75, (188, 174, 108)),
        (0.875, (222, 201, 88)),
        (1.0, (254, 232, 56)),
    ],
    "inferno": [
        (0.0, (0, 0, 4)),
        (0.25, (87, 16, 110)),
        (0.5, (188, 55, 84)),
        (0.75, (249, 142, 9)),
        (1.0, (252, 255, 164)),
    ],
    "gray": [(0.0, (0, 0, 0)), (1.0, (255, 255, 255))],
}
COLORMAPS = frozenset(_ANCHORS)


class OverlayError(RuntimeError):
    """Rendering failed (ffmpeg could not read the video or write the result)."""


def colormap_lut(name: str) -> np.ndarray:
    """A ``(256, 3)`` uint8 table for colormap ``name`` (see :data:`COLORMAPS`)."""
    if name not in _ANCHORS:
        raise ValueError(f"unknown colormap {name!r}; choose from {', '.join(sorted(COLORMAPS))}")
    anchors = _ANCHORS[name]
    xs = np.array([a[0] for a in anchors])
    cols = np.array([a[1] for a in anchors], dtype=np.float64)
    grid = np.arange(256) / 255.0
    lut = np.stack([np.interp(grid, xs, cols[:, c]) for c in range(3)], axis=1)
    return np.rint(lut).astype(np.uint8)


def normalize(heat: np.ndarray) -> np.ndarray:
    """Min-max normalize over the whole array to [0, 1] (all zeros when it is constant)."""
    heat = np.asarray(heat, dtype=np.float32)
    lo, hi = float(heat.min()), float(heat.max())
    if hi <= lo:
        return np.zeros_like(heat)
    return (heat - lo) / (hi - lo)


def upsample_bilinear(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Bilinear upsampling of an ``(h, w)`` map to ``(height, width)`` with cell centres at
    ``(j + 0.5) * width / w``; values beyond the outer centres are clamped (edge replicate)."""
    frame = np.asarray(frame, dtype=np.float32)
    h, w = frame.shape

    def axis(n_out: int, n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pos = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
        pos = np.clip(pos, 0, n_in - 1)
        i0 = np.floor(pos).astype(np.int64)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, (pos - i0).astype(np.float32)

    y0, y1, fy = axis(height, h)
    x0, x1, fx = axis(width, w)
    top = frame[y0][:, x0] * (1 - fx) + frame[y0][:, x1] * fx
    bottom = frame[y1][:, x0] * (1 - fx) + frame[y1][:, x1] * fx
    return top * (1 - fy[:, None]) + bottom * fy[:, None]


def blend(
    rgb: np.ndarray, heat01: np.ndarray, lut: np.ndarray, opacity: float, threshold: float
) -> np.ndarray:
    """Colour ``heat01`` (``H x W`` in [0, 1]) with ``lut`` over ``rgb`` where it is at least
    ``threshold``, with ``opacity``; returns a new uint8 image."""
    idx = np.clip(np.rint(heat01 * 255), 0, 255).astype(np.uint8)
    colour = lut[idx].astype(np.float32)
    alpha = np.where(heat01 >= threshold, float(opacity), 0.0).astype(np.float32)[..., None]
    out = rgb.astype(np.float32) * (1 - alpha) + colour * alpha
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def view_layer(
    frame: np.ndarray,
    width: int,
    height: int,
    view: Sequence[float] | None,
    video_size: tuple[int, int],
) -> tuple[np.ndarray, np.ndarray | None]:
    """An ``(h, w)`` map frame upsampled over the output image: over the whole ``width`` x
    ``height`` image, or only over ``view`` (x0, y0, x1, y1 in ``video_size`` pixels, the
    rectangle the model saw) with the mask of the pixels inside it (None: all are)."""
    if view is None:
        return upsample_bilinear(frame, width, height), None
    vw, vh = max(int(video_size[0]), 1), max(int(video_size[1]), 1)
    x0 = int(np.clip(round(float(view[0]) * width / vw), 0, width - 1))
    y0 = int(np.clip(round(float(view[1]) * height / vh), 0, height - 1))
    x1 = int(np.clip(round(float(view[2]) * width / vw), x0 + 1, width))
    y1 = int(np.clip(round(float(view[3]) * height / vh), y0 + 1, height))
    layer = np.zeros((height, width), dtype=np.float32)
    layer[y0:y1, x0:x1] = upsample_bilinear(frame, x1 - x0, y1 - y0)
    inside = np.zeros((height, width), dtype=bool)
    inside[y0:y1, x0:x1] = True
    return layer, inside


def shade_unseen(
    blended: np.ndarray, original: np.ndarray, inside: np.ndarray | None
) -> np.ndarray:
    """Pixels outside the view show the original frame dimmed under diagonal hatching ("not
    seen" by the model: no importance, not a low one)."""
    if inside is None:
        return blended
    h, w = inside.shape
    yy, xx = np.mgrid[0:h, 0:w]
    hatch = ((xx + yy) % 10) < 2
    dim = original.astype(np.float32) * 0.35
    dim[hatch] = dim[hatch] * 0.4 + 150.0
    out = blended.copy()
    out[~inside] = np.clip(np.rint(dim[~inside]), 0, 255).astype(np.uint8)
    return out


def map_frame_at(timestamps: Sequence[float], t: float) -> int:
    """Index of the map frame shown at video time ``t``: the last one whose timestamp is
    ``<= t``; before the first timestamp, the first frame."""
    ts = np.asarray(timestamps, dtype=np.float64)
    return max(0, int(np.searchsorted(ts, t + 1e-9, side="right")) - 1)


def temporal_strip(
    temporal: np.ndarray,
    timestamps: np.ndarray,
    duration: float,
    width: int,
    height: int,
    playhead: float | None = None,
) -> np.ndarray:
    """A ``height x width`` RGB strip: the temporal importance as a filled step curve over the
    video's duration (x = time), and a white playhead at ``playhead`` seconds."""
    strip = np.full((height, width, 3), 24, dtype=np.uint8)
    temporal = normalize(np.asarray(temporal, dtype=np.float32))
    ts = np.asarray(timestamps, dtype=np.float64)
    duration = max(float(duration), float(ts[-1]) if len(ts) else 0.0, 1e-6)
    xs_time = (np.arange(width) + 0.5) / width * duration
    idx = np.array([map_frame_at(ts, t) for t in xs_time])
    level = np.where(xs_time >= ts[0] - 1e-9, temporal[idx], 0.0)
    tops = np.rint((1 - level) * (height - 2)).astype(int) + 1
    rows = np.arange(height)[:, None]
    filled = rows >= tops[None, :]
    strip[filled] = (255, 170, 40)
    if playhead is not None:
        x = int(np.clip(playhead / duration * width, 0, width - 1))
        strip[:, x] = (255, 255, 255)
    return strip


def write_png(path: str | Path, rgb: np.ndarray) -> None:
    """Write an RGB uint8 image as PNG (zlib, no extra dependency)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    height, width = rgb.shape[:2]
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return pack(">I", len(data)) + kind + data + pack(">I", zlib.crc32(kind + data))

    png = b"\x89PNG\r\n\x1a\n"
    png += chunk(b"IHDR", pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 6))
    png += chunk(b"IEND", b"")
    Path(path).write_bytes(png)


def _ffmpeg() -> str:
    return tools.ffmpeg_exe()


def output_size(width: int, height: int, max_width: int) -> tuple[int, int]:
    """Frame size of the rendering: at most ``max_width`` wide, even sides, aspect kept."""
    if width > max_width:
        height = round(height * max_width / width)
        width = max_width
    return max(2, width - width % 2), max(2, height - height % 2)


def decode_frames(path: str | Path, width: int, height: int) -> Iterator[np.ndarray]:
    """Every frame of the video, in decoding order, scaled to ``width x height`` RGB."""
    cmd = [
        _ffmpeg(),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-i",
        str(path),
        "-vf",
        f"scale={width}:{height}:flags=area",
        "-fps_mode",
        "passthrough",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "pipe:",
    ]
    size = width * height * 3
    with tempfile.TemporaryFile() as err:
        proc = tools.popen(cmd, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL)
        try:
            assert proc.stdout is not None
            while True:
                buf = proc.stdout.read(size)
                if len(buf) < size:
                    break
                yield np.frombuffer(buf, np.uint8).reshape(height, width, 3)
        finally:
            proc.stdout.close()
            code = proc.wait()
        if code != 0:
            err.seek(0)
            raise OverlayError(f"ffmpeg could not decode {Path(path).name}: {err.read()[-600:]!r}")


def _frame_times(n: int, frame_times: Sequence[float] | None, fps: float) -> np.ndarray:
    if frame_times is not None and len(frame_times) >= n:
        return np.asarray(frame_times[:n], dtype=np.float64)
    return np.arange(n) / max(fps, 1e-3)


def render_overlay_mp4(
    video_path: str | Path,
    out_path: str | Path,
    heat: np.ndarray,
    timestamps: Sequence[float],
    temporal: Sequence[float],
    *,
    video_size: tuple[int, int],
    fps: float,
    duration: float,
    frame_times: Sequence[float] | None = None,
    colormap: str = "jet",
    opacity: float = 0.5,
    threshold: float = 0.0,
    max_width: int = 640,
    strip_height: int = 48,
    view: Sequence[float] | None = None,
) -> dict:
    """Render the video with the map blended over every frame and the temporal strip below,
    as H.264 MP4 (yuv420p, faststart). ``frame_times`` are the presentation times of the
    decoded frames (the video library's ``frame_timestamps``); without them, ``k / fps``.
    With ``view`` (the rectangle the model saw, in ``video_size`` pixels) the map covers only
    the view and the rest of the frame is shaded as not seen (:func:`shade_unseen`)."""
    lut = colormap_lut(colormap)
    heat01 = normalize(heat)
    ts = np.asarray(timestamps, dtype=np.float64)
    width, height = output_size(*video_size, max_width)
    strip_height += strip_height % 2
    out_path = Path(out_path)
    cmd = [
        _ffmpeg(),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-s",
        f"{width}x{height + strip_height}",
        "-framerate",
        f"{max(fps, 1.0):.6f}",
        "-i",
        "pipe:",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "23",
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        str(out_path),
    ]
    cache: dict[int, np.ndarray] = {}
    n = 0
    times = np.asarray(frame_times, dtype=np.float64) if frame_times is not None else None
    with tempfile.TemporaryFile() as err:
        enc = tools.popen(cmd, stdin=subprocess.PIPE, stderr=err, stdout=subprocess.DEVNULL)
        assert enc.stdin is not None
        try:
            for frame in decode_frames(video_path, width, height):
                t = float(times[n]) if times is not None and n < len(times) else n / max(fps, 1e-3)
                k = map_frame_at(ts, t)
                if k not in cache:
                    cache[k] = view_layer(heat01[k], width, height, view, video_size)
                layer, inside = cache[k]
                top = shade_unseen(blend(frame, layer, lut, opacity, threshold), frame, inside)
                strip = temporal_strip(temporal, ts, duration, width, strip_height, playhead=t)
                enc.stdin.write(np.concatenate([top, strip], axis=0).tobytes())
                n += 1
        except BrokenPipeError:
            pass
        finally:
            enc.stdin.close()
            code = enc.wait()
        if code != 0 or n == 0:
            err.seek(0)
            detail = err.read()[-600:].decode(errors="replace")
            raise OverlayError(f"ffmpeg could not write the overlay video ({n} frames): {detail}")
    return {"frames": n, "width": width, "height": height + strip_height}


def render_keyframe_strip(
    video_path: str | Path,
    out_path: str | Path,
    heat: np.ndarray,
    timestamps: Sequence[float],
    *,
    video_size: tuple[int, int],
    fps: float,
    frame_times: Sequence[float] | None = None,
    colormap: str = "jet",
    opacity: float = 0.5,
    threshold: float = 0.0,
    tile_height: int = 160,
    gap: int = 4,
    view: Sequence[float] | None = None,
) -> dict:
    """A PNG with one tile per map frame: the source frame nearest its timestamp, with the map
    blended over it, side by side in time order (``view`` as in :func:`render_overlay_mp4`)."""
    lut = colormap_lut(colormap)
    heat01 = normalize(heat)
    ts = np.asarray(timestamps, dtype=np.float64)
    vw, vh = video_size
    tile_w, tile_h = output_size(round(vw * tile_height / max(vh, 1)), tile_height, 4096)
    best: list[tuple[float, np.ndarray | None]] = [(np.inf, None) for _ in ts]
    n = 0
    times = np.asarray(frame_times, dtype=np.float64) if frame_times is not None else None
    for frame in decode_frames(video_path, tile_w, tile_h):
        t = float(times[n]) if times is not None and n < len(times) else n / max(fps, 1e-3)
        for k, tk in enumerate(ts):
            d = abs(t - tk)
            if d < best[k][0]:
                best[k] = (d, frame.copy())
        n += 1
    if n == 0:
        raise OverlayError(f"no frames decoded from {Path(video_path).name}")
    count = len(ts)
    canvas = np.full((tile_h, count * tile_w + (count - 1) * gap, 3), 255, dtype=np.uint8)
    for k, (_d, frame) in enumerate(best):
        assert frame is not None
        layer, inside = view_layer(heat01[k], tile_w, tile_h, view, video_size)
        tile = shade_unseen(blend(frame, layer, lut, opacity, threshold), frame, inside)
        x = k * (tile_w + gap)
        canvas[:, x : x + tile_w] = tile
    out_path = Path(out_path)
    write_png(out_path, canvas)
    return {"tiles": count, "width": int(canvas.shape[1]), "height": tile_h}


def atomic_output(final: str | Path) -> Path:
    """A temporary path next to ``final`` (same folder, same suffix) to render into."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=final.suffix, dir=final.parent)
    os.close(fd)
    return Path(tmp)
