"""The explanations API without workers: registry, requests (idempotent), bad input, results,
flags, exports, permissions. Tasks are recorded by a fake broker instead of being sent."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from tests.explanations_support import (  # noqa: F401 - fixtures
    annotator_fixture,
    fake_broker_fixture,
    other_researcher_fixture,
    ready_video,
    register_tiny_model,
    researcher_fixture,
    reviewer_fixture,
    tiny_checkpoint_fixture,
)
from wherewhen.explanations import claims, storage
from wherewhen.explanations.models import Explanation, RegisteredModel
from wherewhen.videos.models import Video

pytestmark = pytest.mark.django_db


@pytest.fixture
def video(researcher, settings):
    return ready_video(researcher, settings.MEDIA_ROOT, title="walk")


@pytest.fixture
def model(researcher, tiny_checkpoint):
    return register_tiny_model(researcher, tiny_checkpoint)


@pytest.fixture
def api(client, researcher):
    client.force_login(researcher)
    return client


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def request_body(video, model, **extra):
    return {"video": video.pk, "model": model.pk, "method": "staa", **extra}


def complete(explanation: Explanation, heat: np.ndarray | None = None) -> Explanation:
    """Finish an explanation the way the gpu worker does (claim, map file, finish)."""
    t, h, w = explanation.model.grid
    heat = np.arange(t * h * w, dtype=np.float32).reshape(t, h, w) if heat is None else heat
    owner = claims.worker_identity("test")
    assert claims.claim(explanation.pk, owner) is not None
    map_file, sha = storage.write_map(explanation.request_key, heat)
    fields = {
        "map_file": map_file,
        "map_sha256": sha,
        "grid": list(heat.shape),
        "temporal": [float(x) for x in np.linspace(0, 1, heat.shape[0])],
        "timestamps": [0.125 * i for i in range(heat.shape[0])],
        "explained_target": 2,
        "topk": [{"label_index": 2, "label": "blue", "probability": 0.9}],
        "cost": {"forward_passes": 1, "backward_passes": 0, "wall_seconds": 0.01},
        "value_range": [float(heat.min()), float(heat.max())],
        "batch_size": 1,
    }
    assert claims.finish(explanation.pk, owner, fields)
    explanation.refresh_from_db()
    return explanation


# --- Model registry -----------------------------------------------------------------------------


def test_register_a_checkpoint_directory(api, tiny_checkpoint):
    response = post(
        api, "/api/v1/models/", {"name": "tiny-1", "checkpoint_dir": str(tiny_checkpoint)}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["architecture"] == "timesformer"
    assert body["labels"] == ["red", "green", "blue", "yellow"]
    assert body["input_spec"]["num_frames"] == 4 and body["input_spec"]["image_size"] == 32
    assert body["grid"] == [4, 4, 4]
    assert body["device"] == "auto" and body["can_edit"] is True
    listed = api.get("/api/v1/models/").json()["results"]
    assert [m["name"] for m in listed] == ["tiny-1"]


@pytest.mark.parametrize(
    "breakage, message",
    [
        ("missing", "is not a directory"),
        ("no_config", "has no config.json"),
        ("no_weights", "model.safetensors is missing"),
        ("bad_weights", "not a safetensors file"),
        ("bad_labels", "label map mismatch"),
        ("bad_arch", "unsupported architecture"),
    ],
)
def test_registering_a_bad_directory_says_why(api, tiny_checkpoint, tmp_path, breakage, message):
    bad = tmp_path / "bad"
    shutil.copytree(tiny_checkpoint, bad)
    if breakage == "missing":
        bad = tmp_path / "nowhere"
    elif breakage == "no_config":
        (bad / "config.json").unlink()
    elif breakage == "no_weights":
        (bad / "model.safetensors").unlink()
    elif breakage == "bad_weights":
        (bad / "model.safetensors").write_bytes(b"not really weights")
    elif breakage == "bad_labels":
        (bad / "labels.json").write_text('["only", "three", "labels"]')
    elif breakage == "bad_arch":
        cfg = json.loads((bad / "config.json").read_text())
        cfg["model_type"] = "resnet"
        (bad / "config.json").write_text(json.dumps(cfg))
    response = post(api, "/api/v1/models/", {"name": "bad", "checkpoint_dir": str(bad)})
    assert response.status_code == 400
    assert message in response.json()["checkpoint_dir"][0]
    assert not RegisteredModel.objects.exists()


def test_register_needs_an_absolute_path_and_a_free_name(api, tiny_checkpoint, model):
    response = post(api, "/api/v1/models/", {"name": "x", "checkpoint_dir": "models/tiny"})
    assert response.status_code == 400 and "absolute" in response.json()["checkpoint_dir"][0]
    response = post(
        api, "/api/v1/models/", {"name": "tiny", "checkpoint_dir": str(tiny_checkpoint)}
    )
    assert response.status_code == 400 and "already registered" in response.json()["name"][0]
    response = post(
        api, "/api/v1/models/", {"name": "../x", "checkpoint_dir": str(tiny_checkpoint)}
    )
    assert response.status_code == 400 and "name" in response.json()


def test_model_visibility_and_editing(client, researcher, other_researcher, reviewer, model):
    client.force_login(other_researcher)
    assert client.get("/api/v1/models/").json()["results"] == []
    assert client.get(f"/api/v1/models/{model.pk}/").status_code == 404
    client.force_login(reviewer)
    assert [m["id"] for m in client.get("/api/v1/models/").json()["results"]] == [model.pk]
    assert post(client, "/api/v1/models/", {"name": "r", "checkpoint_dir": "/x"}).status_code == 403
    client.force_login(researcher)
    response = client.patch(
        f"/api/v1/models/{model.pk}/",
        json.dumps({"public": True, "device": "cpu"}),
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["public"] is True
    client.force_login(other_researcher)
    assert [m["id"] for m in client.get("/api/v1/models/").json()["results"]] == [model.pk]
    response = client.patch(
        f"/api/v1/models/{model.pk}/",
        json.dumps({"public": False}),
        content_type="application/json",
    )
    assert response.status_code == 403


def test_model_with_explanations_cannot_be_deleted(api, video, model, fake_broker):
    post(api, "/api/v1/explanations/", request_body(video, model))
    response = api.delete(f"/api/v1/models/{model.pk}/")
    assert response.status_code == 409 and "has explanations" in response.json()["detail"]


def test_annotators_have_no_access(client, annotator, model):
    client.force_login(annotator)
    assert client.get("/api/v1/models/").status_code == 403
    assert client.get("/api/v1/explanations/").status_code == 403
    assert client.get("/api/v1/explanation-methods/").status_code == 403


# --- Requests -----------------------------------------------------------------------------------


def test_request_is_accepted_with_a_status_url(
    api, video, model, fake_broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(api, "/api/v1/explanations/", request_body(video, model))
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued" and body["created"] is True and body["queued"] is True
    assert body["status_url"].endswith(f"/api/v1/explanations/{body['id']}/status/")
    assert response["Location"] == body["status_url"]
    ((name, args, options),) = fake_broker.sent
    assert name == "gpu.explanations.compute" and args == [body["id"]]
    assert options["soft_time_limit"] < options["time_limit"]
    status = api.get(body["status_url"]).json()
    assert status["status"] == "queued" and status["progress"] == 0.0


def test_identical_requests_share_one_explanation_and_one_task(
    api, video, model, fake_broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = post(api, "/api/v1/explanations/", request_body(video, model)).json()
        # Spelling out a default is the same request.
        second = post(
            api, "/api/v1/explanations/", request_body(video, model, params={"head_fusion": "mean"})
        ).json()
    assert first["id"] == second["id"] and second["created"] is False and second["queued"] is False
    assert Explanation.objects.count() == 1
    assert fake_broker.names() == ["gpu.explanations.compute"]
    with django_capture_on_commit_callbacks(execute=True):
        other = post(
            api, "/api/v1/explanations/", request_body(video, model, params={"head_fusion": "max"})
        ).json()
        with_target = post(
            api, "/api/v1/explanations/", request_body(video, model, target=1)
        ).json()
    assert len({first["id"], other["id"], with_target["id"]}) == 3
    assert len(fake_broker.sent) == 3


def test_done_request_answers_200_and_failed_one_is_queued_again(
    api, video, model, fake_broker, django_capture_on_commit_callbacks
):
    body = post(api, "/api/v1/explanations/", request_body(video, model)).json()
    complete(Explanation.objects.get(pk=body["id"]))
    response = post(api, "/api/v1/explanations/", request_body(video, model))
    assert response.status_code == 200 and response.json()["status"] == "done"

    failed = post(api, "/api/v1/explanations/", request_body(video, model, target=3)).json()
    Explanation.objects.filter(pk=failed["id"]).update(status="failed", error="boom")
    with django_capture_on_commit_callbacks(execute=True):
        again = post(api, "/api/v1/explanations/", request_body(video, model, target=3))
    assert again.status_code == 202 and again.json()["queued"] is True
    row = Explanation.objects.get(pk=failed["id"])
    assert row.status == "queued" and row.error == ""
    assert fake_broker.sent[-1][1] == [failed["id"]]


@pytest.mark.parametrize(
    "change, status, field, words",
    [
        ({"video": 987654}, 400, "video", "No video with id 987654"),
        ({"model": 987654}, 400, "model", "No registered model with id 987654"),
        ({"method": "gradcam++"}, 400, "method", "Available methods"),
        ({"params": {"bogus": 1}}, 400, "params", "Unknown parameter"),
        ({"params": {"head_fusion": "median"}}, 400, "params", "is not one of"),
        ({"params": {"layers": "first"}}, 400, "params", "layers must be"),
        ({"params": "fast please"}, 400, "params", "JSON object"),
        ({"target": 4}, 400, "target", "out of range"),
        ({"target": -1}, 400, "target", "out of range"),
        ({"target": "blue"}, 400, "target", "valid integer"),
        ({"clip_start": 0.5, "clip_end": 30.0}, 400, "clip", "duration"),
        ({"method": "rise", "params": {"n_masks": 10**9}}, 400, "params", "at most"),
    ],
)
def test_bad_requests_get_a_clear_400(api, video, model, fake_broker, change, status, field, words):
    response = post(api, "/api/v1/explanations/", {**request_body(video, model), **change})
    assert response.status_code == status, response.json()
    body = response.json()
    message = " ".join(body[field]) if isinstance(body[field], list) else body[field]
    assert words in message
    assert not Explanation.objects.exists()


def test_video_not_ready_is_a_409(api, researcher, model, settings, fake_broker):
    video = ready_video(
        researcher, settings.MEDIA_ROOT, title="raw", status=Video.Status.PROCESSING
    )
    response = post(api, "/api/v1/explanations/", request_body(video, model))
    assert response.status_code == 409
    assert "not ready yet" in response.json()["detail"]


def test_someone_elses_video_or_private_model_is_unknown(
    client, other_researcher, video, model, fake_broker
):
    client.force_login(other_researcher)
    response = post(client, "/api/v1/explanations/", request_body(video, model))
    assert response.status_code == 400 and "video" in response.json()
    own = ready_video(other_researcher, client_media(), title="own")
    response = post(client, "/api/v1/explanations/", request_body(own, model))
    assert response.status_code == 400 and "model" in response.json()


def client_media():
    from django.conf import settings

    return settings.MEDIA_ROOT


def test_reviewers_request_and_browse_every_explanation(
    client, reviewer, video, model, fake_broker
):
    client.force_login(reviewer)
    response = post(client, "/api/v1/explanations/", request_body(video, model))
    assert response.status_code == 202
    assert [e["id"] for e in client.get("/api/v1/explanations/").json()["results"]] == [
        response.json()["id"]
    ]


def test_other_researchers_do_not_see_an_explanation(
    api, client, other_researcher, video, model, fake_broker
):
    body = post(api, "/api/v1/explanations/", request_body(video, model)).json()
    client.force_login(other_researcher)
    assert client.get(f"/api/v1/explanations/{body['id']}/").status_code == 404
    assert client.get("/api/v1/explanations/").json()["results"] == []


# --- Results ------------------------------------------------------------------------------------


def test_metadata_and_compact_map_with_immutable_caching(api, video, model, fake_broker):
    body = post(api, "/api/v1/explanations/", request_body(video, model)).json()
    assert api.get(f"/api/v1/explanations/{body['id']}/map/").status_code == 409
    rng = np.random.default_rng(0)
    heat = rng.random((4, 4, 4), dtype=np.float32) * 3 - 1
    complete(Explanation.objects.get(pk=body["id"]), heat)

    meta = api.get(body["url"]).json()
    assert meta["status"] == "done" and meta["grid"] == [4, 4, 4]
    assert len(meta["temporal"]) == 4 and len(meta["timestamps"]) == 4
    assert meta["explained_label"] == "blue" and meta["topk"][0]["label"] == "blue"
    assert meta["video"]["playback_url"].endswith(f"/api/v1/videos/{video.pk}/stream/")
    assert meta["map_url"].endswith(f"/api/v1/explanations/{body['id']}/map/")

    response = api.get(meta["map_url"])
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    etag = response["ETag"]
    payload = response.json()
    assert payload["shape"] == [4, 4, 4] and payload["dtype"] == "uint8"
    decoded = storage.decode_map(payload)
    assert np.max(np.abs(decoded - heat)) <= payload["scale"] / 2 + 1e-6
    again = api.get(meta["map_url"], HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag


def test_list_filters(api, video, model, fake_broker):
    a = post(api, "/api/v1/explanations/", request_body(video, model)).json()
    b = post(
        api, "/api/v1/explanations/", {**request_body(video, model), "method": "rollout"}
    ).json()
    got = api.get("/api/v1/explanations/?method=rollout").json()["results"]
    assert [e["id"] for e in got] == [b["id"]]
    got = api.get(f"/api/v1/explanations/?ids={a['id']},{b['id']}").json()["results"]
    assert {e["id"] for e in got} == {a["id"], b["id"]}
    assert api.get("/api/v1/explanations/?video=abc").status_code == 400


def test_method_catalogue(api):
    methods = {m["name"]: m for m in api.get("/api/v1/explanation-methods/").json()}
    assert {"staa", "staa_plus", "lime", "kernel_shap", "random"} <= set(methods)
    assert methods["staa"]["family"] == "fast" and methods["lime"]["family"] == "slow"
    assert methods["staa_plus"]["choices"]["head_fusion"] == ["focus", "mean", "max"]


# --- Flags and exports --------------------------------------------------------------------------


def test_reviewer_flags_with_a_comment(client, reviewer, api, video, model, fake_broker):
    body = post(api, "/api/v1/explanations/", request_body(video, model)).json()
    client.force_login(reviewer)
    url = f"/api/v1/explanations/{body['id']}/flags/"
    response = post(client, url, {"reason": "other"})
    assert response.status_code == 400 and "comment" in response.json()
    response = post(client, url, {"reason": "wrong_time", "comment": "peaks too late", "time": 0.5})
    assert response.status_code == 201
    flag = response.json()
    assert flag["author"] == "robin" and flag["reason"] == "wrong_time"
    assert [f["id"] for f in client.get(url).json()] == [flag["id"]]
    assert client.get(body["url"]).json()["flag_count"] == 1
    response = client.patch(
        f"/api/v1/explanation-flags/{flag['id']}/",
        json.dumps({"resolved": True}),
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["resolved"] is True


def patch(client, path, body):
    return client.patch(path, json.dumps(body), content_type="application/json")


def test_the_owner_renames_an_explanation(api, video, model, fake_broker):
    body = post(api, "/api/v1/explanations/", request_body(video, model)).json()
    url = body["url"]
    assert api.get(url).json()["name"] == "" and api.get(url).json()["can_rename"] is True

    response = patch(api, url, {"name": "  STAA,   last layer\t "})
    assert response.status_code == 200
    assert response.json()["name"] == "STAA, last layer"
    assert Explanation.objects.get(pk=body["id"]).name == "STAA, last layer"
    listed = api.get(f"/api/v1/explanations/?video={video.pk}").json()["results"]
    assert [e["name"] for e in listed] == ["STAA, last layer"]

    # The same request finds the same explanation, name and all (a name is not an input).
    again = post(api, "/api/v1/explanations/", request_body(video, model)).json()
    assert again["id"] == body["id"]
    assert api.get(url).json()["name"] == "STAA, last layer"

    # Blank brings back the default name.
    assert patch(api, url, {"name": "   "}).json()["name"] == ""


@pytest.mark.parametrize(
    "payload, words",
    [
        ({"name": "x" * 121}, "120 characters"),
        ({"name": ["a list"]}, "valid string"),
        ({"name": "line\u0007bell"}, "control characters"),
        ({}, "required"),
    ],
)
def test_a_bad_name_is_a_clear_400(api, video, model, fake_broker, payload, words):
    body = post(api, "/api/v1/explanations/", request_body(video, model)).json()
    patch(api, body["url"], {"name": "kept"})
    response = patch(api, body["url"], payload)
    assert response.status_code == 400
    assert words in json.dumps(response.json()["name"])
    assert Explanation.objects.get(pk=body["id"]).name == "kept"


def test_who_may_rename(client, api, reviewer, other_researcher, video, model, fake_broker):
    """The requester or the video's owner: a reviewer renames what they asked for, not the
    owner's; another researcher does not see it at all."""
    owners = post(api, "/api/v1/explanations/", request_body(video, model)).json()
    client.force_login(reviewer)
    assert client.get(owners["url"]).json()["can_rename"] is False
    assert patch(client, owners["url"], {"name": "mine now"}).status_code == 403
    theirs = post(client, "/api/v1/explanations/", request_body(video, model, target=1)).json()
    assert client.get(theirs["url"]).json()["can_rename"] is True
    assert patch(client, theirs["url"], {"name": "robin's"}).status_code == 200
    client.force_login(other_researcher)
    assert patch(client, owners["url"], {"name": "x"}).status_code == 404
    assert Explanation.objects.get(pk=owners["id"]).name == ""


def test_exports_need_a_done_explanation_and_go_to_the_media_queue(
    api, video, model, fake_broker, django_capture_on_commit_callbacks
):
    body = post(api, "/api/v1/explanations/", request_body(video, model)).json()
    url = f"/api/v1/explanations/{body['id']}/exports/"
    assert post(api, url, {"kind": "mp4"}).status_code == 409
    complete(Explanation.objects.get(pk=body["id"]))
    response = post(api, url, {"kind": "mp4", "options": {"colormap": "rainbow"}})
    assert response.status_code == 400 and "colormap" in response.json()["options"][0]
    with django_capture_on_commit_callbacks(execute=True):
        first = post(api, url, {"kind": "png", "options": {"opacity": 0.7}})
        second = post(api, url, {"kind": "png", "options": {"opacity": 0.7}})
    assert first.status_code == 202 and first.json()["id"] == second.json()["id"]
    assert fake_broker.names()[-1] == "media.explanations.render_overlay"
    assert fake_broker.names().count("media.explanations.render_overlay") == 1


def test_model_roots_restrict_where_checkpoints_come_from(api, tiny_checkpoint, settings, tmp_path):
    settings.EXPLANATION_MODEL_ROOTS = [str(tmp_path / "models")]
    response = post(api, "/api/v1/models/", {"name": "t", "checkpoint_dir": str(tiny_checkpoint)})
    assert response.status_code == 400
    assert "model folders of this server" in response.json()["checkpoint_dir"][0]
    settings.EXPLANATION_MODEL_ROOTS = [str(tiny_checkpoint.parent)]
    response = post(api, "/api/v1/models/", {"name": "t", "checkpoint_dir": str(tiny_checkpoint)})
    assert response.status_code == 201
