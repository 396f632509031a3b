"""Statistics of the leaderboard: clustered bootstrap intervals and a paired permutation test.

Frames of one video are not independent (neighbouring frames look alike, one clip's map is one
decision), so the resampling unit is the **video**, never the frame:

* **Confidence intervals**: a seeded percentile bootstrap over videos. Each of ``B`` resamples
  draws the videos with replacement (multinomial weights), and the statistic is recomputed as a
  ratio of weighted sums (``sum hits / sum counted frames``, or the energy / IoU sum over the
  counted frames). The 95% interval is the 2.5th and 97.5th percentiles. Every row of one
  leaderboard uses the *same* resamples, so rows are comparable, and a fixed seed makes the
  table reproducible (the same scores always give the same interval).
* **Paired test** between two methods on the same frames: the per-video difference in hits on
  their common frames, tested with a sign-flip permutation test (under the null hypothesis the
  method labels are exchangeable within each video): exact enumeration up to 16 videos, else
  ``PERMUTATIONS`` random flips, two-sided, ``p = (1 + #{|S*| >= |S|}) / (1 + R)`` for the
  random version.

Numpy only (no scipy): the web process and the ``default`` worker load this.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20240917
PERMUTATIONS = 20000
PERMUTATION_SEED = 7
EXACT_UP_TO = 16
CONFIDENCE = 0.95


def bootstrap_weights(n_units: int, resamples: int = BOOTSTRAP_RESAMPLES) -> np.ndarray:
    """Multinomial resampling weights ``(resamples, n_units)`` (how often each unit is drawn)."""
    if n_units == 0:
        return np.zeros((resamples, 0))
    rng = np.random.default_rng(BOOTSTRAP_SEED + n_units)
    return rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=resamples).astype(
        np.float64
    )


@dataclass
class Estimate:
    value: float | None
    low: float | None
    high: float | None
    n: int  # frames (or clips) the estimate is over

    def as_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n}


def ratio_estimate(numerator: np.ndarray, denominator: np.ndarray, weights: np.ndarray) -> Estimate:
    """``sum(numerator) / sum(denominator)`` with its bootstrap interval; per-unit arrays (V,).

    Resamples in which the denominator is 0 (no counted item drawn) are left out."""
    num = np.asarray(numerator, dtype=np.float64)
    den = np.asarray(denominator, dtype=np.float64)
    total = float(den.sum())
    if total <= 0:
        return Estimate(None, None, None, 0)
    value = float(num.sum() / total)
    bn = weights @ num
    bd = weights @ den
    ok = bd > 0
    if not ok.any():
        return Estimate(value, None, None, int(total))
    ratios = bn[ok] / bd[ok]
    alpha = (1.0 - CONFIDENCE) / 2.0
    low, high = np.quantile(ratios, [alpha, 1.0 - alpha])
    return Estimate(value, float(low), float(high), int(total))


@dataclass
class PairedTest:
    frames: int
    videos: int
    accuracy_a: float | None
    accuracy_b: float | None
    difference: float | None
    p_value: float | None
    a_only: int  # frames hit by a and missed by b
    b_only: int
    exact: bool

    def as_dict(self) -> dict:
        return {
            "frames": self.frames,
            "videos": self.videos,
            "accuracy_a": self.accuracy_a,
            "accuracy_b": self.accuracy_b,
            "difference": self.difference,
            "p_value": self.p_value,
            "a_only": self.a_only,
            "b_only": self.b_only,
            "exact": self.exact,
        }


def paired_permutation_test(
    hits_a: np.ndarray, hits_b: np.ndarray, units: np.ndarray
) -> PairedTest:
    """Two methods' hits on the same frames (``hits_a[i]``, ``hits_b[i]`` on frame ``i`` of
    video ``units[i]``): sign-flip permutation test of the per-video differences."""
    a = np.asarray(hits_a, dtype=np.int64)
    b = np.asarray(hits_b, dtype=np.int64)
    units = np.asarray(units)
    n = int(a.size)
    if n == 0:
        return PairedTest(0, 0, None, None, None, None, 0, 0, True)
    _, inverse = np.unique(units, return_inverse=True)
    d = np.bincount(inverse, weights=(a - b).astype(np.float64))
    v = d.size
    observed = abs(float(d.sum()))
    nonzero = d[d != 0]
    k = nonzero.size
    if k == 0:
        p = 1.0
        exact = True
    elif k <= EXACT_UP_TO:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=k)))
        stats = np.abs(signs @ nonzero)
        p = float(np.mean(stats >= observed - 1e-9))
        exact = True
    else:
        rng = np.random.default_rng(PERMUTATION_SEED)
        signs = rng.choice((-1.0, 1.0), size=(PERMUTATIONS, k))
        stats = np.abs(signs @ nonzero)
        p = float((1 + np.count_nonzero(stats >= observed - 1e-9)) / (1 + PERMUTATIONS))
        exact = False
    acc_a = float(a.mean())
    acc_b = float(b.mean())
    return PairedTest(
        frames=n,
        videos=int(v),
        accuracy_a=acc_a,
        accuracy_b=acc_b,
        difference=acc_a - acc_b,
        p_value=min(1.0, p),
        a_only=int(np.count_nonzero((a == 1) & (b == 0))),
        b_only=int(np.count_nonzero((a == 0) & (b == 1))),
        exact=exact,
    )
