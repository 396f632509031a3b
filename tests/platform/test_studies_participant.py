"""The participant API: a whole session, balancing, blinding, and bad input (no ids, a second
browser, answers out of order, late answers, replays) without corrupting data."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.explanations_support import researcher_fixture  # noqa: F401 - fixtures
from tests.studies_support import METHODS, MODEL_NAME, Participant, good_answer, make_study
from wherewhen.studies import analysis, services
from wherewhen.studies.models import Response, Session, Study, Trial

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(researcher, settings):
    return make_study(researcher, settings.MEDIA_ROOT)


def run_session(client, study, pid: str) -> Participant:
    p = Participant(client, study.slug, {"PROLIFIC_PID": pid, "STUDY_ID": "s1", "SESSION_ID": "x"})
    assert p.start().status_code == 200
    assert p.post("consent/", {"agree": True}).json()["stage"] == "instructions"
    assert p.post("instructions/").json()["stage"] == "trials"
    while True:
        trial = p.trial()
        if trial.status_code == 409:
            break
        body = trial.json()
        for stim in body["stimuli"]:
            assert p.get(stim["map_url"]).status_code == 200
            video = p.get(stim["video_url"])
            assert video.status_code == 200
        result = p.answer(body["index"], good_answer(body))
        assert result.status_code == 200, result.content
        assert result.json()["accepted"]
    return p


def test_whole_session_to_completion_code(client, study):
    p = run_session(client, study, "pid-1")
    state = p.get("/api/v1/participate/state/").json()
    assert state["stage"] == "done"
    assert state["completion_code"] == "C0DE1234"
    session = Session.objects.get(participant_id="pid-1")
    assert session.recruitment == {"PROLIFIC_PID": "pid-1", "STUDY_ID": "s1", "SESSION_ID": "x"}
    trials = list(session.trials.all())
    # 1 practice + 6 main + 2 attention checks (after main trials 3 and 6)
    assert len(trials) == 9
    assert [t.kind for t in trials].count("attention") == 2
    assert trials[0].practice
    assert Response.objects.filter(session=session).count() == 9
    r = Response.objects.filter(session=session).first()
    assert r.viewport == {"width": 1280, "height": 720} and r.served_at and r.received_at


def test_no_method_or_model_name_reaches_a_blinded_participant(client, study):
    p = run_session(client, study, "pid-blind")
    # the remaining participant endpoints, and their error answers
    assert p.get("/api/v1/participate/state/").status_code == 200
    assert p.trial().status_code == 409
    assert p.answer(0, {"rating": 1}).status_code == 409
    assert p.start().status_code == 200  # coming back
    forbidden = [*METHODS, MODEL_NAME]
    forbidden += [str(e) for e in study.stimuli.values_list("explanation_id", flat=True)]
    assert p.bodies
    for headers, body in p.bodies:
        text = body.decode("latin-1").lower()
        head = json.dumps(headers).lower()
        for name in [*METHODS, MODEL_NAME]:
            assert name not in text, name
            assert name not in head, name
        if body.startswith(b"{"):
            parsed = json.loads(body)
            assert "explanation" not in json.dumps(parsed)
            assert "method" not in json.dumps(parsed)
            for stim in parsed.get("stimuli", []):
                assert stim["label"] is None


def test_balanced_latin_square_assignment(client, study):
    n_rows = len(services.conditions_of(study))
    for i in range(2 * n_rows):
        Participant(client, study.slug, {"PROLIFIC_PID": f"p{i}"}).start()
    rows = list(Session.objects.values_list("order_row", flat=True))
    assert sorted(rows) == sorted(list(range(n_rows)) * 2)
    # every condition is seen equally often at each main position across the square
    first = Trial.objects.filter(practice=False, index=1).values_list("kind", "condition")
    assert len(set(first)) == n_rows


def test_link_without_ids_is_a_400_with_a_message(client, study):
    response = Participant(client, study.slug, {"STUDY_ID": "s1"}).start()
    assert response.status_code == 400
    assert "participant id" in response.json()["detail"]
    assert not Session.objects.exists()


def test_second_browser_with_the_same_id_resumes_without_restart(client, study):
    first = Participant(client, study.slug, {"PROLIFIC_PID": "same"})
    first.start()
    first.post("consent/", {"agree": True})
    first.post("instructions/")
    t0 = first.trial().json()
    assert first.answer(t0["index"], good_answer(t0)).status_code == 200
    second = Participant(client, study.slug, {"PROLIFIC_PID": "same"})
    state = second.start().json()
    assert second.token == first.token
    assert state["stage"] == "trials" and state["progress"]["done"] == 1
    # the first trial cannot be answered again from the second browser
    assert second.answer(t0["index"], {"rating": 1}).status_code == 409
    assert Session.objects.count() == 1
    assert Response.objects.count() == 1


def test_answer_to_a_trial_not_current_is_a_409(client, study):
    p = Participant(client, study.slug, {"PROLIFIC_PID": "skip"})
    p.start()
    p.post("consent/", {"agree": True})
    p.post("instructions/")
    t0 = p.trial().json()
    assert p.answer(t0["index"] + 1, {"rating": 3}).status_code == 409
    assert p.answer(999, {"rating": 3}).status_code == 409
    assert not Response.objects.exists()
    assert p.post("answer/", {"index": 0}).status_code == 400


def test_answers_before_consent_or_with_a_bad_token_are_refused(client, study):
    p = Participant(client, study.slug, {"PROLIFIC_PID": "early"})
    p.start()
    assert p.trial().status_code == 409
    assert p.answer(0, {"rating": 3}).status_code == 409
    p.token = "0" * 32
    assert p.trial().status_code == 404


def test_replayed_request_returns_the_stored_result_without_a_second_row(client, study):
    p = Participant(client, study.slug, {"PROLIFIC_PID": "replay"})
    p.start()
    p.post("consent/", {"agree": True})
    p.post("instructions/")
    t0 = p.trial().json()
    first = p.answer(t0["index"], good_answer(t0), response_id="r-1")
    again = p.answer(t0["index"], good_answer(t0), response_id="r-1")
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert Response.objects.count() == 1
    assert Session.objects.get().current_index == 1


def test_late_answer_is_stored_flagged_and_excluded(client, researcher, settings):
    study = make_study(researcher, settings.MEDIA_ROOT, time_limit_seconds=5, practice_trials=0)
    p = Participant(client, study.slug, {"PROLIFIC_PID": "slow"})
    p.start()
    p.post("consent/", {"agree": True})
    p.post("instructions/")
    t0 = p.trial().json()
    Trial.objects.filter(index=t0["index"]).update(
        served_at=Trial.objects.get(index=t0["index"]).served_at - timedelta(seconds=60)
    )
    result = p.answer(t0["index"], good_answer(t0)).json()
    assert result["late"] and not result["accepted"]
    stored = Response.objects.get()
    assert stored.late and stored.response_ms >= 60_000
    rows = analysis.long_rows(study)
    assert rows[0]["excluded"] and rows[0]["exclusion_reason"] == "late"


def test_closed_study_and_unknown_study(client, study):
    Study.objects.filter(pk=study.pk).update(status=Study.Status.CLOSED)
    assert Participant(client, study.slug, {"PROLIFIC_PID": "x"}).start().status_code == 404
    assert Participant(client, "nope", {"PROLIFIC_PID": "x"}).start().status_code == 404


def test_media_of_stimuli_not_shown_to_the_session_is_unknown(client, study):
    p = Participant(client, study.slug, {"PROLIFIC_PID": "media"})
    p.start()
    other = study.stimuli.exclude(
        token__in=Trial.objects.values_list("stimulus_a__token", flat=True)
    ).exclude(
        token__in=Trial.objects.filter(stimulus_b__isnull=False).values_list(
            "stimulus_b__token", flat=True
        )
    )
    for stim in other:
        url = f"/api/v1/participate/media/{p.token}/{stim.token}/map"
        assert p.get(url).status_code == 404
    assert p.get(f"/api/v1/participate/media/{'0' * 32}/x/map").status_code == 404


def test_pointing_trials_are_scored_against_ground_truth(client, researcher, settings):
    from tests.scoring_support import box_from, ground_truth, make_project

    study = make_study(
        researcher,
        settings.MEDIA_ROOT,
        n_videos=1,
        trial_kinds=["pointing"],
        practice_trials=0,
        attention_every=0,
        trials_per_participant=2,
    )
    video = study.stimuli.first().video
    explained = study.stimuli.first().explanation
    label = explained.model.labels[explained.explained_target]  # the class the maps explain
    project = make_project(researcher, [video], labels=[label])
    ground_truth(project, video, [box_from(0, (0, 0, 20, 20), label=label)])
    Study.objects.filter(pk=study.pk).update(pointing_project=project)
    p = Participant(client, study.slug, {"workerId": "w1", "assignmentId": "a1"})
    p.start()
    p.post("consent/", {"agree": True})
    p.post("instructions/")
    first = p.trial().json()
    assert first["kind"] == "pointing" and first["stimuli"][0]["width"] == 64
    assert p.answer(first["index"], {"x": 10, "y": 12, "time": 0.3}).status_code == 200
    second = p.trial().json()
    assert p.answer(second["index"], {"x": 500, "y": 12}).status_code == 400  # outside
    assert p.answer(second["index"], {"x": 62, "y": 45, "time": 0.3}).status_code == 200
    assert list(Response.objects.order_by("trial__index").values_list("correct", flat=True)) == [
        True,
        False,
    ]
    report = analysis.analyze(study)
    assert sum(r["n"] for r in report["pointing"]) == 2
    assert sum(r["hits"] for r in report["pointing"]) == 1


def test_an_unblinded_study_may_name_the_method(client, researcher, settings):
    study = make_study(researcher, settings.MEDIA_ROOT, blinded=False, practice_trials=0)
    p = Participant(client, study.slug, {"PROLIFIC_PID": "open"})
    p.start()
    p.post("consent/", {"agree": True})
    p.post("instructions/")
    stimuli = p.trial().json()["stimuli"]
    assert stimuli and all(s["label"] in METHODS for s in stimuli)
