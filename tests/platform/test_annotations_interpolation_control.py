"""Interpolation control: a track segment with interpolation off holds its box, keyframes-only
exports (CVAT and COCO) that a linear reader turns back into the same boxes, and "when"
segments snapped to frame boundaries when the project asks."""

from __future__ import annotations

import io
import json
import zipfile
from xml.etree import ElementTree as ET

import pytest
from rest_framework.test import APIClient

from tests.annotation_support import N_FRAMES, make_project, make_video, user
from wherewhen.accounts.models import Role
from wherewhen.annotations import services
from wherewhen.annotations.models import Assignment

pytestmark = pytest.mark.django_db

API = "/api/v1/annotation"
CORNERS = ("x0", "y0", "x1", "y1")


def kf(frame, box, **flags) -> dict:
    return {"frame": frame, **dict(zip(CORNERS, box, strict=True)), **flags}


@pytest.fixture
def setup():
    rita = user("rita", Role.RESEARCHER)
    alex = user("alex")
    project = make_project(
        rita, [make_video(rita, "v", with_file=True)], overlap=1, max_overlap=1, auto_accept=True
    )
    client = APIClient()
    client.force_authenticate(alex)
    taken = client.post(f"{API}/queue/next/", {}, format="json").json()["assignment"]
    researcher = APIClient()
    researcher.force_authenticate(rita)
    return project, client, taken["id"], researcher


def submit(client, assignment_id, tracks, segments=()) -> dict:
    body = {"tracks": tracks, "segments": list(segments)}
    response = client.post(f"{API}/assignments/{assignment_id}/submit/", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


TRACK = {
    "label": "jump",
    "keyframes": [
        kf(2, (10, 10, 30, 30), hold=True),
        kf(8, (40, 20, 60, 40)),
        kf(9, (42, 21, 62, 41), tracked=True),
        kf(14, (80, 50, 100, 70)),
    ],
}


def test_a_held_segment_keeps_its_box_and_the_next_one_interpolates(setup):
    _, client, assignment_id, _ = setup
    submit(client, assignment_id, [TRACK])
    (track,) = services.annotation_of(Assignment.objects.get(pk=assignment_id))["tracks"]
    assert track["keyframes"][0]["hold"] is True and "hold" not in track["keyframes"][1]
    boxes = services.track_boxes(track["keyframes"], N_FRAMES)
    for f in range(2, 8):
        assert [boxes[f][c] for c in CORNERS] == [10, 10, 30, 30]
    assert [boxes[8][c] for c in CORNERS] == [40, 20, 60, 40]
    # From the tracked box on frame 9 the track interpolates linearly to frame 14.
    assert boxes[11]["x0"] == pytest.approx(42 + (80 - 42) * 2 / 5)


def cvat_boxes(xml: str) -> list[dict]:
    root = ET.fromstring(xml)
    return [
        {"frame": int(b.get("frame")), **{c: float(b.get(k)) for c, k in zip(CORNERS, ("xtl", "ytl", "xbr", "ybr"), strict=True)}}
        for b in root.iter("box")
    ]  # fmt: skip


def test_keyframes_only_cvat_export_gives_back_the_dense_boxes(setup):
    project, client, assignment_id, researcher = setup
    submit(client, assignment_id, [TRACK])

    def export(frames: str) -> str:
        response = researcher.get(
            f"{API}/projects/{project.pk}/export/", {"type": "cvat", "frames": frames}
        )
        assert response.status_code == 200, response.content
        (name,) = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
        return zipfile.ZipFile(io.BytesIO(response.content)).read(name).decode()

    dense, sparse = cvat_boxes(export("dense")), cvat_boxes(export("keyframes"))
    assert [b["frame"] for b in dense] == list(range(2, N_FRAMES))
    # Stored boxes, plus the held box again on frame 7 so a linear reader holds it too.
    assert [b["frame"] for b in sparse] == [2, 7, 8, 9, 14]
    # Plain linear interpolation between the sparse boxes (CVAT's reading) gives the dense ones.
    relinear = services.track_boxes(sparse, N_FRAMES)
    for box in dense:
        assert [relinear[box["frame"]][c] for c in CORNERS] == pytest.approx(
            [box[c] for c in CORNERS], abs=0.01
        )


def test_keyframes_only_coco_export_and_a_bad_choice(setup):
    project, client, assignment_id, researcher = setup
    submit(client, assignment_id, [TRACK])

    def frames_of(frames: str) -> list[int]:
        response = researcher.get(
            f"{API}/projects/{project.pk}/export/",
            {"type": "coco", "source": "accepted", "frames": frames},
        )
        assert response.status_code == 200, response.content
        return [a["frame_id"] for a in json.loads(response.content)["annotations"]]

    assert frames_of("dense") == list(range(2, N_FRAMES))
    assert frames_of("keyframes") == [2, 7, 8, 9, 14]
    bad = researcher.get(f"{API}/projects/{project.pk}/export/", {"frames": "some"})
    assert bad.status_code == 400 and "frames" in bad.json()


def test_segments_snap_to_frame_boundaries_when_the_project_asks(setup):
    project, client, assignment_id, _ = setup
    project.snap_segments = True
    project.save()
    segment = {"kind": "visual", "label": "jump", "start": 0.25, "end": 0.83}
    body = submit(client, assignment_id, [], [segment, {**segment, "start": 1.0, "end": 1.95}])
    got = [(s["start"], s["end"]) for s in body["annotation"]["segments"]]
    # 10 fps: 0.25 lies in the frame from 0.2, 0.83 in the frame ending at 0.9; the last frame
    # (1.9) ends at the video's end (2.0); 1.0 is already a frame's start.
    assert got == [(0.2, 0.9), (1.0, 2.0)]


def test_segments_are_kept_as_drawn_without_snapping(setup):
    _, client, assignment_id, _ = setup
    segment = {"kind": "visual", "label": "jump", "start": 0.25, "end": 0.83}
    body = submit(client, assignment_id, [], [segment])
    assert [(s["start"], s["end"]) for s in body["annotation"]["segments"]] == [(0.25, 0.83)]


def test_hold_must_be_a_flag(setup):
    _, client, assignment_id, _ = setup
    body = {"tracks": [{"label": "jump", "keyframes": [kf(2, (1, 1, 9, 9), hold="maybe")]}]}
    response = client.post(f"{API}/assignments/{assignment_id}/submit/", body, format="json")
    assert response.status_code == 400 and "hold" in json.dumps(response.json())
    assert not Assignment.objects.get(pk=assignment_id).tracks.exists()


def test_validation_keeps_hold_only_when_true_and_refuses_non_flags():
    video = services.geometry_of(make_video(user("rita", Role.RESEARCHER)))
    payload = {"tracks": [{"label": "a", "keyframes": [kf(1, (1, 1, 9, 9), hold=False)]}]}
    assert "hold" not in services.clean_annotation(payload, video)["tracks"][0]["keyframes"][0]
    payload["tracks"][0]["keyframes"][0]["hold"] = "yes"
    with pytest.raises(services.InvalidAnnotation, match="hold must be true or false"):
        services.clean_annotation(payload, video)
