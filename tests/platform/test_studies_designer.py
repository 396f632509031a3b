"""The designer API: create a study, add stimuli, open it, preview it, read the analysis and
the CSV; only its owner sees it."""

from __future__ import annotations

import json

import pytest

from tests.explanations_support import (  # noqa: F401 - fixtures
    annotator_fixture,
    other_researcher_fixture,
    ready_video,
    researcher_fixture,
)
from tests.studies_support import Participant, make_explanation, make_model

pytestmark = pytest.mark.django_db


def post(client, path, body, method="post"):
    return getattr(client, method)(path, json.dumps(body), content_type="application/json")


@pytest.fixture
def explanations(researcher, settings):
    model = make_model(researcher)
    video = ready_video(researcher, settings.MEDIA_ROOT, title="d0")
    return [make_explanation(video, model, m, seed=i) for i, m in enumerate(["staa", "rollout"])]


def test_design_open_preview_and_analyse(client, researcher, explanations):
    client.force_login(researcher)
    created = post(
        client,
        "/api/v1/studies/",
        {
            "title": "Maps",
            "slug": "maps",
            "trial_kinds": ["rating", "pairwise"],
            "trials_per_participant": 4,
            "attention_checks": [{"prompt": "Pick yes", "choices": ["yes", "no"], "answer": "yes"}],
        },
    )
    assert created.status_code == 201, created.content
    study = created.json()
    assert study["status"] == "draft" and study["participant_link"] == "/p/maps"
    # opening needs stimuli
    opened = post(client, f"/api/v1/studies/{study['id']}/", {"status": "open"}, "patch")
    assert opened.status_code == 400
    added = post(
        client,
        f"/api/v1/studies/{study['id']}/stimuli/",
        {"explanations": [e.pk for e in explanations]},
    )
    assert added.status_code == 201
    assert {s["method"] for s in added.json()} == {"staa", "rollout"}
    opened = post(client, f"/api/v1/studies/{study['id']}/", {"status": "open"}, "patch")
    assert opened.status_code == 200
    link = client.post(f"/api/v1/studies/{study['id']}/preview/").json()["link"]
    pid = link.split("participant=")[1].split("&")[0]
    preview = Participant(client, "maps", {"participant": pid, "preview": "1"})
    assert preview.start().json()["stage"] == "consent"
    report = client.get(f"/api/v1/studies/{study['id']}/analysis/").json()
    assert report["participants"]["started"] == 0  # previews are not participants
    export = client.get(f"/api/v1/studies/{study['id']}/export/")
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    assert export.content.decode().startswith("participant,session,")


def test_bad_designs_are_refused(client, researcher):
    client.force_login(researcher)
    bad_check = post(
        client,
        "/api/v1/studies/",
        {
            "title": "x",
            "slug": "x",
            "trial_kinds": ["rating"],
            "attention_checks": [{"prompt": "p", "choices": ["a"], "answer": "b"}],
        },
    )
    assert bad_check.status_code == 400 and "attention_checks" in bad_check.json()
    bad_kind = post(client, "/api/v1/studies/", {"title": "x", "slug": "y", "trial_kinds": ["x"]})
    assert bad_kind.status_code == 400


def test_only_the_owner_sees_a_study(client, researcher, other_researcher, annotator):
    client.force_login(researcher)
    sid = post(
        client, "/api/v1/studies/", {"title": "t", "slug": "t", "trial_kinds": ["rating"]}
    ).json()["id"]
    client.force_login(other_researcher)
    assert client.get(f"/api/v1/studies/{sid}/").status_code == 404
    assert client.get("/api/v1/studies/").json() == []
    client.force_login(annotator)
    assert client.get("/api/v1/studies/").status_code == 403
