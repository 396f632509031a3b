"""The whole ingest of one video file, as a plain function (the media task calls it).

probe -> refuse what is not a playable video -> playback MP4 -> one decode pass of the playback
file for the exact frame timestamps, the poster and the thumbnail sprite
(:mod:`workers.video.index_pass`) -> waveform overview (when there is sound). Outputs
go to fixed names in one folder, each written atomically, so running it again over a
half-finished folder converges to the same result.

The playback MP4 is a stream copy when the source is browser-safe already
(:func:`~workers.video.browser_safe.playback_plan`), else a transcode. A copy whose frames do
not decode cleanly is thrown away and the source transcoded after all;
:attr:`IngestResult.playback_plan` says which way the file went and why.

Sound never fails a video: when the audio stream cannot be converted, the playback file is made
without it; when its waveform cannot be decoded, there is no ``waveform.json``. Either way the
reason is returned in :attr:`IngestResult.audio_error`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from workers.video.audio import WAVEFORM_NAME, write_waveform
from workers.video.browser_safe import TRANSCODE, PlaybackPlan, playback_plan
from workers.video.errors import TruncatedVideoError, VideoError
from workers.video.index_pass import PlaybackIndex, index_playback
from workers.video.probe import (
    DEFAULT_MAX_DIMENSION,
    DEFAULT_MAX_PIXELS,
    ProbeResult,
    frame_rate_summary,
    probe,
    require_video,
)
from workers.video.transcode import (
    remove_partial_outputs,
    remux,
    transcode,
)

PLAYBACK_NAME = "playback.mp4"
POSTER_NAME = "poster.jpg"
SPRITE_NAME = "sprite.jpg"

log = logging.getLogger(__name__)

#: Share of the progress bar each step takes (transcoding dominates).
_STEPS = {
    "probe": 0.02,
    "transcode": 0.85,
    "index": 0.97,  # frame table, poster and sprite: one decode pass
    "waveform": 1.0,
}


@dataclass
class IngestResult:
    source: ProbeResult  # the uploaded file as it was
    playback: Path
    poster: Path
    sprite: Path
    sprite_meta: dict
    timestamps: np.ndarray  # presentation time of every playback frame, seconds
    width: int  # playback frame size = display size (even)
    height: int
    duration: float  # end of the last frame: its presentation time plus its duration
    fps: float | None
    variable_frame_rate: bool
    has_audio: bool = False  # the playback file has sound
    waveform: Path | None = None  # waveform.json, when the sound could be decoded
    audio_error: str = ""  # why the source's sound is missing from playback or waveform
    playback_plan: PlaybackPlan | None = None  # remux (stream copy) or transcode, and why

    @property
    def frame_count(self) -> int:
        return len(self.timestamps)


def process_video(
    source: str | Path,
    out_dir: str | Path,
    *,
    max_dimension: int = DEFAULT_MAX_DIMENSION,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: Callable[[float], None] | None = None,
    allow_remux: bool = True,
) -> IngestResult:
    """Probe and transcode ``source`` into ``out_dir``; raise :class:`VideoError` with a reason.

    ``allow_remux=False`` transcodes even a browser-safe source (benchmarks, comparisons)."""
    source, out_dir = Path(source), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_partial_outputs(out_dir)

    def report(value: float) -> None:
        if progress:
            progress(min(1.0, max(0.0, value)))

    report(0.0)
    info = probe(source)
    require_video(info, max_dimension, max_pixels)
    report(_STEPS["probe"])

    playback = out_dir / PLAYBACK_NAME
    span = _STEPS["transcode"] - _STEPS["probe"]

    def step(f: float) -> None:
        report(_STEPS["probe"] + span * f)

    plan = playback_plan(info)
    if not allow_remux and plan.remux:
        plan = PlaybackPlan(TRANSCODE, ["stream copy switched off"])
    index: PlaybackIndex | None = None
    audio_error = ""
    has_audio = info.has_audio
    if plan.remux:
        index = _try_remux(source, playback, out_dir, info, step)
        if index is None:
            plan = PlaybackPlan(TRANSCODE, ["the stream copy did not decode cleanly"])
    if index is None:
        has_audio, audio_error = _transcode(source, playback, info, step)
        report(_STEPS["transcode"])
        index = index_playback(playback, out_dir / POSTER_NAME, out_dir / SPRITE_NAME)
    table = index.table
    report(_STEPS["index"])

    stamps = table.timestamps
    sprite_meta = index.sprite_meta
    fps, variable = frame_rate_summary(stamps)
    if fps is None:
        fps = table.fps or info.fps
    if table.fps is None:
        table.fps = fps  # a lone frame of unknown length lasts one frame at the nominal rate
    # Where the last frame ends, from the frame table (the container header's duration is
    # rounded, and may count a longer sound track).
    duration = table.duration
    waveform = out_dir / WAVEFORM_NAME
    if has_audio:
        try:
            write_waveform(playback, waveform, duration=float(duration))
        except VideoError as exc:
            log.warning("%s: no waveform: %s", source.name, exc)
            waveform.unlink(missing_ok=True)
            audio_error = f"The sound could not be read for its waveform: {exc}"
    else:
        waveform.unlink(missing_ok=True)  # a re-run of a file that lost its sound converges
    report(_STEPS["waveform"])
    width, height = table.display_size
    return IngestResult(
        source=info,
        playback=playback,
        poster=index.poster,
        sprite=index.sprite,
        sprite_meta=sprite_meta,
        timestamps=stamps,
        width=width,
        height=height,
        duration=float(duration),
        fps=fps,
        variable_frame_rate=variable,
        has_audio=has_audio,
        waveform=waveform if waveform.is_file() else None,
        audio_error=audio_error,
        playback_plan=plan,
    )


def _transcode(
    source: Path, playback: Path, info: ProbeResult, step: Callable[[float], None]
) -> tuple[bool, str]:
    """Transcode for playback; returns (has sound, why the sound was dropped)."""
    try:
        transcode(source, playback, info, progress=step)
    except VideoError as exc:
        if not info.has_audio or isinstance(exc, TruncatedVideoError):
            raise  # a cut-off file stays cut off without its sound
        # A broken audio stream must not cost the video: convert the pictures alone. (A file
        # that is damaged as a whole fails this second attempt too, with its own reason.)
        log.warning("%s: converting with sound failed (%s); trying without", source.name, exc)
        transcode(source, playback, replace(info, has_audio=False), progress=step)
        return False, f"The sound could not be converted, so the video plays without it: {exc}"
    return info.has_audio, ""


def _try_remux(
    source: Path, playback: Path, out_dir: Path, info: ProbeResult, step: Callable[[float], None]
) -> PlaybackIndex | None:
    """Copy the streams into the playback MP4 and index it; None (and no playback file) when the
    copy fails or its frames do not decode cleanly, so the caller transcodes. A truncated
    source raises, as the transcode would."""
    try:
        packets = remux(source, playback, info, progress=step)
        # A copy shows the source's frames: its size is the source's (square, upright, even).
        index = index_playback(
            playback,
            out_dir / POSTER_NAME,
            out_dir / SPRITE_NAME,
            display_size=info.display_size,
            frame_count=packets,
        )
    except TruncatedVideoError:
        raise
    except VideoError as exc:
        log.warning("%s: stream copy failed (%s); transcoding", source.name, exc)
        playback.unlink(missing_ok=True)
        return None
    if index.table.warnings:
        log.warning("%s: stream copy decodes with errors; transcoding", source.name)
        playback.unlink(missing_ok=True)
        return None
    return index
