"""Numbers a client sets have a ceiling: tolerances, rating scales, label lists, study sizes."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from tests.annotation_support import make_project
from wherewhen.accounts.models import Role, User
from wherewhen.core import limits
from wherewhen.core.exceptions import Invalid
from wherewhen.scoring.services import parse_tolerance

pytestmark = pytest.mark.django_db


@pytest.fixture
def rita():
    user = User.objects.create_user("rita", password="pw-rita-42", role=Role.RESEARCHER)
    client = APIClient()
    client.force_authenticate(user)
    return user, client


@pytest.mark.parametrize("value", ["1e308", "10000.5", "inf", "nan", "-1"])
def test_parse_tolerance_refuses_out_of_range(value):
    with pytest.raises(Invalid) as info:
        parse_tolerance(value)
    assert "tolerance" in info.value.detail


def test_parse_tolerance_accepts_the_maximum():
    assert parse_tolerance(str(limits.TOLERANCE_MAX_PX)) == limits.TOLERANCE_MAX_PX


def test_project_tolerance_has_a_ceiling(rita):
    user, client = rita
    project = make_project(user)
    url = f"/api/v1/scoring/projects/{project.pk}/"
    response = client.patch(url, {"tolerance": 1e308}, format="json")
    assert response.status_code == 400
    assert "at most 10000 pixels" in json.dumps(response.json())


def _study(client, **fields):
    body = {"title": "t", "slug": "s", "trial_kinds": ["rating"]} | fields
    return client.post("/api/v1/studies/", body, format="json")


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("likert_points", 1, "2 to 11 points"),
        ("likert_points", 12, "2 to 11 points"),
        ("likert_points", 10**9, "2 to 11 points"),
        ("trials_per_participant", 2_000_000_000, "from 1 to 500"),
        ("time_limit_seconds", 10**9, "from 0 to 86400"),
    ],
)
def test_study_numbers_have_bounds(rita, field, value, words):
    _, client = rita
    response = _study(client, **{field: value})
    assert response.status_code == 400, response.content
    assert words in json.dumps(response.json()[field])


def test_study_within_bounds_is_created(rita):
    _, client = rita
    # a study's pointing trials use its pointing project's tolerance (read-only here)
    response = _study(client, likert_points=11, pointing_tolerance=1e300)
    assert response.status_code == 201, response.content


def test_too_many_attention_checks(rita):
    _, client = rita
    check = {"prompt": "Pick a", "choices": ["a", "b"], "answer": "a"}
    response = _study(client, attention_checks=[check] * 51)
    assert response.status_code == 400
    assert "At most 50" in response.json()["attention_checks"][0]


def test_project_labels_have_a_ceiling(rita):
    _, client = rita
    labels = [f"class-{i}" for i in range(limits.PROJECT_LABELS_MAX + 1)]
    response = client.post(
        "/api/v1/annotation/projects/", {"name": "many", "labels": labels}, format="json"
    )
    assert response.status_code == 400
    assert "at most 200 labels" in response.json()["labels"][0]
    ok = client.post(
        "/api/v1/annotation/projects/", {"name": "enough", "labels": labels[:200]}, format="json"
    )
    assert ok.status_code == 201, ok.content
