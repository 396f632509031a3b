"""Meta-evaluation: a planted monotone relation between a metric and human outcomes is recovered
(interval excludes 0), an unrelated metric gives intervals that include 0; through the database
and the API with the owner's permissions, and the CSV / JSON exports."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import numpy as np
import pytest
from scipy import stats as scipy_stats

from tests.annotation_support import make_project
from tests.explanations_support import (  # noqa: F401 - fixtures
    other_researcher_fixture,
    researcher_fixture,
    reviewer_fixture,
)
from tests.studies_support import make_study
from wherewhen.metaeval import stats

# --- pure statistics ----------------------------------------------------------------------------


def simulated(related: bool, *, videos=16, methods=("a", "b", "c"), participants=30, seed=0):
    """Stimuli with a metric ``m`` in [0, 1]; human answers that follow ``m`` (``related``) or a
    quality that has nothing to do with it."""
    rng = np.random.default_rng(seed)
    stimuli = [stats.Stimulus(f"{v}-{m}", f"v{v}", m) for v in range(videos) for m in methods]
    metric = {s.key: float(rng.random()) for s in stimuli}
    quality = metric if related else {s.key: float(rng.random()) for s in stimuli}
    ratings, forward, pairs = [], [], []
    for p in range(participants):
        for s in rng.choice(len(stimuli), 12, replace=False):
            key = stimuli[s].key
            rating = np.clip(np.rint(1 + 6 * quality[key] + rng.normal(0, 1.0)), 1, 7)
            ratings.append((f"p{p}", key, float(rating)))
            forward.append((f"p{p}", key, float(rng.random() < 0.2 + 0.7 * quality[key])))
        for v in rng.choice(videos, 6, replace=False):
            a, b = rng.choice(len(methods), 2, replace=False)
            ka, kb = f"{v}-{methods[a]}", f"{v}-{methods[b]}"
            pa = 1 / (1 + np.exp(-5 * (quality[ka] - quality[kb])))
            pairs.append((f"p{p}", ka, kb) if rng.random() < pa else (f"p{p}", kb, ka))
    return stats.Data(
        stimuli=stimuli,
        metrics={"m": metric},
        means={"mean_rating": ratings, "forward_accuracy": forward},
        pairs=pairs,
    )


def pair(result, level, metric, outcome):
    return next(
        p
        for p in result["pairs"]
        if (p["level"], p["metric"], p["outcome"]) == (level, metric, outcome)
    )


def test_a_planted_monotone_relation_is_recovered_with_intervals_above_zero():
    result = stats.relate(simulated(True), seed=1, resamples=200)
    assert result["outcomes"] == ["mean_rating", "forward_accuracy", "bradley_terry"]
    for outcome in result["outcomes"]:
        p = pair(result, "stimulus", "m", outcome)
        assert p["n"] == 48
        assert p["kendall_tau"] > 0.3 and p["spearman_rho"] > 0.4
        # the interval excludes 0 (a percentile interval need not be centred on the estimate)
        assert 0 < p["kendall_ci_low"] < p["kendall_ci_high"]
        assert 0 < p["spearman_ci_low"] < p["spearman_ci_high"]
        assert p["resamples_used"] == 200


def test_no_relation_gives_intervals_that_include_zero():
    result = stats.relate(simulated(False), seed=1, resamples=200)
    for outcome in result["outcomes"]:
        p = pair(result, "stimulus", "m", outcome)
        assert abs(p["kendall_tau"]) < 0.25
        assert p["kendall_ci_low"] < 0 < p["kendall_ci_high"]
        assert p["spearman_ci_low"] < 0 < p["spearman_ci_high"]


def test_point_estimates_are_scipys_and_the_result_is_reproducible():
    data = simulated(True, seed=3)
    result = stats.relate(data, seed=5, resamples=50)
    points = result["stimulus_points"]
    x = [pt["metrics"]["m"] for pt in points]
    y = [pt["outcomes"]["mean_rating"] for pt in points]
    p = pair(result, "stimulus", "m", "mean_rating")
    assert p["kendall_tau"] == pytest.approx(scipy_stats.kendalltau(x, y).statistic)
    assert p["spearman_rho"] == pytest.approx(scipy_stats.spearmanr(x, y).statistic)
    assert stats.relate(data, seed=5, resamples=50) == result
    assert stats.relate(data, seed=6, resamples=50) != result


def test_method_level_rankings_agree_when_methods_differ():
    rng = np.random.default_rng(2)
    base = simulated(True, methods=("good", "fair", "poor"), seed=2)
    shift = {"good": 0.5, "fair": 0.0, "poor": -0.5}
    # a metric whose method means differ a lot: the method ranking is good > fair > poor
    metric = {
        s.key: float(np.clip(0.5 + shift[s.method] + rng.normal(0, 0.1), 0, 1))
        for s in base.stimuli
    }
    data = simulated(True, methods=("good", "fair", "poor"), seed=2)
    data.metrics = {"m": metric}
    # humans see that same metric (rebuild the answers from it)
    rebuilt = stats.Data(stimuli=data.stimuli, metrics={"m": metric})
    rebuilt.means = {
        "mean_rating": [(p, k, float(1 + 6 * metric[k])) for p, k, _ in data.means["mean_rating"]]
    }
    result = stats.relate(rebuilt, seed=0, resamples=100)
    by = {r["measure"]: [o["method"] for o in r["order"]] for r in result["rankings"]}
    assert by["m"] == by["mean_rating"] == ["good", "fair", "poor"]
    assert pair(result, "method", "m", "mean_rating")["kendall_tau"] == pytest.approx(1.0)


def test_undefined_correlations_are_none_not_errors():
    stimuli = [stats.Stimulus("x", "v", "a"), stats.Stimulus("y", "v", "b")]
    data = stats.Data(
        stimuli=stimuli,
        metrics={"m": {"x": 1.0, "y": 1.0}},
        means={"mean_rating": [("p", "x", 3.0), ("p", "y", 4.0)]},
    )
    result = stats.relate(data, seed=0, resamples=20)
    p = pair(result, "stimulus", "m", "mean_rating")
    assert p["kendall_tau"] is None and p["kendall_ci_low"] is None and p["n"] == 0
    json.dumps(result, allow_nan=False)


# --- through the database and the API -----------------------------------------------------------


def _score(explanation, project, spatial: float, energy: float):
    from wherewhen.scoring.models import ExplanationScore

    counted = 20
    return ExplanationScore.objects.create(
        explanation=explanation,
        project=project,
        reference=ExplanationScore.Reference.CONSENSUS,
        key="k" * 64,
        tolerance=15.0,
        label="jump",
        frames_counted=counted,
        frames_hit=round(spatial * counted),
        energy_sum=energy * counted,
        iou_sum=0.1 * counted,
    )


def _run_participants(study, quality: dict[int, float], n: int, seed: int):
    """Participants whose answers follow ``quality`` per explanation, via the study services."""
    from wherewhen.studies import services

    rng = np.random.default_rng(seed)
    for p in range(n):
        session, _ = services.start_session(study, {"PROLIFIC_PID": f"sim{p}"})
        services.consent(session, True)
        services.finish_instructions(session)
        for _ in range(session.trials.count()):
            trial = services.current_trial(session)
            if trial is None:
                break
            a, b = trial.stimulus_a, trial.stimulus_b
            if trial.kind == "rating":
                q = quality[a.explanation_id]
                answer = {"rating": int(np.clip(np.rint(1 + 6 * q + rng.normal(0, 0.7)), 1, 7))}
            elif trial.kind == "pairwise":
                qa, qb = quality[a.explanation_id], quality[b.explanation_id]
                win = a if rng.random() < 1 / (1 + np.exp(-6 * (qa - qb))) else b
                answer = {"choice": win.token}
            elif trial.kind == "forward":
                ok = rng.random() < 0.1 + 0.85 * quality[a.explanation_id]
                answer = {"label": 2 if ok else 0}
            else:
                answer = {"choice": "blue"}
            services.answer_trial(
                session,
                index=trial.index,
                response_id=f"{p}-{trial.index}",
                answer=answer,
                now=trial.served_at + timedelta(seconds=1.5),
            )


@pytest.fixture(name="world")
def world_fixture(researcher, settings):
    study = make_study(
        researcher,
        settings.MEDIA_ROOT,
        n_videos=6,
        title="=HYPERLINK(1)",
        trials_per_participant=18,
        attention_every=0,
        seed=4,
    )
    videos = list({s.video for s in study.stimuli.all()})
    project = make_project(researcher, videos)
    rng = np.random.default_rng(11)
    quality = {}
    for stimulus in study.stimuli.select_related("explanation"):
        q = float(rng.random())
        quality[stimulus.explanation_id] = q
        _score(stimulus.explanation, project, spatial=q, energy=float(rng.random()))
    _run_participants(study, quality, n=16, seed=5)
    return study, project


def _url(study, project, extra: str = "", path: str = "") -> str:
    return f"/api/v1/meta-evaluation/{path}?study={study.pk}&project={project.pk}{extra}"


@pytest.mark.django_db
def test_the_api_recovers_the_planted_metric_and_not_the_unrelated_one(client, researcher, world):
    study, project = world
    client.force_login(researcher)
    response = client.get(_url(study, project))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["reason"] == ""
    assert body["counts"] == {"stimuli": 18, "videos": 6, "participants": 16}
    assert {"spatial", "energy", "iou"} <= set(body["metrics"])
    assert set(body["outcomes"]) == {"mean_rating", "forward_accuracy", "bradley_terry"}
    by = {(p["level"], p["metric"], p["outcome"]): p for p in body["pairs"]}
    for outcome in ("mean_rating", "bradley_terry"):
        planted = by[("stimulus", "spatial", outcome)]
        assert planted["kendall_ci_low"] > 0, planted
        unrelated = by[("stimulus", "energy", outcome)]
        assert unrelated["kendall_ci_low"] < 0 < unrelated["kendall_ci_high"], unrelated
    # iou is the same for every clip: no correlation is defined, and nothing breaks
    assert by[("stimulus", "iou", "mean_rating")]["kendall_tau"] is None
    assert len(body["stimulus_points"]) == 18 and len(body["method_points"]) == 3
    assert any("Faithfulness correlation" in note for note in body["notes"])
    # the same request gives the same numbers (seeded from the study)
    assert client.get(_url(study, project)).json()["pairs"] == body["pairs"]


@pytest.mark.django_db
def test_exports_escape_formulas_and_carry_every_pair(client, researcher, world):
    study, project = world
    client.force_login(researcher)
    response = client.get(_url(study, project, path="export.csv"))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    body = client.get(_url(study, project)).json()
    assert len(rows) == len(body["pairs"])
    assert {r["study"] for r in rows} == {"'=HYPERLINK(1)"}
    planted = next(
        r
        for r in rows
        if (r["level"], r["metric"], r["outcome"]) == ("stimulus", "spatial", "mean_rating")
    )
    assert float(planted["kendall_ci_low"]) > 0
    exported = json.loads(client.get(_url(study, project, path="export.json")).content)
    assert exported["pairs"] == body["pairs"]
    # provenance: these scores were written without it (not by scoring), so they say stale
    from wherewhen.scoring import services as scoring_services

    assert body["provenance"]["code_version"] == scoring_services.code_version()
    assert body["provenance"]["stale_scores"] == 18
    assert body["provenance"]["stale_reasons"] == {"scored before provenance was recorded": 18}
    assert {m["method"] for m in body["provenance"]["methods"]} == {
        s.method for s in study.stimuli.all()
    }
    assert {r["code_version"] for r in rows} == {scoring_services.code_version()}
    assert {(r["stale"], r["stale_reason"]) for r in rows} == {
        ("True", "scored before provenance was recorded")
    }
    assert any("stale" in note for note in body["notes"])


@pytest.mark.django_db
def test_only_the_owner_reads_it(client, world, other_researcher, reviewer):
    study, project = world
    assert client.get(_url(study, project)).status_code in (401, 403)
    client.force_login(reviewer)
    response = client.get(_url(study, project))
    assert response.status_code == 403 and "detail" in response.json()
    client.force_login(other_researcher)
    for path in ("", "export.csv", "export.json"):
        response = client.get(_url(study, project, path=path))
        assert response.status_code == 404 and "detail" in response.json()


@pytest.mark.django_db
def test_bad_parameters_answer_400(client, researcher, world):
    study, project = world
    client.force_login(researcher)
    assert client.get("/api/v1/meta-evaluation/").status_code == 400
    assert client.get(f"/api/v1/meta-evaluation/?study={study.pk}").status_code == 400
    response = client.get(f"/api/v1/meta-evaluation/?study=abc&project={project.pk}")
    assert response.status_code == 400 and "study" in response.json()
    assert client.get(_url(study, project, "&model=x")).status_code == 400
    assert client.get(_url(study, project, "&model=99999")).status_code == 404


def test_the_bootstrap_statistics_equal_scipys():
    rng = np.random.default_rng(9)
    for n in (3, 7, 40):
        x = rng.integers(0, 5, n).astype(float)  # with ties
        y = x + rng.normal(0, 1.5, n)
        assert stats.tau_b(x, y) == pytest.approx(scipy_stats.kendalltau(x, y).statistic)
        assert stats.rho(x, y) == pytest.approx(scipy_stats.spearmanr(x, y).statistic)


def test_bradley_terry_is_the_study_analysis_model():
    from wherewhen.studies import analysis

    rng = np.random.default_rng(4)
    pairs = [tuple(rng.choice(4, 2, replace=False)) for _ in range(200)]
    winners = np.array([a for a, _ in pairs])
    losers = np.array([b for _, b in pairs])
    ours = stats._bt(4, winners, losers, np.ones(len(pairs)))
    theirs = analysis._bt_fit(4, [(int(a), int(b)) for a, b in pairs])
    assert ours == pytest.approx(theirs, abs=1e-4)
