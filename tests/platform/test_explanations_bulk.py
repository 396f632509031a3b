"""Bulk runs (API and management command), the bundled model's demo registration, and ground
truth with pointing-game marks for the review player."""

from __future__ import annotations

import io
import json
import shutil
from datetime import timedelta

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from tests.explanations_support import (  # noqa: F401 - fixtures
    fake_broker_fixture,
    ready_video,
    register_tiny_model,
    researcher_fixture,
    reviewer_fixture,
    tiny_checkpoint_fixture,
)
from wherewhen.explanations import claims, services, storage
from wherewhen.explanations.models import BulkRun, Explanation, RegisteredModel
from wherewhen.videos.models import Dataset, Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def model(researcher, tiny_checkpoint):
    return register_tiny_model(researcher, tiny_checkpoint)


@pytest.fixture
def dataset(researcher, settings):
    ds = Dataset.objects.create(owner=researcher, name="walks")
    for i in range(2):
        ready_video(researcher, settings.MEDIA_ROOT, title=f"walk{i}").datasets.add(ds)
    raw = ready_video(researcher, settings.MEDIA_ROOT, title="raw", status=Video.Status.PROCESSING)
    raw.datasets.add(ds)
    return ds


def finish(explanation: Explanation, started_ago: float = 2.0) -> None:
    owner = claims.worker_identity("t")
    claims.claim(explanation.pk, owner)
    Explanation.objects.filter(pk=explanation.pk).update(
        started_at=timezone.now() - timedelta(seconds=started_ago)
    )
    t, h, w = explanation.model.grid
    path, sha = storage.write_map(explanation.request_key, np.ones((t, h, w), np.float32))
    claims.finish(
        explanation.pk,
        owner,
        {"map_file": path, "map_sha256": sha, "grid": [t, h, w], "temporal": [1.0] * t,
         "timestamps": [0.125 * i for i in range(t)], "explained_target": 0},
    )  # fmt: skip


def test_bulk_run_api_progress_and_eta(client, researcher, dataset, model, fake_broker):
    client.force_login(researcher)
    response = client.post(
        "/api/v1/bulk-runs/",
        json.dumps(
            {
                "dataset": dataset.pk,
                "model": model.pk,
                "methods": ["staa", "rise"],
                "params": {"rise": {"n_masks": 50}},
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["progress"]["total"] == 4 and body["progress"]["done"] == 0
    assert body["progress"]["eta_seconds"] is None
    assert [s["reason"] for s in body["skipped"]] == ["not ready (processing)"]
    run = BulkRun.objects.get(pk=body["id"])
    rise = run.explanations.filter(method="rise")
    assert all(e.params["n_masks"] == 50 for e in rise)

    finish(run.explanations.first())
    progress = client.get(f"/api/v1/bulk-runs/{run.pk}/").json()["progress"]
    assert progress["done"] == 1 and progress["finished"] == 1 and progress["fraction"] == 0.25
    assert progress["eta_seconds"] == pytest.approx(6.0, abs=1.0)  # 3 left at ~2 s each
    for e in run.explanations.all():
        if e.status != "done":
            finish(e)
    progress = client.get(f"/api/v1/bulk-runs/{run.pk}/").json()["progress"]
    assert progress["state"] == "finished" and progress["eta_seconds"] == 0.0


def test_bulk_run_bad_input(client, researcher, reviewer, dataset, model, fake_broker):
    client.force_login(researcher)

    def start(**body):
        payload = {"dataset": dataset.pk, "model": model.pk, "methods": ["staa"], **body}
        return client.post(
            "/api/v1/bulk-runs/", json.dumps(payload), content_type="application/json"
        )

    assert "methods" in start(methods=["staa", "nope"]).json()
    assert "methods" in start(methods=["staa", "staa"]).json()
    assert "params" in start(params={"lime": {}}).json()
    assert "dataset" in start(dataset=99999).json()
    assert "dataset" in start(dataset=None).json()
    assert not BulkRun.objects.exists() and not Explanation.objects.exists()
    client.force_login(reviewer)
    assert start().status_code == 403


def test_explain_dataset_command_follows_the_run(researcher, dataset, model, fake_broker):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "explain_dataset",
        "--dataset=walks",
        "--model=tiny",
        "--methods=staa",
        "--no-wait",
        stdout=out,
        stderr=err,
    )
    assert "2 explanation(s) of walks with tiny (staa)" in out.getvalue()
    assert "skipped video" in err.getvalue()
    for e in Explanation.objects.all():
        finish(e)
    # The same run again: everything is already computed, so the bar completes at once.
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "explain_dataset",
        "--dataset=walks",
        "--model=tiny",
        "--methods=staa",
        stdout=out,
        stderr=err,
    )
    assert "Finished: 2 done, 0 failed of 2." in out.getvalue()
    assert "2/2" in err.getvalue()  # the progress bar
    with pytest.raises(CommandError, match="No model named"):
        call_command("explain_dataset", "--dataset=walks", "--model=x", "--methods=staa")
    with pytest.raises(CommandError, match="Unknown method"):
        call_command("explain_dataset", "--dataset=walks", "--model=tiny", "--methods=zzz")


def test_seed_demo_registers_the_bundled_model_once(monkeypatch, tiny_checkpoint, tmp_path):
    from wherewhen.explanations import demo

    copy = tmp_path / "tiny-timesformer"
    shutil.copytree(tiny_checkpoint, copy)
    monkeypatch.setattr(demo, "bundled_model_dir", lambda: copy)
    monkeypatch.setattr(demo, "bundled_av_model_dir", lambda: tmp_path / "no-av-model")
    out = io.StringIO()
    demo.seed_demo(stdout=out)
    demo.seed_demo(stdout=out)
    model = RegisteredModel.objects.get()
    assert model.name == "tiny-timesformer" and model.public and model.bundled
    assert model.owner is None
    monkeypatch.setattr(demo, "bundled_model_dir", lambda: tmp_path / "missing")
    demo.seed_demo(stdout=out)
    assert "not registered" in out.getvalue()


def test_ground_truth_boxes_and_pointing_marks(client, researcher, settings, model, fake_broker):
    from wherewhen.annotations import services as annotations
    from wherewhen.annotations.models import Project

    video = ready_video(researcher, settings.MEDIA_ROOT, title="gt")
    e = services.request_explanation(
        researcher, video=video, model=model, method="staa"
    ).explanation
    client.force_login(researcher)
    url = f"/api/v1/explanations/{e.pk}/ground-truth/"
    assert client.get(url).json()["available"] is False

    # The map's maximum sits in cell (0, 0) of frames 0 and 1, in cell (3, 3) of frames 2, 3:
    heat = np.zeros((4, 4, 4), np.float32)
    heat[:2, 0, 0] = 1.0
    heat[2:, 3, 3] = 2.0
    owner = claims.worker_identity("t")
    claims.claim(e.pk, owner)
    path, sha = storage.write_map(e.request_key, heat)
    times = video.frame_timestamps
    claims.finish(
        e.pk,
        owner,
        {"map_file": path, "map_sha256": sha, "grid": [4, 4, 4],
         "temporal": [0.1, 0.2, 0.9, 0.3], "timestamps": [times[0], times[2], times[4], times[6]],
         "explained_target": 0},
    )  # fmt: skip
    # the ground truth of the class the map explains (pointing games are per class)
    cls = model.labels[0]
    project = Project.objects.create(owner=researcher, name="where", labels=[cls])
    # A box in the top-left corner (cell (0, 0) of a 64 x 48 frame is 16 x 12 px) on every frame.
    keyframes = [
        {"frame": 0, "x0": 0, "y0": 0, "x1": 10, "y1": 8},
        {"frame": len(times) - 1, "x0": 0, "y0": 0, "x1": 10, "y1": 8},
    ]
    annotations.import_ground_truth(
        project,
        video,
        [{"label": cls, "keyframes": keyframes}],
        [{"kind": "visual", "start": times[3], "end": times[5]}],
        label=cls,
    )
    body = client.get(url).json()
    assert body["available"] is True and body["project"] == project.pk
    assert body["source_size"] == [64, 48]
    assert [f["hit"] for f in body["frames"]] == [True, True, False, False]
    assert body["frames"][0]["point"] == [8.0, 6.0]
    assert body["frames"][0]["boxes"] == [[0.0, 0.0, 10.0, 8.0]]
    assert body["temporal_hit"] is True  # frame 2 (times[4]) lies in [times[3], times[5]]
    assert body["spatial_accuracy"] == 0.5
    # the project's tolerance decides, as in its scores
    from wherewhen.scoring import services as scoring

    scoring.set_tolerance(project, 100)
    assert client.get(url).json()["spatial_accuracy"] == 1.0
    assert client.get(url + "?project=x").status_code == 400
