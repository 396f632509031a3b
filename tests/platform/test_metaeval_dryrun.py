"""Dry runs: simulated participants answer a copy of a study through the participant API; the
copy's analysis shows them (careless ones excluded), its meta-evaluation recovers the metric the
policy followed, the same seed gives the same answers, and the study itself stays untouched."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from tests.annotation_support import make_project
from tests.explanations_support import (  # noqa: F401 - fixtures
    other_researcher_fixture,
    researcher_fixture,
)
from tests.platform.test_metaeval import _score
from tests.studies_support import make_study
from wherewhen.metaeval.models import DryRun
from wherewhen.studies.models import Response, Session, Study


@pytest.fixture(name="draft")
def draft_fixture(researcher, settings):
    study = make_study(
        researcher,
        settings.MEDIA_ROOT,
        n_videos=5,
        status=Study.Status.DRAFT,
        trials_per_participant=15,
        min_response_ms=400,
        seed=1,
    )
    project = make_project(researcher, list({s.video for s in study.stimuli.all()}))
    rng = np.random.default_rng(3)
    for stimulus in study.stimuli.select_related("explanation"):
        _score(stimulus.explanation, project, spatial=float(rng.random()), energy=0.5)
    return study, project


def _run(client, study, body):
    return client.post(
        f"/api/v1/studies/{study.pk}/dry-runs/", json.dumps(body), content_type="application/json"
    )


@pytest.mark.django_db
def test_a_dry_run_goes_through_the_api_and_shows_the_analysis(client, researcher, draft):
    study, project = draft
    client.force_login(researcher)
    body = {"participants": {"metric": 12, "careless": 1}, "project": project.pk, "seed": 2}
    response = _run(client, study, body)
    assert response.status_code == 201, response.content
    run = response.json()
    copy = Study.objects.get(pk=run["copy"]["id"])
    assert copy.slug == f"{study.slug}-dry-run" and copy.status == Study.Status.OPEN
    assert copy.stimuli.count() == study.stimuli.count() == 15
    assert not Session.objects.filter(study=study).exists()
    # every simulated participant finished (through the API: each answer has a session); the
    # careless one failed the first attention check and was screened out there
    sessions = Session.objects.filter(study=copy)
    assert sessions.count() == 13
    assert not sessions.filter(completed_at__isnull=True, screened_out_at__isnull=True).exists()
    assert list(sessions.filter(screened_out_at__isnull=False).values_list("participant_id")) == [
        ("dry-run-careless-12",)
    ]
    assert (
        run["answers"]["metric"]
        == Response.objects.filter(
            session__in=sessions.filter(participant_id__startswith="dry-run-metric")
        ).count()
    )
    report = client.get(run["analysis_url"]).json()
    assert report["participants"] == {
        "started": 13,
        "completed": 12,
        "screened_out": 1,
        "returned": 0,
        "excluded_for_checks": 1,
    }
    assert "too_fast" not in report["responses"]["excluded"]
    meta = client.get(f"/api/v1/meta-evaluation/?study={copy.pk}&project={project.pk}").json()
    pair = next(
        p
        for p in meta["pairs"]
        if (p["level"], p["metric"], p["outcome"]) == ("stimulus", "spatial", "mean_rating")
    )
    assert pair["kendall_ci_low"] > 0, pair
    # the same seed answers the same way (the copy is replaced)
    first = report["pairwise"]
    again = _run(client, study, body).json()
    assert Study.objects.filter(slug=f"{study.slug}-dry-run").count() == 1
    assert client.get(again["analysis_url"]).json()["pairwise"] == first
    other = _run(client, study, {**body, "seed": 3}).json()
    assert client.get(other["analysis_url"]).json()["pairwise"] != first
    listed = client.get(f"/api/v1/studies/{study.pk}/dry-runs/").json()
    assert len(listed) == 3 and DryRun.objects.filter(study=study).count() == 3


@pytest.mark.django_db
def test_bad_dry_runs_answer_400_and_strangers_404(client, researcher, other_researcher, draft):
    study, project = draft
    client.force_login(researcher)
    for body in (
        {},
        {"participants": {"psychic": 3}},
        {"participants": {"random": -1}},
        {"participants": {"random": 0}},
        {"participants": {"random": 41}},
        {"participants": {"metric": 2}},  # no project to follow
        {"participants": {"random": 2}, "seed": "x"},
        {"participants": {"random": 2}, "metric": "charm"},
    ):
        response = _run(client, study, body)
        assert response.status_code == 400, (body, response.content)
    assert not Study.objects.filter(slug__endswith="-dry-run").exists()
    client.force_login(other_researcher)
    assert _run(client, study, {"participants": {"random": 1}}).status_code == 404


@pytest.mark.django_db
def test_the_management_command(draft):
    study, project = draft
    out = io.StringIO()
    call_command(
        "dry_run_study", study.slug, "--random", "3", "--project", str(project.pk), stdout=out
    )
    run = json.loads(out.getvalue())
    assert run["answers"]["random"] > 0
    assert Session.objects.filter(study_id=run["copy"]["id"]).count() == 3
    with pytest.raises(CommandError):
        call_command("dry_run_study", "no-such-study", "--random", "1")
