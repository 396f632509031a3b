"""Complexity of explanation maps."""

from __future__ import annotations

import numpy as np


def gini(maps: object) -> float:
    """Sparsity of one map (any shape) as the Gini index of its absolute values
    (Chalasani et al. 2020): 0 when all cells are equal (or all zero), close to 1 when all mass
    sits on one cell. For many maps at once use :func:`gini_batch`."""
    a = np.asarray(maps, dtype=np.float64)
    return float(gini_batch(a.reshape(1, -1))[0])


def gini_batch(maps: object) -> np.ndarray:
    """Gini index of each row of ``maps`` (N, ...) -> (N,), vectorized.

    ``G = sum_i (2i - n - 1) x_(i) / (n * sum_i x_(i))`` over the absolute values sorted
    ascending (i = 1..n); 0 for an all-zero map."""
    a = np.abs(np.asarray(maps, dtype=np.float64))
    if a.ndim < 2:
        raise ValueError(f"maps must be shaped (N, ...); got {a.shape}")
    a = a.reshape(a.shape[0], -1)
    if not np.all(np.isfinite(a)):
        raise ValueError("maps contain NaN or infinite values")
    n = a.shape[1]
    s = np.sort(a, axis=1)
    coef = 2.0 * np.arange(1, n + 1) - n - 1
    total = s.sum(axis=1)
    out = np.zeros(a.shape[0])
    pos = total > 0
    out[pos] = (s[pos] @ coef) / (n * total[pos])
    return out
