"""Annotation content rules, interpolation and overlap measures (plain functions, no database)."""

import pytest

from wherewhen.annotations.geometry import (
    InvalidAnnotation,
    VideoGeometry,
    box_iou,
    clean_annotation,
    frame_boxes,
    frame_set_iou,
    segment_iou,
    track_boxes,
    track_shapes,
)

VIDEO = VideoGeometry(
    width=160, height=120, timestamps=tuple(i / 10 for i in range(20)), duration=2.0
)


def kf(frame, x0, y0, x1, y1, **flags):
    return {"frame": frame, "x0": x0, "y0": y0, "x1": x1, "y1": y1, **flags}


def errors_of(payload, **kwargs) -> str:
    with pytest.raises(InvalidAnnotation) as caught:
        clean_annotation(payload, VIDEO, labels=["jump", "wave"], default_label="jump", **kwargs)
    return " ".join(m for ms in caught.value.errors.values() for m in ms)


def test_clean_sorts_quantizes_and_fills_defaults():
    cleaned = clean_annotation(
        {
            "tracks": [{"keyframes": [kf(9, 10.004, 20, 30.456, 40), kf(2, 1, 2, 3, 4)]}],
            "segments": [
                {"kind": "sound", "start": 0.3, "end": 0.9},
                {"start": 1.5, "end": 1.9},
                {"kind": "visual", "start": 0.2, "end": 0.4},
            ],
        },
        VIDEO,
        labels=["jump"],
        default_label="jump",
    )
    track = cleaned["tracks"][0]
    assert track["label"] == "jump"
    assert [k["frame"] for k in track["keyframes"]] == [2, 9]
    assert track["keyframes"][1]["x0"] == 10.0 and track["keyframes"][1]["x1"] == 30.46
    assert track["keyframes"][0]["outside"] is False and track["keyframes"][0]["occluded"] is False
    assert [(s["kind"], s["start"]) for s in cleaned["segments"]] == [
        ("visual", 0.2),
        ("visual", 1.5),
        ("sound", 0.3),
    ]


@pytest.mark.parametrize(
    "box, message",
    [
        ((50, 10, 40, 30), "negative size"),
        ((10, 30, 40, 20), "negative size"),
        ((10, 10, 10, 30), "no area"),
        ((-1, 10, 40, 30), "outside the frame"),
        ((10, 10, 161, 30), "outside the frame"),
        ((10, 10, 40, 120.5), "outside the frame"),
    ],
)
def test_bad_boxes_are_refused_with_reasons(box, message):
    text = errors_of({"tracks": [{"keyframes": [kf(0, *box)]}]})
    assert message in text
    assert "Track 1, frame 0" in text


def test_the_whole_frame_is_a_valid_box():
    cleaned = clean_annotation(
        {"tracks": [{"label": "jump", "keyframes": [kf(0, 0, 0, 160, 120)]}]}, VIDEO
    )
    assert cleaned["tracks"][0]["keyframes"][0]["x1"] == 160


def test_frame_past_the_end_and_negative_frames():
    assert "past the end of the video (it has 20 frames, 0 to 19)" in errors_of(
        {"tracks": [{"keyframes": [kf(20, 1, 1, 5, 5)]}]}
    )
    assert "frames start at 0" in errors_of({"tracks": [{"keyframes": [kf(-1, 1, 1, 5, 5)]}]})
    assert "whole number" in errors_of({"tracks": [{"keyframes": [kf(1.5, 1, 1, 5, 5)]}]})


def test_duplicate_keyframes_labels_and_types():
    assert "two keyframes on frame 3" in errors_of(
        {"tracks": [{"keyframes": [kf(3, 1, 1, 5, 5), kf(3, 2, 2, 6, 6)]}]}
    )
    assert "'run' is not one of the labels" in errors_of(
        {"tracks": [{"label": "run", "keyframes": [kf(3, 1, 1, 5, 5)]}]}
    )
    assert "x0 must be a finite number" in errors_of(
        {"tracks": [{"keyframes": [kf(3, float("nan"), 1, 5, 5)]}]}
    )
    assert "has no keyframes" in errors_of({"tracks": [{"keyframes": []}]})
    assert "must be a JSON object" in errors_of([1, 2])


@pytest.mark.parametrize(
    "segment, message",
    [
        ({"start": 1.0, "end": 0.5}, "ends before it starts"),
        ({"start": 1.0, "end": 1.0}, "is empty"),
        ({"start": 1.0, "end": 2.5}, "outside the video"),
        ({"start": -0.5, "end": 0.5}, "outside the video"),
        ({"kind": "smell", "start": 0.1, "end": 0.5}, "kind must be"),
        ({"start": "soon", "end": 0.5}, "must be numbers"),
    ],
)
def test_bad_segments_are_refused_with_reasons(segment, message):
    assert message in errors_of({"segments": [segment]})


def test_overlapping_segments_of_one_kind_are_refused_but_kinds_may_overlap():
    assert "overlap" in errors_of(
        {"segments": [{"start": 0.1, "end": 0.6}, {"start": 0.5, "end": 0.9}]}
    )
    cleaned = clean_annotation(
        {"segments": [{"start": 0.1, "end": 0.6}, {"kind": "sound", "start": 0.5, "end": 0.9}]},
        VIDEO,
        default_label="jump",
    )
    assert len(cleaned["segments"]) == 2
    # two labels' events may overlap; each segment keeps its own label
    cleaned = clean_annotation(
        {
            "segments": [
                {"start": 0.1, "end": 0.6, "label": "car"},
                {"start": 0.5, "end": 0.9, "label": "cyclist"},
            ]
        },
        VIDEO,
    )
    assert [(s["label"], s["start"]) for s in cleaned["segments"]] == [
        ("car", 0.1),
        ("cyclist", 0.5),
    ]


def test_segments_need_a_label_and_take_the_default_one():
    with pytest.raises(InvalidAnnotation, match="needs a label"):
        clean_annotation({"segments": [{"start": 0.1, "end": 0.6}]}, VIDEO)
    cleaned = clean_annotation(
        {"segments": [{"start": 0.1, "end": 0.6}]}, VIDEO, default_label="jump"
    )
    assert cleaned["segments"][0]["label"] == "jump"
    assert "not one of the labels" in errors_of(
        {"segments": [{"start": 0.1, "end": 0.6, "label": "car"}]}
    )


def test_instants_only_when_allowed():
    payload = {"segments": [{"start": 0.5, "end": 0.5}]}
    assert "is empty" in errors_of(payload)
    cleaned = clean_annotation(payload, VIDEO, allow_instant_segments=True, default_label="jump")
    assert cleaned["segments"][0]["end"] == 0.5


def test_every_problem_is_reported_at_once():
    with pytest.raises(InvalidAnnotation) as caught:
        clean_annotation(
            {
                "tracks": [{"label": "jump", "keyframes": [kf(30, 1, 1, 5, 5)]}],
                "segments": [{"start": 1, "end": 0}],
            },
            VIDEO,
        )
    assert set(caught.value.errors) == {"tracks", "segments"}


# --- interpolation ---------------------------------------------------------------------------


def test_linear_interpolation_between_keyframes():
    boxes = track_boxes([kf(2, 10, 10, 30, 30), kf(6, 50, 30, 90, 70)], 20)
    assert boxes[0] is None and boxes[1] is None
    assert boxes[2]["keyframe"] and boxes[6]["keyframe"]
    mid = boxes[4]
    assert (mid["x0"], mid["y0"], mid["x1"], mid["y1"]) == (30, 20, 60, 50)
    quarter = boxes[3]
    assert quarter["x0"] == pytest.approx(20) and quarter["x1"] == pytest.approx(45)
    assert not quarter["keyframe"]
    # After the last keyframe the box stays until the end of the video (CVAT).
    assert all(b is not None and b["x0"] == 50 for b in boxes[7:])


def test_outside_ends_the_track_until_the_next_keyframe():
    boxes = track_boxes(
        [
            kf(0, 0, 0, 10, 10),
            kf(4, 40, 0, 50, 10, outside=True),
            kf(8, 80, 0, 90, 10),
            kf(10, 80, 0, 90, 10, outside=True),
        ],
        20,
    )
    assert [b is not None for b in boxes[:12]] == [True] * 4 + [False] * 4 + [True] * 2 + [
        False
    ] * 2
    # Frames before an outside keyframe still move toward its coordinates, as in CVAT.
    assert boxes[2]["x0"] == 20
    assert all(b is None for b in boxes[10:])


def test_occluded_flag_is_copied_to_interpolated_frames():
    shapes = track_shapes([kf(0, 0, 0, 10, 10, occluded=True), kf(2, 20, 0, 30, 10)], 3)
    assert [s["occluded"] for s in shapes] == [True, True, False]


def test_shapes_list_outside_keyframes_like_cvat_exports():
    shapes = track_shapes([kf(1, 0, 0, 10, 10), kf(3, 20, 0, 30, 10, outside=True)], 6)
    assert [(s["frame"], s["keyframe"], s["outside"]) for s in shapes] == [
        (1, True, False),
        (2, False, False),
        (3, True, True),
    ]


def test_frame_boxes_collects_every_track():
    annotation = {
        "tracks": [
            {"label": "jump", "keyframes": [kf(0, 0, 0, 10, 10)]},
            {"label": "jump", "keyframes": [kf(1, 20, 20, 30, 30)]},
        ]
    }
    frames = frame_boxes(annotation, 3)
    assert [len(f) for f in frames] == [1, 2, 2]


# --- overlap ---------------------------------------------------------------------------------


def test_box_iou():
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1
    assert box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert box_iou((0, 0, 10, 10), (10, 0, 20, 10)) == 0


def test_frame_set_iou_counts_missing_boxes():
    assert frame_set_iou([], []) is None
    assert frame_set_iou([(0, 0, 10, 10)], []) == 0
    two = [(0, 0, 10, 10), (50, 50, 60, 60)]
    assert frame_set_iou(two, [(0, 0, 10, 10)]) == pytest.approx(0.5)


def test_segment_iou():
    assert segment_iou([], []) is None
    assert segment_iou([(0, 1)], []) == 0
    assert segment_iou([(0, 1)], [(0.5, 1.5)]) == pytest.approx(0.5 / 1.5)
    assert segment_iou([(0, 1), (2, 3)], [(0, 3)]) == pytest.approx(2 / 3)
    assert segment_iou([(1, 1)], [(1, 1)]) == 1
