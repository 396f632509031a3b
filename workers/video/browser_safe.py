"""Is an upload already browser-safe? Then ingest copies its streams instead of re-encoding them.

:func:`playback_plan` reads the probe (:class:`~workers.video.probe.ProbeResult`) and says
``"remux"`` only when every check passes; anything unknown or unusual keeps the transcode. The
checks, each a reason to transcode when it fails:

- container MP4/MOV/3GP (ffmpeg's ``mov,mp4,...`` demuxer). Matroska/WebM may hold H.264 too,
  but its timestamps are millisecond-rounded and carry no decode times, so a copy into MP4 has
  to guess them; WebM cannot hold H.264 at all. Those keep the transcode;
- video H.264, profile Constrained Baseline, Main or High (what every browser decodes: not
  High 10, High 4:2:2, High 4:4:4, Extended or plain Baseline), ``yuv420p`` (8-bit, 4:2:0,
  limited range: not ``yuvj420p``, 10-bit or 4:4:4), progressive (interlaced streams would be
  shown combed);
- a level a browser accepts: at most 5.2, as the header says (ffprobe) or as implied by the frame
  size and rate (36 864 macroblocks a frame, 2 073 600 a second);
- square pixels (SAR 1:1 or unset), no display matrix or rotate tag (the transcode turns rotated
  or mirrored frames upright; a copy would leave that to each player), even width and height;
- sound absent, or AAC-LC with one or two channels (what the transcode makes).

The copied stream keeps every packet's presentation time, so the frame table read from the
playback file is the one the transcode gives (``-fps_mode passthrough`` and the source's time
base keep those too); the tests check this on constant and variable frame rate files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from workers.video.probe import ProbeResult

REMUX = "remux"
TRANSCODE = "transcode"

#: H.264 profiles browsers decode (ffmpeg's names).
BROWSER_PROFILES = {"Constrained Baseline", "Main", "High"}
#: H.264 level 5.2 limits (ITU-T H.264 table A-1).
MAX_LEVEL = 52
MAX_FRAME_MACROBLOCKS = 36864
MAX_MACROBLOCK_RATE = 2073600


@dataclass(frozen=True)
class PlaybackPlan:
    method: str  # REMUX or TRANSCODE
    reasons: list[str] = field(default_factory=list)  # why not a copy (empty for REMUX)

    @property
    def remux(self) -> bool:
        return self.method == REMUX

    def to_dict(self) -> dict:
        return {"method": self.method, "reasons": list(self.reasons)}


def playback_plan(info: ProbeResult) -> PlaybackPlan:
    """REMUX when ``info`` describes a file browsers play as it is, else TRANSCODE with reasons."""
    reasons = _video_reasons(info) + _audio_reasons(info)
    return PlaybackPlan(TRANSCODE, reasons) if reasons else PlaybackPlan(REMUX)


def _video_reasons(info: ProbeResult) -> list[str]:
    reasons = []
    if "mp4" not in info.format_name.split(","):
        reasons.append(f"container {info.format_name or 'unknown'} is not MP4/MOV")
    if info.video_codec != "h264":
        reasons.append(f"video codec {info.video_codec or 'unknown'} is not H.264")
        return reasons  # profile, level and pixel format are H.264's
    if info.video_profile not in BROWSER_PROFILES:
        reasons.append(f"H.264 profile {info.video_profile or 'unknown'} is not one browsers play")
    if info.pix_fmt != "yuv420p":
        reasons.append(f"pixel format {info.pix_fmt or 'unknown'} is not yuv420p")
    if info.field_order != "progressive":
        reasons.append(
            f"frames are {info.field_order or 'of unknown field order'}, not progressive"
        )
    reasons += _level_reasons(info)
    if info.sar[0] != info.sar[1]:
        reasons.append(f"pixels are not square (SAR {info.sar[0]}:{info.sar[1]})")
    if info.display_matrix or info.rotation:
        reasons.append(f"the stream carries a rotation or flip ({info.rotation} degrees)")
    if info.coded_width % 2 or info.coded_height % 2:
        reasons.append(f"frame size {info.coded_width}x{info.coded_height} is not even")
    return reasons


def _level_reasons(info: ProbeResult) -> list[str]:
    if info.video_level is not None and info.video_level > MAX_LEVEL:
        return [f"H.264 level {info.video_level / 10:.1f} is above 5.2"]
    blocks = math.ceil(info.coded_width / 16) * math.ceil(info.coded_height / 16)
    if blocks > MAX_FRAME_MACROBLOCKS:
        return [f"frame size {info.coded_width}x{info.coded_height} is above H.264 level 5.2"]
    if not info.fps or not math.isfinite(info.fps):
        return ["the frame rate is unknown"]
    if blocks * info.fps > MAX_MACROBLOCK_RATE:
        return [f"{info.fps:g} frames a second at this size is above H.264 level 5.2"]
    return []


def _audio_reasons(info: ProbeResult) -> list[str]:
    if not info.has_audio:
        return []
    reasons = []
    if info.audio_codec != "aac" or info.audio_profile != "LC":
        name = " ".join(part for part in (info.audio_codec, info.audio_profile) if part)
        reasons.append(f"sound {name or 'of unknown codec'} is not AAC-LC")
    if info.audio_channels not in (1, 2):
        reasons.append(f"sound has {info.audio_channels or 'an unknown number of'} channels")
    return reasons
