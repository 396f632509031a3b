"""The demo study: built once the benchmark's STAA / STAA+ / random explanations are done and
scored, blinded, pairwise + forward, with a dry run whose meta-evaluation has numbers; not built
(and saying why) before; idempotent."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tests.annotation_support import make_project
from tests.explanations_support import ready_video
from tests.platform.test_metaeval import _score
from tests.studies_support import make_explanation, make_model
from wherewhen.accounts.models import Role, User
from wherewhen.annotations.demo import BENCHMARK_PROJECT
from wherewhen.metaeval import demo
from wherewhen.metaeval.services import meta_evaluation
from wherewhen.studies.models import Study


@pytest.mark.django_db
def test_the_demo_study_waits_for_explanations_then_has_numbers(settings):
    owner = User.objects.create_user("researcher", password="x-demo-pass-1", role=Role.RESEARCHER)
    model = make_model(owner)
    videos = [ready_video(owner, settings.MEDIA_ROOT, title=f"bench{k}") for k in range(4)]
    project = make_project(owner, videos, name=BENCHMARK_PROJECT)
    out = io.StringIO()
    assert demo.build_demo_study(owner, project, model, out) is None
    assert "0 benchmark clip(s)" in out.getvalue() and not Study.objects.exists()
    rng = np.random.default_rng(0)
    for k, video in enumerate(videos):
        for j, method in enumerate(demo.METHODS):
            heat = None
            if method == "staa_plus":  # as the bundled model's: only its key frames are lit
                heat = np.zeros((4, 4, 4), dtype=np.float32)
                heat[k % 4, 1, 2] = 1.0
            e = make_explanation(video, model, method, seed=10 * k + j, heat=heat)
            _score(e, project, spatial=float(rng.random()), energy=float(rng.random()))
    study = demo.build_demo_study(owner, project, model, out)
    assert study is not None and study.blinded
    assert study.trial_kinds == ["pairwise", "forward"]
    assert study.stimuli.count() == 12
    sparse = study.stimuli.filter(method="staa_plus")
    assert sparse.count() == 4 and all(s.allow_sparse for s in sparse)
    assert study.stimulus_selections.get().seed == 0
    run = study.dry_runs.get()
    copy = run.copy
    assert copy.sessions.count() == sum(demo.PARTICIPANTS.values())
    body = meta_evaluation(owner, copy, project, model, resamples=50)
    assert body["reason"] == ""
    assert set(body["outcomes"]) == {"bradley_terry", "forward_accuracy"}
    assert any(p["kendall_tau"] is not None for p in body["pairs"])
    # a second seed changes nothing
    assert demo.build_demo_study(owner, project, model, out) == study
    assert Study.objects.count() == 2 and study.dry_runs.count() == 1


@pytest.mark.django_db
def test_the_last_score_of_the_benchmark_builds_the_demo_study(
    settings, django_capture_on_commit_callbacks
):
    from wherewhen.explanations.demo import BUNDLED_NAME

    owner = User.objects.create_user("researcher", password="x-demo-pass-1", role=Role.RESEARCHER)
    model = make_model(owner)
    model.name = BUNDLED_NAME
    model.save()
    videos = [ready_video(owner, settings.MEDIA_ROOT, title=f"bench{k}") for k in range(3)]
    project = make_project(owner, videos, name=BENCHMARK_PROJECT)
    rng = np.random.default_rng(1)
    explanations = [
        make_explanation(video, model, method, seed=10 * k + j)
        for k, video in enumerate(videos)
        for j, method in enumerate(demo.METHODS)
    ]
    for e in explanations[:-1]:
        with django_capture_on_commit_callbacks(execute=True):
            _score(e, project, spatial=float(rng.random()), energy=0.5)
    assert not Study.objects.filter(slug=demo.DEMO_STUDY).exists()  # one clip is not ready
    with django_capture_on_commit_callbacks(execute=True):
        _score(explanations[-1], project, spatial=0.5, energy=0.5)
    study = Study.objects.get(slug=demo.DEMO_STUDY)
    assert study.stimuli.count() == 9 and study.dry_runs.count() == 1
