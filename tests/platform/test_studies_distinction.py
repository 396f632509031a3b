"""Distinction trials (k explanations of one clip for k candidate classes; which class did the
model predict?) and the confidence rating any trial may ask, through the participant API on
PostgreSQL, and their analysis: chance 1/k and accuracy by confidence level."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.explanations_support import (  # noqa: F401 - fixtures
    TINY_LABELS,
    other_researcher_fixture,
    researcher_fixture,
)
from tests.studies_support import Participant, good_answer, make_distinction_study, make_study
from wherewhen.studies import analysis, services
from wherewhen.studies.models import Response, Study, Trial

pytestmark = pytest.mark.django_db


def begin(client, study, pid: str) -> Participant:
    p = Participant(client, study.slug, {"PROLIFIC_PID": pid})
    assert p.start().status_code == 200
    p.post("consent/", {"agree": True})
    assert p.post("instructions/").json()["stage"] == "trials"
    return p


def test_a_distinction_trial_shows_k_candidates_with_the_predicted_class_among_them(
    client, researcher, settings
):
    study = make_distinction_study(researcher, settings.MEDIA_ROOT, k=3)
    p = begin(client, study, "p1")
    body = p.trial().json()
    assert body["kind"] == "distinction" and body["question"] == study.distinction_question
    assert len(body["stimuli"]) == len(body["choices"]) == 3
    # each candidate is named by its class, in screen order; the predicted class is offered
    assert [s["class_label"] for s in body["stimuli"]] == [c["label"] for c in body["choices"]]
    values = [int(c["value"]) for c in body["choices"]]
    assert 2 in values and len(set(values)) == 3
    assert all(c["label"] == TINY_LABELS[int(c["value"])] for c in body["choices"])
    # blinded: no method, no explanation id; one clip; each map and video reachable
    text = json.dumps(body)
    assert "staa" not in text and "rollout" not in text
    trial = Trial.objects.get(session__token=p.token, index=body["index"])
    videos = {s.video_id for s in study.stimuli.filter(token__in=trial.options)}
    assert len(videos) == 1 and trial.stimulus_a.explanation.explained_target == 2
    for s in body["stimuli"]:
        assert p.get(s["map_url"]).status_code == 200
        assert p.get(s["video_url"]).status_code == 200
    # a class that is not a candidate is refused; the predicted class is right
    absent = next(i for i in range(len(TINY_LABELS)) if i not in values)
    assert p.answer(body["index"], {"label": absent}).status_code == 400
    assert p.answer(body["index"], {"label": 2}).status_code == 200
    assert Response.objects.get(trial=trial).correct is True
    assert body["confidence"] is None


def test_other_kinds_use_only_the_predicted_class_explanations(researcher, settings):
    study = make_distinction_study(
        researcher, settings.MEDIA_ROOT, trial_kinds=["rating", "distinction"]
    )
    session, _ = services.start_session(study, {"PROLIFIC_PID": "x"})
    rating = [t for t in session.trials.all() if t.kind == "rating"]
    assert rating and all(t.stimulus_a.explanation.explained_target == 2 for t in rating)
    assert {t.kind for t in session.trials.all()} == {"rating", "distinction"}


def test_a_design_without_enough_classes_is_refused_inline(client, researcher, settings):
    study = make_distinction_study(researcher, settings.MEDIA_ROOT, k=4, status="draft")
    client.force_login(researcher)
    url = f"/api/v1/studies/{study.pk}/"
    # 4 classes per clip: k = 5 cannot be met, and opening says why
    response = client.patch(
        url, {"distinction_k": 5, "status": "open"}, content_type="application/json"
    )
    assert response.status_code == 400
    assert "5 different target classes" in response.json()["detail"]
    assert (
        client.patch(url, {"distinction_k": 9}, content_type="application/json").status_code == 400
    )
    response = client.patch(
        url, {"distinction_k": 4, "status": "open"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    # a study of predicted-class explanations only has no distinction trials to offer
    plain = Study.objects.create(
        owner=researcher, title="plain", slug="plain", trial_kinds=["rating"]
    )
    services.add_stimuli(
        plain, [s.explanation for s in study.stimuli.all() if s.explanation.explained_target == 2]
    )
    response = client.patch(
        f"/api/v1/studies/{plain.pk}/",
        {"trial_kinds": ["distinction"], "status": "open"},
        content_type="application/json",
    )
    assert response.status_code == 400 and "Distinction trials need" in response.json()["detail"]


def test_confidence_is_asked_on_every_main_trial_and_checked(client, researcher, settings):
    study = make_study(
        researcher,
        settings.MEDIA_ROOT,
        ask_confidence=True,
        attention_every=2,
        max_failed_checks=5,
        trials_per_participant=9,
    )
    p = begin(client, study, "conf")
    kinds = set()
    while (trial := p.trial()).status_code == 200:
        body = trial.json()
        kinds.add(body["kind"])
        if body["kind"] == "attention":
            assert body["confidence"] is None
            assert p.answer(body["index"], good_answer(body)).status_code == 200
            continue
        assert body["confidence"] == {"question": study.confidence_question, "min": 1, "max": 5}
        plain = good_answer(body)
        plain.pop("confidence")
        assert p.answer(body["index"], plain).status_code == 400
        assert p.answer(body["index"], {**plain, "confidence": 6}).status_code == 400
        assert p.answer(body["index"], {**plain, "confidence": 2.5}).status_code == 400
        assert p.answer(body["index"], {**plain, "confidence": 3}).status_code == 200
    assert {"rating", "pairwise", "forward", "attention"} <= kinds
    main = Response.objects.filter(session__token=p.token).exclude(trial__kind="attention")
    assert set(main.values_list("confidence", flat=True)) == {3}
    checks = Response.objects.filter(session__token=p.token, trial__kind="attention")
    assert set(checks.values_list("confidence", flat=True)) == {None}


def test_analysis_states_chance_and_calibration(client, researcher, settings):
    """Planted: answers at confidence 5 are always right, at 1 always wrong; the analysis
    recovers accuracy by level, a positive rank correlation, and chance 1/k."""
    study = make_distinction_study(
        researcher, settings.MEDIA_ROOT, k=4, ask_confidence=True, trials_per_participant=4
    )
    for n in range(6):
        p = begin(client, study, f"cal{n}")
        i = 0
        while (trial := p.trial()).status_code == 200:
            body = trial.json()
            right = i % 2 == 0
            wrong = next(int(c["value"]) for c in body["choices"] if c["value"] != "2")
            answer = {"label": 2 if right else wrong, "confidence": 5 if right else 1}
            assert p.answer(body["index"], answer).status_code == 200
            i += 1
    client.force_login(researcher)
    report = client.get(f"/api/v1/studies/{study.pk}/analysis/").json()
    d = report["distinction"]
    assert d["k"] == 4 and d["chance"] == 0.25 and "1/4" in d["chance_rule"]
    assert {m["method"] for m in d["methods"]} == {"staa", "rollout"}
    for row in d["methods"]:
        assert row["chance"] == 0.25
    total = sum(m["n"] for m in d["methods"])
    assert total == 24 and sum(m["correct"] for m in d["methods"]) == 12
    cal = report["calibration"]
    assert cal["asked"] is True
    levels = {lv["confidence"]: lv for lv in cal["overall"]["levels"]}
    assert levels[5]["accuracy"] == 1.0 and levels[5]["n"] == 12
    assert levels[1]["accuracy"] == 0.0 and levels[1]["n"] == 12
    assert levels[3]["n"] == 0 and levels[3]["accuracy"] is None
    assert cal["overall"]["spearman_rho"] == pytest.approx(1.0)
    assert set(cal["by_kind"]) == {"distinction"}
    # exports: the long CSV carries confidence and candidates; the calibration table exists
    rows = list(csv.DictReader(io.StringIO(analysis.csv_text(study))))
    assert {r["confidence"] for r in rows} == {"1", "5"} and {r["candidates"] for r in rows} == {
        "4"
    }
    assert all(len(r["other_stimulus"].split()) == 3 for r in rows)
    table = client.get(f"/api/v1/studies/{study.pk}/export/?table=calibration")
    assert table.status_code == 200
    cal_rows = list(csv.DictReader(io.StringIO(table.content.decode())))
    assert {(r["kind"], r["confidence"], r["n"]) for r in cal_rows} >= {
        ("all", "5", "12"),
        ("distinction", "1", "12"),
    }
    assert client.get(f"/api/v1/studies/{study.pk}/export/?table=nope").status_code == 400


def test_calibration_without_variation_has_no_correlation():
    cal = analysis.calibration([(3, True), (3, False), (3, True)])
    assert cal["spearman_rho"] is None and cal["n"] == 3
    assert cal["levels"][2]["accuracy"] == pytest.approx(2 / 3)


def test_the_designer_previews_a_trial_as_a_participant_sees_it(
    client, researcher, other_researcher, settings
):
    study = make_distinction_study(
        researcher,
        settings.MEDIA_ROOT,
        k=3,
        ask_confidence=True,
        status="draft",
        overlay_normalization="clip",
        overlay_threshold=0.3,
    )
    client.force_login(researcher)
    url = f"/api/v1/studies/{study.pk}/trial-preview/"
    body = client.get(url, {"kind": "distinction"}).json()
    assert body["kind"] == "distinction" and len(body["stimuli"]) == 3
    assert body["display"] == {"normalization": "clip", "threshold": 0.3}
    assert body["confidence"]["max"] == 5
    for s in body["stimuli"]:
        assert s["map_url"].startswith("/api/v1/explanations/")
        assert client.get(s["map_url"]).status_code == 200
        assert client.get(s["video_url"]).status_code == 200
    assert not study.sessions.exists()  # nothing stored
    assert client.get(url, {"kind": "pairwise"}).status_code == 400
    assert client.get(url, {"kind": "psychic"}).status_code == 400
    client.force_login(other_researcher)
    assert client.get(url, {"kind": "distinction"}).status_code == 404
