"""Whole-video (windowed) explanations as study stimuli: the participant's trial says which map
row shows when (the windows' schedule, as the review player uses it), and the designer's
"shows nothing" check counts every window's rows."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest

from tests.explanations_support import ready_video, researcher_fixture  # noqa: F401 - fixtures
from tests.studies_support import Participant, good_answer, make_model
from workers.windows import display_schedule

pytestmark = pytest.mark.django_db

# Three windows of 1 s every 0.5 s, two map rows each (at +0.25 s and +0.75 s).
SPANS = [(0.0, 1.0), (0.5, 1.5), (1.0, 2.0)]
TIMES = [[a + 0.25, a + 0.75] for a, _b in SPANS]


def windowed_explanation(video, model, heat, method):
    from wherewhen.explanations import storage
    from wherewhen.explanations.models import Explanation

    times, rows = display_schedule(SPANS, TIMES)
    key = uuid.uuid4().hex
    map_file, sha = storage.write_map(key, heat)
    stamps = [t for window in TIMES for t in window]
    return Explanation.objects.create(
        request_key=key,
        video=video,
        model=model,
        method=method,
        params_hash="0" * 64,
        status=Explanation.Status.DONE,
        map_file=map_file,
        map_sha256=sha,
        grid=list(heat.shape),
        timestamps=stamps,
        temporal=[1.0] * len(stamps),
        explained_target=0,
        topk=[{"label_index": 0, "label": "a", "probability": 0.9}],
        value_range=[float(heat.min()), float(heat.max())],
        windowed=True,
        windows={
            "window": 1.0,
            "stride": 0.5,
            "frames_per_window": 2,
            "spans": [list(s) for s in SPANS],
            "targets": [0, 0, 0],
            "curve": {"times": stamps, "importance": [1.0] * len(stamps)},
            "schedule": {"times": [float(t) for t in times], "rows": [int(r) for r in rows]},
        },
    )


def _study(client, explanations, **fields):
    body = {"title": "Whole videos", "slug": f"whole-{uuid.uuid4().hex[:6]}"}
    body.update({"trial_kinds": ["rating"], **fields})
    study = client.post("/api/v1/studies/", json.dumps(body), content_type="application/json")
    assert study.status_code == 201, study.json()
    added = client.post(
        f"/api/v1/studies/{study.json()['id']}/stimuli/",
        json.dumps({"explanations": [e.pk for e in explanations]}),
        content_type="application/json",
    )
    return study.json(), added


def test_a_windowed_stimulus_tells_the_participant_which_row_shows_when(
    client, researcher, settings
):
    client.force_login(researcher)
    model = make_model(researcher)
    video = ready_video(researcher, settings.MEDIA_ROOT, title="long")
    heat = np.random.default_rng(3).random((6, 4, 4)).astype(np.float32) + 0.1
    windowed = windowed_explanation(video, model, heat, "staa")
    study, added = _study(
        client,
        [windowed],
        trials_per_participant=2,
        practice_trials=0,
        attention_every=0,
        min_response_ms=0,
        consent_text="I agree.",
        instructions_text="Look.",
        completion_code="C0DE1234",
    )
    assert added.status_code == 201, added.json()
    assert added.json()[0]["coverage"]["frames"] == 6  # every window's rows are counted
    opened = client.patch(
        f"/api/v1/studies/{study['id']}/",
        json.dumps({"status": "open"}),
        content_type="application/json",
    )
    assert opened.status_code == 200, opened.json()

    client.logout()
    participant = Participant(client, study["slug"], {"PROLIFIC_PID": "p-windowed"})
    assert participant.start().status_code == 200
    participant.post("consent/", {"agree": True})
    participant.post("instructions/")
    trial = participant.trial().json()
    stimulus = trial["stimuli"][0]
    schedule = windowed.windows["schedule"]
    assert stimulus["schedule"] == schedule
    assert len(stimulus["timestamps"]) == 6
    # the schedule names rows of every window, in time order, and each row exists in the map
    assert sorted(schedule["times"]) == schedule["times"]
    assert {r for r in schedule["rows"]} <= set(range(6)) and len(set(schedule["rows"])) > 2
    assert participant.answer(trial["index"], good_answer(trial)).status_code == 200


def test_a_one_clip_stimulus_has_no_schedule(client, researcher, settings):
    from tests.studies_support import make_study

    study = make_study(researcher, settings.MEDIA_ROOT, n_videos=1, attention_every=0)
    participant = Participant(client, study.slug, {"PROLIFIC_PID": "p-clip"})
    participant.start()
    participant.post("consent/", {"agree": True})
    participant.post("instructions/")
    trial = participant.trial().json()
    assert all(s["schedule"] is None for s in trial["stimuli"])
