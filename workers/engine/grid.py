"""Helpers between pixel space ``(B, T, 3, S, S)`` and the token grid ``(B, T', h, w)``."""

from __future__ import annotations

import numpy as np
import torch

from workers.engine.errors import ExplainError


def pool_to_grid(x: torch.Tensor, grid: tuple[int, int, int], reduce: str = "mean") -> torch.Tensor:
    """Pixel values ``(B, T, S, S)`` -> one value per token cell ``(B, T', h, w)``.

    A cell is ``tubelet`` frames x ``patch`` x ``patch`` pixels (the token's receptive field)."""
    b, t, s, _ = x.shape
    gt, gh, gw = grid
    tub, ph, pw = t // gt, s // gh, s // gw
    x = x[:, : gt * tub, : gh * ph, : gw * pw]
    x = x.reshape(b, gt, tub, gh, ph, gw, pw)
    if reduce == "sum":
        return x.sum(dim=(2, 4, 6))
    return x.mean(dim=(2, 4, 6))


def tube_feature_mask(
    num_frames: int,
    size: int,
    grid: tuple[int, int, int],
    tube_frames: int,
    tube_cells: int,
    device: torch.device,
) -> tuple[torch.Tensor, int]:
    """Feature ids ``(1, T, 1, S, S)`` grouping pixels into space-time tubes: ``tube_cells`` x
    ``tube_cells`` token cells over ``tube_frames`` model frames. Returns (mask, n_features)."""
    gt, gh, gw = grid
    if not isinstance(tube_frames, int) or not 1 <= tube_frames <= num_frames:
        raise ExplainError(f"tube_frames must be an int in 1..{num_frames}, got {tube_frames!r}")
    if not isinstance(tube_cells, int) or not 1 <= tube_cells <= min(gh, gw):
        raise ExplainError(f"tube_cells must be an int in 1..{min(gh, gw)}, got {tube_cells!r}")
    patch = size // gh
    frame_group = np.arange(num_frames) // tube_frames
    cell_group = (np.arange(size) // patch).clip(max=gh - 1) // tube_cells
    n_rows = int(cell_group.max()) + 1
    ids = (
        frame_group[:, None, None] * (n_rows * n_rows)
        + cell_group[None, :, None] * n_rows
        + cell_group[None, None, :]
    )
    n = int(ids.max()) + 1
    mask = torch.from_numpy(ids.astype(np.int64)).to(device)
    return mask[None, :, None, :, :], n


def temporal_from_map(maps: torch.Tensor) -> torch.Tensor:
    """Temporal importance of attribution maps ``(B, T', h, w)``: positive mass per frame."""
    return maps.clamp_min(0).sum(dim=(2, 3))
