"""Provenance of stored scores: every score says what produced it (checkpoint, method and
parameters, explanation, video, ground truth version, code version); a changed input makes the
scores that depend on it stale (compared with the current inputs, nothing stored), the
leaderboard says so, and the exports carry the columns."""

from __future__ import annotations

import csv
import io
import json

import pytest
from rest_framework.test import APIClient

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
from wherewhen.annotations import services as annotation_services
from wherewhen.explanations import storage
from wherewhen.explanations.models import Explanation
from wherewhen.scoring import leaderboards, services
from wherewhen.scoring.models import ExplanationScore

pytestmark = pytest.mark.django_db

BOX = (40, 30, 80, 60)  # cell (1, 1) of a 4 x 4 grid over 160 x 120


@pytest.fixture
def world(monkeypatch):
    monkeypatch.setattr(services.recompute, "send_recompute", lambda ids: None)
    rita = user("rita", Role.RESEARCHER)
    model = make_model(rita)
    video = make_video(rita)
    project = make_project(rita, [video])
    ground_truth(project, video, [box_from(0, BOX)])
    e = make_explanation(
        video, peak_map([(1, 1), (3, 3), (1, 1), (1, 1)]), model=model, params={"layers": 2}
    )
    services.recompute_now(project)
    return {"rita": rita, "model": model, "video": video, "project": project, "explanation": e}


def consensus_score(e: Explanation) -> ExplanationScore:
    return ExplanationScore.objects.select_related(
        "explanation", "explanation__model", "explanation__video"
    ).get(explanation=e, reference="consensus")


def client_for(person) -> APIClient:
    client = APIClient()
    client.force_authenticate(person)
    return client


def board(world):
    return leaderboards.leaderboard(world["rita"], world["project"])


def test_a_score_records_what_produced_it(world):
    e, video, project = world["explanation"], world["video"], world["project"]
    s = consensus_score(e)
    truth = annotation_services.ground_truth_versions(project)[video.pk]
    assert s.gt_version == truth.version and len(s.gt_version) == 64
    assert s.annotations_used == 1 and s.excluded_annotations == 0
    assert s.explanation_hash == e.map_sha256
    assert s.checkpoint_hash == world["model"].fingerprint
    assert s.video_hash == video.content_hash
    assert s.scoring_version == services.SCORING_VERSION
    assert s.code_version.startswith(f"scoring {services.SCORING_VERSION}; wherewhen ")
    assert services.stale_reasons(s, services.current_truth(project, [video.pk])) == []
    # the annotator reference of the same video carries the same ground truth version
    other = ExplanationScore.objects.get(explanation=e, reference="annotator")
    assert other.gt_version == s.gt_version


def test_the_ground_truth_version_hashes_ids_and_revisions(world):
    project, video = world["project"], world["video"]
    before = annotation_services.ground_truth_versions(project)[video.pk]
    version = before.version
    assert version == annotation_services.ground_truth_versions(project)[video.pk].version
    imported = before.used[0]
    imported.version += 1  # a new revision of the same annotation
    imported.save(update_fields=["version"])
    after = annotation_services.ground_truth_versions(project)[video.pk]
    assert after.version != version and after.n_used == 1


def test_a_new_accepted_annotation_makes_the_scores_stale_until_recomputed(world):
    project, video, e = world["project"], world["video"], world["explanation"]
    old = consensus_score(e).gt_version
    # a second accepted annotation (the consensus of two identical boxes does not move)
    ground_truth(project, video, [box_from(0, BOX)])
    s = consensus_score(e)
    reasons = services.stale_reasons(s, services.current_truth(project, [video.pk]))
    assert len(reasons) == 1 and reasons[0].startswith("ground truth changed since scoring")

    body = board(world)
    assert body["stale_scores"] == 1 and body["rows"][0]["stale"] == 1
    assert body["stale_reasons"] == {"ground truth changed since scoring": 1}
    assert any("stale" in note for note in body["notes"])

    rows = list(csv.DictReader(io.StringIO(leaderboards.leaderboard_csv(body))))
    assert rows[0]["stale"] == "True" and "ground truth changed" in rows[0]["stale_reason"]
    assert rows[0]["stale_scores"] == "1"

    outcome = services.recompute_now(project)
    s = consensus_score(e)
    # the numbers did not change (same key) but the provenance follows the new inputs
    assert outcome["unchanged"] >= 1
    assert s.gt_version != old and s.annotations_used == 2
    assert board(world)["stale_scores"] == 0


def test_a_recomputed_explanation_and_a_replaced_checkpoint_make_scores_stale(world):
    project, e, model = world["project"], world["explanation"], world["model"]
    map_file, sha = storage.write_map(e.request_key, peak_map([(0, 0), (0, 0), (0, 0), (0, 0)]))
    Explanation.objects.filter(pk=e.pk).update(map_file=map_file, map_sha256=sha)
    model.fingerprint = "f" * 64
    model.save(update_fields=["fingerprint"])
    s = consensus_score(e)
    reasons = services.staleness(project, [s])[s.pk]
    assert reasons == [
        "explanation recomputed since scoring",
        "model checkpoint changed since scoring",
    ]
    assert board(world)["stale_reasons"] == {
        "explanation recomputed since scoring": 1,
        "model checkpoint changed since scoring": 1,
    }
    services.recompute_now(project)
    s = consensus_score(e)
    assert s.explanation_hash == sha and s.checkpoint_hash == "f" * 64
    assert s.frames_hit == 0  # recomputed on the new map
    assert services.staleness(project, [s])[s.pk] == []


def test_scores_from_before_provenance_are_stale(world):
    project, e = world["project"], world["explanation"]
    ExplanationScore.objects.filter(explanation=e).update(gt_version="")
    s = consensus_score(e)
    assert services.staleness(project, [s])[s.pk] == ["scored before provenance was recorded"]
    services.recompute_now(project)  # same key: only the provenance is filled in
    assert services.staleness(project, [consensus_score(e)])[s.pk] == []


def test_score_exports_carry_provenance_columns(world):
    e, project = world["explanation"], world["project"]
    api = client_for(world["rita"])
    response = api.get(f"/api/v1/scoring/scores/export.csv?project={project.pk}")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 1
    row = rows[0]
    s = consensus_score(e)
    assert row["explanation"] == str(e.pk) and row["method"] == "staa"
    assert json.loads(row["params"]) == {"layers": 2}
    assert row["checkpoint_hash"] == world["model"].fingerprint
    assert row["video_hash"] == world["video"].content_hash
    assert row["explanation_hash"] == e.map_sha256
    assert row["gt_version"] == s.gt_version and row["gt_annotations"] == "1"
    assert row["excluded_annotations"] == "0"
    assert row["code_version"] == s.code_version
    assert row["stale"] == "False" and row["stale_reason"] == ""
    assert row["spatial"] == "0.75"

    body = api.get(f"/api/v1/scoring/scores/export.json?project={project.pk}").json()
    assert body["code_version"] == services.code_version()
    assert body["scores"][0]["gt_version"] == s.gt_version
    assert body["scores"][0]["stale"] is False

    # the leaderboard's exports: the row's checkpoint, parameters and ground truth versions
    text = api.get(f"/api/v1/scoring/leaderboards/export.csv?project={project.pk}")
    line = next(csv.DictReader(io.StringIO(text.content.decode())))
    for column in ("checkpoint_hash", "gt_version", "code_version", "stale", "params"):
        assert line[column] != "", column
    assert line["excluded_annotations"] == "0"
    exported = api.get(f"/api/v1/scoring/leaderboards/export.json?project={project.pk}").json()
    clip = next(iter(exported["clips"].values()))[0]
    assert clip["gt_version"] == s.gt_version and clip["stale"] is False
    # a stranger's request is refused, not answered with someone else's provenance
    stranger = client_for(user("sam", Role.RESEARCHER))
    assert stranger.get(f"/api/v1/scoring/scores/export.csv?project={project.pk}").status_code in (
        403,
        404,
    )


def test_bad_export_requests_are_4xx(world):
    api = client_for(world["rita"])
    assert api.get("/api/v1/scoring/scores/export.csv").status_code == 400
    assert api.get("/api/v1/scoring/scores/export.json?project=x").status_code == 400
    assert api.get("/api/v1/scoring/scores/export.csv?project=999999").status_code == 404
