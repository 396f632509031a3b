"""Meta-evaluation statistics on plain data: how well each automatic metric of explanations
tracks each human outcome of a study.

Inputs are stimuli (one explanation of one video by one method), the metric values of each
stimulus, and the human observations: per-stimulus values of one participant (a rating, a
correct forward simulation, a pointing hit) and pairwise choices between stimuli.

**Levels.** *Per stimulus*: across stimuli, each stimulus' metric value against its human
outcome (the mean over participants; for pairwise choices the Bradley–Terry strength of the
stimulus among all stimuli, fitted with choix). *Per method*: the method means of the metric
against the method's human outcome (pooled over its trials; Bradley–Terry over methods), which
is the agreement of the two rankings of methods.

**Statistics.** Kendall's tau-b and Spearman's rho (``scipy.stats``) on the observed data (inside
the bootstrap the same two values come from :func:`tau_b` and :func:`rho`, checked against scipy
in the tests, because scipy's per-call overhead would dominate), with
percentile intervals from a two-way bootstrap: each of ``resamples`` replicates draws the videos
with replacement *and*, independently, the participants with replacement (the two sources of
sampling error of a study); a drawn video brings all its stimuli with the metric values, a
drawn participant all their answers, each as often as it was drawn. Replicates where a
correlation is undefined (fewer than three points, or a constant side) are skipped; an interval
needs at least half of the replicates. Every draw comes from ``numpy.random.default_rng(seed)``,
so a result is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import choix
import numpy as np
from scipy import stats

RESAMPLES = 500
CONFIDENCE = 0.95
LEVELS = ("stimulus", "method")


@dataclass(frozen=True)
class Stimulus:
    key: str
    video: str
    method: str


@dataclass
class Data:
    """Everything a meta-evaluation needs, as plain values.

    ``metrics[name][stimulus key]`` is a metric value (missing: not scored).
    ``means[outcome]`` lists ``(participant, stimulus key, value)`` observations of a
    mean-type outcome; ``pairs`` lists ``(participant, winner key, loser key)`` choices, whose
    outcome is called ``pairwise_name``.
    """

    stimuli: list[Stimulus]
    metrics: dict[str, dict[str, float]]
    means: dict[str, list[tuple[str, str, float]]] = field(default_factory=dict)
    pairs: list[tuple[str, str, str]] = field(default_factory=list)
    pairwise_name: str = "bradley_terry"


def _finite(x: Any) -> float | None:
    return float(x) if x is not None and math.isfinite(float(x)) else None


def _bt(n: int, winners: np.ndarray, losers: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Bradley–Terry log-strengths of ``n`` items (choix's dense ILSR on the matrix of weighted
    win counts, the same model and regularization as the study analysis); NaN for an item
    never compared."""
    keep = counts > 0
    out = np.full(n, np.nan)
    if not keep.any():
        return out
    w, l_, c = winners[keep], losers[keep], counts[keep]
    seen = np.unique(np.concatenate([w, l_]))
    if len(seen) < 2:
        return out
    local = np.full(n, -1)
    local[seen] = np.arange(len(seen))
    wins = np.zeros((len(seen), len(seen)))
    np.add.at(wins, (local[w], local[l_]), c)
    out[seen] = choix.ilsr_pairwise_dense(wins, alpha=0.01, tol=1e-6)
    return out


def tau_b(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-b over all pairs (the same value as ``scipy.stats.kendalltau``; used inside
    the bootstrap, where scipy's per-call overhead dominates)."""
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    den = math.sqrt(float(np.abs(dx).sum()) * float(np.abs(dy).sum()))
    return float((dx * dy).sum() / den) if den else math.nan


def _ranks(x: np.ndarray) -> np.ndarray:
    """Average ranks (ties share the mean of their positions), as ``scipy.stats.rankdata``."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2.0)[inverse]


def rho(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho: Pearson's r of the average ranks (``scipy.stats.spearmanr``'s value)."""
    rx, ry = _ranks(x), _ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    den = math.sqrt(float((rx * rx).sum()) * float((ry * ry).sum()))
    return float((rx * ry).sum() / den) if den else math.nan


class _Prepared:
    """Index arrays over the data, so one replicate is a few ``bincount`` calls."""

    def __init__(self, data: Data):
        self.data = data
        self.stimuli = data.stimuli
        self.s_index = {s.key: i for i, s in enumerate(self.stimuli)}
        self.videos = sorted({s.video for s in self.stimuli})
        self.methods = sorted({s.method for s in self.stimuli})
        v_index = {v: i for i, v in enumerate(self.videos)}
        m_index = {m: i for i, m in enumerate(self.methods)}
        self.s_video = np.array([v_index[s.video] for s in self.stimuli], dtype=int)
        self.s_method = np.array([m_index[s.method] for s in self.stimuli], dtype=int)
        participants = sorted(
            {p for obs in data.means.values() for p, _, _ in obs} | {p for p, _, _ in data.pairs}
        )
        self.participants = participants
        p_index = {p: i for i, p in enumerate(participants)}
        self.means = {}
        for name, obs in data.means.items():
            rows = [(p_index[p], self.s_index[s], v) for p, s, v in obs if s in self.s_index]
            if rows:
                arr = np.array(rows, dtype=float)
                self.means[name] = (arr[:, 0].astype(int), arr[:, 1].astype(int), arr[:, 2])
        rows = [
            (p_index[p], self.s_index[w], self.s_index[l_])
            for p, w, l_ in data.pairs
            if w in self.s_index and l_ in self.s_index
        ]
        self.pairs = np.array(rows, dtype=int).reshape(-1, 3)
        self.metric_names = [m for m in data.metrics if data.metrics[m]]
        self.metric_values = {
            name: np.array(
                [data.metrics[name].get(s.key, np.nan) for s in self.stimuli], dtype=float
            )
            for name in self.metric_names
        }
        self.outcome_names = list(self.means) + ([data.pairwise_name] if len(self.pairs) else [])

    def outcomes(self, wp: np.ndarray, wv: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
        """Human outcomes per stimulus and per method under participant weights ``wp`` and
        video weights ``wv`` (draw counts; all ones is the observed data)."""
        n_s, n_m = len(self.stimuli), len(self.methods)
        out: dict[str, dict[str, np.ndarray]] = {"stimulus": {}, "method": {}}
        for name, (p, s, v) in self.means.items():
            w = wp[p]
            num = np.bincount(s, weights=w * v, minlength=n_s)
            den = np.bincount(s, weights=w, minlength=n_s)
            with np.errstate(invalid="ignore", divide="ignore"):
                out["stimulus"][name] = np.where(den > 0, num / den, np.nan)
            wm = w * wv[self.s_video[s]]
            num = np.bincount(self.s_method[s], weights=wm * v, minlength=n_m)
            den = np.bincount(self.s_method[s], weights=wm, minlength=n_m)
            with np.errstate(invalid="ignore", divide="ignore"):
                out["method"][name] = np.where(den > 0, num / den, np.nan)
        if len(self.pairs):
            p, w_, l_ = self.pairs[:, 0], self.pairs[:, 1], self.pairs[:, 2]
            counts = wp[p]
            name = self.data.pairwise_name
            out["stimulus"][name] = _bt(n_s, w_, l_, counts)
            out["method"][name] = _bt(
                n_m, self.s_method[w_], self.s_method[l_], counts * wv[self.s_video[w_]]
            )
        return out

    def metric_by_method(self, wv: np.ndarray) -> dict[str, np.ndarray]:
        """Each metric's mean per method, stimuli weighted by their video's draw count."""
        out = {}
        for name, values in self.metric_values.items():
            ok = np.isfinite(values)
            w = wv[self.s_video] * ok
            num = np.bincount(
                self.s_method, weights=np.where(ok, values, 0.0) * w, minlength=len(self.methods)
            )
            den = np.bincount(self.s_method, weights=w, minlength=len(self.methods))
            with np.errstate(invalid="ignore", divide="ignore"):
                out[name] = np.where(den > 0, num / den, np.nan)
        return out


def _points(x: np.ndarray, y: np.ndarray, repeat: np.ndarray | None = None):
    if repeat is not None:
        x, y = np.repeat(x, repeat), np.repeat(y, repeat)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return None
    return x, y


def correlate(x: np.ndarray, y: np.ndarray):
    """Kendall's tau-b and Spearman's rho (scipy) of the finite pairs, with their p-values and
    the number of points; ``None`` where undefined."""
    found = _points(x, y)
    if found is None:
        return None
    x, y = found
    tau = stats.kendalltau(x, y, variant="b")
    rho_ = stats.spearmanr(x, y)
    return (
        float(tau.statistic),
        float(tau.pvalue),
        float(rho_.statistic),
        float(rho_.pvalue),
        int(len(x)),
    )


def _replicate(x: np.ndarray, y: np.ndarray, repeat: np.ndarray | None = None):
    found = _points(x, y, repeat)
    if found is None:
        return None
    return tau_b(*found), rho(*found)


def _interval(values: list[float], resamples: int, confidence: float):
    if len(values) < max(1, resamples // 2):
        return None, None
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(np.asarray(values), [alpha, 1 - alpha])
    return float(lo), float(hi)


def relate(
    data: Data, *, seed: int = 0, resamples: int = RESAMPLES, confidence: float = CONFIDENCE
) -> dict[str, Any]:
    """Every metric against every outcome, per stimulus and per method (see the module
    docstring); the points behind each pair and the ranking of methods by every measure."""
    prep = _Prepared(data)
    n_v, n_p = len(prep.videos), len(prep.participants)
    ones_v, ones_p = np.ones(n_v), np.ones(max(n_p, 1))
    observed = prep.outcomes(ones_p, ones_v)
    observed_metric_m = prep.metric_by_method(ones_v)
    combos = [(m, o) for m in prep.metric_names for o in prep.outcome_names]
    boots: dict[tuple[str, str, str], tuple[list[float], list[float]]] = {
        (level, m, o): ([], []) for level in LEVELS for m, o in combos
    }
    rng = np.random.default_rng(seed)
    if combos and n_v and n_p:
        for _ in range(resamples):
            wv = np.bincount(rng.integers(0, n_v, n_v), minlength=n_v).astype(float)
            wp = np.bincount(rng.integers(0, n_p, n_p), minlength=n_p).astype(float)
            rep = prep.outcomes(wp, wv)
            metric_m = prep.metric_by_method(wv)
            repeat_s = wv[prep.s_video].astype(int)
            for m, o in combos:
                r = _replicate(prep.metric_values[m], rep["stimulus"][o], repeat_s)
                if r is not None:
                    boots[("stimulus", m, o)][0].append(r[0])
                    boots[("stimulus", m, o)][1].append(r[1])
                r = _replicate(metric_m[m], rep["method"][o])
                if r is not None:
                    boots[("method", m, o)][0].append(r[0])
                    boots[("method", m, o)][1].append(r[1])
    pairs = []
    for level in LEVELS:
        for m, o in combos:
            if level == "stimulus":
                r = correlate(prep.metric_values[m], observed["stimulus"][o])
            else:
                r = correlate(observed_metric_m[m], observed["method"][o])
            taus, rhos = boots[(level, m, o)]
            tau_ci = _interval(taus, resamples, confidence)
            rho_ci = _interval(rhos, resamples, confidence)
            pairs.append(
                {
                    "level": level,
                    "metric": m,
                    "outcome": o,
                    "n": r[4] if r else 0,
                    "kendall_tau": r[0] if r else None,
                    "kendall_p": _finite(r[1]) if r else None,
                    "kendall_ci_low": tau_ci[0],
                    "kendall_ci_high": tau_ci[1],
                    "spearman_rho": r[2] if r else None,
                    "spearman_p": _finite(r[3]) if r else None,
                    "spearman_ci_low": rho_ci[0],
                    "spearman_ci_high": rho_ci[1],
                    "resamples_used": len(taus),
                }
            )
    stimulus_points = [
        {
            "stimulus": s.key,
            "video": s.video,
            "method": s.method,
            "metrics": {m: _finite(prep.metric_values[m][i]) for m in prep.metric_names},
            "outcomes": {o: _finite(observed["stimulus"][o][i]) for o in prep.outcome_names},
        }
        for i, s in enumerate(prep.stimuli)
    ]
    method_points = [
        {
            "method": method,
            "metrics": {m: _finite(observed_metric_m[m][j]) for m in prep.metric_names},
            "outcomes": {o: _finite(observed["method"][o][j]) for o in prep.outcome_names},
        }
        for j, method in enumerate(prep.methods)
    ]
    return {
        "confidence": confidence,
        "resamples": resamples,
        "seed": seed,
        "counts": {"stimuli": len(prep.stimuli), "videos": n_v, "participants": n_p},
        "methods": prep.methods,
        "metrics": prep.metric_names,
        "outcomes": prep.outcome_names,
        "pairs": pairs,
        "stimulus_points": stimulus_points,
        "method_points": method_points,
        "rankings": rankings(method_points),
    }


def rankings(method_points: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The methods ordered by each measure, highest value first (unknown values last)."""
    out = []
    for kind in ("metrics", "outcomes"):
        names = list(method_points[0][kind]) if method_points else []
        for name in names:
            valued = [(p[kind][name], p["method"]) for p in method_points]
            order = sorted(valued, key=lambda t: (t[0] is None, -(t[0] or 0.0), t[1]))
            out.append(
                {
                    "measure": name,
                    "kind": kind[:-1],
                    "order": [{"method": m, "value": v} for v, m in order],
                }
            )
    return out
