"""Sound: the waveform overview people see, and the waveform audio-visual models hear.

Both decode the first audio stream with ffmpeg to mono 32-bit float PCM (``-ac 1``, ``f32le``)
through a pipe; nothing is written besides the overview file.

- :func:`write_waveform` -- ``waveform.json`` beside the playback file: the minimum and maximum
  sample of every bin, ``bins_per_second`` bins a second (at most :data:`MAX_WAVEFORM_BINS` in
  all, so a long video gets coarser bins), decoded at :data:`WAVEFORM_RATE` Hz. Written to a
  temporary name and renamed, like every derived file.
- :func:`sample_audio` -- the model input for one clip window ``[start, end)`` seconds: exactly
  ``spec.num_samples`` samples at ``spec.sample_rate``. When the window is longer or shorter
  than ``spec.duration`` the sound is time-stretched with ffmpeg's ``atempo`` filter (pitch
  preserved; stages chained for ratios outside 0.5..2), then padded with zeros or trimmed by the
  few samples the filter's edges add or lose.
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from workers.models.spec import AudioSpec
from workers.video import tools
from workers.video.errors import VideoError

WAVEFORM_NAME = "waveform.json"
#: Sample rate the overview is decoded at (plenty for min/max bins of at most 100 a second).
WAVEFORM_RATE = 8000
#: Bins a second for short videos; fewer for long ones so the file stays small.
WAVEFORM_BINS_PER_SECOND = 100
#: Upper bound on the number of bins of one overview.
MAX_WAVEFORM_BINS = 4000
#: atempo accepts one stage's ratio in this range.
ATEMPO_MIN, ATEMPO_MAX = 0.5, 2.0
DECODE_TIMEOUT_S = 600.0


class AudioError(VideoError):
    """The sound of a file could not be decoded (a damaged or unsupported audio stream)."""


class NoAudioError(VideoError):
    """The file has no audio stream."""


def _no_stream(stderr: str) -> bool:
    text = stderr.lower()
    return "matches no streams" in text or "does not contain any stream" in text


def _decode_command(
    path: Path, sample_rate: int, start: float | None, duration: float | None, tempo: float
) -> list[str]:
    cmd = [tools.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"]
    if start is not None and start > 0:
        cmd += ["-ss", f"{start:.6f}"]
    if duration is not None:
        cmd += ["-t", f"{duration:.6f}"]
    cmd += ["-i", str(path), "-map", "0:a:0", "-vn", "-sn", "-dn"]
    stages = atempo_stages(tempo)
    if stages:
        cmd += ["-af", ",".join(f"atempo={s:.9g}" for s in stages)]
    return cmd + ["-ac", "1", "-ar", str(int(sample_rate)), "-f", "f32le", "pipe:1"]


def _check_decoded(path: Path, returncode: int, stderr: bytes) -> None:
    if returncode == 0:
        return
    text = stderr.decode(errors="replace")
    if _no_stream(text):
        raise NoAudioError(f"{path.name} has no audio track.")
    raise AudioError(f"The sound of {path.name} could not be decoded: {tools.tail(text, 400)}")


def _samples(data: bytes) -> np.ndarray:
    samples = np.frombuffer(data, dtype="<f4").astype(np.float32)
    if not np.all(np.isfinite(samples)):
        samples = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(samples, -1.0, 1.0, out=samples)


def decode_mono(
    path: str | Path,
    sample_rate: int,
    *,
    start: float | None = None,
    duration: float | None = None,
    tempo: float = 1.0,
) -> np.ndarray:
    """The first audio stream of ``path`` as mono float32 samples at ``sample_rate``.

    ``start``/``duration`` (seconds) cut a window out of the source before ``tempo`` (an
    ``atempo`` ratio: 2 plays twice as fast, so half as many samples come out) is applied.
    Raises :class:`NoAudioError` when the file has no audio stream, :class:`AudioError` when
    its audio cannot be decoded.
    """
    path = Path(path)
    proc = tools.run(
        _decode_command(path, sample_rate, start, duration, tempo), timeout=DECODE_TIMEOUT_S
    )
    _check_decoded(path, proc.returncode, proc.stderr)
    return _samples(proc.stdout[: len(proc.stdout) - len(proc.stdout) % 4])


def atempo_stages(ratio: float) -> list[float]:
    """``atempo`` ratios whose product is ``ratio``, each within 0.5..2 (none for 1)."""
    if not (math.isfinite(ratio) and ratio > 0):
        raise VideoError(f"the time-stretch ratio must be a positive number, got {ratio!r}")
    if abs(ratio - 1.0) < 1e-9:
        return []
    stages = []
    while ratio > ATEMPO_MAX:
        stages.append(ATEMPO_MAX)
        ratio /= ATEMPO_MAX
    while ratio < ATEMPO_MIN:
        stages.append(ATEMPO_MIN)
        ratio /= ATEMPO_MIN
    if abs(ratio - 1.0) >= 1e-9:
        stages.append(ratio)
    return stages


def fit_length(samples: np.ndarray, count: int) -> np.ndarray:
    """Exactly ``count`` samples: trimmed at the end, or padded with zeros (silence)."""
    out = np.zeros(count, dtype=np.float32)
    n = min(count, len(samples))
    out[:n] = samples[:n]
    return out


def sample_audio(
    path: str | Path, spec: AudioSpec, start: float, end: float
) -> tuple[np.ndarray, tuple[float, float]]:
    """What an audio-visual model hears of the window ``[start, end)`` of ``path``.

    Returns ``spec.num_samples`` mono float32 samples in [-1, 1] at ``spec.sample_rate`` and
    the span ``(start, end)`` they cover. A window of another length than ``spec.duration`` is
    time-stretched to it (``atempo``, pitch preserved). Sound missing at the end of the window
    (an audio track shorter than the video) is silence.
    """
    start, end = float(start), float(end)
    if not (math.isfinite(start) and math.isfinite(end) and end > start):
        raise VideoError(f"the audio window must have end > start, got [{start}, {end})")
    length = end - start
    ratio = length / float(spec.duration)
    samples = decode_mono(
        path, spec.sample_rate, start=max(0.0, start), duration=length, tempo=ratio
    )
    if start < 0:  # a window that starts before the file: silence first
        lead = int(round(-start / ratio * spec.sample_rate))
        samples = np.concatenate([np.zeros(lead, dtype=np.float32), samples])
    return fit_length(samples, spec.num_samples), (start, end)


def waveform_bins_per_second(duration: float) -> float:
    """``WAVEFORM_BINS_PER_SECOND``, lowered for long videos so there are at most
    ``MAX_WAVEFORM_BINS`` bins."""
    if duration <= 0:
        return float(WAVEFORM_BINS_PER_SECOND)
    return float(min(WAVEFORM_BINS_PER_SECOND, MAX_WAVEFORM_BINS / duration))


class MinMaxBins:
    """Per-bin minimum and maximum of a stream of samples (fed in chunks, in order), for
    ``duration`` seconds at ``sample_rate``: bin ``k`` holds samples
    ``floor(k * sample_rate / bins_per_second)`` up to the next bin's first one."""

    def __init__(self, sample_rate: int, duration: float) -> None:
        self.sample_rate = int(sample_rate)
        self.duration = float(duration)
        self.rate = waveform_bins_per_second(self.duration)
        self.bins = max(1, min(MAX_WAVEFORM_BINS, math.ceil(self.duration * self.rate - 1e-9)))
        self.edges = np.floor(np.arange(self.bins + 1) * self.sample_rate / self.rate).astype(
            np.int64
        )
        self.lo = np.full(self.bins, np.inf)
        self.hi = np.full(self.bins, -np.inf)
        self.seen = 0  # samples fed so far

    def add(self, samples: np.ndarray) -> MinMaxBins:
        start = self.seen
        self.seen += len(samples)
        x = samples[: max(0, int(self.edges[-1]) - start)]  # past the last bin: dropped
        if len(x) == 0:
            return self
        first = int(np.searchsorted(self.edges, start, side="right")) - 1
        last = int(np.searchsorted(self.edges, start + len(x) - 1, side="right")) - 1
        cuts = np.concatenate([[0], self.edges[first + 1 : last + 1] - start])
        part = slice(first, last + 1)
        self.lo[part] = np.minimum(self.lo[part], np.minimum.reduceat(x, cuts))
        self.hi[part] = np.maximum(self.hi[part], np.maximum.reduceat(x, cuts))
        return self

    def result(self) -> dict:
        """``{"duration", "bins_per_second", "sample_rate", "bins", "min", "max"}``; a bin no
        sample reached (sound shorter than the video) is 0."""
        filled = self.lo <= self.hi
        lo = np.where(filled, self.lo, 0.0)
        hi = np.where(filled, self.hi, 0.0)
        return {
            "duration": round(self.duration, 6),
            "bins_per_second": round(self.rate, 9),
            "sample_rate": self.sample_rate,
            "bins": int(self.bins),
            "min": [round(float(v), 4) for v in lo],
            "max": [round(float(v), 4) for v in hi],
        }


def waveform_overview(samples: np.ndarray, sample_rate: int, duration: float) -> dict:
    """The overview of ``samples`` (see :class:`MinMaxBins`); ``duration`` defaults to theirs."""
    samples = np.asarray(samples, dtype=np.float32)
    duration = float(duration) if duration and duration > 0 else len(samples) / sample_rate
    return MinMaxBins(sample_rate, duration).add(samples).result()


CHUNK_BYTES = 1 << 20


def _streamed_overview(path: Path, duration: float) -> tuple[dict, int]:
    """Decode and bin in one pass, a megabyte at a time (bounded memory for long videos)."""
    bins = MinMaxBins(WAVEFORM_RATE, duration)
    cmd = _decode_command(path, WAVEFORM_RATE, None, None, 1.0)
    with tempfile.TemporaryFile() as errors:
        try:
            proc = tools.popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
        except FileNotFoundError as exc:
            raise tools.ToolMissingError(f"cannot run {cmd[0]}: {exc}") from exc
        try:
            assert proc.stdout is not None
            carry = b""
            while chunk := proc.stdout.read(CHUNK_BYTES):
                data = carry + chunk
                usable = len(data) - len(data) % 4
                carry = data[usable:]
                bins.add(_samples(data[:usable]))
            proc.wait(timeout=DECODE_TIMEOUT_S)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        errors.seek(0)
        _check_decoded(path, proc.returncode, errors.read())
    return bins.result(), bins.seen


def write_waveform(path: str | Path, dst: str | Path, duration: float | None = None) -> dict:
    """Decode the sound of ``path`` and write its overview to ``dst`` (JSON, atomically).

    Returns the overview. Raises :class:`NoAudioError` / :class:`AudioError` (nothing is
    written then)."""
    from workers.video.transcode import atomic_output

    path, dst = Path(path), Path(dst)
    if duration and duration > 0:
        overview, count = _streamed_overview(path, float(duration))
    else:
        samples = decode_mono(path, WAVEFORM_RATE)
        overview, count = waveform_overview(samples, WAVEFORM_RATE, 0.0), len(samples)
    if count == 0:
        raise AudioError(f"The audio track of {path.name} holds no sound that could be decoded.")
    with atomic_output(dst, ".json") as tmp:
        tmp.write_text(json.dumps(overview, separators=(",", ":")))
    return overview
