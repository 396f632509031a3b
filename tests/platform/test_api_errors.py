"""Every API error is JSON with a message, and bad input from anonymous participants is a 400:
NUL characters, deep nesting, oversize objects; deleting what is in use is a 409."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from tests.explanations_support import researcher_fixture  # noqa: F401 - fixtures
from tests.studies_support import Participant, good_answer, make_study
from wherewhen.core import views as core_views
from wherewhen.studies.models import Stimulus

pytestmark = pytest.mark.django_db


@pytest.fixture
def study(researcher, settings):
    return make_study(researcher, settings.MEDIA_ROOT)


@pytest.fixture
def participant(client, study):
    p = Participant(client, study.slug, {"PROLIFIC_PID": "p-1"})
    assert p.start().status_code == 200
    assert p.post("consent/", {"agree": True}).status_code == 200
    assert p.post("instructions/").status_code == 200
    return p


def _raw_post(client, path, raw: str, session: str | None = None):
    headers = {"HTTP_X_STUDY_SESSION": session} if session else {}
    return client.post(path, raw, content_type="application/json", **headers)


# --- JSON everywhere ------------------------------------------------------------------------


def test_unknown_api_path_is_json_404(client):
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_plain_view_404_under_api_is_json(client, researcher):
    client.force_login(researcher)  # a plain Django view: the session cookie signs in
    response = client.get("/api/v1/videos/987654/stream/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "detail" in response.json()


def test_unexpected_error_under_api_is_json_500(client, monkeypatch):
    def boom(self, request, format=None):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(core_views.ApiRootView, "get", boom)
    client.raise_request_exception = False
    response = client.get("/api/v1/")
    assert response.status_code == 500
    body = response.json()
    assert "went wrong" in body["detail"]
    assert "fire" not in body["detail"]


# --- NUL characters -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"PROLIFIC_PID": "p\u00002"},
        {"PROLIFIC_PID": "p-2", "STUDY\u0000": "x"},
    ],
)
def test_nul_in_start_params_is_400(client, study, params):
    response = _raw_post(
        client, f"/api/v1/participate/start/{study.slug}/", json.dumps({"params": params})
    )
    assert response.status_code == 400, response.content
    assert "NUL" in json.dumps(response.json())


def test_nul_anywhere_in_an_answer_is_400(client, participant):
    trial = participant.trial().json()
    answer = good_answer(trial) | {"note": "x\u0000y"}
    response = participant.answer(trial["index"], answer)
    assert response.status_code == 400
    assert "NUL character" in response.json()["detail"]
    # Nothing was stored: the same trial is still the current one.
    assert participant.trial().json()["index"] == trial["index"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/videos/?status=%00",
        "/api/v1/videos/?dataset=a%00b",
        "/api/v1/explanations/?method=%00&method=staa",
        "/api/v1/participate/start/which%00map/",
    ],
)
def test_nul_in_url_or_list_filter_is_400(researcher, url):
    client = APIClient()
    client.force_authenticate(researcher)
    response = client.get(url) if "start" not in url else client.post(url, {}, format="json")
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


# --- Nesting and size -----------------------------------------------------------------------


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_answer_is_400(client, participant, depth):
    trial = participant.trial().json()
    nested = "[" * depth + "]" * depth
    raw = (
        f'{{"index": {trial["index"]}, "response_id": "r-deep", '
        f'"answer": {{"rating": 5, "extra": {nested}}}}}'
    )
    response = _raw_post(client, "/api/v1/participate/answer/", raw, participant.token)
    assert response.status_code == 400
    assert "nested more than" in response.json()["detail"]


def test_moderately_nested_answer_is_refused_by_the_field(client, participant):
    trial = participant.trial().json()
    answer = good_answer(trial) | {"extra": [[[[[[[[1]]]]]]]]}
    response = participant.answer(trial["index"], answer)
    assert response.status_code == 400
    assert "nested" in response.json()["answer"][0]


@pytest.mark.parametrize("field", ["viewport", "client_times"])
def test_oversize_viewport_or_client_times_is_400(client, participant, field):
    trial = participant.trial().json()
    body = {
        "index": trial["index"],
        "response_id": "r-big",
        "answer": good_answer(trial),
        field: {"junk": "x" * 100_000},
    }
    response = _raw_post(client, "/api/v1/participate/answer/", json.dumps(body), participant.token)
    assert response.status_code == 400
    assert "too large" in response.json()[field][0]


def test_oversize_viewport_at_start_is_400(client, study):
    body = {"params": {"PROLIFIC_PID": "p-3"}, "viewport": {"w": "x" * 10_000}}
    response = _raw_post(client, f"/api/v1/participate/start/{study.slug}/", json.dumps(body))
    assert response.status_code == 400
    assert "too large" in response.json()["viewport"][0]


# --- Deleting what is in use ----------------------------------------------------------------


def test_deleting_a_video_used_by_a_study_is_409(researcher, study):
    video = Stimulus.objects.filter(study=study).first().video
    client = APIClient()
    client.force_authenticate(researcher)
    response = client.delete(f"/api/v1/videos/{video.id}/")
    assert response.status_code == 409
    assert "cannot be deleted" in response.json()["detail"]
    assert "stimul" in response.json()["detail"]


def test_deleting_a_study_with_sessions_is_json(researcher, study, participant):
    client = APIClient()
    client.force_authenticate(researcher)
    response = client.delete(f"/api/v1/studies/{study.id}/")
    assert response.status_code in (204, 409)
    if response.status_code == 409:
        assert "cannot be deleted" in response.json()["detail"]
