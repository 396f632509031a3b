"""Scores of a map whose cells tile a view (a model that centre-crops), checked against pixels
counted one by one, and ``score_clips`` against the single games with the same view."""

from __future__ import annotations

import numpy as np
import pytest

from workers.metrics.grounding import ClipInput, score_clips, thresholded_iou
from workers.metrics.pointing import energy_pointing_game, spatial_pointing_game

W, H = 40, 24


def brute_force(heat: np.ndarray, boxes: list, view: tuple[int, int, int, int], fraction=0.5):
    """(IoU, energy) over the view's pixels, one pixel at a time: pixel (x, y) of the view
    belongs to cell (floor((y - y0) h / vh), floor((x - x0) w / vw)); a pixel is in the boxes
    when its centre is inside one."""
    h, w = heat.shape
    x0, y0, x1, y1 = view
    vw, vh = x1 - x0, y1 - y0
    peak = heat.max()
    inter = union = mass = inside_mass = 0.0
    for y in range(y0, y1):
        for x in range(x0, x1):
            v = float(heat[(y - y0) * h // vh, (x - x0) * w // vw])
            on = peak > 0 and v >= fraction * peak
            cx, cy = x + 0.5, y + 0.5
            in_box = any(a <= cx <= c and b <= cy <= d for a, b, c, d in boxes)
            inter += on and in_box
            union += on or in_box
            mass += max(v, 0.0)
            inside_mass += max(v, 0.0) if in_box else 0.0
    return (inter / union if union else 0.0), (inside_mass / mass if mass else 0.0)


@pytest.mark.parametrize("seed", range(6))
def test_iou_and_energy_inside_the_view_match_pixels(seed):
    rng = np.random.default_rng(seed)
    view = (int(rng.integers(0, 12)), int(rng.integers(0, 6)), 0, 0)
    view = (view[0], view[1], view[0] + int(rng.integers(9, W - view[0])), H - view[1])
    heat = rng.integers(0, 4, size=(3, 5)).astype(np.float32)
    boxes = []
    for _ in range(int(rng.integers(1, 3))):
        xs = sorted(rng.uniform(0, W, 2))
        ys = sorted(rng.uniform(0, H, 2))
        boxes.append([xs[0], ys[0], xs[1], ys[1]])
    b = np.array([boxes], dtype=np.float64)
    iou, _ = thresholded_iou(heat[None], b, None, (W, H), view=view)
    energy = energy_pointing_game(heat[None], b, None, (W, H), view=view)
    want_iou, want_energy = brute_force(heat, boxes, view)
    assert iou[0] == pytest.approx(want_iou, abs=1e-12)
    assert energy.scores[0] == pytest.approx(want_energy, abs=1e-12)


def test_score_clips_passes_each_clip_its_view():
    rng = np.random.default_rng(3)
    t, h, w = 3, 4, 4
    view = (10.0, 0.0, 30.0, 24.0)
    inside, outside = [12.0, 2.0, 20.0, 10.0], [0.0, 2.0, 6.0, 10.0]
    boxes = np.array([[inside], [outside], [inside]], dtype=np.float64)
    clips = []
    for v in (view, None):
        clips.append(
            ClipInput(
                map=rng.random((t, h, w)).astype(np.float32),
                temporal=np.ones(t),
                timestamps=np.arange(t) / 10,
                boxes=boxes,
                box_mask=np.ones((t, 1), dtype=bool),
                segments=np.array([[0.0, 1.0]]),
                source_size=(W, H),
                view=v,
            )
        )
    cropped, whole = score_clips(clips, tolerance=2.0)
    game = spatial_pointing_game(clips[0].map, boxes, None, (W, H), 2.0, view=view)
    assert cropped.counted.tolist() == [True, False, True] == game.counted.tolist()
    assert cropped.hit.tolist() == (game.hits & game.counted).tolist()
    assert np.all((cropped.point[:, 0] > 10) & (cropped.point[:, 0] < 30))
    assert whole.counted.tolist() == [True, True, True]  # no view: every box counts
    alone = score_clips([clips[1]], tolerance=2.0)[0]  # a view elsewhere in the batch: no effect
    for name in ("counted", "hit", "energy", "iou", "point"):
        np.testing.assert_array_equal(getattr(whole, name), getattr(alone, name))
