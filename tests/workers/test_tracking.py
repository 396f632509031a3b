"""The assisted tracker on rendered synthetic frames: it follows the target, stops where asked,
refuses boxes it cannot track, and reads nothing but frames."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from workers.synthetic import scene_for
from workers.tracking import TrackingError, track_box


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.mark.parametrize("method", ["csrt", "kcf"])
def test_follows_the_target_through_its_event(method):
    scene = scene_for(1, 2)
    start, end = scene.event_frames
    frames = [scene.render(f) for f in range(start, end + 1)]
    result = track_box(frames, scene.target_box(start), method=method)
    assert len(result.boxes) == end - start and result.lost_at is None
    scores = [iou(b, scene.target_box(start + i + 1)) for i, b in enumerate(result.boxes)]
    assert np.mean(scores) > 0.75, scores


def test_large_frames_are_tracked_scaled_down_and_boxes_come_back_in_source_pixels():
    scene = scene_for(1, 2)
    start, end = scene.event_frames
    # 6x upscale: 768 px, above the tracking size, so the tracker works on a smaller copy.
    frames = [np.kron(scene.render(f), np.ones((6, 6, 1), np.uint8)) for f in range(start, end)]
    first = tuple(6 * v for v in scene.target_box(start))
    result = track_box(frames, first)
    for i, box in enumerate(result.boxes):
        truth = tuple(6 * v for v in scene.target_box(start + i + 1))
        assert iou(box, truth) > 0.6


def test_stops_when_asked_and_reports_progress():
    scene = scene_for(1, 2)
    frames = (scene.render(f) for f in range(20))
    done = []
    result = track_box(
        frames, scene.target_box(0), on_progress=done.append, should_stop=lambda: len(done) >= 4
    )
    assert result.cancelled and len(result.boxes) == 4 and done == [1, 2, 3, 4]


@pytest.mark.parametrize(
    ("box", "words"),
    [
        ((10, 10, 12, 40), "too small"),
        ((200, 200, 240, 240), "outside"),
        ((1, 2, 3), "(x0, y0, x1, y1)"),
        ((0, 0, float("nan"), 5), "finite"),
    ],
)
def test_refuses_boxes_it_cannot_track(box, words):
    frames = [np.zeros((64, 64, 3), np.uint8)] * 3
    with pytest.raises(TrackingError, match=words.replace("(", r"\(").replace(")", r"\)")):
        track_box(frames, box)


def test_refuses_unknown_trackers_and_empty_input():
    with pytest.raises(TrackingError, match="Unknown tracker"):
        track_box([np.zeros((64, 64, 3), np.uint8)] * 2, (10, 10, 40, 40), method="sam")
    with pytest.raises(TrackingError, match="no frame"):
        track_box([], (10, 10, 40, 40))


def test_the_tracker_reads_nothing_but_frames():
    """No import of a model, an explanation or the platform: it sees pixels only."""
    allowed = {"__future__", "math", "collections", "dataclasses", "pathlib", "cv2", "numpy"}
    folder = Path(__file__).resolve().parents[2] / "workers" / "tracking"
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                root = name.split(".")[0]
                assert root in allowed or name.startswith("workers.tracking"), (path, name)
