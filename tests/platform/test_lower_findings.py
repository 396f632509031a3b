"""The smaller findings of the hostile-input review, each reproduced: a flag without reason or
time, a bulk run named by its dataset, an upload under another field name, an annotator who gave
a task back, a study pointed at someone else's project, map files of deleted videos, nullable
names in the schema, and demo passwords that pass the validators."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from rest_framework.test import APIClient

from tests.annotation_support import make_project, make_video, user
from tests.scoring_support import make_explanation, make_model, peak_map
from wherewhen.accounts.management.commands.seed_demo import DEMO_USERS, demo_password
from wherewhen.accounts.models import Role, User
from wherewhen.core import media
from wherewhen.videos.models import Dataset

pytestmark = pytest.mark.django_db


def client_for(person) -> APIClient:
    client = APIClient()
    client.force_authenticate(person)
    return client


@pytest.fixture
def rita(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.SCORING_AUTO_RECOMPUTE = False
    return user("rita", Role.RESEARCHER)


def test_a_flag_needs_only_a_comment(rita):
    e = make_explanation(make_video(rita), peak_map([(0, 0)] * 4), model=make_model(rita))
    client = client_for(rita)
    url = f"/api/v1/explanations/{e.pk}/flags/"
    made = client.post(url, {"comment": "the peak is on the logo"}, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["reason"] == "other" and made.json()["time"] is None
    bad = client.post(url, {"reason": "nonsense", "time": "soon"}, format="json")
    assert bad.status_code == 400 and set(bad.json()) == {"reason", "time"}


def test_a_bulk_run_can_name_its_dataset(rita, monkeypatch):
    from wherewhen.core import tasking

    sent = []
    monkeypatch.setattr(tasking, "send", lambda name, **kw: sent.append(name))
    model = make_model(rita)
    dataset = Dataset.objects.create(owner=rita, name="street scenes")
    dataset.videos.add(make_video(rita, "a"), make_video(rita, "b"))
    client = client_for(rita)
    body = {"dataset_name": "street scenes", "model": model.pk, "methods": ["staa"]}
    made = client.post("/api/v1/bulk-runs/", body, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["dataset"] == dataset.pk
    missing = client.post("/api/v1/bulk-runs/", {**body, "dataset_name": "nope"}, format="json")
    assert missing.status_code == 400 and "no dataset named 'nope'" in str(missing.json())
    other = user("olga", Role.RESEARCHER)
    Dataset.objects.create(owner=other, name="olga's")
    theirs = client.post("/api/v1/bulk-runs/", {**body, "dataset_name": "olga's"}, format="json")
    assert theirs.status_code == 400


def test_an_upload_under_another_field_name_says_which_field(rita):
    response = client_for(rita).post("/api/v1/videos/", {"video": b"abc"}, format="multipart")
    assert response.status_code == 400
    assert "'file'" in json.dumps(response.json())


def test_an_annotator_who_gives_a_task_back_loses_its_video(rita):
    project = make_project(rita, [make_video(rita, "v1", with_file=True)])
    alex = user("alex")
    client = client_for(alex)
    taken = client.post("/api/v1/annotation/queue/next/", {"project": project.pk}, format="json")
    assignment = taken.json()["assignment"]
    video_id = assignment["video"]["id"]
    browser = APIClient()
    browser.force_login(alex)
    assert client.get(assignment["video_url"]).status_code == 200
    assert browser.get(f"/api/v1/videos/{video_id}/stream/").status_code == 200
    released = client.post(f"/api/v1/annotation/assignments/{assignment['id']}/release/")
    assert released.status_code == 200, released.content
    assert client.get(assignment["video_url"]).status_code == 403
    assert browser.get(f"/api/v1/videos/{video_id}/stream/").status_code in (403, 404)
    # opening it again gives the video back
    again = client.post(f"/api/v1/annotation/assignments/{assignment['id']}/resume/")
    assert again.status_code == 200, again.content
    assert client.get(assignment["video_url"]).status_code == 200


def test_a_study_cannot_point_at_another_researchers_project(rita):
    other = user("olga", Role.RESEARCHER)
    theirs = make_project(other)
    body = {"title": "t", "slug": "s", "trial_kinds": ["rating"]}
    client = client_for(rita)
    foreign = client.post(
        "/api/v1/studies/", {**body, "pointing_project": theirs.pk}, format="json"
    )
    absent = client.post(
        "/api/v1/studies/", {**body, "slug": "s2", "pointing_project": 999999}, format="json"
    )
    assert foreign.status_code == absent.status_code == 400
    # the answer does not tell an existing id from a missing one
    assert foreign.json()["pointing_project"][0].replace(str(theirs.pk), "N") == absent.json()[
        "pointing_project"
    ][0].replace("999999", "N")
    mine = make_project(rita)
    ok = client.post(
        "/api/v1/studies/", {**body, "slug": "s3", "pointing_project": mine.pk}, format="json"
    )
    assert ok.status_code == 201, ok.content


def test_deleting_a_video_deletes_its_maps(rita, django_capture_on_commit_callbacks):
    video = make_video(rita)
    e = make_explanation(video, peak_map([(0, 0)] * 4), model=make_model(rita))
    path = media.local_path(e.map_file)
    assert Path(path).is_file()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(rita).delete(f"/api/v1/videos/{video.pk}/")
    assert response.status_code == 204, response.content
    assert not Path(path).exists()


def test_names_that_may_be_missing_are_nullable_in_the_schema(client):
    schema = client.get("/api/schema/?format=json").json()["components"]["schemas"]
    assignment = schema["AnnotationAssignment"]["properties"]
    assert assignment["reviewer"].get("nullable") is True
    assert assignment["annotator"].get("nullable") is True
    assert schema["Explanation"]["properties"]["requested_by"].get("nullable") is True


def test_demo_passwords_pass_the_password_validators():
    for username, role, first, last in DEMO_USERS:
        candidate = User(username=username, role=role, first_name=first, last_name=last)
        validate_password(demo_password(username), candidate)
