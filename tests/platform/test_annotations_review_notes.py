"""A rejection carries the reviewer's notes pinned to frames and tracks back to the annotator;
bad notes are a clear 400 that changes nothing."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.annotation_support import annotation, box_track, make_project, make_video, user
from wherewhen.accounts.models import Role
from wherewhen.annotations.models import Assignment

pytestmark = pytest.mark.django_db

API = "/api/v1/annotation"


def client_for(person) -> APIClient:
    client = APIClient()
    client.force_authenticate(person)
    return client


@pytest.fixture
def submitted():
    rita, alex, robin = user("rita", Role.RESEARCHER), user("alex"), user("robin", Role.REVIEWER)
    make_project(rita, [make_video(rita, "v")], overlap=1, max_overlap=1)
    annotator = client_for(alex)
    item = annotator.post(f"{API}/queue/next/", {}, format="json").json()["assignment"]
    body = annotation(box_track((2, (10, 10, 50, 50)), (8, (60, 40, 100, 80))))
    done = annotator.post(f"{API}/assignments/{item['id']}/submit/", body, format="json")
    assert done.status_code == 200, done.content
    return item["id"], annotator, client_for(robin)


def test_rejection_notes_reach_the_annotator_on_their_frames(submitted):
    assignment_id, annotator, reviewer = submitted
    notes = [
        {"frame": 8, "track": 0, "text": "The box is too wide here."},
        {"frame": 3, "text": "The jump starts earlier."},
    ]
    response = reviewer.post(
        f"{API}/assignments/{assignment_id}/review/",
        {"decision": "reject", "comment": "", "notes": notes},
        format="json",
    )
    assert response.status_code == 200, response.content
    back = annotator.post(f"{API}/queue/next/", {}, format="json").json()["assignment"]
    assert back["id"] == assignment_id
    detail = annotator.get(f"{API}/assignments/{assignment_id}/").json()
    assert detail["review_notes"] == [
        {"frame": 3, "track": None, "text": "The jump starts earlier."},
        {"frame": 8, "track": 0, "text": "The box is too wide here."},
    ]


@pytest.mark.parametrize(
    "notes",
    [
        [{"frame": 99, "text": "past the end"}],
        [{"frame": 2, "track": 5, "text": "no such track"}],
        [{"frame": 2, "text": "   "}],
    ],
)
def test_bad_notes_are_refused_and_nothing_changes(submitted, notes):
    assignment_id, _, reviewer = submitted
    response = reviewer.post(
        f"{API}/assignments/{assignment_id}/review/",
        {"decision": "reject", "comment": "fix", "notes": notes},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "notes" in response.json()
    row = Assignment.objects.get(pk=assignment_id)
    assert row.status == Assignment.Status.SUBMITTED and row.review_notes == []
