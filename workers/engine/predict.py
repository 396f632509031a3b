"""Numpy scoring functions for the metrics: a loaded model as ``frames -> probabilities``.

The perturbation metrics (deletion, insertion, audio deletion, ...) perturb pixels or sound in
numpy and must not depend on torch themselves; these functions wrap a loaded model for them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from workers.engine.errors import ExplainError


def predict_probabilities(loaded: Any, batch_size: int = 16, audio: np.ndarray | None = None):
    """A numpy scoring function for the metrics: float frames ``(B, T, S, S, 3)`` in [0, 255]
    -> class probabilities ``(B, C)``. Used for deletion/insertion and other perturbation
    metrics, which perturb pixels and must not depend on torch themselves.

    Audio-visual models hear ``audio``, one clip's waveform ``(samples,)``, with every batch of
    frames (perturbing the picture of one clip while its sound stays as it is)."""
    spec = loaded.spec
    mean = torch.tensor(spec.mean, dtype=torch.float32).view(1, 1, 3, 1, 1)
    std = torch.tensor(spec.std, dtype=torch.float32).view(1, 1, 3, 1, 1)
    device = torch.device(getattr(loaded, "device", "cpu"))
    mean, std = mean.to(device), std.to(device)
    wave = None
    if spec.audio is not None:
        if audio is None:
            raise ExplainError("this model is audio-visual: give the clip's audio to score it")
        wave = loaded.preprocess_audio(np.asarray(audio, dtype=np.float32))  # (1, samples)

    def fn(frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames, dtype=np.float32)
        outs = []
        for i in range(0, frames.shape[0], batch_size):
            x = torch.from_numpy(frames[i : i + batch_size]).to(device)
            x = x.permute(0, 1, 4, 2, 3) / 255.0
            x = (x - mean) / std
            a = None
            if wave is not None:
                a = wave.expand(x.shape[0], -1)
            with torch.no_grad():
                logits = loaded.logits(x, a).float()
            outs.append(torch.softmax(logits, dim=1).cpu().numpy())
        return np.concatenate(outs, axis=0)

    return fn


def predict_probabilities_audio(loaded: Any, frames: np.ndarray, batch_size: int = 16):
    """For audio perturbation tests of an audio-visual model: waveforms ``(B, samples)`` of one
    clip -> class probabilities ``(B, C)``, the clip's uint8 frames ``(T, S, S, 3)`` unchanged."""
    if loaded.spec.audio is None:
        raise ExplainError("this model is video-only; it has no sound to perturb")
    x1 = loaded.preprocess(np.asarray(frames))  # (1, T, 3, S, S)

    def fn(audio: np.ndarray) -> np.ndarray:
        audio = np.asarray(audio, dtype=np.float32)
        outs = []
        for i in range(0, audio.shape[0], batch_size):
            a = loaded.preprocess_audio(audio[i : i + batch_size])
            with torch.no_grad():
                logits = loaded.logits(x1.expand(a.shape[0], -1, -1, -1, -1), a).float()
            outs.append(torch.softmax(logits, dim=1).cpu().numpy())
        return np.concatenate(outs, axis=0)

    return fn
