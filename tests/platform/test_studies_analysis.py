"""Study analysis on simulated responses: a planted Bradley–Terry ranking and a planted rating
effect are recovered; forward simulation against chance; agreement; exclusions; the CSV."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from tests.explanations_support import researcher_fixture  # noqa: F401 - fixtures
from tests.studies_support import make_study
from wherewhen.explanations.models import Explanation
from wherewhen.studies import analysis, services
from wherewhen.studies.models import Response, Trial


def simulate_comparisons(strengths: dict[str, float], participants: int, per: int, seed: int):
    rng = np.random.default_rng(seed)
    methods = sorted(strengths)
    out = []
    for p in range(participants):
        for _ in range(per):
            a, b = rng.choice(len(methods), 2, replace=False)
            ma, mb = methods[a], methods[b]
            pa = 1 / (1 + np.exp(strengths[mb] - strengths[ma]))
            out.append((f"p{p}", ma, mb) if rng.random() < pa else (f"p{p}", mb, ma))
    return out


def test_bradley_terry_recovers_a_planted_ranking():
    planted = {"m_best": 1.5, "m_good": 0.5, "m_fair": -0.5, "m_poor": -1.5}
    comparisons = simulate_comparisons(planted, participants=60, per=20, seed=1)
    result = analysis.bradley_terry(comparisons, seed=3, n_boot=100)
    ranking = [row["method"] for row in result["scores"]]
    assert ranking == ["m_best", "m_good", "m_fair", "m_poor"]
    scores = {row["method"]: row for row in result["scores"]}
    # the estimates sit near the planted (centred) log-strengths, inside their intervals
    for method, value in planted.items():
        row = scores[method]
        assert row["ci_low"] <= row["score"] <= row["ci_high"]
        assert abs(row["score"] - value) < 0.35
    assert scores["m_best"]["ci_low"] > scores["m_poor"]["ci_high"]
    pair = next(p for p in result["pairs"] if {p["a"], p["b"]} == {"m_best", "m_poor"})
    best_rate = pair["win_rate_a"] if pair["a"] == "m_best" else 1 - pair["win_rate_a"]
    assert best_rate > 0.85
    # deterministic under the same seed
    assert analysis.bradley_terry(comparisons, seed=3, n_boot=100) == result


def test_ratings_recover_a_planted_effect_with_bootstrap_intervals():
    rng = np.random.default_rng(7)
    ratings = {
        "m_high": list(np.clip(np.rint(rng.normal(5.5, 1.0, 80)), 1, 7)),
        "m_low": list(np.clip(np.rint(rng.normal(3.0, 1.0, 80)), 1, 7)),
        "m_same": list(np.clip(np.rint(rng.normal(3.0, 1.0, 80)), 1, 7)),
    }
    rows = {r["method"]: r for r in analysis.rating_summary(ratings, seed=0)}
    assert rows["m_high"]["ci_low"] > rows["m_low"]["ci_high"]
    assert abs(rows["m_high"]["mean"] - 5.5) < 0.4 and abs(rows["m_low"]["mean"] - 3.0) < 0.4
    # no planted difference: the intervals overlap
    assert rows["m_same"]["ci_low"] < rows["m_low"]["ci_high"]
    assert rows["m_low"]["ci_low"] < rows["m_same"]["ci_high"]
    for row in rows.values():
        assert row["ci_low"] <= row["mean"] <= row["ci_high"]


def test_forward_simulation_against_chance():
    rows = analysis.accuracy_against_chance(
        {"helps": [True] * 30 + [False] * 10, "useless": [True] * 10 + [False] * 30},
        {"helps": 0.25, "useless": 0.25},
    )
    by = {r["method"]: r for r in rows}
    assert by["helps"]["p_value"] < 0.001 and by["helps"]["accuracy"] == 0.75
    assert by["useless"]["p_value"] > 0.05


def test_krippendorff_alpha_of_agreeing_and_random_raters():
    rng = np.random.default_rng(0)
    truth = rng.integers(1, 8, 20)
    agree = {f"s{j}": {f"r{i}": float(truth[j]) for i in range(5)} for j in range(20)}
    assert analysis.rating_alpha(agree) == pytest.approx(1.0)
    noise = {f"s{j}": {f"r{i}": float(rng.integers(1, 8)) for i in range(5)} for j in range(20)}
    assert abs(analysis.rating_alpha(noise)) < 0.2


@pytest.mark.django_db
def test_study_report_applies_exclusions_without_deleting(researcher, settings):
    # a study that keeps failing participants to the end (the analysis excludes them)
    study = make_study(
        researcher,
        settings.MEDIA_ROOT,
        min_response_ms=200,
        max_failed_checks=0,
        screen_out_failed_checks=False,
    )
    quality = {"staa": 6, "staa_plus": 7, "rollout": 2}
    for p in range(9):
        session, _ = services.start_session(study, {"PROLIFIC_PID": f"sim{p}"})
        services.consent(session, True)
        services.finish_instructions(session)
        careless = p == 8
        for trial in session.trials.order_by("index"):
            trial = services.current_trial(session)
            a = trial.stimulus_a
            if trial.kind == "rating":
                answer = {"rating": quality[a.method]}
            elif trial.kind == "pairwise":
                b = trial.stimulus_b
                win = a if quality[a.method] >= quality[b.method] else b
                answer = {"choice": win.token}
            elif trial.kind == "forward":
                answer = {"label": 2 if a.method != "rollout" else 0}
            else:
                answer = {"choice": "red" if careless else "blue"}
            services.answer_trial(
                session,
                index=trial.index,
                response_id=f"{p}-{trial.index}",
                answer=answer,
                now=trial.served_at + timedelta(seconds=1.5),
            )
    # one participant answered too fast on one trial
    fast = Response.objects.filter(
        session__participant_id="sim0", trial__practice=False, trial__kind="rating"
    ).first()
    Response.objects.filter(pk=fast.pk).update(response_ms=50)
    total = Response.objects.count()
    report = analysis.analyze(study)
    assert Response.objects.count() == total  # nothing deleted
    assert report["participants"] == {
        "started": 9,
        "completed": 9,
        "screened_out": 0,
        "returned": 0,
        "excluded_for_checks": 1,
    }
    excluded = report["responses"]["excluded"]
    assert (
        excluded["failed_attention_checks"]
        == Trial.objects.filter(session__participant_id="sim8").count()
    )
    assert excluded["too_fast"] == 1 and excluded["practice"] == 8
    ratings = {r["method"]: r["mean"] for r in report["ratings"]}
    assert ratings["staa_plus"] > ratings["staa"] > ratings["rollout"]
    ranking = [r["method"] for r in report["pairwise"]["scores"]]
    assert ranking == ["staa_plus", "staa", "rollout"]
    forward = {r["method"]: r for r in report["forward"]}
    assert forward["staa"]["accuracy"] == 1.0 and forward["rollout"]["accuracy"] == 0.0
    assert forward["staa"]["chance"] == 0.25
    rows = list(csv.DictReader(io.StringIO(analysis.csv_text(study))))
    assert len(rows) == total
    assert set(analysis.CSV_FIELDS) == set(rows[0])
    assert {r["exclusion_reason"] for r in rows} >= {"", "practice", "failed_attention_checks"}
    # provenance: the explanation shown, its model checkpoint, map and video hashes, the code
    stimuli = {s.token: s for s in study.stimuli.select_related("explanation__model", "video")}
    shown = [r for r in rows if r["stimulus"]]
    assert shown
    for row in shown:
        s = stimuli[row["stimulus"]]
        assert row["explanation"] == str(s.explanation_id)
        assert row["checkpoint_hash"] == s.explanation.model.fingerprint
        assert row["explanation_hash"] == s.explanation.map_sha256
        assert row["video_hash"] == s.video.content_hash
        assert row["code_version"].startswith("wherewhen ")
        assert row["stale"] == "False"
    # the analysis says what it was computed from: every stimulus, nothing stale yet
    block = report["provenance"]
    assert block["code_version"] == rows[0]["code_version"] and block["stale_answers"] == 0
    assert {b["stimulus"] for b in block["stimuli"]} == set(stimuli)
    for b in block["stimuli"]:
        s = stimuli[b["stimulus"]]
        assert (b["explanation"], b["method"]) == (s.explanation_id, s.method)
        assert b["checkpoint_hash"] == s.explanation.model.fingerprint
        assert b["explanation_hash"] == s.explanation.map_sha256
        assert b["video_hash"] == s.video.content_hash
    # an explanation computed again after the answers makes the answers on it stale
    again = shown[0]["explanation"]
    Explanation.objects.filter(pk=again).update(finished_at=timezone.now() + timedelta(hours=1))
    rows = list(csv.DictReader(io.StringIO(analysis.csv_text(study))))
    stale = {r["stale"] for r in rows if again in (r["explanation"], r["other_explanation"])}
    assert stale == {"True"}
    on_it = sum(1 for r in rows if again in (r["explanation"], r["other_explanation"]))
    assert analysis.analyze(study)["provenance"]["stale_answers"] == on_it > 0
    assert all(
        r["stale"] == "False"
        for r in rows
        if again not in (r["explanation"], r["other_explanation"])
    )
