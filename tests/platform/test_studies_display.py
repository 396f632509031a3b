"""Every trial shows its stimulus: the participant overlay's display rule (per frame by default),
the designer refusing maps that would show nothing on most frames, and each answer recording the
rule and threshold the participant saw."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pytest

from tests.explanations_support import ready_video, researcher_fixture  # noqa: F401 - fixtures
from tests.studies_support import Participant, good_answer, make_model, make_study
from wherewhen.studies.services import coverage_of

pytestmark = pytest.mark.django_db


def sparse_map() -> np.ndarray:
    """8 frames, non-zero cells in 2 of them (the STAA+ shape that showed nothing)."""
    heat = np.zeros((8, 4, 4), dtype=np.float32)
    heat[2, 1, 1] = 1.0
    heat[5, 2, 2] = 0.6
    return heat


def quiet_map() -> np.ndarray:
    """Every frame has a peak, but most peak at 3-33% of the clip's maximum."""
    heat = np.zeros((8, 4, 4), dtype=np.float32)
    peaks = [1.0, 0.03, 0.05, 0.08, 0.12, 0.2, 0.33, 0.1]
    for k, p in enumerate(peaks):
        heat[k, k % 4, (k * 3) % 4] = p
    return heat


def test_per_frame_shows_quiet_frames_that_the_clip_rule_hides():
    quiet = quiet_map()
    assert coverage_of(quiet, "frame", 0.2).shown == 8
    clip = coverage_of(quiet, "clip", 0.2)
    assert clip.shown == 3 and clip.mostly_blank  # 1.0, 0.2 and 0.33 only
    sparse = coverage_of(sparse_map(), "frame", 0.2)
    assert (sparse.shown, sparse.frames) == (2, 8) and sparse.mostly_blank
    # a frame below one quantization step of the clip's range is blank, as in the browser
    faint = np.zeros((2, 2, 2), dtype=np.float32)
    faint[0, 0, 0] = 1.0
    faint[1, 0, 0] = 0.001
    assert coverage_of(faint, "frame", 0.2).shown == 1


def explanation_with(video, model, heat, method):
    from wherewhen.explanations import storage
    from wherewhen.explanations.models import Explanation

    key = uuid.uuid4().hex
    map_file, sha = storage.write_map(key, heat)
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
        timestamps=[k * 0.125 for k in range(heat.shape[0])],
        explained_target=0,
        value_range=[float(heat.min()), float(heat.max())],
    )


def post_json(client, url: str, body: dict):
    return client.post(url, json.dumps(body), content_type="application/json")


def new_study(client, title: str, slug: str) -> dict:
    """A rating study made through the API with the designer's defaults."""
    body = {"title": title, "slug": slug, "trial_kinds": ["rating"]}
    return post_json(client, "/api/v1/studies/", body).json()


def test_designer_refuses_a_map_that_shows_nothing_on_most_frames(client, researcher, settings):
    client.force_login(researcher)
    model = make_model(researcher)
    video = ready_video(researcher, settings.MEDIA_ROOT, title="d0")
    sparse = explanation_with(video, model, sparse_map(), "staa_plus")
    quiet = explanation_with(video, model, quiet_map(), "staa")
    study = new_study(client, "Maps", "maps")
    assert study["overlay_normalization"] == "frame" and study["overlay_threshold"] == 0.2

    refused = client.post(
        f"/api/v1/studies/{study['id']}/stimuli/",
        json.dumps({"explanations": [quiet.pk, sparse.pk]}),
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert "show nothing on 6 of its 8 frames" in refused.json()["detail"]
    from wherewhen.studies.models import Stimulus

    assert not Stimulus.objects.exists()  # nothing half-added

    added = client.post(
        f"/api/v1/studies/{study['id']}/stimuli/",
        json.dumps({"explanations": [quiet.pk]}),
        content_type="application/json",
    )
    assert added.status_code == 201
    assert added.json()[0]["coverage"] == {"shown": 8, "frames": 8, "mostly_blank": False}

    # switching the study to the clip rule would hide the quiet map: opening says so
    changed = client.patch(
        f"/api/v1/studies/{study['id']}/",
        json.dumps({"overlay_normalization": "clip", "status": "open"}),
        content_type="application/json",
    )
    assert changed.status_code == 400
    assert "would show nothing on 5 of its 8 frames" in changed.json()["detail"]
    bad = client.patch(
        f"/api/v1/studies/{study['id']}/",
        json.dumps({"overlay_threshold": 0}),
        content_type="application/json",
    )
    assert bad.status_code == 400 and "overlay_threshold" in bad.json()


def test_a_sparse_map_is_added_when_the_researcher_asks_and_the_study_opens(
    client, researcher, settings
):
    """STAA+ keeps only its key frames: asked with ``allow_sparse``, its map becomes a stimulus
    that remembers it was accepted so, and the design check lets the study open."""
    client.force_login(researcher)
    model = make_model(researcher)
    video = ready_video(researcher, settings.MEDIA_ROOT, title="d1")
    sparse = explanation_with(video, model, sparse_map(), "staa_plus")
    quiet = explanation_with(video, model, quiet_map(), "staa")
    study = new_study(client, "Sparse", "sparse")
    url = f"/api/v1/studies/{study['id']}/stimuli/"
    refused = post_json(client, url, {"explanations": [sparse.pk]})
    assert refused.status_code == 400 and "allow_sparse" in refused.json()["detail"]
    bad = post_json(client, url, {"explanations": [sparse.pk], "allow_sparse": "maybe"})
    assert bad.status_code == 400 and "allow_sparse" in bad.json()
    added = post_json(client, url, {"explanations": [sparse.pk, quiet.pk], "allow_sparse": True})
    assert added.status_code == 201
    by_method = {s["method"]: s for s in added.json()}
    assert by_method["staa_plus"]["allow_sparse"] is True
    assert by_method["staa_plus"]["coverage"] == {"shown": 2, "frames": 8, "mostly_blank": True}
    assert by_method["staa"]["allow_sparse"] is False  # its map shows: nothing to accept
    opened = client.patch(
        f"/api/v1/studies/{study['id']}/",
        json.dumps({"status": "open"}),
        content_type="application/json",
    )
    assert opened.status_code == 200, opened.content
    listed = client.get(url).json()
    assert sorted(s["allow_sparse"] for s in listed) == [False, True]


def test_each_answer_records_the_display_rule_the_participant_saw(client, researcher, settings):
    from wherewhen.studies.models import Response

    study = make_study(
        researcher, settings.MEDIA_ROOT, n_videos=1, overlay_threshold=0.3, attention_every=0
    )
    participant = Participant(client, study.slug, {"PROLIFIC_PID": "p-display"})
    participant.start()
    participant.post("consent/", {"agree": True})
    participant.post("instructions/")
    trial = participant.trial().json()
    assert trial["display"] == {"normalization": "frame", "threshold": 0.3}
    assert participant.answer(trial["index"], good_answer(trial)).status_code == 200
    response = Response.objects.get()
    assert response.overlay_display_rule == {"normalization": "frame", "threshold": 0.3}
