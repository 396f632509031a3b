"""Assisted tracking through the API: a box followed forward and backward on a real video (a
synthetic clip whose target's true box is known on every frame), tracked boxes kept in the
annotation, progress and cancel of a queued run, and bad requests answered with a 4xx that
writes nothing."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.annotation_support import make_project, synthetic_video, user
from wherewhen.accounts.models import Role
from wherewhen.annotations import services
from wherewhen.annotations.models import Keyframe, TrackingJob
from workers.synthetic import scene_for

pytestmark = pytest.mark.django_db

API = "/api/v1/annotation"
SEED, INDEX = 3, 1


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union


@pytest.fixture
def scene():
    return scene_for(SEED, INDEX)


@pytest.fixture
def setup(scene):
    rita = user("rita", Role.RESEARCHER)
    alex = user("alex")
    make_project(rita, [synthetic_video(rita, scene)], overlap=1, max_overlap=1)
    client = APIClient()
    client.force_authenticate(alex)
    taken = client.post(f"{API}/queue/next/", {}, format="json").json()["assignment"]
    return client, taken["id"], alex


def test_tracking_forward_follows_the_object(setup, scene):
    client, assignment, _ = setup
    start, end = scene.event_frames
    box = list(scene.target_box(start))
    response = client.post(
        f"{API}/tracking/",
        {
            "assignment": assignment,
            "frame": start,
            "box": box,
            "direction": "forward",
            "count": end - start,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    job = response.json()
    assert job["status"] == "done" and job["in_process"] and job["progress"] == 1.0
    frames = [b["frame"] for b in job["boxes"]]
    assert frames == list(range(start + 1, end + 1))
    scores = [
        iou((b["x0"], b["y0"], b["x1"], b["y1"]), scene.target_box(b["frame"]))
        for b in job["boxes"]
    ]
    assert min(scores) > 0.6, scores
    # The run can be read back by its owner.
    again = client.get(f"{API}/tracking/{job['id']}/")
    assert again.status_code == 200 and again.json()["boxes"] == job["boxes"]


def test_tracking_backward_gives_frames_before_the_box(setup, scene):
    client, assignment, _ = setup
    start, end = scene.event_frames
    response = client.post(
        f"{API}/tracking/",
        {
            "assignment": assignment,
            "frame": end,
            "box": list(scene.target_box(end)),
            "direction": "backward",
            "count": 5,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    boxes = response.json()["boxes"]
    assert [b["frame"] for b in boxes] == list(range(end - 5, end))
    for b in boxes:
        assert iou((b["x0"], b["y0"], b["x1"], b["y1"]), scene.target_box(b["frame"])) > 0.6


def test_tracked_boxes_are_kept_in_the_annotation(setup, scene):
    client, assignment, _ = setup
    start, _end = scene.event_frames
    box = scene.target_box(start)
    job = client.post(
        f"{API}/tracking/",
        {"assignment": assignment, "frame": start, "box": list(box), "count": 3},
        format="json",
    ).json()
    keyframes = [dict(zip(("x0", "y0", "x1", "y1"), box, strict=True), frame=start)]
    keyframes += [{**b, "tracked": True} for b in job["boxes"]]
    body = {"tracks": [{"label": "jump", "keyframes": keyframes}], "segments": []}
    submitted = client.post(f"{API}/assignments/{assignment}/submit/", body, format="json")
    assert submitted.status_code == 200, submitted.content
    stored = list(Keyframe.objects.filter(track__assignment_id=assignment).order_by("frame"))
    assert [(k.frame, k.tracked) for k in stored] == [
        (start, False),
        (start + 1, True),
        (start + 2, True),
        (start + 3, True),
    ]
    annotation = submitted.json()["annotation"]["tracks"][0]["keyframes"]
    assert "tracked" not in annotation[0] and annotation[1]["tracked"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"frame": 0, "box": [1, 2, 3]}, "box"),
        ({"frame": 0, "box": [10, 10, 5, 20]}, "box"),
        ({"frame": 0, "box": [10, 10, 500, 20]}, "box"),
        ({"frame": 999, "box": [10, 10, 30, 30]}, "frame"),
        ({"frame": 31, "box": [10, 10, 30, 30], "direction": "forward"}, "frame"),
        ({"frame": 0, "box": [10, 10, 30, 30], "direction": "backward"}, "frame"),
        ({"frame": 0, "box": [10, 10, 30, 30], "direction": "sideways"}, "direction"),
        ({"frame": 0, "box": [10, 10, 30, 30], "count": 0}, "count"),
        ({"frame": 0, "box": [10, 10, 30, 30], "method": "sam"}, "method"),
    ],
)
def test_bad_tracking_requests_are_clear_and_write_nothing(setup, body, field):
    client, assignment, _ = setup
    response = client.post(f"{API}/tracking/", {"assignment": assignment, **body}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert not TrackingJob.objects.exists()


def test_someone_elses_assignment_and_run_are_refused(setup, scene):
    client, assignment, _ = setup
    start, _end = scene.event_frames
    job = client.post(
        f"{API}/tracking/",
        {
            "assignment": assignment,
            "frame": start,
            "box": list(scene.target_box(start)),
            "count": 2,
        },
        format="json",
    ).json()
    other = APIClient()
    other.force_authenticate(user("sam"))
    refused = other.post(
        f"{API}/tracking/",
        {
            "assignment": assignment,
            "frame": start,
            "box": list(scene.target_box(start)),
            "count": 2,
        },
        format="json",
    )
    assert refused.status_code in (403, 404)
    assert other.get(f"{API}/tracking/{job['id']}/").status_code == 403
    assert other.post(f"{API}/tracking/{job['id']}/cancel/").status_code == 403
    assert TrackingJob.objects.count() == 1


def test_a_long_run_is_queued_reports_progress_and_can_be_cancelled(setup, scene, monkeypatch):
    """No broker in this test: sending is replaced by running nothing, then the queued job is
    run (as the worker would) after a cancel, and a second one runs to its end."""
    client, assignment, alex = setup
    sent = []
    monkeypatch.setattr(services.tracking.tasking, "send", lambda name, args: sent.append(args))
    monkeypatch.setattr(services.tracking, "IN_PROCESS_FRAMES", 4)
    body = {"frame": 0, "box": list(scene.target_box(0)), "count": 20}
    queued = client.post(f"{API}/tracking/", {"assignment": assignment, **body}, format="json")
    assert queued.status_code == 202, queued.content
    job = queued.json()
    assert job["status"] == "queued" and not job["in_process"] and sent == [[job["id"]]]
    cancelled = client.post(f"{API}/tracking/{job['id']}/cancel/")
    assert cancelled.json()["status"] == "cancelled"
    assert services.run_tracking(job["id"]) == "cancelled"  # the worker leaves it alone
    second = client.post(
        f"{API}/tracking/", {"assignment": assignment, **body}, format="json"
    ).json()
    seen = []
    original = services.tracking.track_box

    def watching(*args, on_progress, **kwargs):
        def report(done):
            on_progress(done)
            seen.append(TrackingJob.objects.get(pk=second["id"]).progress)

        return original(*args, on_progress=report, **kwargs)

    monkeypatch.setattr(services.tracking, "track_box", watching)
    assert services.run_tracking(second["id"]) == "done"
    assert max(seen) > 0 and max(seen) < 1.0
    done = client.get(f"{API}/tracking/{second['id']}/").json()
    assert done["progress"] == 1.0 and len(done["boxes"]) == 20
    assert alex.pk == TrackingJob.objects.get(pk=second["id"]).assignment.annotator_id


def test_cancel_stops_a_running_job(setup, scene, monkeypatch):
    client, assignment, _ = setup
    monkeypatch.setattr(services.tracking.tasking, "send", lambda name, args: None)
    monkeypatch.setattr(services.tracking, "IN_PROCESS_FRAMES", 4)
    body = {"frame": 0, "box": list(scene.target_box(0)), "count": 30}
    job = client.post(f"{API}/tracking/", {"assignment": assignment, **body}, format="json").json()
    original = services.tracking.track_box

    def cancel_midway(*args, on_progress, **kwargs):
        def report(done):
            on_progress(done)
            if done == 5:
                client.post(f"{API}/tracking/{job['id']}/cancel/")

        return original(*args, on_progress=report, **kwargs)

    monkeypatch.setattr(services.tracking, "track_box", cancel_midway)
    assert services.run_tracking(job["id"]) == "cancelled"
    stopped = TrackingJob.objects.get(pk=job["id"])
    assert 5 <= len(stopped.boxes) < 30
