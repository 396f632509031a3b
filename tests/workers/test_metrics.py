"""Hand-made cases pinning every explanation metric to its definition."""

from __future__ import annotations

import numpy as np
import pytest

from workers.metrics import (
    deletion_curve,
    energy_pointing_game,
    faithfulness_correlation,
    gini,
    gini_batch,
    insertion_curve,
    max_cell_points,
    monotonicity,
    points_hit_boxes,
    rank_correlation,
    small_object_frames,
    spacetime_pointing_game,
    spatial_pointing_game,
    temporal_pointing_game,
)

NAN4 = [np.nan] * 4


def one_hot(h: int, w: int, i: int, j: int) -> np.ndarray:
    m = np.zeros((h, w))
    m[i, j] = 1.0
    return m


# --------------------------------------------------------------------------------- spatial


def test_max_cell_centre_on_a_4x4_grid_over_100px():
    px, py, flat = max_cell_points(one_hot(4, 4, 1, 2)[None], (100, 100))
    assert (px[0], py[0], flat[0]) == (62.5, 37.5, 6)


def test_ties_go_to_the_first_cell_in_row_major_order():
    m = np.zeros((1, 4, 4))
    m[0, 2, 1] = m[0, 1, 3] = m[0, 3, 0] = 5.0  # (1, 3) comes first in row-major order
    px, py, flat = max_cell_points(m, (40, 40))
    assert flat[0] == 1 * 4 + 3
    assert (px[0], py[0]) == (35.0, 15.0)
    # a constant map points at cell (0, 0)
    px, py, _ = max_cell_points(np.ones((1, 4, 4)), (40, 40))
    assert (px[0], py[0]) == (5.0, 5.0)


def test_cells_when_frame_size_is_not_a_multiple_of_the_grid():
    # W / w = 100 / 8 = 12.5 px, H / h = 30 / 4 = 7.5 px
    px, py, _ = max_cell_points(one_hot(4, 8, 3, 7)[None], (100, 30))
    assert px[0] == pytest.approx(7.5 * 12.5)
    assert py[0] == pytest.approx(3.5 * 7.5)


def test_spatial_hit_inside_and_on_the_border_of_a_box():
    maps = np.stack([one_hot(4, 4, 0, 0), one_hot(4, 4, 0, 0)])  # point (12.5, 12.5)
    boxes = np.array([[[10, 10, 20, 20]], [[12.5, 0, 30, 5]]], dtype=float)
    r = spatial_pointing_game(maps, boxes, np.ones((2, 1), bool), (100, 100), tolerance=0)
    # first: inside; second: the point lies on the left border x = 12.5 but 7.5 px below y1=5
    assert r.hits.tolist() == [True, False]
    r = spatial_pointing_game(maps, boxes, np.ones((2, 1), bool), (100, 100), tolerance=8)
    assert r.hits.tolist() == [True, True]


def test_tolerance_is_strictly_below():
    m = one_hot(4, 4, 0, 0)[None]  # point (12.5, 12.5)
    box = np.array([[[27.5, 0, 40, 40]]])  # 15 px to the right of the point exactly
    mask = np.ones((1, 1), bool)
    assert not spatial_pointing_game(m, box, mask, (100, 100)).hits[0]  # default 15 px
    assert spatial_pointing_game(m, box, mask, (100, 100), tolerance=15.0001).hits[0]
    # corner distance: box corner at (12.5 + 9, 12.5 + 12) is exactly 15 px away
    corner = np.array([[[21.5, 24.5, 50, 50]]])
    assert not spatial_pointing_game(m, corner, mask, (100, 100)).hits[0]
    assert spatial_pointing_game(m, corner, mask, (100, 100), tolerance=15.01).hits[0]


def test_several_boxes_any_one_counts_and_padding_is_ignored():
    m = one_hot(4, 4, 3, 3)[None]  # point (87.5, 87.5)
    boxes = np.array([[[0, 0, 10, 10], [80, 80, 90, 90], [85, 85, 95, 95]]], dtype=float)
    mask = np.array([[True, False, False]])
    assert not spatial_pointing_game(m, boxes, mask, (100, 100), tolerance=0).hits[0]
    mask = np.array([[True, False, True]])
    assert spatial_pointing_game(m, boxes, mask, (100, 100), tolerance=0).hits[0]
    # NaN rows are padding when no mask is given
    nan_boxes = np.array([[[0, 0, 10, 10], NAN4, [85, 85, 95, 95]]], dtype=float)
    assert spatial_pointing_game(m, nan_boxes, None, (100, 100), tolerance=0).hits[0]


def test_frames_without_boxes_are_not_counted():
    maps = np.stack([one_hot(2, 2, 0, 0), one_hot(2, 2, 1, 1), one_hot(2, 2, 0, 0)])
    boxes = np.array([[[0, 0, 10, 10]], [[0, 0, 10, 10]], [NAN4]], dtype=float)
    mask = np.array([[True], [True], [False]])
    r = spatial_pointing_game(maps, boxes, mask, (40, 40), tolerance=0)
    assert r.counted.tolist() == [True, True, False]
    assert r.hits.tolist() == [True, False, False]
    assert r.accuracy == 0.5
    assert (r.n_hits, r.n_counted) == (1, 2)
    empty = spatial_pointing_game(maps[2:], boxes[2:], mask[2:], (40, 40))
    assert np.isnan(empty.accuracy)


def test_per_frame_source_sizes():
    maps = np.stack([one_hot(2, 2, 0, 1)] * 2)  # centre x = 0.75 W
    boxes = np.array([[[70, 0, 80, 100]], [[70, 0, 80, 100]]], dtype=float)
    r = spatial_pointing_game(maps, boxes, None, [[100, 100], [200, 100]], tolerance=0)
    assert r.hits.tolist() == [True, False]  # 75 px inside; 150 px outside


def test_points_hit_boxes_primitive_for_human_baseline():
    px = np.array([5.0, 50.0])
    py = np.array([5.0, 50.0])
    boxes = np.array([[[0, 0, 10, 10]], [[0, 0, 10, 10]]], dtype=float)
    assert points_hit_boxes(px, py, boxes, None, tolerance=0).tolist() == [True, False]


def test_bad_inputs_are_rejected_with_a_message():
    with pytest.raises(ValueError, match="NaN"):
        spatial_pointing_game(np.full((1, 2, 2), np.nan), np.zeros((1, 1, 4)), None, (10, 10))
    with pytest.raises(ValueError, match="x0 <= x1"):
        spatial_pointing_game(np.zeros((1, 2, 2)), np.array([[[5, 0, 1, 1]]]), None, (10, 10))
    with pytest.raises(ValueError, match="boxes must be shaped"):
        spatial_pointing_game(np.zeros((2, 2, 2)), np.zeros((1, 1, 4)), None, (10, 10))
    with pytest.raises(ValueError, match="source_size"):
        spatial_pointing_game(np.zeros((1, 2, 2)), np.zeros((1, 1, 4)), None, (10, 10, 3))


def test_small_object_frames():
    boxes = np.array([[[0, 0, 49, 49]], [[0, 0, 50, 50]], [NAN4]], dtype=float)
    assert small_object_frames(boxes, None, (100, 100)).tolist() == [True, False, False]


# -------------------------------------------------------------------------------- temporal


def test_temporal_pointing_closed_segments_ties_and_uncounted_clips():
    temporal = np.array(
        [
            [0.1, 0.5, 0.2, 0.5],  # tie between frames 1 and 3 -> frame 1 (t = 1.0)
            [0.0, 0.0, 0.0, 1.0],  # frame 3 at t = 3.0, exactly the segment end
            [1.0, 0.0, 0.0, 0.0],  # t = 0.0, outside
            [0.0, 1.0, 0.0, 0.0],  # no segment: not counted
        ]
    )
    ts = np.tile(np.arange(4.0), (4, 1))
    seg = np.array(
        [[[1.0, 1.0], [np.nan, np.nan]], [[2.0, 3.0], [9, 9]], [[0.5, 3]] * 2, [NAN4[:2]] * 2]
    )
    mask = np.array([[True, False], [True, True], [True, True], [False, False]])
    r = temporal_pointing_game(temporal, ts, seg, mask)
    assert r.hits.tolist() == [True, True, False, False]
    assert r.counted.tolist() == [True, True, True, False]
    assert r.accuracy == pytest.approx(2 / 3)


# ------------------------------------------------------------------------------ space-time


def test_spacetime_pointing_needs_both_when_and_where():
    c, t, h, w = 4, 3, 2, 2
    maps = np.zeros((c, t, h, w))
    maps[0, 1, 0, 0] = 1.0  # frame 1 in segment, cell (0,0) in the box -> hit
    maps[1, 0, 0, 0] = 1.0  # frame 0 outside the segment -> miss
    maps[2, 1, 1, 1] = 1.0  # right time, wrong place -> miss
    maps[3, 2, 0, 0] = maps[3, 1, 0, 0] = 1.0  # tie: frame 1 first -> hit
    ts = np.tile(np.array([0.0, 1.0, 2.0]), (c, 1))
    seg = np.tile(np.array([[[0.5, 2.5]]]), (c, 1, 1))
    boxes = np.full((c, t, 1, 4), np.nan)
    boxes[:, :, 0] = [0, 0, 10, 10]
    r = spacetime_pointing_game(maps, ts, seg, None, boxes, None, (40, 40), tolerance=0)
    assert r.hits.tolist() == [True, False, False, True]
    assert r.counted.all()


def test_spacetime_uncounted_without_segment_or_boxes():
    maps = np.zeros((2, 2, 2, 2))
    ts = np.zeros((2, 2))
    seg = np.array([[[np.nan, np.nan]], [[0.0, 1.0]]])
    boxes = np.full((2, 2, 1, 4), np.nan)
    boxes[0, :, 0] = [0, 0, 40, 40]
    r = spacetime_pointing_game(maps, ts, seg, None, boxes, None, (40, 40))
    assert r.counted.tolist() == [False, False]


# ---------------------------------------------------------------------------------- energy


def test_energy_all_mass_inside_and_zero_mass_frame():
    maps = np.stack([one_hot(2, 2, 0, 0), np.zeros((2, 2)), -np.ones((2, 2))])
    boxes = np.tile(np.array([[[0.0, 0.0, 20.0, 20.0]]]), (3, 1, 1))
    r = energy_pointing_game(maps, boxes, None, (40, 40))
    assert r.scores.tolist() == [1.0, 0.0, 0.0]  # zero (or all-negative) mass scores 0


def test_energy_negatives_are_clipped_and_partial_cells_use_pixel_centres():
    m = np.array([[[1.0, 3.0], [-5.0, 0.0]]])  # 40x40 px frame, 20 px cells
    # box covers x in [0, 30] -> pixel centres 0.5 .. 29.5 (30 columns), y in [0, 10] (10 rows)
    boxes = np.array([[[0.0, 0.0, 30.0, 10.0]]])
    r = energy_pointing_game(m, boxes, None, (40, 40))
    inside = 1.0 * 20 * 10 + 3.0 * 10 * 10
    total = (1.0 + 3.0) * 400
    assert r.scores[0] == pytest.approx(inside / total)
    # a pixel counts when its centre is in the box: [0, 0.5] includes the centre of pixel 0
    tiny = np.array([[[0.0, 0.0, 0.5, 0.5]]])
    e = energy_pointing_game(np.ones((1, 2, 2)), tiny, None, (40, 40))
    assert e.scores[0] == pytest.approx(1 / 1600)
    # ... and [0, 0.49] does not
    e = energy_pointing_game(np.ones((1, 2, 2)), np.array([[[0, 0, 0.49, 0.49]]]), None, (40, 40))
    assert e.scores[0] == 0.0


def test_energy_overlapping_boxes_count_pixels_once():
    m = np.ones((1, 4, 4))
    boxes = np.array([[[0.0, 0.0, 20.0, 20.0], [10.0, 10.0, 30.0, 30.0]]])
    r = energy_pointing_game(m, boxes, None, (40, 40))
    assert r.scores[0] == pytest.approx((400 + 400 - 100) / 1600)


def test_energy_non_integer_cell_size_matches_pixel_upsampling():
    # W = 10, w = 4: pixel x belongs to cell floor(x * 4 / 10): columns 0-2 | 3-4 | 5-7 | 8-9
    m = np.array([[[1.0, 2.0, 3.0, 4.0]]])  # h = 1
    boxes = np.array([[[3.0, 0.0, 5.0, 1.0]]])  # pixel centres 3.5, 4.5 -> cell 1 only
    r = energy_pointing_game(m, boxes, None, (10, 1))
    total = 1 * 3 + 2 * 2 + 3 * 3 + 4 * 2
    assert r.scores[0] == pytest.approx(2 * 2 / total)


def test_energy_matches_brute_force_pixels_on_random_cases():
    rng = np.random.default_rng(0)
    n, h, w, width, height = 60, 5, 7, 37, 23
    maps = rng.normal(size=(n, h, w))
    lo = rng.uniform(-5, 30, size=(n, 3, 2))
    boxes = np.concatenate([lo, lo + rng.uniform(0, 15, size=(n, 3, 2))], axis=-1)
    mask = rng.random((n, 3)) < 0.7
    got = energy_pointing_game(maps, boxes, mask, (width, height))
    ys, xs = np.mgrid[0:height, 0:width]
    cells = maps[:, (ys * h) // height, (xs * w) // width].clip(min=0)
    for k in range(n):
        inside_any = np.zeros((height, width), bool)
        for b, ok in zip(boxes[k], mask[k], strict=True):
            if ok:
                inside_any |= (
                    (xs + 0.5 >= b[0])
                    & (xs + 0.5 <= b[2])
                    & (ys + 0.5 >= b[1])
                    & (ys + 0.5 <= b[3])
                )
        total = cells[k].sum()
        expected = 0.0 if total == 0 else cells[k][inside_any].sum() / total
        assert got.scores[k] == pytest.approx(expected, abs=1e-12)
    assert got.counted.tolist() == mask.any(axis=1).tolist()


# ---------------------------------------------------------------------------- complexity


def test_gini():
    assert gini(np.ones((2, 3, 3))) == pytest.approx(0.0)
    assert gini(np.zeros((2, 3, 3))) == 0.0
    one = np.zeros(10)
    one[3] = 7.0
    assert gini(one) == pytest.approx(0.9)  # (n - 1) / n for a single spike
    assert gini(np.array([1.0, -1.0, 1.0, -1.0])) == pytest.approx(0.0)  # absolute values
    batch = gini_batch(np.stack([np.ones(10), one]))
    assert batch == pytest.approx([0.0, 0.9])


def test_rank_correlation():
    a = np.arange(12.0).reshape(1, 3, 4)
    assert rank_correlation(a, a * 10 + 3)[0] == pytest.approx(1.0)
    assert rank_correlation(a, -a)[0] == pytest.approx(-1.0)
    assert np.isnan(rank_correlation(a, np.ones_like(a))[0])


# ---------------------------------------------------------------------------- faithfulness


def evidence_model(cell_pixels: tuple[slice, ...]):
    """A fake classifier: class-1 probability = mean brightness of one region / 255."""

    def predict(frames: np.ndarray) -> np.ndarray:
        p = frames[(slice(None), *cell_pixels)].mean(axis=tuple(range(1, 5))) / 255.0
        return np.stack([1 - p, p], axis=1)

    return predict


def test_deletion_and_insertion_reward_maps_that_find_the_evidence():
    frames = np.zeros((2, 8, 8, 3), np.uint8)
    frames[1, 4:8, 4:8] = 255  # the evidence: frame 1, cell (1, 1) of a 2x2 grid
    predict = evidence_model((slice(1, 2), slice(4, 8), slice(4, 8)))
    good = np.zeros((2, 2, 2))
    good[1, 1, 1] = 1.0
    bad = np.zeros((2, 2, 2))
    bad[0, 0, 0] = 1.0  # ties everywhere else: row-major order puts the evidence last
    kw = {"n_steps": 8, "baseline": 0.0}
    d_good = deletion_curve(predict, frames, good, 1, **kw)
    d_bad = deletion_curve(predict, frames, bad, 1, **kw)
    assert d_good.scores[0] == pytest.approx(1.0)
    assert d_good.scores[1:].max() == 0.0  # the first step (1 of 8 cells) removes it
    assert d_good.auc == pytest.approx(0.5 * (1 / 8))
    assert d_bad.auc == pytest.approx(1 - 0.5 * (1 / 8))
    i_good = insertion_curve(predict, frames, good, 1, **kw)
    i_bad = insertion_curve(predict, frames, bad, 1, **kw)
    assert i_good.auc == pytest.approx(1 - 0.5 * (1 / 8))
    assert i_bad.auc == pytest.approx(0.5 * (1 / 8))
    assert d_good.fractions.tolist() == [k / 8 for k in range(9)]


def test_faithfulness_correlation_and_monotonicity_signs():
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, size=(2, 8, 8, 3)).astype(np.uint8)
    weights = rng.random((2, 2, 2))

    def predict(x: np.ndarray) -> np.ndarray:  # a linear model over cell brightness
        cells = x.reshape(x.shape[0], 2, 1, 2, 4, 2, 4, 3).mean(axis=(2, 4, 6, 7)) / 255.0
        p = (cells * weights).sum(axis=(1, 2, 3)) / weights.sum()
        return np.stack([1 - p, p], axis=1)

    cell_mean = frames.reshape(2, 1, 2, 4, 2, 4, 3).mean(axis=(1, 3, 5, 6)) / 255.0
    exact = weights * cell_mean  # each cell's contribution to p
    kw = {"baseline": 0.0}
    assert faithfulness_correlation(
        predict, frames, exact, 1, n_subsets=32, subset_fraction=0.25, **kw
    ) == pytest.approx(1.0)
    assert faithfulness_correlation(
        predict, frames, -exact, 1, n_subsets=32, subset_fraction=0.25, **kw
    ) == pytest.approx(-1.0)
    assert monotonicity(predict, frames, exact, 1, n_groups=8, **kw) == pytest.approx(1.0)
    assert monotonicity(predict, frames, -exact, 1, n_groups=8, **kw) == pytest.approx(-1.0)
    assert np.isnan(monotonicity(predict, frames, np.zeros((2, 2, 2)), 1, n_groups=8, **kw))


def test_faithfulness_rejects_maps_that_do_not_tile_the_clip():
    frames = np.zeros((2, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="whole cells"):
        deletion_curve(lambda x: np.ones((len(x), 2)) / 2, frames, np.zeros((2, 3, 3)), 0)
