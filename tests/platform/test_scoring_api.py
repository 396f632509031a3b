"""The scoring API: who sees what, bad input answered with a clear 4xx (or an empty table that
says why), exports."""

from __future__ import annotations

import csv
import io
import json

import pytest
from rest_framework.test import APIClient

from tests.scoring_support import (
    box_from,
    ground_truth,
    make_explanation,
    make_project,
    make_video,
    peak_map,
    user,
)
from wherewhen.accounts.models import Role
from wherewhen.scoring import services
from wherewhen.scoring.models import ScoreRequest

pytestmark = pytest.mark.django_db

BOX = (40, 30, 80, 60)


def client_for(person) -> APIClient:
    client = APIClient()
    client.force_authenticate(person)
    return client


@pytest.fixture
def world(monkeypatch):
    monkeypatch.setattr(services.recompute, "send_recompute", lambda ids: None)
    rita = user("rita", Role.RESEARCHER)
    video = make_video(rita)
    project = make_project(rita, [video])
    ground_truth(project, video, [box_from(0, BOX)])
    e = make_explanation(video, peak_map([(1, 1), (3, 3), (1, 1), (1, 1)]))
    services.recompute_now(project)
    return {"rita": rita, "video": video, "project": project, "explanation": e}


def test_scores_of_an_explanation(world):
    e = world["explanation"]
    body = client_for(world["rita"]).get(f"/api/v1/scoring/scores/?explanation={e.pk}").json()
    assert body["reason"] == "" and not body["stale"]
    consensus = next(r for r in body["results"] if r["reference"] == "consensus")
    assert (consensus["frames_counted"], consensus["frames_hit"]) == (4, 3)
    assert consensus["spatial"] == 0.75 and consensus["stored"]
    assert {r["reference"] for r in body["results"]} == {"consensus", "annotator"}


def test_another_tolerance_is_computed_on_the_fly_and_not_stored(world):
    e = world["explanation"]
    api = client_for(world["rita"])
    body = api.get(f"/api/v1/scoring/scores/?explanation={e.pk}&tolerance=80").json()
    consensus = next(r for r in body["results"] if r["reference"] == "consensus")
    assert consensus["frames_hit"] == 4 and consensus["stored"] is False
    assert e.scores.get(reference="consensus").frames_hit == 3


@pytest.mark.parametrize("value", ["-1", "-0.5", "abc", "nan", "inf"])
def test_a_tolerance_below_zero_or_not_a_number_is_a_400(world, value):
    e = world["explanation"]
    api = client_for(world["rita"])
    response = api.get(f"/api/v1/scoring/scores/?explanation={e.pk}&tolerance={value}")
    assert response.status_code == 400
    assert "tolerance" in response.json()
    url = f"/api/v1/scoring/projects/{world['project'].pk}/"
    response = api.patch(url, {"tolerance": value}, format="json")
    assert response.status_code == 400
    assert "0 or more" in json.dumps(response.json()) or "valid number" in json.dumps(
        response.json()
    )


def test_changing_the_tolerance_marks_the_project_stale(world, django_capture_on_commit_callbacks):
    api = client_for(world["rita"])
    url = f"/api/v1/scoring/projects/{world['project'].pk}/"
    with django_capture_on_commit_callbacks(execute=True):
        body = api.patch(url, {"tolerance": 20}, format="json").json()
    assert body["tolerance"] == 20.0
    assert api.get(url).json()["stale"] is True
    services.process_requests(None)
    assert api.get(url).json()["stale"] is False


def test_an_explanation_of_another_video_is_refused(world):
    e = world["explanation"]
    other = make_video(world["rita"], "other")
    api = client_for(world["rita"])
    response = api.get(f"/api/v1/scoring/scores/?explanation={e.pk}&video={other.pk}")
    assert response.status_code == 400
    assert f"explains video {e.video_id}, not video {other.pk}" in response.json()["video"]
    # scoring against a project that does not hold the explanation's video
    elsewhere = make_project(world["rita"], [other])
    response = api.get(f"/api/v1/scoring/scores/?explanation={e.pk}&project={elsewhere.pk}")
    assert response.status_code == 400
    assert "is not in project" in response.json()["project"]


def test_missing_or_unknown_ids_are_clear(world):
    api = client_for(world["rita"])
    response = api.get("/api/v1/scoring/scores/")
    assert response.status_code == 400 and "explanation" in response.json()
    assert api.get("/api/v1/scoring/scores/?explanation=999999").status_code == 404
    response = api.get("/api/v1/scoring/leaderboards/")
    assert response.status_code == 400 and "project" in response.json()
    response = api.get("/api/v1/scoring/leaderboards/?project=999999")
    assert response.status_code == 404
    assert "No annotation project with id 999999" in response.json()["detail"]


def test_researchers_see_their_own_projects_only(world):
    olga = user("olga", Role.RESEARCHER)
    api = client_for(olga)
    project = world["project"]
    assert api.get(f"/api/v1/scoring/leaderboards/?project={project.pk}").status_code == 404
    assert api.get(f"/api/v1/scoring/projects/{project.pk}/").status_code == 404
    e = world["explanation"]
    assert api.get(f"/api/v1/scoring/scores/?explanation={e.pk}").status_code == 404
    reviewer = client_for(user("robin", Role.REVIEWER))
    assert reviewer.get(f"/api/v1/scoring/leaderboards/?project={project.pk}").status_code == 200
    response = reviewer.patch(f"/api/v1/scoring/projects/{project.pk}/", {"tolerance": 3})
    assert response.status_code == 403
    annotator = client_for(user("alex", Role.ANNOTATOR))
    assert annotator.get(f"/api/v1/scoring/leaderboards/?project={project.pk}").status_code == 403


def test_leaderboard_without_ground_truth_is_empty_with_a_reason(world):
    rita = world["rita"]
    video = make_video(rita, "unannotated")
    project = make_project(rita, [video])
    make_explanation(video, peak_map([(1, 1)] * 4))
    response = client_for(rita).get(f"/api/v1/scoring/leaderboards/?project={project.pk}")
    assert response.status_code == 200
    body = response.json()
    assert body["rows"] == [] and "no ground truth yet" in body["reason"]


def test_leaderboard_clips_and_exports(world):
    api = client_for(world["rita"])
    project = world["project"]
    board = api.get(f"/api/v1/scoring/leaderboards/?project={project.pk}").json()
    (row,) = board["rows"]
    assert row["spatial"]["value"] == 0.75 and row["frames"] == 4
    clips = api.get(
        f"/api/v1/scoring/leaderboards/clips/?project={project.pk}&row={row['key']}"
    ).json()["clips"]
    assert clips[0]["player_url"].startswith(f"/explanations/review/{world['video'].pk}?ids=")
    assert api.get(f"/api/v1/scoring/leaderboards/clips/?project={project.pk}").status_code == 400

    response = api.get(f"/api/v1/scoring/leaderboards/export.csv?project={project.pk}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    (line,) = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert line["method"] == "staa" and line["spatial"] == "0.75"

    response = api.get(f"/api/v1/scoring/leaderboards/export.json?project={project.pk}")
    data = json.loads(response.content)
    assert data["rows"][0]["key"] == row["key"]
    assert len(data["clips"][row["key"]]) == 1


def test_recompute_endpoint_queues_the_project(world, django_capture_on_commit_callbacks):
    api = client_for(world["rita"])
    project = world["project"]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/scoring/projects/{project.pk}/recompute/")
    assert response.status_code == 202
    assert ScoreRequest.objects.filter(project=project, video=None, explanation=None).exists()
    result = services.process_requests(None)
    assert result["computed"] == 0 and result["unchanged"] == 2
