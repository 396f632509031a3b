"""Input specification of a video model (numpy only, no torch)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AudioSpec:
    """What an audio-visual model hears: ``duration`` seconds of mono sound at ``sample_rate``.

    The model turns the waveform into a log-mel spectrogram (``n_fft``, ``hop_length``,
    ``n_mels``) and pools it into ``tokens`` audio tokens along time, so audio token ``i`` covers
    the ``i``-th of ``tokens`` equal parts of the clip's audio span.
    """

    sample_rate: int = 16000
    duration: float = 2.0
    n_fft: int = 512
    hop_length: int = 160
    n_mels: int = 32
    tokens: int = 16

    @property
    def num_samples(self) -> int:
        return int(round(self.sample_rate * self.duration))

    def to_dict(self) -> dict:
        return {
            "sample_rate": self.sample_rate,
            "duration": self.duration,
            "n_fft": self.n_fft,
            "hop_length": self.hop_length,
            "n_mels": self.n_mels,
            "tokens": self.tokens,
        }

    @classmethod
    def from_dict(cls, data: dict) -> AudioSpec:
        return cls(
            sample_rate=int(data["sample_rate"]),
            duration=float(data["duration"]),
            n_fft=int(data["n_fft"]),
            hop_length=int(data["hop_length"]),
            n_mels=int(data["n_mels"]),
            tokens=int(data["tokens"]),
        )


@dataclass(frozen=True)
class InputSpec:
    """What a model expects: T frames of size x size RGB pixels, normalized by mean/std.

    ``tubelet_size`` is 1 for divided space-time models (TimeSformer) and usually 2 for
    joint-attention models with 3D patches (VideoMAE); the token grid is
    ``(num_frames // tubelet_size, image_size // patch_size, image_size // patch_size)``.
    ``audio`` describes the sound input of audio-visual models (None for video-only models).
    """

    num_frames: int
    image_size: int
    patch_size: int
    tubelet_size: int = 1
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    audio: AudioSpec | None = None  # set for audio-visual models only

    @property
    def grid(self) -> tuple[int, int, int]:
        side = self.image_size // self.patch_size
        return (self.num_frames // self.tubelet_size, side, side)

    def to_dict(self) -> dict:
        return {
            "num_frames": self.num_frames,
            "image_size": self.image_size,
            "patch_size": self.patch_size,
            "tubelet_size": self.tubelet_size,
            "mean": list(self.mean),
            "std": list(self.std),
            "audio": self.audio.to_dict() if self.audio is not None else None,
        }


def audio_token_times(span: tuple[float, float], tokens: int) -> np.ndarray:
    """Source seconds ``(tokens, 2)`` ``[start, end)`` of each audio token of a clip whose sound
    covers ``span`` (the tokens are equal parts of the span)."""
    start, end = float(span[0]), float(span[1])
    edges = start + (end - start) * np.arange(tokens + 1, dtype=np.float64) / tokens
    return np.stack([edges[:-1], edges[1:]], axis=1)
