"""Probing a video file: streams, geometry, rotation, timing, and exact frame timestamps.

One entry point, :func:`probe`, with two interchangeable back ends:

- ``ffprobe`` (JSON output) when an ffprobe binary is available: ``$WHEREWHEN_FFPROBE``, or
  ``ffprobe`` on ``PATH`` (Debian's ``ffmpeg`` package);
- ``ffmpeg``: parse the stream summary that ``ffmpeg -i FILE`` prints, which works with the
  ffmpeg binary that the ``imageio-ffmpeg`` wheel ships (it has no ffprobe).

Both fill the same :class:`ProbeResult`. Container headers can lie or be approximate, so what
the platform stores about time comes from :func:`read_frame_timestamps`: a real decode pass
(``-vf showinfo``) that lists the presentation time and duration of every decoded frame. That
needs only ffmpeg and is exact for constant and variable frame rates alike; the video's
duration is where its last frame ends (:attr:`FrameTable.duration`), never the container
header's figure (which ``ffmpeg -i`` prints rounded to 10 ms).

Conventions: times are seconds from the start of the file (ffmpeg subtracts the container's
start time, as players do); ``rotation`` is the clockwise rotation (0, 90, 180, 270) a player
applies to the stored frames; ``width``/``height`` are display pixels (rotation and sample
aspect ratio applied).

The module's size is one concern: what a file is, read from ffmpeg's own output (the stream
summary from either back end and the frame times from the decode pass share their parsing
conventions: rational rates, sample aspect ratio, display size).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from workers.video import tools
from workers.video.errors import (
    DamagedVideoError,
    NotAVideoError,
    UnsupportedVideoError,
    VideoError,
)

#: Frames larger than this on a side are refused (a header claiming 60000 px is not a video).
DEFAULT_MAX_DIMENSION = 8192
# Pixels one frame may claim (8K UHD, 7680 x 4320): a header claiming 8192 x 8192 or more would
# make every decoder allocate hundreds of megabytes a frame before finding out it lies.
DEFAULT_MAX_PIXELS = 7680 * 4320
PROBE_TIMEOUT_S = 60.0


@dataclass
class ProbeResult:
    path: str
    backend: str  # "ffprobe" or "ffmpeg"
    format_name: str = ""
    duration: float | None = None  # container duration, seconds
    start_time: float = 0.0
    has_video: bool = False
    video_codec: str = ""
    pix_fmt: str = ""
    coded_width: int = 0  # as stored, before rotation and aspect correction
    coded_height: int = 0
    sar: tuple[int, int] = (1, 1)  # sample (pixel) aspect ratio
    rotation: int = 0  # clockwise degrees: 0, 90, 180, 270
    fps: float | None = None  # nominal frame rate from the headers
    video_profile: str = ""  # codec profile as ffmpeg names it ("High", "High 10", ...)
    video_level: int | None = None  # codec level x10 (H.264: 31 = 3.1); ffprobe only
    field_order: str = ""  # "progressive", "interlaced", or "" when not reported
    display_matrix: bool = False  # the stream carries a display matrix or a rotate tag
    has_audio: bool = False
    audio_codec: str = ""
    audio_profile: str = ""  # "LC", "HE-AAC", ...
    audio_channels: int | None = None
    sample_rate: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) as shown: square pixels, rotation applied."""
        width = display_width(self.coded_width, self.sar)
        height = self.coded_height
        if self.rotation in (90, 270):
            return height, width
        return width, height

    def to_dict(self) -> dict:
        data = asdict(self)
        data["display_size"] = list(self.display_size)
        data["sar"] = list(self.sar)
        return data


@dataclass
class FrameTable:
    """Every decoded frame's presentation time and duration, and the decoded frame size."""

    timestamps: np.ndarray  # (N,) float64 seconds, in presentation order
    width: int  # decoded frame size, rotation applied
    height: int
    sar: tuple[int, int] = (1, 1)
    warnings: list[str] = field(default_factory=list)
    #: (N,) float64 seconds each frame lasts, as the decoder reports it; NaN where unknown.
    durations: np.ndarray | None = None
    #: The nominal frame rate the decoder announces (used only for a one-frame video).
    fps: float | None = None
    #: End of the last frame computed from the integer timestamps (exact); None if unknown.
    end_time: float | None = None

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) in square display pixels."""
        return display_width(self.width, self.sar), self.height

    @property
    def count(self) -> int:
        return len(self.timestamps)

    @property
    def duration(self) -> float:
        """Seconds from the start to the end of the last frame (see :func:`table_duration`)."""
        if self.end_time is not None:
            return self.end_time
        return table_duration(self.timestamps, self.durations, self.fps)


# --- the one entry point ----------------------------------------------------------------------


def probe(path: str | Path, *, backend: str | None = None) -> ProbeResult:
    """Probe ``path`` with ffprobe when available, else by parsing ``ffmpeg -i``.

    ``backend`` forces one (``"ffprobe"`` or ``"ffmpeg"``). Raises :class:`NotAVideoError` or
    :class:`DamagedVideoError` with a plain-words reason when the file cannot be read.
    """
    path = Path(path)
    _check_file(path)
    if backend is None:
        backend = "ffprobe" if tools.ffprobe_exe() else "ffmpeg"
    if backend == "ffprobe":
        exe = tools.ffprobe_exe()
        if exe is None:
            raise tools.ToolMissingError("ffprobe was requested but none is available")
        return _probe_ffprobe(path, exe)
    if backend == "ffmpeg":
        return _probe_ffmpeg(path)
    raise ValueError(f"unknown probe backend {backend!r}")


def require_video(
    result: ProbeResult,
    max_dimension: int = DEFAULT_MAX_DIMENSION,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> None:
    """Refuse what is not a playable video: no video stream, absurd or empty frame size, a frame
    over the pixel budget (as displayed or as stored, whichever is larger)."""
    if not result.has_video:
        if result.has_audio:
            raise NotAVideoError(
                "This file contains only audio; WhereWhen needs a video stream to show and explain."
            )
        raise NotAVideoError("This file has no video stream.")
    width, height = result.display_size
    if width > max_dimension or height > max_dimension:
        raise UnsupportedVideoError(
            f"The video claims a frame size of {width}×{height} pixels; WhereWhen accepts at most "
            f"{max_dimension} pixels on a side. The file is probably damaged or not a real video."
        )
    pixels = max(width * height, result.coded_width * result.coded_height)
    if pixels > max_pixels:
        raise UnsupportedVideoError(
            f"The video claims a frame of {width}×{height} pixels ({pixels / 1e6:.1f} megapixels); "
            f"WhereWhen decodes at most {max_pixels / 1e6:.1f} megapixels a frame."
        )
    if width < 2 or height < 2:
        raise UnsupportedVideoError(
            f"The video's frame size ({width}×{height} pixels) is too small to play."
        )


# --- helpers shared by both back ends ---------------------------------------------------------


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise NotAVideoError(f"There is no file at {path}.")
    if path.stat().st_size == 0:
        raise NotAVideoError("The file is empty (0 bytes).")


def _looks_like_iso_media(path: Path) -> bool:
    """True for MP4/MOV/3GP files (an ISO base media 'ftyp' box or a QuickTime atom first)."""
    with open(path, "rb") as handle:
        head = handle.read(12)
    return len(head) >= 8 and head[4:8] in {b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"}


def _open_error(path: Path, stderr: str) -> VideoError:
    """Turn ffmpeg's/ffprobe's complaint about an unreadable input into a plain sentence."""
    text = stderr.lower()
    if ("picture size" in text and "invalid" in text) or "invalid dimensions" in text:
        return UnsupportedVideoError(
            "The file's header claims an impossible frame size; it is damaged or not a real video."
        )
    if _looks_like_iso_media(path):
        return DamagedVideoError(
            "The MP4/MOV file is incomplete or damaged: its index (the 'moov' box) is missing or "
            "unreadable, which usually means the upload or copy was cut off."
        )
    if "invalid data found" in text or "could not find codec" in text or "unknown" in text:
        return NotAVideoError(
            "This file is not a video WhereWhen can read: ffmpeg does not recognise its format."
        )
    return NotAVideoError(f"ffmpeg could not open this file: {tools.tail(stderr, 300)}")


def _rotation_from_matrix(degrees: float) -> int:
    """ffmpeg reports the display matrix's counter-clockwise angle; return clockwise 0..270."""
    return int(round(-degrees / 90.0)) * 90 % 360


def _fraction(text: str | None) -> Fraction | None:
    if not text:
        return None
    try:
        value = Fraction(text.replace(":", "/"))
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


# --- ffprobe back end -------------------------------------------------------------------------


def _probe_ffprobe(path: Path, exe: str) -> ProbeResult:
    cmd = [exe, "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)]
    proc = tools.run(cmd, timeout=PROBE_TIMEOUT_S)
    stderr = proc.stderr.decode(errors="replace")
    if proc.returncode != 0:
        raise _open_error(path, stderr)
    try:
        data = json.loads(proc.stdout or b"{}")
    except json.JSONDecodeError as exc:
        raise VideoError(f"ffprobe printed something that is not JSON: {exc}") from exc
    return parse_ffprobe_json(data, str(path))


def parse_ffprobe_json(data: dict, path: str = "") -> ProbeResult:
    """Build a :class:`ProbeResult` from ``ffprobe -show_format -show_streams -of json``."""
    fmt = data.get("format") or {}
    result = ProbeResult(path=path, backend="ffprobe", format_name=fmt.get("format_name", ""))
    result.duration = _float(fmt.get("duration"))
    result.start_time = _float(fmt.get("start_time")) or 0.0
    for stream in data.get("streams") or []:
        kind = stream.get("codec_type")
        attached = (stream.get("disposition") or {}).get("attached_pic") == 1
        if kind == "video" and not attached and not result.has_video:
            result.has_video = True
            result.video_codec = stream.get("codec_name", "")
            result.pix_fmt = stream.get("pix_fmt", "")
            result.coded_width = int(stream.get("width") or 0)
            result.coded_height = int(stream.get("height") or 0)
            sar = _fraction(stream.get("sample_aspect_ratio"))
            if sar:
                result.sar = (sar.numerator, sar.denominator)
            rate = _fraction(stream.get("avg_frame_rate")) or _fraction(stream.get("r_frame_rate"))
            result.fps = float(rate) if rate else None
            result.rotation = _ffprobe_rotation(stream)
            result.video_profile = str(stream.get("profile") or "")
            level = stream.get("level")
            result.video_level = int(level) if isinstance(level, int) and level > 0 else None
            result.field_order = _field_order(str(stream.get("field_order") or ""))
            result.display_matrix = _ffprobe_has_matrix(stream)
            if stream.get("nb_frames"):
                result.extra["nb_frames"] = int(stream["nb_frames"])
            if stream.get("duration"):
                result.extra["stream_duration"] = _float(stream["duration"])
        elif kind == "audio" and not result.has_audio:
            result.has_audio = True
            result.audio_codec = stream.get("codec_name", "")
            result.audio_channels = stream.get("channels")
            result.audio_profile = str(stream.get("profile") or "")
            rate = stream.get("sample_rate")
            result.sample_rate = int(rate) if rate else None
    return result


def _ffprobe_has_matrix(stream: dict) -> bool:
    sides = stream.get("side_data_list") or []
    if any("rotation" in side or side.get("side_data_type") == "Display Matrix" for side in sides):
        return True
    return bool((stream.get("tags") or {}).get("rotate"))


_INTERLACED = ("top first", "bottom first", "top coded first", "bottom coded first")
_INTERLACED_CODES = {"tt", "bb", "tb", "bt"}  # ffprobe's words for the same


def _field_order(words: str) -> str:
    """ "progressive", "interlaced" or "" from ffmpeg's/ffprobe's wording of the field order."""
    words = words.strip().lower()
    if words == "progressive":
        return "progressive"
    if words in _INTERLACED_CODES or any(words.startswith(mark) for mark in _INTERLACED):
        return "interlaced"
    return ""


def _ffprobe_rotation(stream: dict) -> int:
    for side in stream.get("side_data_list") or []:
        if "rotation" in side:
            return _rotation_from_matrix(float(side["rotation"]))
    rotate = (stream.get("tags") or {}).get("rotate")
    if rotate:  # legacy tag: clockwise degrees
        return int(round(float(rotate) / 90.0)) * 90 % 360
    return 0


def _float(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# --- ffmpeg -i back end -----------------------------------------------------------------------

_DURATION = re.compile(
    r"^\s*Duration:\s*(?:(\d+):(\d+):(\d+(?:\.\d+)?)|N/A)(?:,\s*start:\s*(-?[\d.]+))?"
)
_INPUT = re.compile(r"^Input #0, (.+?), from ")
_STREAM = re.compile(
    r"^\s*Stream #0:(\d+)(?:\[[^\]]*\])?(?:\([^)]*\))?:\s*(Video|Audio|Subtitle|Data|Attachment):\s*(.*)$"
)
_SIZE = re.compile(r"(?<![\w.])([1-9]\d{0,6})x([1-9]\d{0,6})(?![\w])")
_SAR = re.compile(r"SAR (\d+):(\d+)")
_FPS = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(k?) fps")
_TBR = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(k?) tbr")
_HZ = re.compile(r"(\d+) Hz")
# "h264 (High) (avc1 / 0x31637661)": the first parenthesis without a slash is the profile.
_PROFILE = re.compile(r"^[\w-]+ \(([^)/]+)\)")
_ROTATION = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees", re.IGNORECASE)
_ROTATE_TAG = re.compile(r"^\s*rotate\s*:\s*(-?\d+)", re.IGNORECASE)
_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "6.1": 7, "7.1": 8}


def _probe_ffmpeg(path: Path) -> ProbeResult:
    cmd = [tools.ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(path)]
    proc = tools.run(cmd, timeout=PROBE_TIMEOUT_S)
    stderr = proc.stderr.decode(errors="replace")
    # Without an output ffmpeg always exits 1; whether the input opened shows in the text.
    if "Input #0" not in stderr:
        raise _open_error(path, stderr)
    return parse_ffmpeg_info(stderr, str(path))


def _split_top_level(text: str) -> list[str]:
    """Split at commas that are not inside parentheses or brackets."""
    parts, depth, current = [], 0, []
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth = max(0, depth - 1)
        if char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def parse_ffmpeg_info(stderr: str, path: str = "") -> ProbeResult:
    """Build a :class:`ProbeResult` from the input summary ``ffmpeg -i FILE`` prints."""
    result = ProbeResult(path=path, backend="ffmpeg")
    lines = stderr.splitlines()
    current: str | None = None  # kind of the stream whose metadata/side data follow
    for line in lines:
        if match := _INPUT.match(line):
            result.format_name = match.group(1)
            continue
        if match := _DURATION.match(line):
            if match.group(1) is not None:
                h, m, s = match.group(1), match.group(2), match.group(3)
                result.duration = int(h) * 3600 + int(m) * 60 + float(s)
            if match.group(4):
                result.start_time = float(match.group(4))
            continue
        if match := _STREAM.match(line):
            kind, details = match.group(2), match.group(3)
            current = None
            if kind == "Video" and "attached pic" not in details and not result.has_video:
                _parse_video(details, result)
                current = "video"
            elif kind == "Audio" and not result.has_audio:
                _parse_audio(details, result)
            continue
        if current == "video":
            if match := _ROTATION.search(line):
                result.rotation = _rotation_from_matrix(float(match.group(1)))
                result.display_matrix = True
            elif match := _ROTATE_TAG.match(line):
                result.display_matrix = True
                if not result.rotation:
                    result.rotation = int(round(int(match.group(1)) / 90.0)) * 90 % 360
            elif "display matrix" in line.lower() or "displaymatrix" in line.lower():
                result.display_matrix = True
    return result


def _rate(match: re.Match | None) -> float | None:
    if not match:
        return None
    value = float(match.group(1)) * (1000 if match.group(2) else 1)
    return value if value > 0 else None


def _parse_video(details: str, result: ProbeResult) -> None:
    result.has_video = True
    parts = _split_top_level(details)
    result.video_codec = parts[0].split()[0] if parts else ""
    if profile := _PROFILE.match(parts[0] if parts else ""):
        result.video_profile = profile.group(1).strip()
    if len(parts) > 1:
        result.pix_fmt = parts[1].split("(")[0].strip()
        if "(" in parts[1]:  # "yuv420p(tv, bt709, progressive)": the field order comes last
            inside = parts[1].split("(", 1)[1].rsplit(")", 1)[0]
            result.field_order = _field_order(_split_top_level(inside)[-1] if inside else "")
    for part in parts[1:]:
        if size := _SIZE.search(part):
            result.coded_width, result.coded_height = int(size.group(1)), int(size.group(2))
            if sar := _SAR.search(part):
                num, den = int(sar.group(1)), int(sar.group(2))
                if num > 0 and den > 0:
                    result.sar = (num, den)
            break
    result.fps = _rate(_FPS.search(details)) or _rate(_TBR.search(details))


def _parse_audio(details: str, result: ProbeResult) -> None:
    result.has_audio = True
    parts = _split_top_level(details)
    result.audio_codec = parts[0].split()[0] if parts else ""
    if profile := _PROFILE.match(parts[0] if parts else ""):
        result.audio_profile = profile.group(1).strip()
    if hz := _HZ.search(details):
        result.sample_rate = int(hz.group(1))
    for part in parts[1:]:
        word = part.split("(")[0].strip()
        if word in _CHANNELS:
            result.audio_channels = _CHANNELS[word]
        elif word.endswith(" channels") and word.split()[0].isdigit():
            result.audio_channels = int(word.split()[0])


# --- exact frame timestamps (a decode pass) ---------------------------------------------------

_SHOWINFO = re.compile(r"\bn:\s*(\d+)\s+pts:\s*(-?\d+|NOPTS)\s+pts_time:\s*(-?[\d.e+-]+|NOPTS)")
# ffmpeg 5 and later also print each frame's duration (0 when the decoder does not know it).
_SHOWINFO_DURATION = re.compile(
    r"\bduration:\s*(-?\d+|NOPTS)\s+duration_time:\s*(-?[\d.e+-]+|NOPTS)"
)
_SHOWINFO_CONFIG = re.compile(
    r"config in time_base:\s*(\d+)/(\d+)(?:,\s*frame_rate:\s*(\d+)/(\d+))?"
)
_SHOWINFO_SIZE = re.compile(r"\bs:(\d+)x(\d+)")
_SHOWINFO_SAR = re.compile(r"\bsar:(\d+)/(\d+)")


def display_width(width: int, sar: tuple[int, int]) -> int:
    """Width in square pixels of a frame stored ``width`` wide with sample aspect ``sar``."""
    num, den = sar
    if num > 0 and den > 0 and num != den:
        return round(width * num / den)
    return width


def parse_showinfo_sar(line: str) -> tuple[int, int]:
    match = _SHOWINFO_SAR.search(line)
    if match and int(match.group(1)) > 0 and int(match.group(2)) > 0:
        return int(match.group(1)), int(match.group(2))
    return (1, 1)


_DAMAGE = ("partial file", "invalid nal unit size", "error while decoding", "decoding error")


def read_frame_timestamps(
    path: str | Path, *, timeout: float | None = None, strict: bool = True
) -> FrameTable:
    """Decode the first video stream and list every frame's presentation time and duration.

    The frames are decoded (not just demuxed), so the list is what any decoder shows, in
    presentation order, for constant and variable frame rates; rotation is applied, so
    ``width``/``height`` are display pixels. With ``strict`` a file that ends in the middle
    of its data (an upload cut off half-way) raises :class:`DamagedVideoError`.
    """
    path = Path(path)
    _check_file(path)
    cmd = [
        tools.ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-i",
        str(path),
        "-map",
        "0:v:0",
        "-vf",
        "showinfo=checksum=0",
        "-fps_mode",
        "passthrough",
        "-f",
        "null",
        "-",
    ]
    proc = tools.run(cmd, timeout=timeout)
    return checked_frame_table(path, proc.returncode, proc.stderr.decode(errors="replace"), strict)


def checked_frame_table(
    path: Path, returncode: int, stderr: str, strict: bool = True
) -> FrameTable:
    """The :class:`FrameTable` of a decode pass through ``showinfo`` (ffmpeg's exit status and
    stderr), or the reason it has none: :func:`read_frame_timestamps`'s rules for any command
    that puts ``showinfo`` first on the decoded video."""
    if returncode != 0 and "Input #0" not in stderr:
        raise _open_error(path, stderr)
    frames = parse_showinfo(stderr)
    if not frames.timestamps.size:
        if returncode != 0:
            raise DamagedVideoError(
                "No video frame could be decoded from this file: " + tools.tail(stderr, 200)
            )
        raise UnsupportedVideoError("The video stream contains no frames.")
    if strict and any("partial file" in p.lower() for p in frames.warnings):
        raise DamagedVideoError(
            "The video file is truncated: its data ends before the frames its header announces, "
            "which usually means the upload or copy was cut off half-way."
        )
    frames.warnings = frames.warnings[:20]
    return frames


def parse_showinfo(stderr: str) -> FrameTable:
    """Build a :class:`FrameTable` from what ``-vf showinfo`` printed (possibly no frames).

    Times come from the integer ``pts``/``duration`` and the filter's time base when ffmpeg
    printed them (exact), else from the rounded ``pts_time``/``duration_time``.
    """
    base: Fraction | None = None
    rate: Fraction | None = None
    entries: list[tuple[Fraction | float, Fraction | float | None]] = []
    width = height = 0
    sar = (1, 1)
    problems: list[str] = []
    for line in stderr.splitlines():
        if "Parsed_showinfo" in line:
            if config := _SHOWINFO_CONFIG.search(line):
                base = _fraction(f"{config.group(1)}/{config.group(2)}")
                if config.group(3):
                    rate = _fraction(f"{config.group(3)}/{config.group(4)}")
                continue
            match = _SHOWINFO.search(line)
            if not match or match.group(3) == "NOPTS":
                continue
            if base is not None and match.group(2) != "NOPTS":
                start: Fraction | float = int(match.group(2)) * base
            else:
                start = float(match.group(3))
            entries.append((start, _showinfo_duration(line, base)))
            if not width and (size := _SHOWINFO_SIZE.search(line)):
                width, height = int(size.group(1)), int(size.group(2))
                sar = parse_showinfo_sar(line)
        elif any(marker in line.lower() for marker in _DAMAGE):
            problems.append(line.strip())
    # Decoders emit presentation order; be safe anyway (sorted, one frame per time).
    order: dict[Fraction | float, Fraction | float | None] = {}
    for start, length in entries:
        order.setdefault(start, length)
    starts = sorted(order)
    stamps = np.asarray([float(t) for t in starts], dtype=np.float64)
    lengths = [order[t] for t in starts]
    durations = np.asarray(
        [float(d) if d is not None else np.nan for d in lengths], dtype=np.float64
    )
    end_time = None
    if starts and lengths[-1] is not None:
        end_time = float(starts[-1] + lengths[-1])  # exact when both are fractions
    return FrameTable(
        timestamps=stamps,
        width=width,
        height=height,
        sar=sar,
        warnings=problems,
        durations=durations,
        fps=float(rate) if rate else None,
        end_time=end_time,
    )


def _showinfo_duration(line: str, base: Fraction | None) -> Fraction | float | None:
    """The frame's duration (seconds) from a showinfo line; None when unknown or absent."""
    match = _SHOWINFO_DURATION.search(line)
    if not match:
        return None
    if base is not None and match.group(1) != "NOPTS":
        ticks = int(match.group(1))
        return ticks * base if ticks > 0 else None
    value = _float(match.group(2)) if match.group(2) != "NOPTS" else None
    return value if value and value > 0 else None


def table_duration(
    timestamps: np.ndarray,
    durations: np.ndarray | None = None,
    fps: float | None = None,
) -> float:
    """When the last frame ends: its presentation time plus its duration.

    The duration is the one the decoder reports for that frame; when unknown, the interval
    before it; for a lone frame of unknown duration, one frame at ``fps`` (25 when unknown).
    """
    stamps = np.asarray(timestamps, dtype=np.float64)
    if not stamps.size:
        return 0.0
    last = float(stamps[-1])
    if durations is not None and len(durations) == len(stamps):
        length = float(durations[-1])
        if math.isfinite(length) and length > 0:
            return last + length
    if stamps.size > 1:
        return last + (last - float(stamps[-2]))
    return last + 1.0 / (fps if fps and fps > 0 else 25.0)


def frame_rate_summary(timestamps: np.ndarray) -> tuple[float | None, bool]:
    """(average frame rate, variable?) from frame times.

    Average = (N-1) / (last - first). Variable when more than 1% of the gaps between frames
    differ from the median gap by more than 10% (timebase rounding stays far below that).
    """
    stamps = np.asarray(timestamps, dtype=np.float64)
    if len(stamps) < 2:
        return None, False
    span = float(stamps[-1] - stamps[0])
    fps = (len(stamps) - 1) / span if span > 0 else None
    gaps = np.diff(stamps)
    median = float(np.median(gaps))
    if median <= 0:
        return fps, True
    irregular = np.abs(gaps - median) > 0.1 * median
    return fps, bool(irregular.mean() > 0.01)
