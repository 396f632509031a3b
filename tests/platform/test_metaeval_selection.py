"""Choosing a study's clips by what metrics disagree on: the planted most-disagreeing clips are
chosen, a balanced sample spans the range, random draws repeat under a seed, and the choice and
its seed are stored; bad requests answer 400, strangers 404, running studies 409."""

from __future__ import annotations

import numpy as np
import pytest

from tests.annotation_support import make_project
from tests.explanations_support import (  # noqa: F401 - fixtures
    other_researcher_fixture,
    ready_video,
    researcher_fixture,
)
from tests.studies_support import make_explanation, make_model
from wherewhen.metaeval import selection
from wherewhen.metaeval.models import StimulusSelection
from wherewhen.scoring.models import ExplanationScore
from wherewhen.studies.models import Study

METHODS = ["random", "staa"]


def test_choose_takes_the_top_disagreements_and_spreads_a_balanced_sample():
    videos = list(range(20))
    scores = {v: v / 20 for v in videos}
    assert selection.choose("metric_disagreement", videos, scores, 3, seed=0) == [19, 18, 17]
    balanced = selection.choose("balanced", videos, scores, 4, seed=0)
    # one from each quarter of the range
    assert sorted(v // 5 for v in balanced) == [0, 1, 2, 3]
    first = selection.choose("random", videos, {}, 5, seed=7)
    assert first == selection.choose("random", videos, {}, 5, seed=7)
    assert first != selection.choose("random", videos, {}, 5, seed=8)
    assert len(set(first)) == 5


def _score(explanation, project, spatial: float, energy: float):
    ExplanationScore.objects.create(
        explanation=explanation,
        project=project,
        reference=ExplanationScore.Reference.CONSENSUS,
        key="k" * 64,
        tolerance=15.0,
        frames_counted=100,
        frames_hit=round(spatial * 100),
        energy_sum=energy * 100,
    )


@pytest.fixture(name="pool")
def pool_fixture(researcher, settings):
    """Eight clips; on clips 0 and 7 the spatial game and energy disagree (high one, low the
    other), elsewhere they agree; the two methods differ most on clip 2."""
    model = make_model(researcher)
    videos = [ready_video(researcher, settings.MEDIA_ROOT, title=f"clip{v}") for v in range(8)]
    project = make_project(researcher, videos)
    rng = np.random.default_rng(0)
    for k, video in enumerate(videos):
        level = k / 8
        for j, method in enumerate(METHODS):
            e = make_explanation(video, model, method, seed=10 * k + j)
            spatial = level + 0.01 * j
            energy = 1 - spatial if k in (0, 7) else spatial
            if k == 2 and method == "staa":
                spatial = 1.0
            _score(e, project, spatial, float(energy + rng.normal(0, 0.001)))
    study = Study.objects.create(
        owner=researcher, title="disagreements", slug="disagreements", trial_kinds=["pairwise"]
    )
    return study, project, videos


def _post(client, study, body):
    return client.post(
        f"/api/v1/studies/{study.pk}/stimulus-selections/", body, content_type="application/json"
    )


@pytest.mark.django_db
def test_the_clips_where_two_metrics_disagree_are_chosen_and_stored(client, researcher, pool):
    study, project, videos = pool
    client.force_login(researcher)
    body = {
        "strategy": "metric_disagreement",
        "project": project.pk,
        "methods": METHODS,
        "count": 2,
        "metric_a": "spatial",
        "metric_b": "energy",
        "seed": 3,
    }
    response = _post(client, study, body)
    assert response.status_code == 201, response.content
    chosen = response.json()
    assert {v["video"] for v in chosen["videos"]} == {videos[0].pk, videos[7].pk}
    assert chosen["seed"] == 3 and chosen["strategy"] == "metric_disagreement"
    assert study.stimuli.count() == 4
    assert set(study.stimuli.values_list("method", flat=True)) == set(METHODS)
    stored = StimulusSelection.objects.get(study=study)
    assert stored.params["metric_b"] == "energy" and stored.seed == 3
    listed = client.get(f"/api/v1/studies/{study.pk}/stimulus-selections/").json()
    assert [s["id"] for s in listed] == [stored.pk]


@pytest.mark.django_db
def test_two_methods_that_differ_most(client, researcher, pool):
    study, project, videos = pool
    client.force_login(researcher)
    response = _post(
        client,
        study,
        {
            "strategy": "method_disagreement",
            "project": project.pk,
            "methods": METHODS,
            "count": 1,
            "metric_a": "spatial",
            "method_a": "staa",
            "method_b": "random",
        },
    )
    assert response.status_code == 201, response.content
    assert [v["video"] for v in response.json()["videos"]] == [videos[2].pk]
    assert 0 <= response.json()["seed"] < 2**31  # drawn and stored when not given


@pytest.mark.django_db
def test_random_selections_repeat_under_a_seed(client, researcher, pool):
    study, project, _videos = pool
    other = Study.objects.create(
        owner=researcher, title="again", slug="again", trial_kinds=["rating"]
    )
    client.force_login(researcher)
    body = {"strategy": "random", "project": project.pk, "methods": METHODS, "count": 3, "seed": 11}
    first = _post(client, study, body).json()
    second = _post(client, other, body).json()
    assert first["videos"] == second["videos"] and len(first["videos"]) == 3


@pytest.mark.django_db
def test_bad_requests_strangers_and_running_studies(client, researcher, other_researcher, pool):
    study, project, _videos = pool
    client.force_login(researcher)
    good = {"strategy": "random", "project": project.pk, "methods": METHODS, "count": 2}
    for change in (
        {"strategy": "best"},
        {"count": 0},
        {"count": "x"},
        {"methods": []},
        {"strategy": "metric_disagreement", "metric_a": "spatial", "metric_b": "spatial"},
        {"strategy": "metric_disagreement", "metric_a": "spatial", "metric_b": "charm"},
        {"strategy": "method_disagreement", "metric_a": "spatial", "method_a": "staa"},
        {"seed": -1},
        {"methods": ["nothing"]},
        {"allow_sparse": "yes"},
    ):
        response = _post(client, study, {**good, **change})
        assert response.status_code == 400, (change, response.content)
    assert study.stimuli.count() == 0 and not StimulusSelection.objects.exists()
    client.force_login(other_researcher)
    assert _post(client, study, good).status_code == 404
    client.force_login(researcher)
    from wherewhen.studies.models import Session

    Session.objects.create(study=study, participant_id="p1")
    assert _post(client, study, good).status_code == 409


@pytest.mark.django_db
def test_clips_whose_maps_would_show_nothing_are_left_out_unless_wanted(
    client, researcher, settings
):
    """A clip with a map lit on 1 of its 4 frames (as STAA+ keeps only key frames) is not
    chosen by default, and the choice says so; asked with allow_sparse, it is, and its stimulus
    remembers that it was accepted so (the study still opens)."""
    model = make_model(researcher)
    videos = [ready_video(researcher, settings.MEDIA_ROOT, title=f"clip{v}") for v in range(3)]
    project = make_project(researcher, videos)
    sparse = np.zeros((4, 4, 4), dtype=np.float32)
    sparse[1, 2, 2] = 1.0
    for k, video in enumerate(videos):
        for j, method in enumerate(METHODS):
            heat = sparse if (k == 1 and method == "staa") else None
            make_explanation(video, model, method, seed=10 * k + j, heat=heat)
    study = Study.objects.create(
        owner=researcher, title="sparse", slug="sparse", trial_kinds=["rating"]
    )
    client.force_login(researcher)
    body = {"strategy": "random", "project": project.pk, "methods": METHODS, "count": 3, "seed": 1}
    chosen = _post(client, study, body).json()
    assert sorted(v["video"] for v in chosen["videos"]) == [videos[0].pk, videos[2].pk]
    [left] = chosen["params"]["left_out_mostly_blank"]
    assert (left["video"], left["method"], left["shown"], left["frames"]) == (
        videos[1].pk,
        "staa",
        1,
        4,
    )
    assert study.stimuli.count() == 4 and not study.stimuli.filter(allow_sparse=True).exists()

    wanted = Study.objects.create(
        owner=researcher, title="sparse ok", slug="sparse-ok", trial_kinds=["rating"]
    )
    chosen = _post(client, wanted, {**body, "allow_sparse": True}).json()
    assert len(chosen["videos"]) == 3 and chosen["params"]["left_out_mostly_blank"] == []
    accepted = wanted.stimuli.filter(allow_sparse=True)  # only the sparse map itself
    assert [(s.video_id, s.method) for s in accepted] == [(videos[1].pk, "staa")]
    opened = client.patch(
        f"/api/v1/studies/{wanted.pk}/", {"status": "open"}, content_type="application/json"
    )
    assert opened.status_code == 200, opened.content

    # only sparse clips left: a clear 400 that says how to go on, nothing added
    for video in (videos[0], videos[2]):
        make_explanation(video, model, "staa", heat=sparse)  # the newest of a method wins
    none_left = Study.objects.create(
        owner=researcher, title="none", slug="none", trial_kinds=["rating"]
    )
    refused = _post(client, none_left, {**body, "methods": ["staa"], "count": 1})
    assert refused.status_code == 400
    assert "allow_sparse" in refused.json()["detail"] and "1 of 4" in refused.json()["detail"]
    assert none_left.stimuli.count() == 0
