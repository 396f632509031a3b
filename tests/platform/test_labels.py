"""Labels all the way through: the label rule, the class map, per-label consensus and ground
truth, not-scored explanations on the leaderboard and in the review player."""

from __future__ import annotations

import numpy as np
import pytest
from rest_framework.test import APIClient

from tests.annotation_support import make_project, make_video, user
from tests.scoring_support import make_explanation, make_model, peak_map
from wherewhen.accounts.models import Role
from wherewhen.annotations import services as annotation_services
from wherewhen.annotations.labels import clean_class_map, resolve
from wherewhen.explanations.models import Explanation
from wherewhen.scoring import leaderboards
from wherewhen.scoring import services as scoring
from wherewhen.scoring.models import ExplanationScore, HumanBaseline, ScoreRequest

CAR = (0.0, 0.0, 40.0, 30.0)  # cell (0, 0) of a 4 x 4 grid on 160 x 120
CYCLIST = (120.0, 90.0, 160.0, 120.0)  # cell (3, 3)


# --- the rule, on plain strings -------------------------------------------------------------------


def test_a_class_takes_the_label_of_the_same_name_ignoring_case():
    choice = resolve(" Cyclist ", {}, ["cyclist", "car"])
    assert (choice.label, choice.explicit, choice.reason) == ("cyclist", False, "")


def test_the_class_map_decides_first_and_may_map_several_classes_to_one_label():
    class_map = {"sports car": "car", "Pickup": "car", "cyclist": None}
    assert resolve("SPORTS CAR", class_map, ["car", "cyclist"]).label == "car"
    assert resolve("pickup", class_map, ["car", "cyclist"]).label == "car"
    off = resolve("Cyclist", class_map, ["car", "cyclist"])
    assert off.label is None and off.explicit and "maps class 'Cyclist' to no label" in off.reason


def test_a_class_without_a_label_is_not_scored_with_the_reason():
    choice = resolve("dog", {}, ["car"])
    assert choice.label is None and "class 'dog' maps to no annotation label" in choice.reason


def test_an_unnamed_class_explains_the_task_label():
    assert resolve(None, {}, ["car"], task_label="car").label == "car"
    assert resolve(None, {}, ["car"]).label is None


@pytest.mark.parametrize(
    "value, message",
    [
        ([], "must be an object"),
        ({"": "car"}, "Class names must be"),
        ({"Car": "car", "car ": "car"}, "the same name"),
        ({"car": "boat"}, "not one of the project's labels"),
        ({"car": 3}, "must be a label's name or null"),
    ],
)
def test_bad_class_maps_are_refused(value, message):
    with pytest.raises(ValueError, match=message):
        clean_class_map(value, ["car", "cyclist"])


# --- the platform --------------------------------------------------------------------------------


def client_for(person) -> APIClient:
    client = APIClient()
    client.force_authenticate(person)
    return client


@pytest.fixture
def street(db, settings, tmp_path):
    """One video with a car track (top left) and a cyclist track (bottom right) and one
    ``when`` segment each; a model with the classes car, Cyclist and dog."""
    settings.MEDIA_ROOT = str(tmp_path)
    settings.SCORING_AUTO_RECOMPUTE = False
    owner = user("rita", Role.RESEARCHER)
    video = make_video(owner, "street", label="cyclist")
    project = make_project(owner, [video], labels=["cyclist", "car"])
    tracks = [
        {"label": "cyclist", "keyframes": [{"frame": 0, **dict(zip(["x0", "y0", "x1", "y1"], CYCLIST, strict=True))}]},
        {"label": "car", "keyframes": [{"frame": 0, **dict(zip(["x0", "y0", "x1", "y1"], CAR, strict=True))}]},
    ]  # fmt: skip
    segments = [
        {"kind": "visual", "label": "cyclist", "start": 0.0, "end": 0.4},
        {"kind": "visual", "label": "car", "start": 0.9, "end": 1.6},
    ]
    annotation_services.import_ground_truth(project, video, tracks, segments)
    model = make_model(owner)
    model.labels = ["car", "Cyclist", "dog"]
    model.save(update_fields=["labels"])
    return {"owner": owner, "video": video, "project": project, "model": model}


def explain(street, target: int, cells, temporal=(0.0, 0.0, 1.0, 0.0), params=None) -> Explanation:
    e = make_explanation(
        street["video"],
        peak_map(cells),
        model=street["model"],
        temporal=list(temporal),
        params=params if params is not None else {"target": target, "cells": str(cells)},
    )
    Explanation.objects.filter(pk=e.pk).update(explained_target=target)
    e.refresh_from_db()
    return e


def consensus_score(e: Explanation) -> ExplanationScore:
    return ExplanationScore.objects.get(explanation=e, reference="consensus")


def test_ground_truth_keeps_every_label(street):
    client = client_for(street["owner"])
    project, video = street["project"], street["video"]
    task = project.tasks.get(video=video)
    body = client.get(f"/api/v1/annotation/tasks/{task.pk}/ground-truth/").json()
    assert body["labels"] == ["car", "cyclist"]
    first = body["frames"][0]
    assert sorted(zip(first["labels"], map(tuple, first["boxes"]), strict=True)) == [
        ("car", CAR),
        ("cyclist", CYCLIST),
    ]
    assert sorted(zip(body["when_labels"]["visual"], map(tuple, body["when"]["visual"]), strict=True)) == [
        ("car", (0.9, 1.6)),
        ("cyclist", (0.0, 0.4)),
    ]  # fmt: skip
    only_car = annotation_services.ground_truth_for_video(project, video, label="car")
    assert {tuple(b) for f in only_car["frames"] for b in f["boxes"]} == {CAR}
    assert only_car["when"]["visual"] == [[0.9, 1.6]]


def test_a_peak_on_the_car_is_a_hit_for_car_and_a_miss_for_the_cyclist(street):
    on_car = [(0, 0)] * 4
    car = explain(street, 0, on_car, temporal=(0, 0, 0, 1))  # 1.5 s: inside the car segment
    cyclist = explain(street, 1, on_car, temporal=(0, 0, 0, 1))
    scoring.recompute_now(street["project"])
    car_score, cyclist_score = consensus_score(car), consensus_score(cyclist)
    assert (car_score.label, car_score.class_name) == ("car", "car")
    assert (car_score.frames_counted, car_score.frames_hit) == (4, 4)
    assert car_score.temporal_hit is True
    assert (cyclist_score.label, cyclist_score.class_name) == ("cyclist", "Cyclist")
    assert (cyclist_score.frames_counted, cyclist_score.frames_hit) == (4, 0)
    assert cyclist_score.temporal_hit is False


def test_unmapped_classes_are_not_scored_and_never_count_as_misses(street):
    dog = explain(street, 2, [(0, 0)] * 4, params={"layer": "last"})
    car = explain(street, 0, [(0, 0)] * 4, params={"layer": "last"})
    scoring.recompute_now(street["project"])
    score = consensus_score(dog)
    assert score.label == "" and score.frames_counted == 0
    assert "class 'dog' maps to no annotation label" in score.not_scored
    board = leaderboards.leaderboard(street["owner"], street["project"])
    [row] = board["rows"]  # one model x method row holding both explanations
    assert row["clips"] == 1 and row["not_scored"] == 1 and row["labels"] == ["car"]
    assert row["spatial"]["value"] == 1.0  # the dog map is not a miss
    assert any("not scored" in note for note in board["notes"])
    review = client_for(street["owner"]).get(f"/api/v1/explanations/{dog.pk}/ground-truth/")
    assert review.status_code == 200
    assert review.json()["available"] is False and review.json()["reason"] == score.not_scored
    assert consensus_score(car).not_scored == ""


def test_a_video_without_evidence_of_the_label_is_not_scored(street):
    project = street["project"]
    project.class_map = {"dog": "car"}
    project.save()
    other = make_video(street["owner"], "cyclist only", label="cyclist")
    annotation_services.import_ground_truth(
        project,
        other,
        [{"label": "cyclist", "keyframes": [{"frame": 0, "x0": 1, "y0": 1, "x1": 9, "y1": 9}]}],
        [],
    )
    e = make_explanation(other, peak_map([(0, 0)] * 4), model=street["model"])  # class "car"
    scoring.recompute_now(project)
    assert consensus_score(e).not_scored == "Not scored: the video has no evidence labelled 'car'."


def test_the_class_map_is_edited_through_the_api_and_rescores(
    street, settings, django_capture_on_commit_callbacks
):
    project = street["project"]
    client = client_for(street["owner"])
    dog = explain(street, 2, [(3, 3)] * 4)
    scoring.recompute_now(project)
    assert consensus_score(dog).not_scored
    url = f"/api/v1/annotation/projects/{project.pk}/"
    bad = client.patch(url, {"class_map": {"dog": "boat"}}, format="json")
    assert bad.status_code == 400 and "not one of the project's labels" in str(bad.json())
    settings.SCORING_AUTO_RECOMPUTE = True
    with django_capture_on_commit_callbacks(execute=True):
        ok = client.patch(url, {"class_map": {"Dog": "cyclist"}}, format="json")
    assert ok.status_code == 200 and ok.json()["class_map"] == {"Dog": "cyclist"}
    assert ScoreRequest.objects.filter(project=project, video=None).exists()
    choices = client.get(f"{url}class-map/", {"model": street["model"].pk}).json()
    assert choices["classes"] == [
        {"class_name": "car", "label": "car", "explicit": False},
        {"class_name": "Cyclist", "label": "cyclist", "explicit": False},
        {"class_name": "dog", "label": "cyclist", "explicit": True},
    ]
    assert client.get(f"{url}class-map/", {"model": "x"}).status_code == 400
    assert client.get(f"{url}class-map/", {"model": 999999}).status_code == 404
    project.refresh_from_db()
    scoring.recompute_now(project)
    score = consensus_score(dog)
    assert (score.label, score.frames_hit, score.not_scored) == ("cyclist", 4, "")


def test_consensus_is_per_label(street):
    """A second annotator draws a cyclist where the first drew the car, and the cyclist where
    the first drew it, and no car: with k = 2 only the cyclist where both drew one survives; the
    car box and the cyclist box in the same place never fuse."""
    project, video = street["project"], street["video"]
    at = dict(zip(["x0", "y0", "x1", "y1"], CAR, strict=True))
    on_cyclist = dict(zip(["x0", "y0", "x1", "y1"], CYCLIST, strict=True))
    annotation_services.import_ground_truth(
        project,
        video,
        [
            {"label": "cyclist", "keyframes": [{"frame": 0, **at}]},
            {"label": "cyclist", "keyframes": [{"frame": 0, **on_cyclist}]},
        ],
        [{"kind": "visual", "label": "cyclist", "start": 0.1, "end": 0.5}],
    )
    gt = annotation_services.ground_truth_for_video(project, video)
    assert gt["labels"] == ["cyclist"]
    assert [(label, tuple(box)) for label, box in zip(gt["frames"][0]["labels"], gt["frames"][0]["boxes"], strict=True)] == [("cyclist", CYCLIST)]  # fmt: skip
    assert gt["when"]["visual"] == [[0.05, 0.45]] and gt["when_labels"]["visual"] == ["cyclist"]


def test_human_baseline_follows_the_label_rule(street):
    project, video = street["project"], street["video"]
    car_here = {"frame": 0, "x0": 0, "y0": 0, "x1": 40, "y1": 30}
    annotation_services.import_ground_truth(
        project,
        video,
        [{"label": "car", "keyframes": [car_here]}, {"label": "cyclist", "keyframes": [car_here]}],
        [],
    )
    scoring.recompute_now(project)
    rows = {
        (b.assignment_id, b.label): (b.frames_counted, b.frames_hit)
        for b in HumanBaseline.objects.filter(project=project)
    }
    second = max(a for a, _ in rows)
    # the second annotator's car box sits on the first one's car: a hit on every frame; its
    # "cyclist" box sits on the car too, which is no cyclist: a miss on every frame
    assert rows[(second, "car")] == (20, 20)
    assert rows[(second, "cyclist")] == (20, 0)
    assert np.isfinite(list(rows.values())[0][0])
