"""Faithfulness of explanation maps by perturbation, over space-time token cells.

All functions take a ``predict`` callable: float frames ``(B, T, S, S, 3)`` in [0, 255] ->
class probabilities ``(B, C)`` (``workers.engine.predict_probabilities(model)`` builds one), one
clip's uint8 frames ``(T, S, S, 3)``, its map on the token grid ``(T', h, w)`` and the explained
class. A cell ``(t, i, j)`` covers model frames ``[t*T/T', (t+1)*T/T')`` and pixels
``[i*S/h, (i+1)*S/h) x [j*S/w, (j+1)*S/w)``. Removed cells are replaced by the baseline: a
constant colour (default mid-grey 127.5, i.e. the usual normalization mean) or ``"blur"`` (a
heavily blurred copy of the clip). Cells are ranked by map value, highest first; ties keep
row-major order (stable sort), the same rule as the pointing games.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Predict = Callable[[np.ndarray], np.ndarray]
DEFAULT_BASELINE = (127.5, 127.5, 127.5)


@dataclass
class CurveResult:
    fractions: np.ndarray  # (n_steps+1,) fraction of cells removed / inserted
    scores: np.ndarray  # (n_steps+1,) target probability
    auc: float


def _check(frames: np.ndarray, cmap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    frames = np.asarray(frames)
    cmap = np.asarray(cmap, dtype=np.float64)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[1] != frames.shape[2]:
        raise ValueError(f"frames must be shaped (T, S, S, 3); got {frames.shape}")
    if cmap.ndim != 3:
        raise ValueError(f"the map must be shaped (T', h, w); got {cmap.shape}")
    t, s = frames.shape[0], frames.shape[1]
    gt, gh, gw = cmap.shape
    if t % gt or s % gh or s % gw:
        raise ValueError(
            f"map grid {cmap.shape} does not tile frames {frames.shape[:3]} into whole cells"
        )
    if not np.all(np.isfinite(cmap)):
        raise ValueError("the map contains NaN or infinite values")
    return frames.astype(np.float32), cmap


def cell_order(cmap: np.ndarray) -> np.ndarray:
    """Flat cell indices, highest value first; ties in row-major order."""
    flat = np.asarray(cmap, dtype=np.float64).ravel()
    return np.argsort(-flat, kind="stable")


def expand_cells(cell_mask: np.ndarray, frames_shape: tuple[int, ...]) -> np.ndarray:
    """Boolean cells ``(..., T', h, w)`` -> pixel mask ``(..., T, S, S, 1)``."""
    t, s = frames_shape[0], frames_shape[1]
    gt, gh, gw = cell_mask.shape[-3:]
    m = np.repeat(cell_mask, t // gt, axis=-3)
    m = np.repeat(m, s // gh, axis=-2)
    m = np.repeat(m, s // gw, axis=-1)
    return m[..., None]


def baseline_frames(frames: np.ndarray, baseline: object) -> np.ndarray:
    """The clip with all content removed: a constant colour or a blurred copy."""
    frames = np.asarray(frames, dtype=np.float32)
    if isinstance(baseline, str):
        if baseline != "blur":
            raise ValueError(f"baseline must be 'blur' or an RGB colour, got {baseline!r}")
        from scipy.ndimage import gaussian_filter

        sigma = frames.shape[1] / 8.0
        return gaussian_filter(frames, sigma=(0, sigma, sigma, 0), mode="nearest")
    colour = np.asarray(baseline, dtype=np.float32).reshape(-1)
    if colour.size == 1:
        colour = np.repeat(colour, 3)
    if colour.size != 3:
        raise ValueError(f"baseline colour must have 3 values, got {baseline!r}")
    return np.broadcast_to(colour, frames.shape).astype(np.float32)


def _predict_batched(
    predict: Predict, batch: np.ndarray, target: int, batch_size: int
) -> np.ndarray:
    out = []
    for i in range(0, batch.shape[0], batch_size):
        probs = np.asarray(predict(batch[i : i + batch_size]))
        if probs.ndim != 2 or not 0 <= target < probs.shape[1]:
            raise ValueError(
                f"target {target} is out of range for predictions shaped {probs.shape}"
            )
        out.append(probs[:, target])
    return np.concatenate(out).astype(np.float64)


def _steps_counts(n_cells: int, n_steps: int) -> np.ndarray:
    if not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive int, got {n_steps!r}")
    return np.round(np.linspace(0, n_cells, n_steps + 1)).astype(int)


def _curve(
    predict: Predict,
    frames: np.ndarray,
    cmap: np.ndarray,
    target: int,
    n_steps: int,
    baseline: object,
    batch_size: int,
    insertion: bool,
) -> CurveResult:
    x, cmap = _check(frames, cmap)
    base = baseline_frames(x, baseline)
    counts, chosen = _ranked_steps(cmap, n_steps)
    mask = expand_cells(chosen.reshape(-1, *cmap.shape), x.shape)
    if insertion:
        batch = np.where(mask, x[None], base[None])
    else:
        batch = np.where(mask, base[None], x[None])
    scores = _predict_batched(predict, batch.astype(np.float32), target, batch_size)
    return _result(scores, counts, cmap.size)


def _ranked_steps(values: np.ndarray, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """How many units each step takes, most important first (ties in index order), and which:
    ``counts`` (steps+1,) and ``chosen`` (steps+1, units)."""
    order = cell_order(values)
    n = order.size
    counts = _steps_counts(n, n_steps)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return counts, rank[None, :] < counts[:, None]


def _result(scores: np.ndarray, counts: np.ndarray, n: int) -> CurveResult:
    fractions = counts / n
    return CurveResult(
        fractions=fractions, scores=scores, auc=float(np.trapezoid(scores, fractions))
    )


def deletion_curve(
    predict: Predict,
    frames: np.ndarray,
    cmap: np.ndarray,
    target: int,
    n_steps: int = 16,
    baseline: object = DEFAULT_BASELINE,
    batch_size: int = 17,
) -> CurveResult:
    """Deletion (Petsiuk et al. 2018): remove cells in order of the map, most important
    first, in ``n_steps`` equal steps; AUC of the target probability over the removed
    fraction (trapezoid on [0, 1]). Lower is better."""
    return _curve(predict, frames, cmap, target, n_steps, baseline, batch_size, insertion=False)


def insertion_curve(
    predict: Predict,
    frames: np.ndarray,
    cmap: np.ndarray,
    target: int,
    n_steps: int = 16,
    baseline: object = DEFAULT_BASELINE,
    batch_size: int = 17,
) -> CurveResult:
    """Insertion: start from the baseline and put cells back, most important first; AUC of the
    target probability over the inserted fraction. Higher is better."""
    return _curve(predict, frames, cmap, target, n_steps, baseline, batch_size, insertion=True)


def _audio_curve(
    predict_audio: Predict,
    audio: np.ndarray,
    importance: np.ndarray,
    target: int,
    n_steps: int | None,
    batch_size: int,
    insertion: bool,
) -> CurveResult:
    wave = np.asarray(audio, dtype=np.float32)
    imp = np.asarray(importance, dtype=np.float64)
    if wave.ndim != 1 or imp.ndim != 1 or imp.size < 1 or wave.size < imp.size:
        raise ValueError(
            f"need one waveform (S,) and its token importances (A,) with S >= A; got "
            f"{wave.shape} and {imp.shape}"
        )
    if not np.all(np.isfinite(imp)):
        raise ValueError("the audio importance contains NaN or infinite values")
    a = imp.size
    edges = np.round(np.arange(a + 1) * wave.size / a).astype(int)
    token_of_sample = np.searchsorted(edges, np.arange(wave.size), side="right") - 1
    counts, chosen = _ranked_steps(imp, n_steps if n_steps is not None else a)
    chosen = chosen[:, token_of_sample]  # (steps+1, S): samples taken at each step
    batch = np.where(chosen, wave[None], 0.0) if insertion else np.where(chosen, 0.0, wave[None])
    scores = _predict_batched(predict_audio, batch.astype(np.float32), target, batch_size)
    return _result(scores, counts, a)


def audio_deletion_curve(
    predict_audio: Predict,
    audio: np.ndarray,
    importance: np.ndarray,
    target: int,
    n_steps: int | None = None,
    batch_size: int = 17,
) -> CurveResult:
    """Deletion over time for sound: silence the audio tokens' segments of the waveform in
    order of ``importance`` (most important first; ties in index order), one token per step
    by default, with the picture unchanged; AUC of the target probability over the silenced
    fraction. ``predict_audio`` maps waveforms ``(B, S)`` of one clip to probabilities
    ``(B, C)`` (``workers.engine.predict_probabilities_audio``). Lower is better."""
    return _audio_curve(
        predict_audio, audio, importance, target, n_steps, batch_size, insertion=False
    )


def audio_insertion_curve(
    predict_audio: Predict,
    audio: np.ndarray,
    importance: np.ndarray,
    target: int,
    n_steps: int | None = None,
    batch_size: int = 17,
) -> CurveResult:
    """Insertion over time for sound: start from silence and put the audio tokens' segments
    back, most important first; AUC of the target probability. Higher is better."""
    return _audio_curve(
        predict_audio, audio, importance, target, n_steps, batch_size, insertion=True
    )


def faithfulness_correlation(
    predict: Predict,
    frames: np.ndarray,
    cmap: np.ndarray,
    target: int,
    n_subsets: int = 64,
    subset_fraction: float = 0.1,
    baseline: object = DEFAULT_BASELINE,
    seed: int = 0,
    batch_size: int = 16,
) -> float:
    """Faithfulness correlation (Bhatt et al. 2020): over ``n_subsets`` random subsets of
    ``subset_fraction`` of the cells, the Pearson correlation between the map's sum over the
    subset and the drop of the target probability when the subset is removed. NaN when either
    side is constant."""
    x, cmap = _check(frames, cmap)
    if not 0.0 < subset_fraction <= 1.0:
        raise ValueError(f"subset_fraction must be in (0, 1], got {subset_fraction!r}")
    base = baseline_frames(x, baseline)
    n = cmap.size
    k = max(1, int(round(subset_fraction * n)))
    rng = np.random.default_rng(seed)
    chosen = np.zeros((n_subsets, n), dtype=bool)
    for r in range(n_subsets):  # n_subsets is small; the model calls dominate
        chosen[r, rng.choice(n, size=k, replace=False)] = True
    mask = expand_cells(chosen.reshape(-1, *cmap.shape), x.shape)
    batch = np.where(mask, base[None], x[None]).astype(np.float32)
    full = _predict_batched(predict, x[None], target, 1)[0]
    drops = full - _predict_batched(predict, batch, target, batch_size)
    sums = chosen.astype(np.float64) @ cmap.ravel()
    if np.std(sums) == 0 or np.std(drops) == 0:
        return float("nan")
    return float(np.corrcoef(sums, drops)[0, 1])


def monotonicity(
    predict: Predict,
    frames: np.ndarray,
    cmap: np.ndarray,
    target: int,
    n_groups: int = 16,
    baseline: object = DEFAULT_BASELINE,
    batch_size: int = 17,
) -> float:
    """Monotonicity correlation (Nguyen & Martinez 2020): cells are ranked by the map and cut
    into ``n_groups`` groups of consecutive rank; Spearman correlation between each group's
    total attribution and the drop of the target probability when only that group is removed.
    1 means the map orders the evidence exactly as the model uses it. NaN when constant."""
    x, cmap = _check(frames, cmap)
    base = baseline_frames(x, baseline)
    order = cell_order(cmap)
    n = order.size
    if not isinstance(n_groups, int) or not 2 <= n_groups <= n:
        raise ValueError(f"n_groups must be an int in 2..{n}, got {n_groups!r}")
    groups = np.array_split(order, n_groups)
    chosen = np.zeros((n_groups, n), dtype=bool)
    for g, idx in enumerate(groups):
        chosen[g, idx] = True
    mask = expand_cells(chosen.reshape(-1, *cmap.shape), x.shape)
    batch = np.where(mask, base[None], x[None]).astype(np.float32)
    full = _predict_batched(predict, x[None], target, 1)[0]
    drops = full - _predict_batched(predict, batch, target, batch_size)
    attr = chosen.astype(np.float64) @ cmap.ravel()
    if np.std(attr) == 0 or np.std(drops) == 0:
        return float("nan")
    from scipy import stats

    return float(stats.spearmanr(attr, drops).statistic)
