"""Study analysis: exclusions, ratings, pairwise preferences, forward simulation, distinction,
pointing, confidence calibration, agreement, speeders, and the long-format CSV.

Everything is computed from stored rows at analysis time (nothing is deleted to exclude) and is
deterministic: every resampling is seeded from the study's seed. The module is long but one
concern: each measure is a short function over the same response rows, and the report and
the CSV assemble them.
"""

from __future__ import annotations

import io
import math
from collections import defaultdict
from typing import Any

import choix
import krippendorff
import numpy as np
from scipy import stats

from wherewhen.core import limits
from wherewhen.core.csvsafe import SafeDictWriter
from wherewhen.studies import provenance
from wherewhen.studies.models import Response, Session, Study, Trial, TrialKind

N_BOOTSTRAP = 1000
N_BOOTSTRAP_BT = 200
CSV_FIELDS = [
    "participant",
    "session",
    "order_row",
    "trial",
    "kind",
    "practice",
    "condition",
    "stimulus",
    "method",
    "other_stimulus",
    "other_method",
    "candidates",
    "video",
    "answer",
    "value",
    "correct",
    "confidence",
    "late",
    "response_ms",
    "speeder",
    "client_ms",
    "served_at",
    "received_at",
    "viewport_width",
    "viewport_height",
    "excluded",
    "exclusion_reason",
]
CSV_FIELDS += [f for f in provenance.PROVENANCE_FIELDS if f not in CSV_FIELDS]  # at the end


def _finite(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


# --- Rows and exclusions -------------------------------------------------------------------------


def failed_checks(study: Study) -> dict[int, int]:
    """Failed attention checks per session id."""
    failed: dict[int, int] = defaultdict(int)
    for session_id, correct in Response.objects.filter(
        session__study=study, trial__kind=TrialKind.ATTENTION
    ).values_list("session_id", "correct"):
        if correct is False:
            failed[session_id] += 1
    return failed


def exclusion_reason(study: Study, response: Response, failed: int, preview: bool) -> str:
    """Why a response is left out of the analysis ('' when it counts)."""
    if preview:
        return "preview"
    if response.session.returned_at is not None:
        return "returned"
    if failed > study.max_failed_checks:
        return "failed_attention_checks"
    if response.trial.practice:
        return "practice"
    if response.late:
        return "late"
    if response.trial.kind == TrialKind.ATTENTION:
        return "attention_check"
    if response.response_ms is not None and response.response_ms < study.min_response_ms:
        return "too_fast"
    return ""


#: Speeders: a response is flagged when its log response time lies more than this many
#: standard deviations below the median log time of its trial kind (see :func:`speeder_bounds`).
SPEEDER_SD = 3.0
SPEEDER_MIN_RESPONSES = 5


def speeder_bounds(times: dict[str, list[int]]) -> dict[str, float]:
    """Per trial kind, the response time (ms) below which a response is flagged as a speeder:
    ``exp(median(log t) - 3 SD(log t))`` over that kind's main-trial responses (non-preview,
    non-practice; the sample SD). Response times are right-skewed, so the rule works on their
    logarithm: on raw milliseconds "3 SD below the median" is nearly always below zero. Kinds
    with fewer than :data:`SPEEDER_MIN_RESPONSES` timed responses get no bound."""
    out = {}
    for kind, values in times.items():
        logs = np.log(np.asarray([max(1, v) for v in values], dtype=np.float64))
        if len(logs) < SPEEDER_MIN_RESPONSES:
            continue
        sd = float(np.std(logs, ddof=1))
        out[kind] = float(math.exp(float(np.median(logs)) - SPEEDER_SD * sd))
    return out


def long_rows(study: Study) -> list[dict[str, Any]]:
    """One row per stored response (long format), with its exclusion decided now."""
    failed = failed_checks(study)
    rows = []
    responses = (
        Response.objects.filter(session__study=study)
        .select_related("session", "trial__stimulus_a", "trial__stimulus_b")
        .order_by("session_id", "trial__index")
    )
    for r in responses:
        trial: Trial = r.trial
        session: Session = r.session
        a, b = trial.stimulus_a, trial.stimulus_b
        value: Any = None
        if trial.kind == TrialKind.RATING:
            value = r.answer.get("rating")
        elif trial.kind == TrialKind.PAIRWISE:
            value = "a" if r.answer.get("choice") == (a.token if a else None) else "b"
        elif trial.kind in (TrialKind.FORWARD, TrialKind.DISTINCTION):
            value = r.answer.get("label")
        elif trial.kind == TrialKind.ATTENTION:
            value = r.answer.get("choice")
        elif trial.kind == TrialKind.POINTING:
            value = f"{r.answer.get('x')},{r.answer.get('y')}@{r.answer.get('time')}"
        reason = exclusion_reason(study, r, failed.get(session.pk, 0), session.preview)
        rows.append(
            {
                "participant": session.participant_id,
                "session": session.pk,
                "order_row": session.order_row,
                "trial": trial.index,
                "kind": trial.kind,
                "practice": trial.practice,
                "condition": trial.condition,
                "stimulus": a.token if a else "",
                "method": a.method if a else "",
                "other_stimulus": (
                    " ".join(t for t in trial.options if t != (a.token if a else None))
                    if trial.options
                    else (b.token if b else "")
                ),
                "other_method": b.method if b else "",
                "candidates": len(trial.options) if trial.options else None,
                "video": a.video_id if a else "",
                "answer": r.answer,
                "value": value,
                "correct": r.correct,
                "confidence": r.confidence,
                "late": r.late,
                "response_ms": r.response_ms,
                "speeder": False,
                "client_ms": r.client_ms,
                "served_at": r.served_at.isoformat() if r.served_at else "",
                "received_at": r.received_at.isoformat() if r.received_at else "",
                "viewport_width": r.viewport.get("width"),
                "viewport_height": r.viewport.get("height"),
                "excluded": bool(reason),
                "exclusion_reason": reason,
            }
        )
    _flag_speeders(rows)
    return rows


def _timed(row: dict[str, Any]) -> bool:
    return (
        row["exclusion_reason"] != "preview"
        and not row["practice"]
        and row["kind"] != TrialKind.ATTENTION
        and row["response_ms"] is not None
    )


def _speed_bounds(rows: list[dict[str, Any]]) -> dict[str, float]:
    times: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        if _timed(row):
            times[row["kind"]].append(row["response_ms"])
    return speeder_bounds(times)


def _flag_speeders(rows: list[dict[str, Any]]) -> None:
    """Set ``speeder`` on the rows under their kind's bound (flagged, not excluded)."""
    bounds = _speed_bounds(rows)
    for row in rows:
        bound = bounds.get(row["kind"])
        row["speeder"] = bool(_timed(row) and bound is not None and row["response_ms"] < bound)


CALIBRATION_FIELDS = ["kind", "confidence", "n", "correct", "accuracy", "ci_low", "ci_high"]


def calibration_csv_text(study: Study) -> str:
    """Accuracy by confidence level (all kinds with a correct answer, then each kind)."""
    report = analyze(study)["calibration"]
    out = io.StringIO()
    writer = SafeDictWriter(out, fieldnames=CALIBRATION_FIELDS, lineterminator="\n")
    writer.writeheader()
    tables = [("all", report["overall"]), *report["by_kind"].items()]
    for kind, table in tables:
        for level in table["levels"]:
            writer.writerow({"kind": kind, **level})
    return out.getvalue()


def csv_text(study: Study) -> str:
    """The long rows, each with the provenance columns of :mod:`wherewhen.studies.provenance`."""
    out = io.StringIO()
    writer = SafeDictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    sources = provenance.provenance_rows(study)
    for row in long_rows(study):
        row = {**row, **sources.get((row["session"], row["trial"]), {})}
        row["answer"] = ";".join(f"{k}={v}" for k, v in sorted(row["answer"].items()))
        writer.writerow(row)
    return out.getvalue()


# --- Statistics (pure functions on plain data) ------------------------------------------------


def rating_summary(
    ratings: dict[str, list[float]], *, seed: int = 0, confidence: float = 0.95
) -> list[dict[str, Any]]:
    """Mean rating per method with a percentile bootstrap interval (scipy)."""
    out = []
    for i, method in enumerate(sorted(ratings)):
        values = np.asarray(ratings[method], dtype=np.float64)
        low = high = None
        if len(values) >= 2 and np.ptp(values) > 0:
            res = stats.bootstrap(
                (values,),
                np.mean,
                confidence_level=confidence,
                n_resamples=N_BOOTSTRAP,
                method="percentile",
                rng=np.random.default_rng(seed + i),
            )
            low, high = _finite(res.confidence_interval.low), _finite(res.confidence_interval.high)
        elif len(values):
            low = high = float(values.mean())
        out.append(
            {
                "method": method,
                "n": int(len(values)),
                "mean": float(values.mean()) if len(values) else None,
                "ci_low": low,
                "ci_high": high,
            }
        )
    return out


def _bt_fit(n_items: int, pairs: list[tuple[int, int]]) -> np.ndarray:
    return np.asarray(choix.ilsr_pairwise(n_items, pairs, alpha=0.01), dtype=np.float64)


def bradley_terry(
    comparisons: list[tuple[str, str, str]],
    *,
    seed: int = 0,
    n_boot: int = N_BOOTSTRAP_BT,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Bradley–Terry scores (choix, log-strengths centred at 0) from ``(participant, winner,
    loser)`` triples, with percentile intervals from a bootstrap over participants; and the
    win rate of every pair."""
    methods = sorted({m for _, w, l_ in comparisons for m in (w, l_)})
    if len(methods) < 2:
        return {"methods": methods, "scores": [], "pairs": []}
    index = {m: i for i, m in enumerate(methods)}
    by_participant: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for participant, winner, loser in comparisons:
        by_participant[participant].append((index[winner], index[loser]))
    participants = sorted(by_participant)
    every = [p for q in participants for p in by_participant[q]]
    theta = _bt_fit(len(methods), every)
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        drawn = rng.integers(0, len(participants), len(participants))
        sample = [p for k in drawn for p in by_participant[participants[k]]]
        boots.append(_bt_fit(len(methods), sample))
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(np.asarray(boots), [alpha, 1 - alpha], axis=0) if boots else (theta, theta)
    scores = [
        {"method": m, "score": float(theta[i]), "ci_low": float(lo[i]), "ci_high": float(hi[i])}
        for i, m in enumerate(methods)
    ]
    scores.sort(key=lambda r: -r["score"])
    wins: dict[tuple[str, str], int] = defaultdict(int)
    for _, w, l_ in comparisons:
        wins[(w, l_)] += 1
    pairs = []
    for i, a in enumerate(methods):
        for b in methods[i + 1 :]:
            n = wins[(a, b)] + wins[(b, a)]
            if n:
                ci = stats.binomtest(wins[(a, b)], n).proportion_ci(confidence, method="wilson")
                pairs.append(
                    {
                        "a": a,
                        "b": b,
                        "n": n,
                        "a_wins": wins[(a, b)],
                        "win_rate_a": wins[(a, b)] / n,
                        "ci_low": float(ci.low),
                        "ci_high": float(ci.high),
                    }
                )
    return {"methods": methods, "scores": scores, "pairs": pairs}


def accuracy_against_chance(
    outcomes: dict[str, list[bool]], chance: dict[str, float], confidence: float = 0.95
) -> list[dict[str, Any]]:
    """Accuracy per method, its Wilson interval, and a one-sided binomial test against chance."""
    out = []
    for method in sorted(outcomes):
        k, n = int(sum(outcomes[method])), len(outcomes[method])
        if not n:
            continue
        test = stats.binomtest(k, n, p=chance[method], alternative="greater")
        ci = stats.binomtest(k, n).proportion_ci(confidence, method="wilson")
        out.append(
            {
                "method": method,
                "n": n,
                "correct": k,
                "accuracy": k / n,
                "chance": chance[method],
                "p_value": float(test.pvalue),
                "ci_low": float(ci.low),
                "ci_high": float(ci.high),
            }
        )
    return out


def calibration(pairs: list[tuple[int, bool]], confidence: float = 0.95) -> dict[str, Any]:
    """Accuracy by confidence level from ``(confidence, correct)`` pairs: per level the count,
    accuracy and Wilson interval, and Spearman's rank correlation of confidence with
    correctness (positive: more confident answers are more often right)."""
    levels = []
    for level in range(limits.CONFIDENCE_MIN, limits.CONFIDENCE_MAX + 1):
        outcomes = [c for value, c in pairs if value == level]
        n, k = len(outcomes), int(sum(outcomes))
        row: dict[str, Any] = {"confidence": level, "n": n, "correct": k}
        if n:
            ci = stats.binomtest(k, n).proportion_ci(confidence, method="wilson")
            row.update(accuracy=k / n, ci_low=float(ci.low), ci_high=float(ci.high))
        else:
            row.update(accuracy=None, ci_low=None, ci_high=None)
        levels.append(row)
    rho = p_value = None
    if len(pairs) >= 3:
        xs = np.asarray([v for v, _ in pairs], dtype=np.float64)
        ys = np.asarray([float(c) for _, c in pairs], dtype=np.float64)
        if np.ptp(xs) > 0 and np.ptp(ys) > 0:
            res = stats.spearmanr(xs, ys)
            rho, p_value = _finite(float(res.statistic)), _finite(float(res.pvalue))
    return {
        "n": len(pairs),
        "accuracy": (sum(c for _, c in pairs) / len(pairs)) if pairs else None,
        "mean_confidence": (sum(v for v, _ in pairs) / len(pairs)) if pairs else None,
        "levels": levels,
        "spearman_rho": rho,
        "p_value": p_value,
    }


def rating_alpha(units: dict[str, dict[str, float]], level: str = "ordinal") -> float | None:
    """Krippendorff's alpha of ratings: ``units[stimulus][participant] = rating``."""
    raters = sorted({r for per in units.values() for r in per})
    items = sorted(units)
    if len(raters) < 2 or len(items) < 2:
        return None
    data = np.full((len(raters), len(items)), np.nan)
    for j, item in enumerate(items):
        for i, rater in enumerate(raters):
            if rater in units[item]:
                data[i, j] = units[item][rater]
    try:
        value = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    except (ValueError, ZeroDivisionError):
        return None
    return _finite(float(value))


# --- The study report -----------------------------------------------------------------------


def analyze(study: Study) -> dict[str, Any]:
    rows = long_rows(study)
    kept = [r for r in rows if not r["excluded"]]
    reasons: dict[str, int] = defaultdict(int)
    for r in rows:
        if r["excluded"]:
            reasons[r["exclusion_reason"]] += 1
    sessions = Session.objects.filter(study=study, preview=False)
    ratings: dict[str, list[float]] = defaultdict(list)
    units: dict[str, dict[str, float]] = defaultdict(dict)
    comparisons: list[tuple[str, str, str]] = []
    forward: dict[str, list[bool]] = defaultdict(list)
    pointing: dict[str, list[bool]] = defaultdict(list)
    forward_chance: dict[str, float] = {}
    distinction: dict[str, list[bool]] = defaultdict(list)
    distinction_k: dict[str, list[int]] = defaultdict(list)
    confident: list[tuple[int, bool]] = []
    confident_by_kind: dict[str, list[tuple[int, bool]]] = defaultdict(list)
    labels_of = {
        s.token: len(s.explanation.model.labels or []) if s.explanation.model else 0
        for s in study.stimuli.select_related("explanation__model")
    }
    for r in kept:
        if r["kind"] == TrialKind.RATING and r["value"] is not None:
            ratings[r["method"]].append(float(r["value"]))
            units[r["stimulus"]][r["participant"]] = float(r["value"])
        elif r["kind"] == TrialKind.PAIRWISE:
            a, b = r["method"], r["other_method"]
            winner, loser = (a, b) if r["value"] == "a" else (b, a)
            comparisons.append((r["participant"], winner, loser))
        elif r["kind"] == TrialKind.FORWARD and r["correct"] is not None:
            forward[r["method"]].append(bool(r["correct"]))
            n_labels = labels_of.get(r["stimulus"]) or 2
            forward_chance[r["method"]] = 1.0 / n_labels
        elif r["kind"] == TrialKind.POINTING and r["correct"] is not None:
            pointing[r["method"]].append(bool(r["correct"]))
        elif r["kind"] == TrialKind.DISTINCTION and r["correct"] is not None:
            distinction[r["method"]].append(bool(r["correct"]))
            distinction_k[r["method"]].append(r["candidates"] or study.distinction_k)
        if r["confidence"] is not None and r["correct"] is not None:
            confident.append((int(r["confidence"]), bool(r["correct"])))
            confident_by_kind[r["kind"]].append((int(r["confidence"]), bool(r["correct"])))
    # chance of a distinction trial: one of its k candidates at random, 1/k
    distinction_chance = {
        m: float(np.mean([1.0 / k for k in ks])) for m, ks in distinction_k.items()
    }
    speeders = [r for r in rows if r["speeder"]]
    pointing_rows = []
    for method in sorted(pointing):
        k, n = sum(pointing[method]), len(pointing[method])
        ci = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
        pointing_rows.append(
            {
                "method": method,
                "n": n,
                "hits": k,
                "accuracy": k / n,
                "ci_low": float(ci.low),
                "ci_high": float(ci.high),
            }
        )
    return {
        "study": study.pk,
        "blinded": study.blinded,
        "provenance": provenance.summary(study),
        "participants": {
            "started": sessions.count(),
            "completed": sessions.filter(completed_at__isnull=False).count(),
            "screened_out": sessions.filter(screened_out_at__isnull=False).count(),
            "returned": sessions.filter(returned_at__isnull=False).count(),
            "excluded_for_checks": sum(
                1 for n in failed_checks(study).values() if n > study.max_failed_checks
            ),
        },
        "responses": {"total": len(rows), "kept": len(kept), "excluded": dict(reasons)},
        "ratings": rating_summary(ratings, seed=study.seed),
        "rating_alpha": rating_alpha(units),
        "pairwise": bradley_terry(comparisons, seed=study.seed),
        "forward": accuracy_against_chance(forward, forward_chance),
        "pointing": pointing_rows,
        "distinction": {
            "k": study.distinction_k,
            "chance": 1.0 / study.distinction_k,
            "chance_rule": (
                f"a participant guessing picks the predicted class with probability 1/k = "
                f"1/{study.distinction_k}; each method's accuracy is tested against it "
                "(one-sided binomial test)"
            ),
            "methods": accuracy_against_chance(distinction, distinction_chance),
        },
        "calibration": {
            "asked": study.ask_confidence,
            "overall": calibration(confident),
            "by_kind": {kind: calibration(p) for kind, p in sorted(confident_by_kind.items())},
        },
        "speeders": {
            "rule": (
                f"log response time more than {SPEEDER_SD:g} SD below its trial kind's median "
                f"log time (main trials, at least {SPEEDER_MIN_RESPONSES} per kind); flagged, "
                "not excluded"
            ),
            "bounds_ms": _speed_bounds(rows),
            "flagged": len(speeders),
            "flagged_kept": sum(1 for r in speeders if not r["excluded"]),
            "participants": sorted({r["participant"] for r in speeders}),
        },
    }
