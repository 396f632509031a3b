"""Small checkpoints with random weights, for tests and demos of the model paths.

They exercise loading, explaining and scoring end to end in seconds; their predictions mean
nothing. The model modules themselves (:mod:`workers.models.loader`, :mod:`workers.models.av`)
hold no test helpers.
"""

from __future__ import annotations

from pathlib import Path

import torch

from workers.models.av import MODEL_TYPE as AV_MODEL_TYPE
from workers.models.loader import build_model, save_model
from workers.models.spec import AudioSpec, InputSpec


def write_random_av_checkpoint(
    directory: str | Path,
    labels: list[str] | tuple[str, ...] = ("red", "green", "blue", "yellow"),
    seed: int = 0,
    **config_overrides: object,
) -> Path:
    """A small audio-visual checkpoint (8 frames of 64x64 pixels, the default sound input) with
    random weights drawn from ``seed``, written to ``directory``."""
    torch.manual_seed(seed)
    spec = InputSpec(num_frames=8, image_size=64, patch_size=16, audio=AudioSpec())
    loaded = build_model(AV_MODEL_TYPE, spec, list(labels), **config_overrides)
    save_model(loaded, directory)
    return Path(directory)
