"""Helpers shared by the attribution methods (never defined in a method's own module).

* :func:`to_output` -- a method's torch results on the token grid -> :class:`MethodOutput`;
* :func:`normalize_last`, :func:`combine`, :func:`temporal_from_parts` -- the arithmetic that
  turns *where* and *when* into one map, shared by STAA and gradient-weighted attention.

Helpers between pixels and the token grid live in :mod:`workers.engine.grid`, those that capture
attention in :mod:`workers.engine.attention`.
"""

from __future__ import annotations

import torch

from workers.engine.registry import MethodOutput
from workers.engine.run import Run

EPS = 1e-12


def to_output(
    run: Run, maps: torch.Tensor, temporal: torch.Tensor, audio: torch.Tensor | None = None
) -> MethodOutput:
    """Maps (anything that reshapes to ``(B, T', h, w)``, e.g. ``(B, T', h*w)``), temporal
    ``(B, T')`` and, for audio-visual models, audio ``(B, A)`` -> float32 numpy output."""
    t, h, w = run.grid
    b = run.batch
    maps = maps.detach().float().reshape(b, t, h, w).cpu().numpy()
    temporal = temporal.detach().float().reshape(b, t).cpu().numpy()
    out = audio.detach().float().reshape(b, -1).cpu().numpy() if audio is not None else None
    return MethodOutput(maps=maps, temporal=temporal, audio=out)


def normalize_last(x: torch.Tensor) -> torch.Tensor:
    """Non-negative part of ``x``, normalized to sum 1 along the last axis."""
    x = x.clamp_min(0)
    return x / x.sum(dim=-1, keepdim=True).clamp_min(EPS)


def combine(spatial: torch.Tensor, temporal: torch.Tensor) -> torch.Tensor:
    """``(B, T, P)`` spatial and ``(B, T)`` temporal -> joint map ``(B, T, P)``.

    Each frame's spatial importance is normalized to sum 1, then scaled by the frame's
    normalized temporal importance, so the map's frame sums are the temporal importance."""
    return normalize_last(temporal)[..., None] * normalize_last(spatial)


def temporal_from_parts(
    spatial: torch.Tensor,
    recv: torch.Tensor | None,
    weighting: str,
) -> torch.Tensor:
    """Temporal importance ``(B, T)`` from fused spatial ``(B, T, P)`` and fused received
    temporal attention ``(B, P, T)`` (divided) or from the spatial mass (joint)."""
    if recv is None:
        return spatial.clamp_min(0).sum(dim=-1)
    if weighting == "uniform":
        return recv.mean(dim=1)
    w = normalize_last(spatial.clamp_min(0).mean(dim=1))  # (B, P)
    return torch.einsum("bp,bpt->bt", w, recv)
