"""The study flow for real recruitment on PostgreSQL: the screen-out code that failed attention
checks end a session with, returned participants whose Latin-square row goes to the next one,
speeders flagged by the documented rule, and a dry run that drives distinction trials, the
confidence rating and every answer policy."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.explanations_support import (  # noqa: F401 - fixtures
    other_researcher_fixture,
    researcher_fixture,
)
from tests.studies_support import Participant, good_answer, make_distinction_study, make_study
from wherewhen.metaeval.models import DryRun
from wherewhen.studies import analysis, services
from wherewhen.studies.models import Response, Session, Study

pytestmark = pytest.mark.django_db


def begin(client, study, pid: str) -> Participant:
    p = Participant(client, study.slug, {"PROLIFIC_PID": pid})
    assert p.start().status_code == 200
    p.post("consent/", {"agree": True})
    assert p.post("instructions/").json()["stage"] == "trials"
    return p


def test_failed_checks_end_the_session_with_the_screen_out_code(client, researcher, settings):
    study = make_study(
        researcher,
        settings.MEDIA_ROOT,
        max_failed_checks=0,
        redirect_url="https://recruit.example/submissions/complete?cc=C0DE1234",
        screen_out_code="NOPE5678",
    )
    p = begin(client, study, "careless")
    while True:
        body = p.trial().json()
        answer = {"choice": "red"} if body["kind"] == "attention" else good_answer(body)
        result = p.answer(body["index"], answer).json()
        if body["kind"] == "attention":
            break
    assert result["stage"] == "screened_out"
    state = p.get("/api/v1/participate/state/").json()
    assert state["stage"] == "screened_out"
    assert state["screen_out_code"] == "NOPE5678" and state["completion_code"] is None
    assert state["redirect_url"] == "https://recruit.example/submissions/complete?cc=NOPE5678"
    # no more trials, no more answers; the session is kept (and excluded in the analysis)
    assert p.trial().status_code == 409
    session = Session.objects.get(participant_id="careless")
    assert session.screened_out_at is not None and session.completed_at is None
    report = analysis.analyze(study)
    assert report["participants"]["screened_out"] == 1
    assert report["participants"]["excluded_for_checks"] == 1
    # a careful participant still finishes with the completion code (as the link had it)
    q = begin(client, study, "careful")
    while (trial := q.trial()).status_code == 200:
        body = trial.json()
        q.answer(body["index"], good_answer(body))
    state = q.get("/api/v1/participate/state/").json()
    assert state["stage"] == "done" and state["completion_code"] == "C0DE1234"
    assert state["screen_out_code"] is None
    assert state["redirect_url"].endswith("cc=C0DE1234")


def test_one_failure_allowed_screens_out_on_the_second(client, researcher, settings):
    study = make_study(researcher, settings.MEDIA_ROOT, max_failed_checks=1, attention_every=1)
    p = begin(client, study, "twice")
    stages = []
    while (trial := p.trial()).status_code == 200:
        body = trial.json()
        answer = {"choice": "red"} if body["kind"] == "attention" else good_answer(body)
        stages.append((body["kind"], p.answer(body["index"], answer).json()["stage"]))
    checks = [stage for kind, stage in stages if kind == "attention"]
    assert checks == ["trials", "screened_out"]


def test_the_screen_out_code_differs_from_the_completion_code(client, researcher, settings):
    study = make_study(researcher, settings.MEDIA_ROOT, status="draft")
    assert study.screen_out_code and study.screen_out_code != study.completion_code
    client.force_login(researcher)
    response = client.patch(
        f"/api/v1/studies/{study.pk}/",
        {"screen_out_code": study.completion_code},
        content_type="application/json",
    )
    assert response.status_code == 400 and "screen_out_code" in response.json()


def test_a_returned_participant_frees_their_latin_square_row(client, researcher, settings):
    study = make_study(researcher, settings.MEDIA_ROOT, trial_kinds=["rating"])
    n_rows = len(services.conditions_of(study))
    assert n_rows == 3
    # two rounds: every row is held twice (slots 0 and 1, which take different stimuli)
    first = [begin(client, study, f"p{i}") for i in range(2 * n_rows)]
    held = {p.params["PROLIFIC_PID"]: Session.objects.get(token=p.token) for p in first}
    assert sorted(s.order_row for s in held.values()) == [0, 0, 1, 1, 2, 2]
    leaver = first[1]  # the first on its row: not the last slot
    left = held["p1"]
    assert left.serial == 0
    plan = list(left.trials.order_by("index").values_list("kind", "stimulus_a_id"))
    other = held["p4"]  # slot 1 of the same row
    assert other.order_row == left.order_row and other.serial == 1
    assert plan != list(other.trials.order_by("index").values_list("kind", "stimulus_a_id"))
    body = leaver.trial().json()
    leaver.answer(body["index"], good_answer(body))
    returned = leaver.post("return/")
    assert returned.status_code == 200 and returned.json()["stage"] == "returned"
    assert leaver.post("return/").status_code == 200  # a replay changes nothing
    assert leaver.trial().status_code == 409
    # the next participant gets the row, the slot and the stimuli the returned one left
    newcomer = begin(client, study, "p-new")
    session = Session.objects.get(token=newcomer.token)
    assert (session.order_row, session.serial) == (left.order_row, 0)
    assert list(session.trials.order_by("index").values_list("kind", "stimulus_a_id")) == plan
    # the one after that goes to a fresh round again (every row is held twice)
    nxt = Session.objects.get(token=begin(client, study, "p-next").token)
    assert (nxt.order_row, nxt.serial) == (0, 2)
    # the returned participant opening the link again is told so, not restarted
    again = Participant(client, study.slug, {"PROLIFIC_PID": "p1"})
    assert again.start().json()["stage"] == "returned"
    # their answers are kept but excluded
    report = analysis.analyze(study)
    assert report["participants"]["returned"] == 1
    assert report["responses"]["excluded"]["returned"] == 1


def test_finished_sessions_cannot_be_returned_and_researchers_mark_returns(
    client, researcher, other_researcher, settings
):
    study = make_study(researcher, settings.MEDIA_ROOT)
    done = begin(client, study, "done")
    while (trial := done.trial()).status_code == 200:
        body = trial.json()
        done.answer(body["index"], good_answer(body))
    assert done.post("return/").status_code == 409
    begin(client, study, "gone")
    url = f"/api/v1/studies/{study.pk}/returned/"
    client.force_login(other_researcher)
    assert client.post(url, {"participant": "gone"}).status_code == 404
    client.force_login(researcher)
    response = client.post(url, {"participant": "gone"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["stage"] == "returned"
    assert Session.objects.get(participant_id="gone").returned_at is not None
    assert client.post(url, {"participant": "nobody"}).status_code == 404
    assert client.post(url, {"participant": "done"}).status_code == 409
    assert client.post(url, {}).status_code == 400


def test_speeders_are_flagged_by_the_log_time_rule(client, researcher, settings):
    study = make_study(researcher, settings.MEDIA_ROOT, trial_kinds=["rating"], attention_every=0)
    for n in range(6):
        p = begin(client, study, f"s{n}")
        while (trial := p.trial()).status_code == 200:
            body = trial.json()
            p.answer(body["index"], good_answer(body))
    main = Response.objects.filter(trial__practice=False).order_by("id")
    # planted times: about 4 s (3.5..4.6 s), and one answer in 150 ms
    for i, r in enumerate(main):
        Response.objects.filter(pk=r.pk).update(response_ms=3500 + (i * 37) % 1100)
    planted = main[7]
    Response.objects.filter(pk=planted.pk).update(response_ms=150)
    rows = analysis.long_rows(study)
    flagged = [r for r in rows if r["speeder"]]
    assert [(r["session"], r["trial"]) for r in flagged] == [
        (planted.session_id, planted.trial.index)
    ]
    assert not flagged[0]["excluded"]  # flagged, not excluded
    report = analysis.analyze(study)
    speed = report["speeders"]
    assert speed["flagged"] == 1 and speed["participants"] == [planted.session.participant_id]
    assert "3 SD below" in speed["rule"]
    assert 150 < speed["bounds_ms"]["rating"] < 3500
    exported = list(csv.DictReader(io.StringIO(analysis.csv_text(study))))
    assert sum(r["speeder"] == "True" for r in exported) == 1
    # too few timed answers of a kind: no bound, nobody flagged
    assert analysis.speeder_bounds({"rating": [100, 5000, 5000, 5000]}) == {}


def test_a_dry_run_drives_distinction_confidence_and_returns(client, researcher, settings):
    study = make_distinction_study(
        researcher,
        settings.MEDIA_ROOT,
        status="draft",
        ask_confidence=True,
        trial_kinds=["distinction", "forward"],
        attention_every=2,
        attention_checks=[{"prompt": "Pick blue", "choices": ["red", "blue"], "answer": "blue"}],
    )
    client.force_login(researcher)
    body = {"participants": {"random": 3, "careless": 1, "returning": 2}, "seed": 5}
    response = client.post(
        f"/api/v1/studies/{study.pk}/dry-runs/", json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 201, response.content
    run = response.json()
    copy = Study.objects.get(pk=run["copy"]["id"])
    sessions = Session.objects.filter(study=copy)
    assert sessions.filter(completed_at__isnull=False).count() == 3
    assert sessions.filter(screened_out_at__isnull=False).count() == 1
    assert sessions.filter(returned_at__isnull=False).count() == 2
    answered = Response.objects.filter(session__study=copy)
    assert answered.filter(trial__kind="distinction").exists()
    assert not answered.exclude(trial__kind="attention").filter(confidence__isnull=True).exists()
    report = client.get(run["analysis_url"]).json()
    assert report["participants"]["returned"] == 2
    assert report["calibration"]["overall"]["n"] > 0
    assert report["distinction"]["methods"]
    assert DryRun.objects.get(pk=run["id"]).answers["returning"] > 0
    # returned sessions gave their rows back: the held rows stay balanced
    held = sessions.filter(returned_at__isnull=True).exclude(preview=True)
    counts = [held.filter(order_row=r).count() for r in range(len(services.conditions_of(copy)))]
    assert max(counts) - min(counts) <= 1


def test_a_returned_session_refuses_answers(client, researcher, settings):
    study = make_study(researcher, settings.MEDIA_ROOT)
    p = begin(client, study, "r")
    body = p.trial().json()
    assert p.post("return/").status_code == 200
    assert p.answer(body["index"], good_answer(body)).status_code == 409
    assert not Response.objects.filter(session__token=p.token).exists()
