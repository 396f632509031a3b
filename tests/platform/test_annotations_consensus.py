"""Consensus ground truth, agreement and accuracy on gold (plain functions, no database)."""

import pytest

from wherewhen.annotations.consensus import (
    agreement,
    compare_to_reference,
    consensus,
    fuse_boxes,
    fuse_segments,
    pair_agreement,
)


def still(box, frame=0, label="jump"):
    x0, y0, x1, y1 = box
    return {"label": label, "keyframes": [{"frame": frame, "x0": x0, "y0": y0, "x1": x1, "y1": y1}]}


def ann(*tracks, visual=None, sound=None, label="jump"):
    segments = [{"kind": "visual", "label": label, "start": s, "end": e} for s, e in visual or []]
    segments += [{"kind": "sound", "label": label, "start": s, "end": e} for s, e in sound or []]
    return {"tracks": list(tracks), "segments": segments}


def test_box_fusion_takes_the_median_of_a_majority():
    fused = fuse_boxes([[(10, 10, 50, 50)], [(12, 8, 52, 48)], [(14, 12, 54, 56)]])
    assert fused == [(12, 10, 52, 50)]


def test_box_fusion_drops_boxes_without_a_majority():
    # Two of three agree on one object; a lone box elsewhere is dropped.
    fused = fuse_boxes(
        [[(10, 10, 50, 50), (100, 10, 140, 50)], [(11, 10, 51, 50)], [(9, 10, 49, 50)]]
    )
    assert fused == [(10, 10, 50, 50)]
    # Two annotators who disagree: no box survives (a strict majority is needed).
    assert fuse_boxes([[(0, 0, 10, 10)], [(50, 50, 60, 60)]]) == []
    # One annotation is its own consensus.
    assert fuse_boxes([[(0, 0, 10, 10)]]) == [(0, 0, 10, 10)]


def test_box_fusion_keeps_two_objects_when_everyone_marks_both():
    a = [(0, 0, 10, 10), (50, 50, 60, 60)]
    b = [(51, 50, 61, 60), (1, 0, 11, 10)]
    fused = fuse_boxes([a, b])
    assert fused == [(0.5, 0, 10.5, 10), (50.5, 50, 60.5, 60)]


def test_segment_fusion_uses_median_bounds():
    assert fuse_segments([[(1.0, 2.0)], [(1.2, 2.4)], [(0.8, 1.9)]]) == [(1.0, 2.0)]
    # Even counts: the mean of the two middle values.
    assert fuse_segments([[(1.0, 2.0)], [(1.2, 2.4)]]) == [pytest.approx((1.1, 2.2))]
    # A segment only one of three marked is dropped.
    assert fuse_segments([[(1.0, 2.0), (5, 6)], [(1.0, 2.0)], [(1.0, 2.0)]]) == [(1.0, 2.0)]
    assert fuse_segments([]) == []


def test_consensus_per_frame_and_when():
    annotations = [
        ann(still((10, 10, 50, 50), frame=2), visual=[(0.2, 0.6)], sound=[(0.3, 0.5)]),
        ann(still((12, 10, 52, 50), frame=3), visual=[(0.3, 0.7)]),
        ann(still((14, 10, 54, 50), frame=2), visual=[(0.2, 0.8)], sound=[(0.3, 0.7)]),
    ]
    out = consensus(annotations, 5)["jump"]
    assert out["frames"][:2] == [[], []]
    # Frame 2: annotators 1 and 3 have boxes (majority of 3).
    assert out["frames"][2] == [(12, 10, 52, 50)]
    assert out["frames"][3] == [(12, 10, 52, 50)]
    assert out["when"]["visual"] == [(0.2, 0.7)]
    assert out["when"]["sound"] == [(0.3, 0.6)]


def test_agreement_is_the_mean_over_pairs_and_parts():
    same = ann(still((0, 0, 10, 10)), visual=[(0, 1)])
    assert pair_agreement(same, same, 3)["overall"] == 1
    shifted = ann(still((5, 0, 15, 10)), visual=[(0.5, 1.5)])
    parts = pair_agreement(same, shifted, 3)
    assert parts["box"] == pytest.approx(1 / 3)
    assert parts["visual"] == pytest.approx(1 / 3)
    assert parts["sound"] is None
    assert parts["overall"] == pytest.approx(1 / 3)
    result = agreement([same, same, shifted], 3)
    assert result["pairs"] == 3
    assert result["overall"] == pytest.approx((1 + 1 / 3 + 1 / 3) / 3)
    assert agreement([same], 3)["overall"] is None


def test_accuracy_against_a_gold_answer():
    gold = ann(still((0, 0, 10, 10)), visual=[(0, 1)], sound=[(0, 1)])
    answer = ann(still((0, 0, 10, 5)), visual=[(0, 0.5)])
    score = compare_to_reference(answer, gold, 2)
    assert score["box_iou"] == pytest.approx(0.5)
    # visual 0.5, sound 0 (not marked): mean 0.25
    assert score["segment_iou"] == pytest.approx(0.25)
