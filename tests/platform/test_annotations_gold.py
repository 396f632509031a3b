"""Gold items with immediate feedback (IoU, boundary error, running accuracy) and qualification
(pass k gold items before real work), through the API."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.annotation_support import annotation, box_track, make_project, make_video, user
from wherewhen.accounts.models import Role
from wherewhen.annotations import services
from wherewhen.annotations.models import Task

pytestmark = pytest.mark.django_db

API = "/api/v1/annotation"
ANSWER = annotation(box_track((2, (10, 10, 50, 50)), (8, (10, 10, 50, 50))), visual=(0.2, 0.8))


def client_for(person) -> APIClient:
    client = APIClient()
    client.force_authenticate(person)
    return client


def gold_project(rita, n_gold: int, n_real: int, **fields):
    videos = [make_video(rita, f"g{i}") for i in range(n_gold)]
    videos += [make_video(rita, f"r{i}") for i in range(n_real)]
    project = make_project(rita, videos, overlap=1, max_overlap=1, **fields)
    for video in videos[:n_gold]:
        services.set_gold_answer(Task.objects.get(project=project, video=video), ANSWER)
    return project


def take(client) -> dict | None:
    response = client.post(f"{API}/queue/next/", {}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["assignment"]


def submit(client, assignment_id: int, body: dict) -> dict:
    response = client.post(f"{API}/assignments/{assignment_id}/submit/", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_submitting_a_gold_item_shows_how_it_compared():
    rita, alex = user("rita", Role.RESEARCHER), user("alex")
    gold_project(rita, n_gold=2, n_real=0, gold_every=1)
    client = client_for(alex)
    first = take(client)
    # Boxes shifted by 10 px (IoU 1200 / 2000 = 0.6), segment 0.1 s late each side.
    shifted = annotation(box_track((2, (20, 10, 60, 50)), (8, (20, 10, 60, 50))), visual=(0.3, 0.9))
    feedback = submit(client, first["id"], shifted)["gold_feedback"]
    assert feedback["box_iou"] == pytest.approx(0.6)
    assert feedback["segment_iou"] == pytest.approx(0.5 / 0.7)
    assert feedback["boundary_error"] == pytest.approx(0.1)
    assert feedback["passed"] is True and feedback["running_accuracy"] == 1.0
    # A second gold item answered badly: failed, running accuracy 1 of 2.
    second = take(client)
    wrong = annotation(box_track((2, (100, 60, 140, 100))), visual=(1.5, 1.9))
    feedback = submit(client, second["id"], wrong)["gold_feedback"]
    assert feedback["passed"] is False and feedback["box_iou"] < 0.5
    assert (feedback["gold_done"], feedback["gold_passed"]) == (2, 1)
    assert feedback["running_accuracy"] == 0.5


def test_feedback_is_hidden_when_the_project_does_not_show_it_but_still_counts():
    rita, alex = user("rita", Role.RESEARCHER), user("alex")
    project = gold_project(rita, n_gold=1, n_real=1, gold_every=1, gold_feedback=False)
    client = client_for(alex)
    item = take(client)
    assert submit(client, item["id"], ANSWER)["gold_feedback"] is None
    assert services.is_qualified(alex.pk, project) is True


def test_qualification_serves_gold_until_k_are_passed():
    rita, alex = user("rita", Role.RESEARCHER), user("alex")
    project = gold_project(rita, n_gold=3, n_real=2, gold_every=0, qualification_gold=2)
    client = client_for(alex)
    gold_ids = set(
        Task.objects.filter(project=project, is_gold=True).values_list("video_id", flat=True)
    )
    served = []
    # Fail the first gold item, pass the next two: only then does real work come.
    for body in (annotation(box_track((2, (100, 60, 140, 100)))), ANSWER, ANSWER):
        item = take(client)
        served.append(item["video"]["id"] if isinstance(item["video"], dict) else item["video"])
        submit(client, item["id"], body)
    assert set(served) == gold_ids
    real = take(client)
    assert real is not None
    video = real["video"]["id"] if isinstance(real["video"], dict) else real["video"]
    assert video not in gold_ids


def test_an_annotator_who_cannot_qualify_gets_no_real_work():
    rita, alex = user("rita", Role.RESEARCHER), user("alex")
    gold_project(rita, n_gold=1, n_real=2, gold_every=0, qualification_gold=1)
    client = client_for(alex)
    item = take(client)
    submit(client, item["id"], annotation(box_track((2, (100, 60, 140, 100)))))
    assert take(client) is None
