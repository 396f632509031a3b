"""The sound temporal pointing game: the audio token with the largest importance (the first on
ties) hits when the centre of its [start, end) span lies in a consensus *sound* segment
[start, end] (closed). Not counted without an audio curve or without sound segments. Stored,
served, on the leaderboard with its interval, exported, recomputed when its inputs change."""

from __future__ import annotations

import csv
import io

import pytest
from rest_framework.test import APIClient

from tests.scoring_support import (
    box_from,
    make_explanation,
    make_project,
    make_video,
    peak_map,
    user,
)
from wherewhen.accounts.models import Role
from wherewhen.annotations import services as annotation_services
from wherewhen.explanations.models import Explanation
from wherewhen.scoring import leaderboards
from wherewhen.scoring import services as scoring
from wherewhen.scoring.sound import sound_hit

pytestmark = pytest.mark.django_db

BOX = (40, 30, 80, 60)
HEAT = peak_map([(1, 1), (1, 1), (1, 1), (1, 1)])
# Eight audio tokens of 0.25 s over the 2 s video: centres 0.125, 0.375, ..., 1.875.
TIMES = [[k * 0.25, (k + 1) * 0.25] for k in range(8)]


def curve(peak: int, value: float = 1.0) -> dict:
    importance = [0.1] * 8
    importance[peak] = value
    return {"importance": importance, "times": TIMES}


def truth(project, video, sound: tuple | None = (1.0, 1.5)):
    segments = [{"kind": "visual", "start": 0.0, "end": 1.0}]
    if sound:
        segments.append({"kind": "sound", "start": sound[0], "end": sound[1]})
    return annotation_services.import_ground_truth(project, video, [box_from(0, BOX)], segments)


def explained(video, audio: dict | None, method: str = "staa") -> Explanation:
    e = make_explanation(video, HEAT, method=method)
    e.audio = audio
    e.save(update_fields=["audio"])
    return e


@pytest.fixture
def rita(monkeypatch):
    monkeypatch.setattr(scoring.recompute, "send_recompute", lambda ids: None)
    return user("rita", Role.RESEARCHER)


# --- the definition -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peak", "segments", "expected"),
    [
        (4, [[1.0, 1.5]], True),  # centre 1.125 inside
        (5, [[1.0, 1.5]], True),  # 1.375 inside
        (6, [[1.0, 1.5]], False),  # 1.625 outside
        (3, [[1.0, 1.5]], False),  # 0.875 outside
        (4, [[1.125, 1.2]], True),  # centre on the closed start
        (4, [[0.9, 1.125]], True),  # centre on the closed end
        (4, [[1.126, 1.9]], False),
        (0, [[1.5, 1.9], [0.0, 0.2]], True),  # any segment
    ],
)
def test_the_peak_tokens_centre_against_closed_sound_segments(peak, segments, expected):
    assert sound_hit(curve(peak), segments) is expected


def test_ties_go_to_the_first_token_and_uncounted_cases_are_none():
    flat = {"importance": [0.5] * 8, "times": TIMES}
    assert sound_hit(flat, [[0.0, 0.2]]) is True  # token 0 (centre 0.125)
    assert sound_hit(flat, [[0.3, 2.0]]) is False
    tie = {"importance": [0, 0, 0, 0, 0.9, 0.9, 0, 0], "times": TIMES}
    assert sound_hit(tie, [[1.3, 1.4]]) is False  # token 4 (1.125), not token 5 (1.375)
    assert sound_hit(None, [[1.0, 1.5]]) is None
    assert sound_hit(curve(4), []) is None
    with pytest.raises(ValueError, match="token spans"):
        sound_hit({"importance": [1.0, 2.0], "times": [[0, 1]]}, [[0, 1]])


# --- stored, served, aggregated -------------------------------------------------------------


def test_scores_store_the_sound_game_against_consensus_and_annotators(rita):
    video = make_video(rita)
    project = make_project(rita, [video])
    truth(project, video)
    hit = explained(video, curve(5), method="staa")
    miss = explained(video, curve(2), method="rollout")
    mute = explained(video, None, method="center")
    scoring.recompute_now(project)
    for e, expected in ((hit, True), (miss, False), (mute, None)):
        rows = e.scores.all()
        assert {r.reference for r in rows} == {"consensus", "annotator"}
        assert {r.sound_hit for r in rows} == {expected}, e.method
    api = APIClient()
    api.force_authenticate(rita)
    body = api.get(f"/api/v1/scoring/scores/?explanation={hit.pk}").json()
    assert {r["sound_hit"] for r in body["results"]} == {True}
    live = api.get(f"/api/v1/scoring/scores/?explanation={hit.pk}&tolerance=40").json()
    assert {r["sound_hit"] for r in live["results"]} == {True}
    assert not any(r["stored"] for r in live["results"])


def test_no_sound_segment_means_not_counted(rita):
    video = make_video(rita)
    project = make_project(rita, [video])
    truth(project, video, sound=None)
    e = explained(video, curve(4))
    scoring.recompute_now(project)
    assert e.scores.get(reference="consensus").sound_hit is None
    board = leaderboards.leaderboard(rita, project)
    assert board["rows"][0]["sound"] == {"value": None, "low": None, "high": None, "n": 0}


def test_leaderboard_row_interval_and_exports(rita):
    project = None
    videos = []
    for i in range(4):
        video = make_video(rita, title=f"v{i}")
        videos.append(video)
    project = make_project(rita, videos)
    for i, video in enumerate(videos):
        truth(project, video)
        explained(video, curve(4 if i < 3 else 0))  # three hits, one miss
        explained(video, None, method="center")
    scoring.recompute_now(project)
    board = leaderboards.leaderboard(rita, project)
    rows = {r["method"]: r for r in board["rows"]}
    sound = rows["staa"]["sound"]
    assert sound["value"] == 0.75 and sound["n"] == 4
    assert 0.0 <= sound["low"] <= 0.75 <= sound["high"] <= 1.0
    assert rows["center"]["sound"]["n"] == 0 and rows["center"]["sound"]["value"] is None
    api = APIClient()
    api.force_authenticate(rita)
    text = api.get(f"/api/v1/scoring/leaderboards/export.csv?project={project.pk}").content
    lines = {r["method"]: r for r in csv.DictReader(io.StringIO(text.decode()))}
    assert lines["staa"]["sound"] == "0.75" and lines["staa"]["sound_n"] == "4"
    assert lines["staa"]["sound_low"] and lines["staa"]["sound_high"]
    assert lines["center"]["sound"] == "" and lines["center"]["sound_n"] == "0"
    exported = api.get(f"/api/v1/scoring/leaderboards/export.json?project={project.pk}").json()
    staa = next(r for r in exported["rows"] if r["method"] == "staa")
    assert staa["sound"] == sound
    key = rows["staa"]["key"]
    clips = api.get(f"/api/v1/scoring/leaderboards/clips/?project={project.pk}&row={key}").json()[
        "clips"
    ]
    assert sorted(c["sound_hit"] for c in clips) == [False, True, True, True]


def test_recompute_follows_changed_sound_truth_and_curves(rita):
    video = make_video(rita)
    project = make_project(rita, [video])
    first = truth(project, video, sound=(1.0, 1.5))
    e = explained(video, curve(1))  # centre 0.375
    scoring.recompute_now(project)
    assert e.scores.get(reference="consensus").sound_hit is False
    # the ground truth changes: the old annotation goes, a new one marks 0.3..0.5
    first.delete()
    truth(project, video, sound=(0.3, 0.5))
    outcome = scoring.recompute_now(project)
    assert outcome["computed"] >= 1
    assert e.scores.get(reference="consensus").sound_hit is True
    # the curve changes: the key changes, the score follows
    e.audio = curve(6)
    e.save(update_fields=["audio"])
    scoring.recompute_now(project)
    assert e.scores.get(reference="consensus").sound_hit is False
    again = scoring.recompute_now(project)
    assert again["computed"] == 0 and again["unchanged"] >= 1
