"""Scoring services on rows made directly: frame matching, every score of an explanation,
references (consensus and each annotator), the human baseline, recomputing only what changed,
leaderboards with intervals and paired tests, the drill-down and the exports."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest

from tests.scoring_support import (
    box_from,
    ground_truth,
    make_explanation,
    make_model,
    make_project,
    make_video,
    peak_map,
    user,
)
from wherewhen.accounts.models import Role
from wherewhen.scoring import drilldown, leaderboards, services
from wherewhen.scoring.models import ExplanationScore, HumanBaseline, ScoreRequest
from wherewhen.videos.models import Dataset
from workers.metrics import energy_pointing_game

pytestmark = pytest.mark.django_db

CELL_11 = (40, 30, 80, 60)  # exactly the pixels of cell (1, 1) on a 4 x 4 grid over 160 x 120


@pytest.fixture
def researcher():
    return user("rita", Role.RESEARCHER)


@pytest.fixture
def sent(monkeypatch):
    """Task messages the services would send (no broker needed)."""
    messages: list[list[int]] = []
    monkeypatch.setattr(services.recompute, "send_recompute", messages.append)
    return messages


def consensus_score(explanation):
    return ExplanationScore.objects.get(explanation=explanation, reference="consensus")


def test_scores_follow_the_definitions_frame_by_frame(researcher):
    video = make_video(researcher)
    project = make_project(researcher, [video])
    ground_truth(project, video, [box_from(0, CELL_11, until=10)], visual=(0.5, 1.0))
    # frame 0 points into the box, frame 1 at (140, 105): 75 px away; frames 2, 3 (source
    # frames 10 and 15) have no box
    heat = peak_map([(1, 1), (3, 3), (1, 1), (0, 0)])
    e = make_explanation(video, heat, temporal=[0.0, 3.0, 1.0, 0.0])

    outcome = services.recompute_now(project)
    assert outcome["computed"] == 2  # consensus and the one (imported) annotation

    s = consensus_score(e)
    assert s.gt_source == "consensus"
    assert (s.frames_counted, s.frames_hit) == (2, 1)
    assert [f["frame"] for f in s.frames] == [0, 5, 10, 15]
    assert [f["hit"] for f in s.frames] == [True, False, None, None]
    assert s.frames[0]["point"] == [60.0, 45.0]
    # the box covers exactly cell (1, 1): 1200 px at 1.0 against 15 cells x 1200 px at 0.1
    assert s.frames[0]["energy"] == pytest.approx(0.4)
    assert s.frames[0]["iou"] == 1.0  # only the peak cell is above half the maximum
    assert s.small_counted == 2 and s.small_hit == 1  # 40 x 30 px is far below a quarter
    assert s.temporal_hit is True  # peak of the temporal importance at 0.5 s, in [0.5, 1.0]
    assert s.spacetime_hit is False  # volume maximum: first frame (0.0 s), outside the segment
    assert 0 < s.sparsity < 1

    # the energy stored is what workers.metrics says on the same inputs
    boxes = np.array([[CELL_11], [CELL_11]], dtype=float)
    expected = energy_pointing_game(heat[:2], boxes, None, (160, 120)).scores
    assert s.energy_sum == pytest.approx(float(expected.sum()))


def test_map_frames_take_the_source_frame_within_half_a_frame(researcher):
    video = make_video(researcher)
    project = make_project(researcher, [video])
    ground_truth(project, video, [box_from(0, CELL_11)])
    e = make_explanation(video, peak_map([(1, 1)] * 4), timestamps=[0.02, 0.52, 0.56, 2.5])
    services.recompute_now(project)
    s = consensus_score(e)
    # 0.56 s is nearest to frame 6 (0.6 s); 2.5 s is past the last frame (1.9 s) by more than
    # half a frame, so that map frame has no ground truth
    assert [f["frame"] for f in s.frames] == [0, 5, 6, None]
    assert s.frames_counted == 3 and s.frames_hit == 3


def test_each_annotator_is_a_reference_and_the_human_baseline_uses_the_others(researcher):
    video = make_video(researcher)
    project = make_project(researcher, [video])
    a = ground_truth(project, video, [box_from(0, CELL_11, until=10)])
    b = ground_truth(project, video, [box_from(0, (44, 32, 84, 62), until=10)])
    e = make_explanation(video, peak_map([(1, 1)] * 4))
    services.recompute_now(project)

    refs = ExplanationScore.objects.filter(explanation=e).order_by("reference", "assignment_id")
    assert [(r.reference, r.assignment_id) for r in refs] == [
        ("annotator", a.pk),
        ("annotator", b.pk),
        ("consensus", None),
    ]
    baselines = {h.assignment_id: h for h in HumanBaseline.objects.filter(project=project)}
    assert set(baselines) == {a.pk, b.pk}
    # each box centre lies in the other's box on the ten frames where both have one
    assert all(h.frames_counted == 10 and h.frames_hit == 10 for h in baselines.values())
    assert baselines[a.pk].counted == list(range(10))


def test_only_changed_pairs_are_recomputed(researcher, sent, django_capture_on_commit_callbacks):
    v1, v2 = make_video(researcher, "one"), make_video(researcher, "two")
    project = make_project(researcher, [v1, v2])
    ground_truth(project, v1, [box_from(0, CELL_11)])
    ground_truth(project, v2, [box_from(0, CELL_11)])
    e1, e2 = (make_explanation(v, peak_map([(1, 1)] * 4)) for v in (v1, v2))
    first = services.recompute_now(project)
    assert (first["computed"], first["unchanged"]) == (4, 0)
    again = services.recompute_now(project)
    assert (again["computed"], again["unchanged"]) == (0, 4)

    # a second annotation of video one: its consensus changes and it brings a new reference;
    # the first annotator's pair and everything of video two stay as they are
    with django_capture_on_commit_callbacks(execute=True):
        added = ground_truth(project, v1, [box_from(0, (44, 32, 84, 62))])
    assert ScoreRequest.objects.filter(project=project, video=v1).exists()
    result = services.process_requests(sent[-1])
    assert sorted(map(tuple, result["pairs"])) == [
        (e1.pk, "annotator", added.pk),
        (e1.pk, "consensus", None),
    ]
    assert result["unchanged"] == 1
    assert not ScoreRequest.objects.exists()

    # a new explanation of video two: only its own pairs are looked at
    with django_capture_on_commit_callbacks(execute=True):
        e3 = make_explanation(v2, peak_map([(0, 0)] * 4), method="random")
    result = services.process_requests(sent[-1])
    assert {p[0] for p in result["pairs"]} == {e3.pk}
    assert result["unchanged"] == 0
    assert e2.scores.count() == 2


def test_changing_the_tolerance_rescores_the_project(
    researcher, sent, django_capture_on_commit_callbacks
):
    video = make_video(researcher)
    project = make_project(researcher, [video])
    ground_truth(project, video, [box_from(0, CELL_11)])
    e = make_explanation(video, peak_map([(3, 3)] * 4))  # 75 px from the box
    services.recompute_now(project)
    assert consensus_score(e).frames_hit == 0
    with django_capture_on_commit_callbacks(execute=True):
        services.set_tolerance(project, 80)
    services.process_requests(sent[-1])
    s = consensus_score(e)
    assert (s.tolerance, s.frames_hit) == (80.0, 4)


def test_a_map_that_cannot_be_scored_says_why(researcher):
    video = make_video(researcher)
    project = make_project(researcher, [video])
    ground_truth(project, video, [box_from(0, CELL_11)])
    e = make_explanation(video, peak_map([(1, 1)] * 4), timestamps=[0.0, 0.5, 1.0])
    services.recompute_now(project)
    s = consensus_score(e)
    assert "4 frames but 3 timestamps" in s.error and s.frames_counted == 0
    board = leaderboards.leaderboard(researcher, project)
    assert board["rows"][0]["errors"] == 1
    assert any("could not be scored" in note for note in board["notes"])


def _two_methods(researcher, n_videos: int = 6):
    model = make_model(researcher)
    dataset = Dataset.objects.create(owner=researcher, name="synthetic")
    videos = [make_video(researcher, f"clip {k}") for k in range(n_videos)]
    for v in videos[:3]:
        v.datasets.add(dataset)
    project = make_project(researcher, videos)
    for v in videos:
        ground_truth(project, v, [box_from(0, CELL_11)])
        make_explanation(v, peak_map([(1, 1)] * 4), method="staa_plus", model=model)
        make_explanation(
            v, peak_map([(3, 3)] * 4), method="random", model=model, cost={"wall_seconds": 0.1}
        )
    services.recompute_now(project)
    return project, dataset, model, videos


def test_leaderboard_rows_intervals_counts_and_paired_test(researcher):
    project, dataset, model, _videos = _two_methods(researcher)
    board = leaderboards.leaderboard(researcher, project)
    assert board["reason"] == "" and not board["stale"]
    rows = {r["method"]: r for r in board["rows"]}
    good, bad = rows["staa_plus"], rows["random"]
    assert (good["clips"], good["videos"], good["frames"]) == (6, 6, 24)
    assert good["spatial"] == {"value": 1.0, "low": 1.0, "high": 1.0, "n": 24}
    assert bad["spatial"]["value"] == 0.0 and bad["spatial"]["high"] == 0.0
    assert good["temporal"]["n"] == 6  # one temporal decision per clip
    assert good["cost"]["wall_seconds"] == pytest.approx(0.5)
    assert bad["cost"]["wall_seconds"] == pytest.approx(0.1)
    assert good["deletion_auc"] is None
    assert any("Faithfulness" in note for note in board["notes"])
    (test,) = board["comparisons"]
    # six videos, each with a difference of 4 hits: only the two all-same sign flips are as
    # extreme, p = 2 / 2^6
    assert test["frames"] == 24 and test["videos"] == 6
    assert test["p_value"] == pytest.approx(2 / 64) and test["exact"]
    assert {test["a_only"], test["b_only"]} == {0, 24}
    assert board["human"] is None  # one annotation per video

    narrowed = leaderboards.leaderboard(researcher, project, dataset=dataset, model=model)
    assert narrowed["videos"] == 3
    assert {r["frames"] for r in narrowed["rows"]} == {12}
    assert narrowed["options"]["datasets"] == [{"id": dataset.pk, "name": "synthetic"}]
    other = make_model(researcher, "other")
    assert leaderboards.leaderboard(researcher, project, model=other)["rows"] == []


def test_bootstrap_interval_resamples_videos(researcher):
    project, *_ = _two_methods(researcher, n_videos=3)
    video = project.tasks.first().video
    # one video with a different outcome: the interval spreads and still holds the estimate
    ExplanationScore.objects.filter(
        explanation__video=video, explanation__method="staa_plus", reference="consensus"
    ).update(frames_hit=0)
    row = next(
        r
        for r in leaderboards.leaderboard(researcher, project)["rows"]
        if r["method"] == "staa_plus"
    )
    spatial = row["spatial"]
    assert spatial["value"] == pytest.approx(8 / 12)
    assert 0.0 <= spatial["low"] < spatial["value"] < spatial["high"] <= 1.0
    # the interval is reproducible: a fixed seed per table
    again = leaderboards.leaderboard(researcher, project)
    assert next(r for r in again["rows"] if r["method"] == "staa_plus")["spatial"] == spatial


def test_leaderboard_of_a_project_without_ground_truth_says_why(researcher):
    video = make_video(researcher)
    project = make_project(researcher, [video])
    make_explanation(video, peak_map([(1, 1)] * 4))
    board = leaderboards.leaderboard(researcher, project)
    assert board["rows"] == []
    assert "no ground truth yet" in board["reason"]


def test_leaderboard_is_stale_while_requests_are_pending(researcher):
    project, *_ = _two_methods(researcher, n_videos=1)
    ScoreRequest.objects.create(project=project, reason="test")
    board = leaderboards.leaderboard(researcher, project)
    assert board["stale"] and board["pending"] == 1 and board["rows"]


def test_human_row_is_scored_on_the_frames_the_methods_use(researcher):
    video = make_video(researcher)
    project = make_project(researcher, [video])
    ground_truth(project, video, [box_from(0, CELL_11)])
    ground_truth(project, video, [box_from(0, (44, 32, 84, 62))])
    make_explanation(video, peak_map([(1, 1)] * 4))
    services.recompute_now(project)
    human = leaderboards.leaderboard(researcher, project)["human"]
    # both annotators, on the 4 source frames the map frames were sampled from
    assert human["frames"] == 8 and human["annotations"] == 2
    assert human["spatial"]["value"] == 1.0


def test_clips_drilldown_opens_the_player_at_the_first_miss(researcher):
    video = make_video(researcher)
    project = make_project(researcher, [video])
    ground_truth(project, video, [box_from(0, CELL_11)])
    e = make_explanation(video, peak_map([(1, 1), (1, 1), (3, 3), (1, 1)]))
    services.recompute_now(project)
    board = leaderboards.leaderboard(researcher, project)
    clips = drilldown.leaderboard_clips(researcher, project, None, None, board["rows"][0]["key"])
    (clip,) = clips["clips"]
    assert [f["hit"] for f in clip["frames"]] == [True, True, False, True]
    assert clip["focus_time"] == 1.0
    assert clip["player_url"] == f"/explanations/review/{video.pk}?ids={e.pk}&t=1.000"


def test_csv_export_has_a_line_per_row_with_interval_bounds(researcher):
    project, *_ = _two_methods(researcher, n_videos=2)
    text = leaderboards.leaderboard_csv(leaderboards.leaderboard(researcher, project))
    lines = list(csv.DictReader(io.StringIO(text)))
    assert [line["method"] for line in lines] == ["random", "staa_plus"]
    assert lines[1]["spatial"] == "1" and lines[1]["spatial_low"] == "1"
    assert lines[1]["frames"] == "8" and lines[0]["cost_wall_seconds"] == "0.1"


def test_video_leaving_the_project_removes_its_scores(
    researcher, sent, django_capture_on_commit_callbacks
):
    project, *_ = _two_methods(researcher, n_videos=2)
    task = project.tasks.first()
    assert ExplanationScore.objects.filter(explanation__video=task.video).exists()
    with django_capture_on_commit_callbacks(execute=True):
        task.delete()
    services.process_requests(sent[-1])
    assert not ExplanationScore.objects.filter(explanation__video=task.video).exists()


def test_signals_record_requests_after_commit(researcher, sent, django_capture_on_commit_callbacks):
    from wherewhen.explanations import claims

    video = make_video(researcher)
    project = make_project(researcher, [video])
    with django_capture_on_commit_callbacks(execute=True):
        ground_truth(project, video, [box_from(0, CELL_11)])
    assert ScoreRequest.objects.filter(project=project, video=video).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        e = make_explanation(video, peak_map([(1, 1)] * 4))
    assert ScoreRequest.objects.filter(project=project, explanation=e).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        claims.explanation_finished.send(sender=type(e), explanation_id=e.pk)
    assert ScoreRequest.objects.filter(project=project, explanation=e).count() == 2
    assert len(sent) == 3
    # a video in no project asks for nothing
    lonely = make_video(researcher, "lonely")
    with django_capture_on_commit_callbacks(execute=True):
        make_explanation(lonely, peak_map([(1, 1)] * 4))
    assert len(sent) == 3


def test_imported_maps_of_one_method_share_a_row(researcher):
    from wherewhen.explanations.models import Explanation

    project, *_ = _two_methods(researcher, n_videos=2)
    for task in project.tasks.all():
        e = make_explanation(task.video, peak_map([(1, 1)] * 4), method="rise")
        Explanation.objects.filter(pk=e.pk).update(
            source=Explanation.Source.IMPORTED, params={"file_sha256": str(e.pk)}
        )
    services.recompute_now(project)
    rows = [
        r for r in leaderboards.leaderboard(researcher, project)["rows"] if r["method"] == "rise"
    ]
    assert len(rows) == 1 and rows[0]["clips"] == 2 and rows[0]["key"].endswith(":imported")


def test_a_video_with_unusable_frame_times_does_not_stop_the_others(researcher):
    bad, good = make_video(researcher, "bad"), make_video(researcher, "good")
    project = make_project(researcher, [bad, good])
    ground_truth(project, bad, [box_from(0, CELL_11)])
    ground_truth(project, good, [box_from(0, CELL_11)])
    make_explanation(bad, peak_map([(1, 1)] * 4))
    e = make_explanation(good, peak_map([(1, 1)] * 4))
    type(bad).objects.filter(pk=bad.pk).update(frame_timestamps=[0.5, 0.1] + [0.2] * 18)
    services.recompute_now(project)
    assert consensus_score(e).frames_hit == 4
    assert f"video {bad.pk}" in services.settings_for(project).last_error
