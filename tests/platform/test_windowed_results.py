"""Windowed (whole-video) explanations after they are computed: scoring counts every window's
map rows and takes the "when" from the whole-span curve; exports follow which row shows when."""

from __future__ import annotations

import numpy as np
import pytest

from tests.scoring_support import (
    box_from,
    ground_truth,
    make_explanation,
    make_project,
    make_video,
    peak_map,
    user,
)
from wherewhen.accounts.models import Role
from wherewhen.explanations import exporting
from wherewhen.scoring import services
from wherewhen.scoring.models import ExplanationScore
from workers.windows import WholeVideoResult, display_schedule, merge_temporal, result_summary

pytestmark = pytest.mark.django_db

CELL_11 = (40, 30, 80, 60)  # exactly cell (1, 1) of a 4 x 4 grid over 160 x 120
# The 2 s test video (10 fps) in windows of 1 s every 0.5 s; 4 map rows per window, at the
# source frames the uniform rule picks (0, 2, 5, 7 of each window's 10).
SPANS = [(0.0, 1.0), (0.5, 1.5), (1.0, 2.0)]
TIMES = [[a + d for d in (0.0, 0.2, 0.5, 0.7)] for a, _b in SPANS]
# Each window says the frame at 0.7 s matters most (window 2 sees nothing special).
WINDOW_TEMPORAL = [[1.0, 1, 1, 4], [1.0, 4, 1, 1], [1.0, 1, 1, 1]]


def windowed_row(video):
    cells = [(1, 1)] * 12
    cells[5] = (3, 3)  # window 1 at 0.7 s points elsewhere
    heat = peak_map(cells, grid=(12, 4, 4))
    curve_times, curve = merge_temporal(
        [(t, v, s) for t, v, s in zip(TIMES, WINDOW_TEMPORAL, SPANS, strict=True)]
    )
    stamps = np.concatenate(TIMES)
    schedule = display_schedule(SPANS, TIMES)
    result = WholeVideoResult(
        method="staa", grid=(12, 4, 4), timestamps=stamps,
        temporal=np.interp(stamps, curve_times, curve), spans=SPANS, targets=[0, 0, 0],
        target=0, topk=[], cost=None, curve_times=curve_times, curve=curve,
        schedule_times=schedule[0], schedule_rows=schedule[1], value_range=(0.1, 1.0),
        window=1.0, stride=0.5,
    )  # fmt: skip
    e = make_explanation(video, heat, timestamps=stamps.tolist(), temporal=result.temporal.tolist())
    e.windowed, e.windows = True, result_summary(result)
    e.save(update_fields=["windowed", "windows"])
    return e, heat


def test_scoring_counts_every_window_and_takes_when_from_the_curve():
    researcher = user("rita", Role.RESEARCHER)
    video = make_video(researcher)
    project = make_project(researcher, [video])
    ground_truth(project, video, [box_from(0, CELL_11, until=10)], visual=(0.5, 1.0))
    e, _heat = windowed_row(video)
    services.recompute_now(project)
    s = ExplanationScore.objects.get(explanation=e, reference="consensus")
    assert len(s.frames) == 12  # one per map row, all windows
    assert [f["frame"] for f in s.frames] == [0, 2, 5, 7, 5, 7, 10, 12, 10, 12, 15, 17]
    # the box is there before 1.0 s: rows 0-3 (window 0) and 4-5 (window 1) are counted
    assert [f["counted"] for f in s.frames] == [True] * 6 + [False] * 6
    assert (s.frames_counted, s.frames_hit) == (6, 5)  # row 5 points elsewhere
    assert s.frames[5]["hit"] is False and s.frames[4]["hit"] is True
    # the whole-span curve peaks at 0.7 s (both windows agree): inside the "when" [0.5, 1.0]
    assert e.windows["curve"]["times"][int(np.argmax(e.windows["curve"]["importance"]))] == 0.7
    assert s.temporal_hit is True


def test_exports_follow_the_schedule():
    researcher = user("rita", Role.RESEARCHER)
    e, heat = windowed_row(make_video(researcher))
    # window 0 owns times before 0.75 s, window 1 up to 1.25 s, window 2 after
    assert e.windows["schedule"]["times"] == [0, 0.2, 0.5, 0.7, 0.75, 1.0, 1.2, 1.25, 1.5, 1.7]
    rows = [0, 1, 2, 3, 5, 6, 7, 9, 10, 11]
    assert e.windows["schedule"]["rows"] == rows
    frames, times, level = exporting.windowed_frames(e.windows, heat)
    assert np.array_equal(frames, heat[rows])
    assert times == e.windows["schedule"]["times"]
    assert level[3] == pytest.approx(max(level))  # the strip peaks at 0.7 s too
    tiles, tile_times = exporting.windowed_keyframes(e.windows, heat, e.timestamps)
    assert len(tiles) == len(tile_times) <= exporting.WINDOWED_KEYFRAMES
    assert tile_times == sorted(tile_times) and tile_times[0] == 0.0 and tile_times[-1] == 1.7
