"""Importing explanations made by other tools: validated .npz, never unpickled."""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.explanations_support import (  # noqa: F401 - fixtures
    other_researcher_fixture,
    ready_video,
    register_tiny_model,
    researcher_fixture,
    reviewer_fixture,
    tiny_checkpoint_fixture,
)
from wherewhen.explanations import storage
from wherewhen.explanations.models import Explanation

pytestmark = pytest.mark.django_db

T, H, W = 4, 7, 7


@pytest.fixture
def video(researcher, settings):
    return ready_video(researcher, settings.MEDIA_ROOT, title="imported")  # 1 s long


@pytest.fixture
def api(client, researcher):
    client.force_login(researcher)
    return client


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def good_arrays(**overrides):
    rng = np.random.default_rng(3)
    arrays = {
        "map": rng.random((T, H, W)).astype(np.float32),
        "timestamps": np.array([0.0, 0.25, 0.5, 0.75]),
        "temporal": np.array([0.1, 0.9, 0.4, 0.2], dtype=np.float32),
    }
    arrays.update(overrides)
    return {k: v for k, v in arrays.items() if v is not None}


def upload(api, video, data: bytes, name="result.npz", **fields):
    body = {"video": video.pk, "method": "gradcam-external", **fields}
    body["file"] = SimpleUploadedFile(name, data, content_type="application/octet-stream")
    return api.post("/api/v1/explanations/import/", body)


def test_import_is_stored_and_served_like_a_computed_one(api, video):
    arrays = good_arrays(target=np.array(2))
    response = upload(api, video, npz_bytes(**arrays))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["source"] == "imported" and body["status"] == "done"
    assert body["method"] == "gradcam-external" and body["grid"] == [T, H, W]
    assert body["timestamps"] == [0.0, 0.25, 0.5, 0.75]
    assert body["temporal"] == pytest.approx([0.1, 0.9, 0.4, 0.2])
    assert body["explained_target"] == 2
    payload = api.get(body["map_url"]).json()
    assert np.allclose(storage.decode_map(payload), arrays["map"], atol=payload["scale"])
    # The same file again is the same explanation.
    again = upload(api, video, npz_bytes(**arrays))
    assert again.status_code == 200 and again.json()["id"] == body["id"]
    assert Explanation.objects.count() == 1


def test_import_without_temporal_derives_it_and_ignores_extras(api, video):
    arrays = good_arrays(temporal=None, topk_label=np.array(["a", "b"]))
    body = upload(api, video, npz_bytes(**arrays)).json()
    mass = np.clip(arrays["map"], 0, None).sum(axis=(1, 2))
    assert body["temporal"] == pytest.approx(list(mass / mass.max()), rel=1e-5)
    assert body["params"]["ignored_keys"] == ["topk_label"]


def test_the_output_of_workers_explain_imports(api, video):
    """A file written by ``python -m workers.explain`` is accepted as it is."""
    from workers.explain import save_explanation
    from workers.types import Cost, Explanation, Prediction

    explanation = Explanation(
        method="staa_plus",
        map=np.ones((T, H, W), np.float32),
        temporal=np.ones(T, np.float32),
        timestamps=np.array([0.0, 0.25, 0.5, 0.75]),
        target=1,
        topk=[Prediction(1, "green", 0.8)],
        params={"layers": "last"},
        cost=Cost(1, 0, 0.01, 0),
    )
    buf = io.BytesIO()
    save_explanation(buf, explanation, (64, 48))
    response = upload(api, video, buf.getvalue())
    assert response.status_code == 201, response.json()
    assert response.json()["explained_target"] == 1
    assert response.json()["audio"] is None
    # An audio-visual model's file carries its audio curve, which is imported with it.
    explanation.audio = np.array([0.2, 0.9], np.float32)
    explanation.audio_times = np.array([[0.0, 0.5], [0.5, 1.0]])
    buf = io.BytesIO()
    save_explanation(buf, explanation, (64, 48))
    response = upload(api, video, buf.getvalue())
    assert response.status_code == 201, response.json()
    assert response.json()["audio"] == {
        "importance": pytest.approx([0.2, 0.9]),
        "times": [[0.0, 0.5], [0.5, 1.0]],
    }


class Boom:
    """A pickle payload that would leave a trace if it were ever unpickled."""

    marker = None

    def __reduce__(self):
        return (open, (str(Boom.marker), "w"))


def object_array_npz() -> bytes:
    arr = np.empty(2, dtype=object)
    arr[0], arr[1] = Boom(), "x"
    return npz_bytes(map=arr, timestamps=np.zeros(2))


def test_a_pickle_is_refused_and_never_unpickled(api, video, tmp_path):
    Boom.marker = tmp_path / "unpickled"
    response = upload(api, video, object_array_npz())
    assert response.status_code == 400
    assert "pickle" in response.json()["file"][0]
    response = upload(api, video, pickle.dumps({"map": Boom()}))
    assert response.status_code == 400
    assert "not an .npz archive" in response.json()["file"][0]
    assert not Boom.marker.exists()
    assert not Explanation.objects.exists()


def lying_header_npz() -> bytes:
    """A member whose header promises a huge array but holds a few bytes."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (10_000, 512, 512)}
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("map.npy", b"\x93NUMPY\x01\x00" + header.getvalue()[8:] + b"\x00" * 16)
        zf.writestr("timestamps.npy", b"")
    return buf.getvalue()


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", "empty"),
        (b"PK\x03\x04 not really a zip", "not a readable .npz"),
        (lambda: lying_header_npz(), "truncated"),
        (lambda: npz_bytes(map=np.ones((T, H)), timestamps=np.zeros(T)), "3 dimensions"),
        (lambda: npz_bytes(**good_arrays(timestamps=None)), "no 'timestamps'"),
        (lambda: npz_bytes(**good_arrays(timestamps=np.zeros(3))), "one per map frame"),
        (lambda: npz_bytes(**good_arrays(temporal=np.zeros(5))), "'temporal' must have shape"),
        (
            lambda: npz_bytes(**good_arrays(map=np.full((T, H, W), np.nan, np.float32))),
            "NaN or infinite",
        ),
        (
            lambda: npz_bytes(**good_arrays(temporal=np.array([0, np.inf, 0, 0]))),
            "NaN or infinite",
        ),
        (lambda: npz_bytes(**good_arrays(timestamps=np.array([0, 0.5, 0.7, 9.0]))), "outside"),
        (lambda: npz_bytes(**good_arrays(timestamps=np.array([-2, 0.5, 0.7, 0.8]))), "outside"),
        (lambda: npz_bytes(**good_arrays(timestamps=np.array([0, 0.5, 0.2, 0.8]))), "increasing"),
        (lambda: npz_bytes(**good_arrays(map=np.ones((T, H, W), dtype=bool))), "real numbers"),
        (lambda: npz_bytes(**good_arrays(map=np.ones((T, 1000, 2)))), "out of bounds"),
        (lambda: npz_bytes(**good_arrays(target=np.array([1.5]))), "whole number"),
    ],
)
def test_malformed_files_get_a_400_naming_the_problem(api, video, data, words):
    data = data() if callable(data) else data
    response = upload(api, video, data)
    assert response.status_code == 400, response.json()
    assert words in " ".join(response.json()["file"]), response.json()
    assert not Explanation.objects.exists()


def test_oversize_files_are_refused(api, video, settings):
    settings.EXPLANATION_IMPORT_MAX_BYTES = 1000
    response = upload(api, video, npz_bytes(**good_arrays()) + b"\0" * 2000)
    assert response.status_code == 400 and "limit" in response.json()["file"][0]


def test_import_needs_a_researcher_and_a_visible_video_and_valid_target(
    client, reviewer, other_researcher, video, tiny_checkpoint, researcher
):
    data = npz_bytes(**good_arrays())
    client.force_login(reviewer)
    assert upload(client, video, data).status_code == 403
    client.force_login(other_researcher)
    response = upload(client, video, data)
    assert response.status_code == 400 and "video" in response.json()
    client.force_login(researcher)
    model = register_tiny_model(researcher, tiny_checkpoint)
    response = upload(client, video, data, model=model.pk, target=9)
    assert response.status_code == 400 and "out of range" in response.json()["target"][0]
    response = upload(client, video, data, method="")
    assert response.status_code == 400 and "method" in response.json()
