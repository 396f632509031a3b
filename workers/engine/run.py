"""The run context: the state of one ``explain()`` call, handed to the method function.

A method reads the model, the batch of clips (one normalized tensor), the resolved parameters and
the requested targets from its :class:`Run`, evaluates the model only through
:meth:`Run.forward` (which counts forward passes per clip) and adds its backward passes to
:attr:`Run.backward_passes` itself.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


@dataclass
class Run:
    """State of one ``explain()`` call, handed to the method function."""

    loaded: Any
    inputs: torch.Tensor  # (B, T, 3, S, S) normalized, on the model's device
    params: dict[str, Any]
    requested_target: list[int] | None
    forward_passes: int = 0
    backward_passes: int = 0
    logits: torch.Tensor | None = None  # (B, C) of the unperturbed clips, float32
    extras: dict[str, Any] = field(default_factory=dict)
    audio: torch.Tensor | None = None  # (B, samples) waveforms of audio-visual models

    @property
    def model(self) -> torch.nn.Module:
        return self.loaded.model

    @property
    def batch(self) -> int:
        return int(self.inputs.shape[0])

    @property
    def grid(self) -> tuple[int, int, int]:
        return tuple(self.loaded.spec.grid)

    @property
    def device(self) -> torch.device:
        return self.inputs.device

    def autocast(self):
        """bf16 or fp16 autocast on CUDA for ``precision="bf16"``/``"fp16"``; else nothing."""
        dtype = AUTOCAST_DTYPES.get(self.params.get("precision", "fp32"))
        if dtype is None:
            return nullcontext()
        return torch.autocast(device_type="cuda", dtype=dtype)

    def forward(
        self, x: torch.Tensor, *, grad: bool = False, audio: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Logits (float32) for a batch of clips; counts one forward pass per clip.

        Audio-visual models hear ``audio`` (default: the clips' own sound, when ``x`` is a batch
        of the same size as the clips)."""
        self.forward_passes += int(x.shape[0])
        if audio is None and self.audio is not None:
            if x.shape[0] != self.audio.shape[0]:
                raise RuntimeError(  # a method bug: perturbed batches must pass their audio
                    f"{x.shape[0]} clips of frames for {self.audio.shape[0]} of audio"
                )
            audio = self.audio
        ctx = torch.enable_grad() if grad else torch.no_grad()
        with ctx, self.autocast():
            out = self.loaded.logits(x, audio)
        return out.float()

    def note_logits(self, logits: torch.Tensor) -> None:
        """Record the logits of the unperturbed batch (from a pass the method made anyway)."""
        self.logits = logits.detach().float()

    def base_logits(self) -> torch.Tensor:
        if self.logits is None:
            self.logits = self.forward(self.inputs)
        return self.logits

    def targets(self) -> list[int]:
        """The explained class of each clip: the requested one, else the top-1 prediction."""
        if self.requested_target is not None:
            return list(self.requested_target)
        return [int(i) for i in self.base_logits().argmax(dim=1).tolist()]

    def generator(self, offset: int = 0) -> np.random.Generator:
        return np.random.default_rng(int(self.params.get("seed", 0)) + offset)
