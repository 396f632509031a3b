"""Import and export: CVAT for video 1.1 (round trip exact, malformed files refused with nothing
written), COCO-style JSON and CSV."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.annotation_support import N_FRAMES, box_track, make_project, make_video, user
from wherewhen.accounts.models import Role
from wherewhen.annotations import formats, services
from wherewhen.annotations.models import Assignment, Keyframe, Segment, Track

pytestmark = pytest.mark.django_db

API = "/api/v1/annotation"


@pytest.fixture
def rita():
    return user("rita", Role.RESEARCHER)


@pytest.fixture
def setup(rita):
    video = make_video(rita, "jumping")
    project = make_project(rita, [video], labels=["jump", "wave"])
    client = APIClient()
    client.force_authenticate(rita)
    return project, video, client


def rich() -> dict:
    """Two tracks (one occluded, one leaving the frame and coming back) and both kinds of
    segment, with coordinates that are not whole pixels."""
    first = {
        "label": "jump",
        "keyframes": [
            {"frame": 1, "x0": 10.25, "y0": 12.5, "x1": 40.75, "y1": 60.0, "occluded": True},
            {"frame": 7, "x0": 33.33, "y0": 20.0, "x1": 71.1, "y1": 90.05},
            {"frame": 12, "x0": 50.0, "y0": 20.0, "x1": 90.0, "y1": 90.0, "outside": True},
        ],
    }
    second = {
        "label": "wave",
        "keyframes": [
            {"frame": 0, "x0": 100.0, "y0": 0.0, "x1": 160.0, "y1": 30.0},
            {"frame": 5, "x0": 110.0, "y0": 10.0, "x1": 150.0, "y1": 40.0, "outside": True},
            {"frame": 9, "x0": 90.0, "y0": 10.0, "x1": 130.0, "y1": 40.0},
        ],
    }
    return {
        "tracks": [first, second],
        "segments": [
            {"kind": "visual", "start": 0.1, "end": 0.7000000000000001},
            {"kind": "visual", "start": 1.2, "end": 1.9},
            {"kind": "sound", "start": 0.15, "end": 0.95},
        ],
    }


def import_file(client, project, video, xml, target="ground_truth"):
    upload = SimpleUploadedFile(
        "annotations.xml", xml if isinstance(xml, bytes) else xml.encode(), "text/xml"
    )
    return client.post(
        f"{API}/projects/{project.pk}/import/",
        {"file": upload, "video": video.pk, "target": target},
        format="multipart",
    )


def test_cvat_round_trip_is_exact(setup):
    project, video, client = setup
    original = services.import_ground_truth(project, video, rich()["tracks"], rich()["segments"])
    first = client.get(f"{API}/assignments/{original.pk}/cvat/")
    assert first.status_code == 200 and first["Content-Type"].startswith("application/xml")
    xml = first.content.decode()
    assert xml.startswith(
        '<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>'
    )
    assert (
        '<box frame="4" keyframe="0" outside="0" occluded="1"' in xml
    )  # interpolated, flags copied
    assert '<box frame="12" keyframe="1" outside="1"' in xml
    assert '<time_segment kind="sound" label="jump" start="0.15" end="0.95" />' in xml
    imported = import_file(client, project, video, first.content)
    assert imported.status_code == 201, imported.content
    summary = imported.json()["summary"]
    assert (summary["tracks"], summary["segments"], summary["occluded"]) == (2, 3, 6)
    assert summary["materialised"] == 0 and summary["changes"] == []  # nothing to change
    second = client.get(f"{API}/assignments/{imported.json()['id']}/cvat/")
    assert second.content == first.content
    # The stored keyframes are exactly the originals (the interpolated boxes follow from them).
    again = services.annotation_of(Assignment.objects.get(pk=imported.json()["id"]))
    assert again == services.annotation_of(original)


def test_cvat_interpolated_boxes_follow_the_keyframes(setup):
    project, video, _ = setup
    a = services.import_ground_truth(
        project, video, [box_track((2, (10, 10, 30, 30)), (6, (50, 30, 90, 70)))], []
    )
    parsed = formats.parse_cvat_xml(services.export_assignment_cvat(a))
    # The interpolated boxes follow the keyframes, so only the keyframes are stored.
    assert [k["frame"] for k in parsed.annotation["tracks"][0]["keyframes"]] == [2, 6]
    xml = services.export_assignment_cvat(a)
    assert (
        '<box frame="4" keyframe="0" outside="0" occluded="0" xtl="30.00" ytl="20.00" xbr="60.00" ybr="50.00" z_order="0" />'
        in xml
    )
    # The last box is repeated to the end of the video, as CVAT exports tracks.
    assert f'<box frame="{N_FRAMES - 1}" keyframe="0"' in xml


def test_synthetic_benchmark_cvat_files_import(setup):
    from workers.synthetic.annotations import cvat_video_xml

    project, video, client = setup
    gt = {
        "index": 3,
        "clip_id": "syn-s0-00003",
        "num_frames": N_FRAMES,
        "classes": ["jump", "wave"],
        "width": 160,
        "height": 120,
        "label": "jump",
        "boxes": [
            {"frame": f, "time": f / 10, "x0": 10.0 + f, "y0": 20.0, "x1": 40.0 + f, "y1": 50.0}
            for f in range(4, 9)
        ],
    }
    response = import_file(client, project, video, cvat_video_xml(gt, "clip.mp4"))
    assert response.status_code == 201, response.content
    truth = services.ground_truth_for_video(project, video)
    boxes = [f["boxes"] for f in truth["frames"]]
    assert (
        boxes[3] == []
        and boxes[4] == [[14.0, 20.0, 44.0, 50.0]]
        and boxes[8] == [[18.0, 20.0, 48.0, 50.0]]
    )
    assert boxes[9] == []  # the outside keyframe after the event ends the track


def written(project) -> tuple[int, int, int, int]:
    return (
        Assignment.objects.filter(task__project=project).count(),
        Track.objects.count(),
        Keyframe.objects.count(),
        Segment.objects.count(),
    )


@pytest.mark.parametrize(
    "xml, words",
    [
        (b"", "empty"),
        (b"<annotations><track id='0' label='jump'><box frame='1'", "not well-formed XML"),
        (b"just text", "not well-formed XML"),
        (b"<root/>", "root element is <root>"),
        (b"<annotations><version>2.0</version></annotations>", "Only CVAT for video 1.1"),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
            b"<annotations>&lol2;</annotations>",
            "document type or entities",
        ),
        (b"<annotations><image id='0' name='a.jpg'/></annotations>", "CVAT for images"),
        (
            b"<annotations><track id='0' label='jump'><polygon frame='0'/></track></annotations>",
            "not supported",
        ),
        (
            b"<annotations><track id='0' label='jump'><box frame='x' xtl='1' ytl='1' xbr='5' ybr='5'/></track></annotations>",
            "whole number",
        ),
        (
            b"<annotations><track id='0' label='jump'><box frame='0' xtl='1' ytl='1' xbr='500' ybr='5'/></track></annotations>",
            "outside the frame",
        ),
        (
            b"<annotations><track id='0' label='jump'><box frame='40' xtl='1' ytl='1' xbr='5' ybr='5'/></track></annotations>",
            "past the end",
        ),
        (
            b"<annotations><meta><task><size>20</size><original_size><width>640</width>"
            b"<height>480</height></original_size></task></meta></annotations>",
            "640x480",
        ),
        (
            b"<annotations><time_segment kind='visual' start='1.5' end='0.5'/></annotations>",
            "ends before it starts",
        ),
    ],
)
def test_malformed_or_mismatching_xml_is_refused_and_nothing_is_written(setup, xml, words):
    project, video, client = setup
    # A valid import first, so a half-written second one would show.
    services.import_ground_truth(project, video, [box_track((1, (1, 1, 5, 5)))], [])
    before = written(project)
    response = import_file(client, project, video, xml)
    assert response.status_code == 400, response.content
    message = " ".join(
        response.json()["file"] if "file" in response.json() else sum(response.json().values(), [])
    )
    assert words in message
    assert written(project) == before


def test_import_needs_a_video_of_the_project_and_a_researcher(setup, rita):
    project, video, client = setup
    xml = b"<annotations><version>1.1</version></annotations>"
    other = make_video(rita, "other")
    response = import_file(client, project, other, xml)
    assert response.status_code == 400 and "not in this project" in response.json()["video"][0]
    annotator = APIClient()
    annotator.force_authenticate(user("alex"))
    assert import_file(annotator, project, video, xml).status_code == 403


def test_import_as_gold(setup):
    project, video, client = setup
    a = services.import_ground_truth(project, video, rich()["tracks"], rich()["segments"])
    xml = services.export_assignment_cvat(a)
    response = import_file(client, project, video, xml, target="gold")
    assert response.status_code == 201 and response.json()["source"] == "gold"
    assert services.ground_truth_for_video(project, video)["source"] == "gold"


def test_coco_csv_and_cvat_zip_exports(setup):
    project, video, client = setup
    services.import_ground_truth(
        project,
        video,
        [box_track((2, (10, 10, 50, 50)), (4, (20, 10, 60, 50)))],
        [{"kind": "visual", "start": 0.2, "end": 0.4}],
    )
    coco = client.get(f"{API}/projects/{project.pk}/export/", {"type": "coco", "source": "all"})
    assert coco.status_code == 200 and coco["Content-Type"] == "application/json"
    assert 'filename="project-' in coco["Content-Disposition"]
    body = json.loads(coco.content)
    assert [c["name"] for c in body["categories"]] == ["jump", "wave"]
    assert len(body["images"]) == N_FRAMES and body["images"][3]["timestamp"] == 0.3
    frame3 = [a for a in body["annotations"] if a["frame_id"] == 3]
    assert {a["source"] for a in frame3} == {"import", "consensus"}
    assert all(a["bbox"] == [15, 10, 40, 40] for a in frame3)
    assert {(s["source"], s["start"], s["end"]) for s in body["segments"]} == {
        ("import", 0.2, 0.4),
        ("consensus", 0.2, 0.4),
    }
    table = client.get(
        f"{API}/projects/{project.pk}/export/", {"type": "csv", "source": "consensus"}
    )
    assert table["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(table.content.decode())))
    boxes = [r for r in rows if r["record"] == "box"]
    assert (
        boxes[0]["frame"] == "2" and boxes[0]["x0"] == "10.00" and boxes[0]["source"] == "consensus"
    )
    assert len(boxes) == N_FRAMES - 2  # the track lasts from frame 2 to the end
    assert [r for r in rows if r["record"] == "segment"][0]["kind"] == "visual"
    archive = client.get(f"{API}/projects/{project.pk}/export/", {"type": "cvat"})
    assert archive["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    assert len(names) == 1 and names[0].startswith(f"video-{video.pk}/")
    assert client.get(f"{API}/projects/{project.pk}/export/", {"type": "pdf"}).status_code == 400
