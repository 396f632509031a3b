"""Sanity check: model-parameter randomization (Adebayo et al. 2018).

An explanation that does not change when the model's weights are randomized does not explain
the model. :func:`model_randomization_check` explains the same clips with the trained model and
with progressively randomized copies (cascade: head, then layers from the last to the first,
then embeddings) and reports the Spearman rank correlation between the maps at each stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


def rank_correlation(a: object, b: object) -> np.ndarray:
    """Spearman rank correlation between paired maps ``a[n]`` and ``b[n]`` (N, ...) -> (N,).

    Ties get average ranks; NaN where a map is constant."""
    from scipy import stats

    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.shape != y.shape or x.ndim < 2:
        raise ValueError(f"maps must be paired arrays shaped (N, ...); got {x.shape} and {y.shape}")
    x = x.reshape(x.shape[0], -1)
    y = y.reshape(y.shape[0], -1)
    rx = stats.rankdata(x, axis=1)
    ry = stats.rankdata(y, axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    den = np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))
    out = np.full(x.shape[0], np.nan)
    ok = den > 0
    out[ok] = (rx[ok] * ry[ok]).sum(axis=1) / den[ok]
    return out


@dataclass
class RandomizationResult:
    method: str
    stages: list[str]  # cascade order; the last stage has every weight randomized
    correlations: dict[str, np.ndarray] = field(default_factory=dict)  # stage -> (N,)

    def mean(self, stage: str) -> float:
        v = self.correlations[stage]
        v = v[np.isfinite(v)]
        return float(v.mean()) if v.size else float("nan")

    @property
    def fully_randomized(self) -> float:
        """Mean rank correlation with every weight randomized."""
        return self.mean(self.stages[-1])


def model_randomization_check(
    loaded: Any,
    clips: Any,
    method: str,
    cascade: bool = True,
    seed: int = 0,
    **params: Any,
) -> RandomizationResult:
    """Explain ``clips`` with the trained model and with randomized copies; return the map rank
    correlations per stage. With ``cascade=False`` only the fully randomized model is used.

    The explained class is the trained model's prediction, kept fixed for the randomized models.
    """
    from workers.engine import explain, randomization_stages, randomize_model

    reference = explain(loaded, clips, method, **params)
    targets = [e.target for e in reference]
    ref_maps = np.stack([e.map for e in reference])
    names = randomization_stages(loaded)
    stages = names if cascade else [names[-1]]
    result = RandomizationResult(method=method, stages=stages)
    for stage in stages:
        randomized = randomize_model(loaded, upto=stage, seed=seed)
        maps = np.stack([e.map for e in explain(randomized, clips, method, targets, **params)])
        result.correlations[stage] = rank_correlation(ref_maps, maps)
    return result
