"""MP4 writing and a simple MP4 -> model clip reader (ffmpeg through ffmpeg-python).

The ffmpeg binary is the one shipped by ``imageio-ffmpeg``, so nothing depends on a system
ffmpeg. The reader decodes the whole (short) video to raw RGB, samples ``T`` frames uniformly
and resizes them by area averaging: exactly what the bundled model was trained on. A general
sampler for long videos belongs in ``workers.video``.
"""

from __future__ import annotations

import os
import re
import tempfile
import wave
from pathlib import Path

import ffmpeg
import imageio_ffmpeg
import numpy as np

from workers.models.spec import InputSpec
from workers.types import Clip


class VideoIOError(ValueError):
    """A video could not be written or read (the message names the file and the cause)."""


def ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def sample_indices(num_source: int, num_samples: int) -> np.ndarray:
    """Uniform frame sampling: ``floor(i * N / T)`` for i in 0..T-1 (0, 4, ..., 28 for 32 -> 8)."""
    if num_samples < 1:
        raise VideoIOError(f"num_samples must be >= 1, got {num_samples}")
    if num_source < num_samples:
        raise VideoIOError(f"cannot sample {num_samples} frames from a {num_source}-frame video")
    return (np.arange(num_samples) * num_source) // num_samples


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) weights of area-averaging resampling along one axis."""
    edges = np.arange(n_out + 1) * (n_in / n_out)
    lo, hi = edges[:-1, None], edges[1:, None]
    px = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, px + 1) - np.maximum(lo, px), 0.0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def resize_frames(frames: np.ndarray, size: int | tuple[int, int]) -> np.ndarray:
    """Area-average resize of uint8 frames ``(..., H, W, 3)`` to ``size`` (S or (height, width))."""
    out_h, out_w = (size, size) if isinstance(size, int) else size
    if out_h < 1 or out_w < 1:
        raise VideoIOError(f"resize target must be positive, got {size!r}")
    h, w = frames.shape[-3], frames.shape[-2]
    if (h, w) == (out_h, out_w):
        return frames.copy()
    if h % out_h == 0 and w % out_w == 0:  # whole-number factor: a plain block mean
        fy, fx = h // out_h, w // out_w
        acc = np.zeros((*frames.shape[:-3], out_h, out_w, frames.shape[-1]), dtype=np.uint32)
        for dy in range(fy):
            for dx in range(fx):
                acc += frames[..., dy::fy, dx::fx, :]
        n = fy * fx
        return ((acc + n // 2) // n).astype(np.uint8)  # rounds halves up
    ry, rx = _area_matrix(h, out_h), _area_matrix(w, out_w)
    mean = np.einsum("yh,...hwc,xw->...yxc", ry, frames.astype(np.float32), rx)
    return np.clip(np.floor(mean + 0.5), 0, 255).astype(np.uint8)


def _write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())


def write_mp4(
    path: str | Path,
    frames: np.ndarray,
    fps: int,
    audio: np.ndarray | None = None,
    sample_rate: int = 16000,
    crf: int = 18,
) -> Path:
    """Encode RGB uint8 frames ``(N, H, W, 3)`` as H.264 yuv420p MP4 (AAC audio if given).

    The file appears atomically (written to a temporary name, then renamed).
    """
    path = Path(path)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise VideoIOError(f"frames must be uint8 (N, H, W, 3), got {frames.dtype} {frames.shape}")
    n, h, w, _ = frames.shape
    if n < 1 or h % 2 or w % 2:
        raise VideoIOError(f"need >= 1 frame of even width and height, got {n} x {w}x{h}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(suffix=".mp4", prefix=".tmp-", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    wav = tmp.with_suffix(".wav")
    try:
        video_in = ffmpeg.input("pipe:", format="rawvideo", pix_fmt="rgb24", s=f"{w}x{h}", r=fps)
        streams = [video_in.video]
        audio_args: dict = {}
        if audio is not None:
            _write_wav(wav, audio, sample_rate)
            streams.append(ffmpeg.input(str(wav)).audio)
            audio_args = {"acodec": "aac", "audio_bitrate": "96k"}
        out = ffmpeg.output(
            *streams,
            str(tmp),
            vcodec="libx264",
            pix_fmt="yuv420p",
            crf=crf,
            preset="medium",
            g=fps,
            r=fps,
            movflags="+faststart",
            map_metadata=-1,
            fflags="+bitexact",
            **audio_args,
        ).overwrite_output()
        try:
            out.run(cmd=ffmpeg_exe(), input=frames.tobytes(), quiet=True)
        except ffmpeg.Error as exc:
            tail = exc.stderr.decode(errors="replace")[-800:] if exc.stderr else ""
            raise VideoIOError(f"ffmpeg failed to write {path}: {tail}") from exc
        tmp.chmod(0o644)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
        wav.unlink(missing_ok=True)
    return path


_SHOWINFO = re.compile(
    r"\bn:\s*(\d+)\s+pts:\s*(-?\d+)\s+pts_time:\s*(-?[\d.e+-]+).*?\bs:(\d+)x(\d+)"
)


def read_video(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Decode every frame: RGB uint8 ``(N, H, W, 3)`` and presentation times ``(N,)`` seconds."""
    path = Path(path)
    if not path.is_file():
        raise VideoIOError(f"no video file at {path}")
    try:
        stdout, stderr = (
            ffmpeg.input(str(path))
            .video.filter("showinfo")
            .output("pipe:", format="rawvideo", pix_fmt="rgb24", fps_mode="passthrough")
            .global_args("-nostdin", "-hide_banner")
            .run(cmd=ffmpeg_exe(), capture_stdout=True, capture_stderr=True)
        )
    except ffmpeg.Error as exc:
        tail = exc.stderr.decode(errors="replace")[-800:] if exc.stderr else ""
        raise VideoIOError(f"ffmpeg could not decode {path}: {tail}") from exc
    info = _SHOWINFO.findall(stderr.decode(errors="replace"))
    if not info:
        raise VideoIOError(f"{path} has no decodable video frames")
    w, h = int(info[0][3]), int(info[0][4])
    n = len(stdout) // (w * h * 3)
    if n != len(info) or n * w * h * 3 != len(stdout):
        raise VideoIOError(f"{path}: decoded {len(stdout)} bytes for {len(info)} frames of {w}x{h}")
    frames = np.frombuffer(stdout, np.uint8).reshape(n, h, w, 3)
    times = np.array([float(t[2]) for t in info], dtype=np.float64)
    return frames, times


def clip_from_frames(
    frames: np.ndarray,
    timestamps: np.ndarray,
    spec: InputSpec,
    video_id: str | None = None,
) -> Clip:
    """Sample ``spec.num_frames`` frames uniformly and area-resize them (square sources), or
    apply the model's own resize/crop rule (``spec.preprocessing``, with ``Clip.view`` the source
    rectangle the clip shows)."""
    idx = sample_indices(len(frames), spec.num_frames)
    h, w = frames.shape[1:3]
    if spec.preprocessing is not None:
        from workers.video.processor import processor_frames

        return Clip(
            frames=processor_frames(frames[idx], spec.preprocessing),
            timestamps=np.asarray(timestamps, dtype=np.float64)[idx],
            source_size=(int(w), int(h)),
            video_id=video_id,
            view=spec.preprocessing.view(int(w), int(h)),
        )
    return Clip(
        frames=resize_frames(frames[idx], spec.image_size),
        timestamps=np.asarray(timestamps, dtype=np.float64)[idx],
        source_size=(int(w), int(h)),
        video_id=video_id,
    )


def read_clip(path: str | Path, spec: InputSpec, video_id: str | None = None) -> Clip:
    """Read an MP4 into a model :class:`~workers.types.Clip` (uniform sampling, area resize).

    Non-square sources are squashed to ``spec.image_size`` square (or follow the model's own
    rule, see :func:`clip_from_frames`); box coordinates stay in source pixels through
    ``Clip.source_size``. For audio-visual models (``spec.audio``) the
    clip also carries the video's sound from its first frame to the end of its last one.
    """
    frames, times = read_video(path)
    clip = clip_from_frames(frames, times, spec, video_id=video_id or Path(path).stem)
    if spec.audio is not None:
        from workers.video.audio import sample_audio
        from workers.video.errors import VideoError
        from workers.video.sample import window_span

        try:
            clip.audio, clip.audio_span = sample_audio(
                path, spec.audio, *window_span(times, None, None)
            )
        except VideoError as exc:
            raise VideoIOError(f"{path}: {exc}") from exc
    return clip
