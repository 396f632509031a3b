"""In-process frame decoding with PyAV: the same frames, in the same pixels, as the ffmpeg command
of :mod:`workers.video.decode`, without starting a process per clip.

:func:`decode_wanted` decodes the frames numbered ``wanted`` (in the frame table) and scales them
with libavfilter's own ``scale`` filter and the same filter arguments as the command line
(``flags=area``, then ``format=rgb24``), so the pixels are those of the ffmpeg path. Frames are
matched to the table by their presentation time (``pts * time_base`` less the file's start time,
which is how the ffmpeg command line numbers them), never by counting, so a seek that lands on an
earlier keyframe costs decoding time but never a wrong frame. When the first wanted frame is late
in the file, the demuxer seeks to the keyframe before it; decoding stops after the last wanted
frame.

It answers ``None`` (the caller falls back to the ffmpeg command) when PyAV is not installed, the
stream is rotated (the command line turns such frames upright; this module does not), a decoded
time matches no table entry, or a wanted frame never came out.
"""

from __future__ import annotations

import bisect
from pathlib import Path

import numpy as np

#: Rotated streams and anything else this module does not reproduce go to the ffmpeg command.
_AV_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError)

#: Frames of at least this many pixels are decoded with the codec's frame and slice threads.
#: Below it threads cost more than they save (measured with PyAV on a 2-core CPU, 2 s of H.264:
#: 128x96 6.8 ms alone vs 9.0 ms threaded, 320x240 11.0 vs 11.2, 640x360 28.9 vs 27.2, 1280x720
#: 118 vs 94), and a batch decodes several small clips side by side anyway.
THREADED_PIXELS = 640 * 360


def available() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def _filters(size: int, fit: str) -> list[tuple[str, str]]:
    """The ``scale`` chain of :func:`workers.video.decode._scale_filters`, as (name, args)."""
    if fit in ("source", "processor"):
        return [("scale", "w=round(iw*sar):h=ih:flags=area"), ("setsar", "1")]
    if fit == "squash":
        return [("scale", f"{size}:{size}:flags=area")]
    if fit == "crop":
        return [
            ("scale", "w=trunc(iw*sar):h=ih:flags=area"),
            ("setsar", "1"),
            ("scale", f"{size}:{size}:force_original_aspect_ratio=increase:flags=area"),
            ("crop", f"{size}:{size}"),
        ]
    raise ValueError(f"unknown fit {fit!r}")


def _graph(stream, first_frame, size: int, fit: str):
    import av.filter

    graph = av.filter.Graph()
    sar = stream.codec_context.sample_aspect_ratio
    base = stream.time_base
    args = (
        f"video_size={first_frame.width}x{first_frame.height}:pix_fmt={first_frame.format.name}"
        f":time_base={base.numerator}/{base.denominator}"
        f":pixel_aspect={sar.numerator if sar else 0}/{sar.denominator if sar else 1}"
        f":colorspace={int(first_frame.colorspace)}:range={int(first_frame.color_range)}"
    )
    src = graph.add("buffer", args)
    node = src
    for name, args in [*_filters(size, fit), ("format", "rgb24")]:
        nxt = graph.add(name, args)
        node.link_to(nxt)
        node = nxt
    sink = graph.add("buffersink")
    node.link_to(sink)
    graph.configure()
    return graph


def _display_size(frame, stream) -> tuple[int, int]:
    sar = stream.codec_context.sample_aspect_ratio
    width = frame.width
    if sar is not None and sar.numerator > 0 and sar.denominator > 0 and sar != 1:
        width = int(round(frame.width * sar.numerator / sar.denominator))
    return width, frame.height


def decode_wanted(
    path: Path,
    table: np.ndarray,
    wanted: np.ndarray,
    size: int,
    fit: str,
    seek: float | None,
) -> tuple[np.ndarray, tuple[int, int]] | None:
    """The sorted, distinct frames ``wanted`` as ``(N, H, W, 3)`` RGB and the display size, or
    None when this path cannot promise the ffmpeg command's result (see the module docstring)."""
    try:
        import av
    except ImportError:
        return None
    gaps = np.diff(table)
    tolerance = min(2e-3, float(gaps.min()) / 4) if len(gaps) else 2e-3
    times = [float(x) for x in table]  # plain floats: bisect per frame, no numpy call
    want = {int(i) for i in wanted}
    last_wanted = int(wanted[-1])
    found: dict[int, np.ndarray] = {}
    source_size = (0, 0)
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            context = stream.codec_context
            if (context.width or 0) * (context.height or 0) >= THREADED_PIXELS:
                stream.thread_type = "AUTO"  # frame and slice threads: same frames, sooner
            offset = (container.start_time or 0) / 1_000_000
            base = stream.time_base
            if base is None:
                return None  # no time base: frames cannot be matched by time
            tick = float(base)  # seconds per pts unit (exact enough: matched within tolerance)
            if seek is not None:
                container.seek(int((seek + offset) / base), stream=stream, backward=True)
            graph = None
            for frame in container.decode(stream):
                if frame.pts is None or frame.rotation:
                    return None  # no time, or the command line would turn it upright
                t = frame.pts * tick - offset
                index = bisect.bisect_left(times, t - tolerance)
                if index >= len(times) or abs(times[index] - t) > tolerance:
                    return None  # a frame the table does not know: not the same file
                if index > last_wanted:
                    break
                if index not in want:
                    continue
                if graph is None:
                    graph = _graph(stream, frame, size, fit)
                    source_size = _display_size(frame, stream)
                graph.push(frame)
                out = graph.pull()
                found[index] = out.to_ndarray()
                if len(found) == len(want):
                    break
    except _AV_ERRORS + (av.FFmpegError,):
        return None
    if len(found) != len(want):
        return None
    frames = np.stack([found[int(i)] for i in wanted])
    return frames, source_size
