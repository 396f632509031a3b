"""Nothing silently lost on import, and exports that say everything: a two-label CVAT for video
1.1 file (flags and attributes that change on non-keyframes, a box off the interpolation, an
outside non-keyframe) goes in, and CVAT, COCO and CSV exports give back every box, label, flag
and attribute on every frame. The exports are also read with CVAT's own dataset framework
(datumaro) and with pycocotools. Whatever cannot be represented is refused by name."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
import zipfile
from collections import Counter

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.annotation_support import HEIGHT, N_FRAMES, WIDTH, make_project, make_video, user
from wherewhen.accounts.models import Role
from wherewhen.annotations import formats, services
from wherewhen.annotations.geometry import VideoGeometry, clean_annotation, frame_boxes
from wherewhen.annotations.models import Assignment, Keyframe, Segment, Track

pytestmark = pytest.mark.django_db

API = "/api/v1/annotation"


# --- the file ---------------------------------------------------------------------------------


def cyclist() -> list[dict]:
    """Keyframes on 0, 10 and 15 (outside); occluded on the non-keyframes 4-6; 'helmet' turns
    to 'no' on the non-keyframe 11; the non-keyframe 13 is outside (hidden on that frame only)."""
    boxes = []
    for f in range(16):
        if f <= 10:
            box = (10 + 2 * f, 10 + f, 30 + 2 * f, 40 + f)
        else:
            box = (30 + 2 * (f - 10), 20 + (f - 10), 50 + 2 * (f - 10), 50 + (f - 10))
        boxes.append(
            {
                "frame": f,
                "keyframe": f in (0, 10, 15),
                "outside": f in (13, 15),
                "occluded": f in (4, 5, 6),
                "box": box,
                "attributes": {"helmet": "no" if f >= 11 else "yes"},
            }
        )
    return boxes


def car() -> list[dict]:
    """Keyframes on 2 (occluded) and 8; occlusion ends on the non-keyframe 5; the non-keyframe
    12 is off the repeated box (kept exactly); 'parked' turns to 'no' on the non-keyframe 16."""
    boxes = []
    for f in range(2, N_FRAMES):
        if f <= 8:
            box = (100 + 2 * (f - 2), 60, 140 + 2 * (f - 2), 100)
        elif f == 12:
            box = (117, 62, 157, 104)
        else:
            box = (112, 60, 152, 100)
        boxes.append(
            {
                "frame": f,
                "keyframe": f in (2, 8),
                "outside": False,
                "occluded": f in (2, 3, 4),
                "box": box,
                "attributes": {"parked": "no" if f >= 16 else "yes"},
            }
        )
    return boxes


TRACKS = [("cyclist", cyclist()), ("car", car())]
SEGMENTS = [("visual", "cyclist", 0.0, 1.0), ("sound", "car", 0.2, 0.9), ("visual", "", 1.2, 1.5)]
MATERIALISED = {0: [4, 7, 11, 13, 14], 1: [5, 11, 12, 13, 16]}


def cvat_file(tracks=TRACKS, segments=SEGMENTS, labels=("cyclist", "car"), extra="") -> bytes:
    """A CVAT for video 1.1 file as CVAT writes one: a box on every frame of each track."""
    root = ET.Element("annotations")
    ET.SubElement(root, "version").text = "1.1"
    task = ET.SubElement(ET.SubElement(root, "meta"), "task")
    ET.SubElement(task, "size").text = str(N_FRAMES)
    ET.SubElement(task, "mode").text = "interpolation"
    labels_el = ET.SubElement(task, "labels")
    names = {label: sorted({n for b in boxes for n in b["attributes"]}) for label, boxes in tracks}
    for label in labels:
        label_el = ET.SubElement(labels_el, "label")
        ET.SubElement(label_el, "name").text = label
        attributes = ET.SubElement(label_el, "attributes")
        for name in names.get(label, []):
            spec = ET.SubElement(attributes, "attribute")
            ET.SubElement(spec, "name").text = name
            ET.SubElement(spec, "mutable").text = "True"
            ET.SubElement(spec, "input_type").text = "text"
    size = ET.SubElement(task, "original_size")
    ET.SubElement(size, "width").text = str(WIDTH)
    ET.SubElement(size, "height").text = str(HEIGHT)
    for index, (label, boxes) in enumerate(tracks):
        track = ET.SubElement(root, "track", id=str(index), label=label, source="manual")
        for b in boxes:
            x0, y0, x1, y1 = b["box"]
            box = ET.SubElement(
                track,
                "box",
                frame=str(b["frame"]),
                keyframe=str(int(b["keyframe"])),
                outside=str(int(b["outside"])),
                occluded=str(int(b["occluded"])),
                xtl=f"{x0:.2f}",
                ytl=f"{y0:.2f}",
                xbr=f"{x1:.2f}",
                ybr=f"{y1:.2f}",
                z_order="0",
            )
            for name, value in b["attributes"].items():
                ET.SubElement(box, "attribute", name=name).text = value
    for kind, label, start, end in segments:
        ET.SubElement(root, "time_segment", kind=kind, label=label, start=str(start), end=str(end))
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode")
    if extra:
        text = text.replace("</annotations>", extra + "</annotations>")
    return text.encode()


def boxes_in(xml: bytes | str) -> dict[tuple[int, int], dict]:
    """Every <box> of a CVAT file by (track index, frame), read with plain ElementTree."""
    root = ET.fromstring(xml)
    found = {}
    for index, track in enumerate(root.iter("track")):
        for box in track.iter("box"):
            found[(index, int(box.get("frame")))] = {
                "label": track.get("label"),
                "keyframe": box.get("keyframe") == "1",
                "outside": box.get("outside") == "1",
                "occluded": box.get("occluded") == "1",
                "box": tuple(f"{float(box.get(k)):.2f}" for k in ("xtl", "ytl", "xbr", "ybr")),
                "attributes": {a.get("name"): a.text or "" for a in box.iter("attribute")},
            }
    return found


def visible(found: dict) -> dict:
    return {key: b for key, b in found.items() if not b["outside"]}


def counts(found: dict) -> tuple[Counter, Counter]:
    """Visible boxes per label, and occluded visible boxes per label."""
    shown = visible(found).values()
    return Counter(b["label"] for b in shown), Counter(b["label"] for b in shown if b["occluded"])


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture
def rita():
    return user("rita", Role.RESEARCHER)


@pytest.fixture
def setup(rita):
    video = make_video(rita, "street", label="cyclist")
    project = make_project(rita, [video], labels=["cyclist", "car"])
    client = APIClient()
    client.force_authenticate(rita)
    return project, video, client


def import_file(client, project, video, xml, target="ground_truth"):
    upload = SimpleUploadedFile("annotations.xml", xml, "text/xml")
    return client.post(
        f"{API}/projects/{project.pk}/import/",
        {"file": upload, "video": video.pk, "target": target},
        format="multipart",
    )


@pytest.fixture
def imported(setup):
    project, video, client = setup
    response = import_file(client, project, video, cvat_file())
    assert response.status_code == 201, response.content
    return project, video, client, response.json()


# --- CVAT in, CVAT out ------------------------------------------------------------------------


def test_every_box_label_flag_and_attribute_survives_import_and_export(imported):
    project, video, client, body = imported
    source = boxes_in(cvat_file())
    exported = client.get(f"{API}/assignments/{body['id']}/cvat/").content
    again = boxes_in(exported)

    # Every box of the file, on every frame, with its label, flags, coordinates and attributes.
    for key, box in source.items():
        assert key in again, key
        out = again[key]
        assert (out["label"], out["outside"]) == (box["label"], box["outside"]), key
        if not box["outside"]:
            assert (out["box"], out["occluded"], out["attributes"]) == (
                box["box"],
                box["occluded"],
                box["attributes"],
            ), key
    assert set(again) == set(source)  # and nothing else
    # Keyframes: the file's, plus the materialised ones the summary lists.
    for index, frames in MATERIALISED.items():
        file_keys = {f for (t, f), b in source.items() if t == index and b["keyframe"]}
        out_keys = {f for (t, f), b in again.items() if t == index and b["keyframe"]}
        assert out_keys == file_keys | set(frames)
    # Segments keep their own label; an empty one took the task's.
    segments = [s.attrib for s in ET.fromstring(exported).iter("time_segment")]
    assert sorted((s["kind"], s["label"], s["start"], s["end"]) for s in segments) == [
        ("sound", "car", "0.2", "0.9"),
        ("visual", "cyclist", "0.0", "1.0"),
        ("visual", "cyclist", "1.2", "1.5"),
    ]
    # <meta> declares both labels with the attributes their boxes use.
    meta = {
        label.findtext("name"): [a.findtext("name") for a in label.iter("attribute")]
        for label in ET.fromstring(exported).iter("label")
    }
    assert meta == {"cyclist": ["helmet"], "car": ["parked"]}

    # Export -> import -> export gives the same bytes, with nothing more to change.
    second = import_file(client, project, video, exported)
    assert second.status_code == 201, second.content
    assert second.json()["summary"]["materialised"] == 0
    assert second.json()["summary"]["changes"] == []
    assert client.get(f"{API}/assignments/{second.json()['id']}/cvat/").content == exported

    # The project's CVAT zip holds the same file.
    archive = client.get(f"{API}/projects/{project.pk}/export/", {"type": "cvat"})
    with zipfile.ZipFile(io.BytesIO(archive.content)) as files:
        name = next(n for n in files.namelist() if n.startswith(f"video-{video.pk}/{body['id']}-"))
        assert files.read(name) == exported


def test_the_summary_says_what_was_read_and_every_change(imported):
    *_, body = imported
    summary = body["summary"]
    assert body["source"] == "import" and body["status"] == "accepted"
    assert {k: summary[k] for k in summary if k not in ("labels", "changes")} == {
        "tracks": 2,
        "boxes": 16 + 18,
        "keyframes": 5,
        "interpolated": 29,
        "occluded": 6,
        "outside": 2,
        "attributes": 34,
        "segments": 3,
        "stored_keyframes": 15,
        "materialised": 10,
        "rounded": 0,
    }
    assert summary["labels"] == [
        {"label": "car", "tracks": 1, "boxes": 18, "segments": 1},
        {"label": "cyclist", "tracks": 1, "boxes": 16, "segments": 2},
    ]
    changes = summary["changes"]
    assert "Materialised a keyframe at frame 4 of track 0 (cyclist): occluded changes to 1" in (
        " ".join(changes)
    )
    expected = [
        ("track 0 (cyclist)", 4, "occluded changes to 1"),
        ("track 0 (cyclist)", 7, "occluded changes to 0"),
        ("track 0 (cyclist)", 11, "attribute(s) 'helmet' change"),
        ("track 0 (cyclist)", 13, "outside is set there"),
        ("track 0 (cyclist)", 14, "a visible box after the outside keyframe on frame 13"),
        ("track 1 (car)", 5, "occluded changes to 0"),
        ("track 1 (car)", 11, "px from the interpolation"),
        ("track 1 (car)", 12, "5.00 px from the interpolation"),
        ("track 1 (car)", 13, "px from the interpolation"),
        ("track 1 (car)", 16, "attribute(s) 'parked' change"),
    ]
    for track, frame, why in expected:
        prefix = f"Materialised a keyframe at frame {frame} of {track}: "
        assert any(c.startswith(prefix) and why in c for c in changes), (track, frame, changes)
    assert any("<time_segment> 3" in c and "takes the task's label 'cyclist'" in c for c in changes)
    assert len(changes) == 11


def test_scoring_and_consensus_see_the_stored_truth(imported):
    project, video, _, body = imported
    content = services.annotation_of(Assignment.objects.get(pk=body["id"]))
    frames = frame_boxes(content, N_FRAMES, "cyclist")
    assert (
        frames[12] == [(34, 22, 54, 52)] and frames[13] == [] and frames[14] == [(38, 24, 58, 54)]
    )
    assert frames[15] == [] and frames[19] == []
    assert frame_boxes(content, N_FRAMES, "car")[12] == [(117, 62, 157, 104)]
    stored = Keyframe.objects.filter(track__assignment_id=body["id"], track__label="car")
    assert stored.get(frame=16).attributes == {"parked": "no"}
    truth = services.ground_truth_for_video(project, video)
    by_frame = {
        f["frame"]: list(zip(f["labels"], f["boxes"], strict=True)) for f in truth["frames"]
    }
    assert by_frame[13] == [("car", [112, 60, 152, 100])]
    assert sorted(by_frame[12]) == [("car", [117, 62, 157, 104]), ("cyclist", [34, 22, 54, 52])]


# --- COCO and CSV -----------------------------------------------------------------------------


def coco_of(client, project, source: str) -> dict:
    response = client.get(
        f"{API}/projects/{project.pk}/export/", {"type": "coco", "source": source}
    )
    assert response.status_code == 200
    return json.loads(response.content)


def test_coco_gives_every_box_its_own_label_and_flags(imported):
    project, video, client, _ = imported
    labels, occluded = counts(boxes_in(cvat_file()))
    for source in ("accepted", "consensus"):
        body = coco_of(client, project, source)
        names = {c["id"]: c["name"] for c in body["categories"]}
        assert sorted(names.values()) == ["car", "cyclist"]
        boxes = body["annotations"]
        assert {a["source"] for a in boxes} == {"import" if source == "accepted" else "consensus"}
        assert Counter(names[a["category_id"]] for a in boxes) == labels
        assert all(a["attributes"]["occluded"] == a["occluded"] for a in boxes)
        shown = Counter(names[a["category_id"]] for a in boxes if a["attributes"]["occluded"])
        # Consensus boxes fuse annotators' boxes and carry no occlusion.
        assert shown == (occluded if source == "accepted" else Counter())
        segments = Counter((names[s["category_id"]], s["kind"]) for s in body["segments"])
        assert segments == {("cyclist", "visual"): 2, ("car", "sound"): 1}
    accepted = coco_of(client, project, "accepted")["annotations"]
    helmets = Counter(a["attributes"].get("helmet") for a in accepted)
    parked = Counter(a["attributes"].get("parked") for a in accepted)
    assert helmets == {"yes": 11, "no": 3, None: 18} and parked == {"yes": 14, "no": 4, None: 14}
    frame12 = [a for a in accepted if a["frame_id"] == 12 and a["attributes"].get("parked")]
    assert frame12[0]["bbox"] == [117, 62, 40, 42] and frame12[0]["keyframe"] is True


def test_csv_rows_carry_their_own_label(imported):
    project, _, client, _ = imported
    for source in ("accepted", "consensus"):
        table = client.get(
            f"{API}/projects/{project.pk}/export/", {"type": "csv", "source": source}
        )
        rows = list(csv.DictReader(io.StringIO(table.content.decode())))
        labels, occluded = counts(boxes_in(cvat_file()))
        boxes = [r for r in rows if r["record"] == "box"]
        assert Counter(r["label"] for r in boxes) == labels
        car12 = [r for r in boxes if r["label"] == "car" and r["frame"] == "12"]
        assert (car12[0]["x0"], car12[0]["x1"]) == ("117.00", "157.00")
        segments = Counter((r["label"], r["kind"]) for r in rows if r["record"] == "segment")
        assert segments == {("cyclist", "visual"): 2, ("car", "sound"): 1}
        if source == "accepted":
            assert Counter(r["label"] for r in boxes if r["occluded"] == "1") == occluded
            assert json.loads(car12[0]["attributes"]) == {"parked": "yes"}


# --- read by other tools ----------------------------------------------------------------------


def test_datumaro_reads_the_same_boxes_from_the_cvat_export_as_from_the_input(imported, tmp_path):
    from datumaro.components.annotation import AnnotationType
    from datumaro.components.dataset import Dataset

    project, video, client, body = imported
    exported = client.get(f"{API}/assignments/{body['id']}/cvat/").content

    def read(content: bytes, folder: str) -> set:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "annotations.xml").write_bytes(content)
        dataset = Dataset.import_from(str(tmp_path / folder), "cvat")
        names = dataset.categories()[AnnotationType.label]
        found = set()
        for item in dataset:
            for ann in item.annotations:
                assert ann.type == AnnotationType.bbox
                attributes = dict(ann.attributes)
                keyframe = attributes.pop("keyframe")
                assert isinstance(keyframe, bool)
                found.add(
                    (
                        item.attributes["frame"],
                        names[ann.label].name,
                        tuple(round(v, 2) for v in ann.get_bbox()),
                        tuple(sorted(attributes.items())),
                    )
                )
        return found

    source, again = read(cvat_file(), "input"), read(exported, "export")
    assert source == again
    shown = [b for b in source if not dict(b[3])["outside"]]
    labels, occluded = counts(boxes_in(cvat_file()))
    assert Counter(b[1] for b in shown) == labels
    assert Counter(b[1] for b in shown if dict(b[3])["occluded"]) == occluded
    assert sum(1 for b in source if dict(b[3])["outside"]) == 2


def test_datumaro_and_pycocotools_read_the_coco_export(imported, tmp_path):
    from datumaro.components.annotation import AnnotationType
    from datumaro.components.dataset import Dataset
    from pycocotools.coco import COCO

    project, _, client, _ = imported
    labels, occluded = counts(boxes_in(cvat_file()))
    for source in ("accepted", "consensus"):
        folder = tmp_path / source / "annotations"
        folder.mkdir(parents=True)
        (tmp_path / source / "images").mkdir()  # COCO's layout (the frames are not needed)
        path = folder / "instances_default.json"
        path.write_bytes(
            client.get(
                f"{API}/projects/{project.pk}/export/", {"type": "coco", "source": source}
            ).content
        )
        coco = COCO(str(path))
        by_name = {c["name"]: c["id"] for c in coco.loadCats(coco.getCatIds())}
        for name, count in labels.items():
            ids = coco.getAnnIds(catIds=[by_name[name]])
            assert len(ids) == count
            flags = sum(a["attributes"]["occluded"] for a in coco.loadAnns(ids))
            assert flags == (occluded[name] if source == "accepted" else 0)

        dataset = Dataset.import_from(str(tmp_path / source), "coco_instances")
        names = dataset.categories()[AnnotationType.label]
        found = Counter()
        flagged = Counter()
        for item in dataset:
            for ann in item.annotations:
                assert ann.type == AnnotationType.bbox
                found[names[ann.label].name] += 1
                flagged[names[ann.label].name] += bool(ann.attributes["occluded"])
        assert found == labels
        assert flagged == (occluded if source == "accepted" else Counter())


# --- what cannot be represented -------------------------------------------------------------


def written() -> tuple[int, int, int, int]:
    return (
        Assignment.objects.count(),
        Track.objects.count(),
        Keyframe.objects.count(),
        Segment.objects.count(),
    )


def with_box(extra_attributes: str = "", inside: str = "", label: str = "car") -> bytes:
    return (
        f"<annotations><version>1.1</version><track id='4' label='{label}'>"
        f"<box frame='3' keyframe='1' outside='0' occluded='0' xtl='1' ytl='1' xbr='5' ybr='5' "
        f"{extra_attributes}>{inside}</box></track></annotations>"
    ).encode()


@pytest.mark.parametrize(
    "xml, words",
    [
        (
            b"<annotations><track id='0' label='car'><polygon frame='0' points='1,1;5,1;5,5'/>"
            b"</track></annotations>",
            "<polygon> shapes are not supported",
        ),
        (
            b"<annotations><track id='0' label='car'><points frame='0' points='1,1'/></track>"
            b"</annotations>",
            "<points> shapes are not supported",
        ),
        (b"<annotations><tag frame='0' label='car'/></annotations>", "<tag>"),
        (b"<annotations><image id='0' name='a.jpg'/></annotations>", "<image>"),
        (b"<annotations><polygon frame='0'/></annotations>", "<polygon> is not supported"),
        (with_box("rotation='30'"), "rotated (30 degrees)"),
        (with_box("z_order='2'"), "z_order 2"),
        (with_box("foo='1'"), "'foo'"),
        (with_box(inside="<note>hi</note>"), "<note> inside a <box>"),
        (with_box(inside="<attribute name='occluded'>1</attribute>"), "'occluded' cannot be"),
        (
            with_box(inside="<attribute name='a'>1</attribute><attribute name='a'>2</attribute>"),
            "'a' is given twice",
        ),
        (with_box(label="bus"), "the label 'bus' is not a label of this project"),
        (
            b"<annotations><time_segment kind='visual' label='bus' start='0' end='1'/>"
            b"</annotations>",
            "the label 'bus' is not a label of this project",
        ),
        (
            b"<annotations><track id='0' label='car' group_id='3'>"
            b"<box frame='0' xtl='1' ytl='1' xbr='5' ybr='5'/></track></annotations>",
            "group 3",
        ),
        (
            b"<annotations><track id='0' label='car'><skeleton frame='0'/></track></annotations>",
            "<skeleton> shapes are not supported",
        ),
        (
            b"<annotations><track id='0' label='car'><box frame='2' xtl='1' ytl='1' xbr='5' "
            b"ybr='5'/><box frame='2' keyframe='0' xtl='1' ytl='1' xbr='5' ybr='5'/></track>"
            b"</annotations>",
            "two boxes on frame 2",
        ),
        (
            b"<annotations><meta><task><size>21</size></task></meta></annotations>",
            "21 frames",
        ),
    ],
)
def test_what_cannot_be_represented_is_a_400_naming_it_and_nothing_is_written(setup, xml, words):
    project, video, client = setup
    assert import_file(client, project, video, cvat_file()).status_code == 201
    before = written()
    response = import_file(client, project, video, xml)
    assert response.status_code == 400, response.content
    assert words in response.json()["file"][0]
    assert written() == before


# --- smaller cases of the summary -----------------------------------------------------------


def one_track(*boxes: str, source: str = "manual") -> bytes:
    return (
        f"<annotations><version>1.1</version><track id='0' label='car' source='{source}'>"
        + "".join(boxes)
        + "</track></annotations>"
    ).encode()


def box(frame, keyframe=0, outside=0, occluded=0, x0="10.00", extra="") -> str:
    return (
        f"<box frame='{frame}' keyframe='{keyframe}' outside='{outside}' occluded='{occluded}' "
        f"xtl='{x0}' ytl='10.00' xbr='50.00' ybr='50.00' z_order='0'>{extra}</box>"
    )


def parse(xml: bytes, n_frames: int = N_FRAMES) -> formats.ParsedCvat:
    return formats.parse_cvat_xml(
        xml, n_frames=n_frames, size=(WIDTH, HEIGHT), labels=["car"], default_label="car"
    )


def test_differences_within_the_files_rounding_follow_the_interpolation():
    parsed = parse(one_track(box(0, 1), box(1, x0="10.01"), box(2, x0="10.00"), box(3, 1)), 4)
    assert [k["frame"] for k in parsed.annotation["tracks"][0]["keyframes"]] == [0, 3]
    assert parsed.summary.rounded == 1 and parsed.summary.materialised == 0
    assert "1 box(es) differ from the file by at most 0.01 px" in parsed.summary.changes[0]
    moved = parse(one_track(box(0, 1), box(1, x0="10.02"), box(2), box(3, 1)), 4)
    # 0.02 px off is kept; frame 2 is then 0.01 px from the line through frames 1 and 3.
    assert [k["frame"] for k in moved.annotation["tracks"][0]["keyframes"]] == [0, 1, 3]
    assert moved.summary.materialised == 1 and moved.summary.rounded == 1


def test_a_track_without_marked_keyframes_starts_at_its_first_box():
    parsed = parse(one_track(box(3), box(4), box(5, occluded=1)))
    keyframes = parsed.annotation["tracks"][0]["keyframes"]
    # The file lists every box of the track (interpolated ones too), and none after frame 5.
    assert [(k["frame"], k["occluded"], k["outside"]) for k in keyframes] == [
        (3, False, False),
        (5, True, False),
        (6, True, True),
    ]
    assert "no box of the track is marked as a keyframe" in parsed.summary.changes[0]
    assert (
        "frame 6 of track 0 (car): the file lists the track's other frames but none here"
        in (parsed.summary.changes[2])
    )


def test_a_frame_left_out_of_a_dense_listing_has_no_box():
    # Frames 0-5 and 8-19 listed (as CVAT lists tracks), 6-7 left out: no box there.
    listed = [box(0, 1)] + [box(f) for f in range(1, 6)] + [box(f) for f in range(8, N_FRAMES)]
    parsed = parse(one_track(*listed))
    keyframes = parsed.annotation["tracks"][0]["keyframes"]
    assert [(k["frame"], k["outside"]) for k in keyframes] == [(0, False), (6, True), (8, False)]
    boxes = frame_boxes(parsed.annotation, N_FRAMES)
    assert [bool(b) for b in boxes[4:10]] == [True, True, False, False, True, True]
    # A file that lists keyframes only is read as CVAT reads it: interpolated in between.
    sparse = parse(one_track(box(0, 1), box(8, 1)))
    assert len(sparse.annotation["tracks"][0]["keyframes"]) == 2 and not sparse.summary.changes


def test_outside_repeats_and_sources_are_reported():
    parsed = parse(
        one_track(box(0, 1), box(1), box(2, 1, outside=1), box(3, outside=1), source="auto")
    )
    assert [k["frame"] for k in parsed.annotation["tracks"][0]["keyframes"]] == [0, 2]
    changes = " ".join(parsed.summary.changes)
    assert "source 'auto' is not kept" in changes
    assert "1 box(es) marked outside where the track already shows no box (frame 3)" in changes


# --- the annotation dicts -------------------------------------------------------------------


VIDEO = VideoGeometry(WIDTH, HEIGHT, tuple(i / 10 for i in range(N_FRAMES)), 2.0)


def test_attributes_travel_through_clean_annotation_and_old_payloads_do_not_change():
    plain = {"label": "car", "keyframes": [{"frame": 1, "x0": 1, "y0": 1, "x1": 5, "y1": 5}]}
    cleaned = clean_annotation({"tracks": [plain]}, VIDEO)
    assert cleaned["tracks"][0]["keyframes"][0] == {
        "frame": 1,
        "x0": 1.0,
        "y0": 1.0,
        "x1": 5.0,
        "y1": 5.0,
        "outside": False,
        "occluded": False,
    }
    empty = {**plain, "keyframes": [{**plain["keyframes"][0], "attributes": {}}]}
    assert clean_annotation({"tracks": [empty]}, VIDEO) == cleaned
    rich = {**plain, "keyframes": [{**plain["keyframes"][0], "attributes": {"b": " x ", "a": ""}}]}
    kept = clean_annotation({"tracks": [rich]}, VIDEO)["tracks"][0]["keyframes"][0]
    assert kept["attributes"] == {"a": "", "b": " x "}
    with pytest.raises(Exception, match="cannot be an attribute name"):
        bad = {"frame": 1, "x0": 1, "y0": 1, "x1": 5, "y1": 5, "attributes": {"outside": "1"}}
        clean_annotation({"tracks": [{**plain, "keyframes": [bad]}]}, VIDEO)
    with pytest.raises(Exception, match="must be text"):
        bad = {"frame": 1, "x0": 1, "y0": 1, "x1": 5, "y1": 5, "attributes": {"n": 3}}
        clean_annotation({"tracks": [{**plain, "keyframes": [bad]}]}, VIDEO)


def test_stored_annotations_keep_attributes_only_where_there_are_some(setup):
    project, video, _ = setup
    tracks = [
        {
            "label": "car",
            "keyframes": [
                {"frame": 1, "x0": 1, "y0": 1, "x1": 5, "y1": 5, "attributes": {"k": "v"}},
                {"frame": 4, "x0": 1, "y0": 1, "x1": 5, "y1": 5},
            ],
        }
    ]
    a = services.import_ground_truth(project, video, tracks, [])
    stored = services.annotation_of(Assignment.objects.get(pk=a.pk))
    first, second = stored["tracks"][0]["keyframes"]
    assert first["attributes"] == {"k": "v"} and "attributes" not in second
    assert a.draft == stored


def test_the_workspace_saves_drafts_with_and_without_attributes(setup):
    project, _, _ = setup
    annotator = APIClient()
    annotator.force_authenticate(user("alex"))
    taken = annotator.post(f"{API}/queue/next/", {"project": project.pk}, format="json")
    assert taken.status_code == 200, taken.content
    a = taken.json()["assignment"]
    keyframe = {"frame": 2, "x0": 10, "y0": 10, "x1": 50, "y1": 50}
    old = {"tracks": [{"label": "car", "keyframes": [keyframe]}], "segments": []}
    saved = annotator.put(f"{API}/assignments/{a['id']}/draft/", old, format="json")
    assert saved.status_code == 200, saved.content
    draft = annotator.get(f"{API}/assignments/{a['id']}/").json()["draft"]
    assert draft["tracks"][0]["keyframes"][0] == {**keyframe, "outside": False, "occluded": False}
    new = {"tracks": [{"label": "car", "keyframes": [{**keyframe, "attributes": {"k": "v"}}]}]}
    saved = annotator.put(f"{API}/assignments/{a['id']}/draft/", new, format="json")
    assert saved.status_code == 200, saved.content
    draft = annotator.get(f"{API}/assignments/{a['id']}/").json()["draft"]
    assert draft["tracks"][0]["keyframes"][0]["attributes"] == {"k": "v"}
    bad = {
        "tracks": [{"label": "car", "keyframes": [{**keyframe, "attributes": {"occluded": "1"}}]}]
    }
    refused = annotator.put(f"{API}/assignments/{a['id']}/draft/", bad, format="json")
    assert refused.status_code == 400 and "cannot be an attribute name" in str(refused.json())
