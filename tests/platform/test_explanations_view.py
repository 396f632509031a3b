"""A model that centre-crops, end to end: the checkpoint's own preprocessing decides what the
model sees, the platform stores that rectangle (the explanation's ``view``), scores the map with
its cells tiling the view (boxes outside it are "not seen", not counted), serves it, and an
``.npz`` carrying it imports to the same row data; bad views are a clear 400.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.annotation_support import make_project
from tests.explanations_support import (  # noqa: F401 - fixtures
    TINY_CONFIG,
    TINY_LABELS,
    researcher_fixture,
    sized_video,
)
from wherewhen.core import tasking
from wherewhen.explanations.models import Explanation

WIDTH, HEIGHT = 96, 48  # a wide video: a square crop sees its middle only
# shortest edge 32: 96x48 -> 64x32, the centre 32x32 starts at x 16 -> source x 24..72
VIEW = [24.0, 0.0, 72.0, 48.0]
INSIDE = [30.0, 8.0, 60.0, 40.0]  # a box the model saw
OUTSIDE = [2.0, 10.0, 18.0, 30.0]  # a box in the left band, never in the model's input


def box(frame: int, rect: list[float], **extra) -> dict:
    x0, y0, x1, y1 = rect
    return {"frame": frame, "x0": x0, "y0": y0, "x1": x1, "y1": y1, **extra}


def processor_config(shortest_edge: int = 32, crop: int = 32) -> dict:
    return {
        "image_processor_type": "VideoMAEImageProcessor",
        "do_resize": True,
        "size": {"shortest_edge": shortest_edge},
        "resample": 2,
        "do_center_crop": True,
        "crop_size": {"height": crop, "width": crop},
        "do_rescale": True,
        "rescale_factor": 1 / 255,
        "do_normalize": True,
        "image_mean": [0.45, 0.45, 0.45],
        "image_std": [0.225, 0.225, 0.225],
    }


@pytest.fixture(scope="module")
def cropping_checkpoint(tmp_path_factory):
    """A random 4-frame, 32 px, patch-8 TimeSformer saved by transformers, whose processor
    resizes the short side to 32 and keeps the centre 32 x 32."""
    import torch

    from workers.models.loader import build_model, save_model
    from workers.models.spec import InputSpec

    directory = tmp_path_factory.mktemp("models") / "cropper"
    torch.manual_seed(11)
    spec = InputSpec(num_frames=4, image_size=32, patch_size=8)
    save_model(build_model("timesformer", spec, TINY_LABELS, **TINY_CONFIG), directory)
    (directory / "preprocessor_config.json").write_text(json.dumps(processor_config()))
    return directory


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


class _Nowhere:
    def send_task(self, *args, **kwargs):
        return None


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def upload(client, video, data: bytes, name="crop.npz"):
    return client.post(
        "/api/v1/explanations/import/",
        {
            "video": video.pk,
            "method": "outside-tool",
            "file": SimpleUploadedFile(name, data, content_type="application/octet-stream"),
        },
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_cropping_model_is_computed_stored_scored_and_imported_with_its_view(
    client, researcher, cropping_checkpoint, settings, tmp_path, monkeypatch
):
    from pathlib import Path

    from wherewhen.annotations import services as annotation_services
    from wherewhen.explanations import compute, services
    from wherewhen.scoring import services as scoring
    from wherewhen.scoring.models import ExplanationScore
    from workers.explain import save_explanation
    from workers.metrics.pointing import spatial_pointing_game
    from workers.models.spec import Preprocessing
    from workers.types import Cost, Prediction
    from workers.types import Explanation as EngineExplanation

    settings.SCORING_AUTO_RECOMPUTE = False
    monkeypatch.setattr(tasking, "celery_app", lambda: _Nowhere())
    media = Path(settings.MEDIA_ROOT)
    client.force_login(researcher)

    # registered through the API: the processor's rule is part of the model's input spec
    response = post(
        client, "/api/v1/models/", {"name": "cropper", "checkpoint_dir": str(cropping_checkpoint)}
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    prep = body["input_spec"]["preprocessing"]
    assert prep["shortest_edge"] == 32 and prep["crop"] == [32, 32]
    model_id = body["id"]
    assert list(Preprocessing(shortest_edge=32, crop=(32, 32)).view(WIDTH, HEIGHT)) == VIEW

    # computed through the real path (claim, decode with the model's own rule, explain, store)
    video = sized_video(researcher, media, WIDTH, HEIGHT)
    response = post(
        client, "/api/v1/explanations/", {"video": video.pk, "model": model_id, "method": "staa"}
    )
    assert response.status_code == 202, response.json()
    pk = response.json()["id"]
    assert compute.run(pk)["outcome"] == "computed"
    stored = Explanation.objects.get(pk=pk)
    assert stored.status == "done", stored.error
    assert stored.view == pytest.approx(VIEW)
    served = client.get(f"/api/v1/explanations/{pk}/").json()
    assert served["view"] == pytest.approx(VIEW)
    assert served["grid"] == [4, 4, 4]

    # ground truth of the explained class: frames 0-3 hold a box the model saw, frames 4-7 only
    # a box outside its view
    label = served["explained_label"]
    project = make_project(researcher, [video], labels=list(TINY_LABELS))
    tracks = [
        {
            "label": label,
            "keyframes": [box(0, INSIDE), box(4, INSIDE, outside=True)],
        },
        {
            "label": label,
            "keyframes": [box(4, OUTSIDE)],
        },
    ]
    segments = [{"kind": "visual", "label": label, "start": 0.0, "end": 1.0}]
    annotation_services.import_ground_truth(project, video, tracks, segments)
    scoring.recompute_now(project)
    score = ExplanationScore.objects.get(explanation_id=pk, project=project, reference="consensus")
    assert score.not_scored == "" and score.error == ""

    # the same verdicts as the pointing game of workers.metrics with the view, frame by frame
    heat = services.read_map(stored.map_file)
    times = np.asarray(video.frame_timestamps)
    frames = [int(np.argmin(np.abs(times - t))) for t in stored.timestamps]
    boxes = np.array([[INSIDE] if f < 4 else [OUTSIDE] for f in frames], dtype=np.float64)
    game = spatial_pointing_game(heat, boxes, None, (WIDTH, HEIGHT), score.tolerance, view=VIEW)
    game_full = spatial_pointing_game(heat, boxes, None, (WIDTH, HEIGHT), score.tolerance)
    counted = [f["counted"] for f in score.frames]
    assert counted == game.counted.tolist() == [f < 4 for f in frames]
    assert game_full.counted.all()  # without the view every frame would count
    assert [f["seen"] for f in score.frames] == [f < 4 for f in frames]
    assert score.frames_counted == sum(f < 4 for f in frames)
    assert score.frames_hit == int((game.hits & game.counted).sum())
    for f in score.frames:  # every pointed location is a cell centre inside the view
        x, y = f["point"]
        assert VIEW[0] < x < VIEW[2] and VIEW[1] < y < VIEW[3]

    # the review player's ground truth says the same
    truth = client.get(f"/api/v1/explanations/{pk}/ground-truth/").json()
    assert truth["available"] is True and truth["view"] == pytest.approx(VIEW)
    assert [f["seen"] for f in truth["frames"]] == [f["seen"] for f in score.frames]
    assert [f["hit"] for f in truth["frames"]] == [f["hit"] for f in score.frames]

    # round trip: the engine's .npz of this result imports with the same view and scores
    engine = EngineExplanation(
        method="staa",
        map=heat,
        temporal=np.asarray(stored.temporal, dtype=np.float32),
        timestamps=np.asarray(stored.timestamps),
        target=int(stored.explained_target),
        topk=[Prediction(0, "red", 0.5)],
        params={},
        cost=Cost(1, 0, 0.01, 0),
        view=tuple(VIEW),
    )
    buf = io.BytesIO()
    save_explanation(buf, engine, (WIDTH, HEIGHT))
    response = upload(client, video, buf.getvalue())
    assert response.status_code == 201, response.json()
    imported = response.json()
    assert imported["view"] == pytest.approx(VIEW)
    assert "view" not in imported["params"]["ignored_keys"]
    row = Explanation.objects.get(pk=imported["id"])
    Explanation.objects.filter(pk=row.pk).update(model_id=model_id)
    scoring.recompute_now(project)
    again = ExplanationScore.objects.get(explanation=row, project=project, reference="consensus")
    assert [f["counted"] for f in again.frames] == counted
    assert [f["hit"] for f in again.frames] == [f["hit"] for f in score.frames]

    # the same view given at twice the size (source_size) lands in the video's pixels
    buf = io.BytesIO()
    np.savez(
        buf,
        map=heat,
        timestamps=np.asarray(stored.timestamps),
        view=np.array(VIEW) * 2,
        source_size=np.array([WIDTH * 2, HEIGHT * 2]),
    )
    response = upload(client, video, buf.getvalue(), name="double.npz")
    assert response.status_code == 201, response.json()
    assert response.json()["view"] == pytest.approx(VIEW)


T, H, W = 4, 4, 4


@pytest.mark.django_db
@pytest.mark.parametrize(
    "view, extra, words",
    [
        ([0, 0, 97, 48], {}, "is not inside the 96 x 48 frame"),
        ([-1, 0, 40, 48], {}, "is not inside the 96 x 48 frame"),
        ([40, 0, 40, 48], {}, "is empty: it needs x0 < x1 and y0 < y1"),
        ([50, 10, 40, 48], {}, "is empty"),
        ([0, np.nan, 40, 48], {}, "'view' has 1 value(s) that are NaN or infinite"),
        ([0, 0, np.inf, 48], {}, "NaN or infinite"),
        ([0, 0, 40], {}, "'view' must be 4 numbers [x0, y0, x1, y1]; it has shape (3,)"),
        ([0, 0, 150, 48], {"source_size": np.array([192, 96])}, None),  # inside 192x96: fine
        ([0, 0, 150, 100], {"source_size": np.array([192, 96])}, "192 x 96 frame"),
        ([0, 0, 10, 10], {"source_size": np.array([0, 96])}, "'source_size' must be positive"),
    ],
)
def test_bad_views_are_a_clear_400_and_store_nothing(
    client, researcher, settings, view, extra, words
):
    from pathlib import Path

    client.force_login(researcher)
    video = sized_video(researcher, Path(settings.MEDIA_ROOT), WIDTH, HEIGHT, title="bad")
    data = npz_bytes(
        map=np.ones((T, H, W), np.float32),
        timestamps=np.array([0.0, 0.25, 0.5, 0.75]),
        view=np.array(view, dtype=np.float64),
        **extra,
    )
    response = upload(client, video, data)
    if words is None:
        assert response.status_code == 201, response.json()
        assert response.json()["view"] == pytest.approx([0.0, 0.0, 75.0, 24.0])
        return
    assert response.status_code == 400
    message = response.json()["file"][0]
    assert words in message, message
    assert Explanation.objects.count() == 0


@pytest.mark.django_db
def test_a_file_without_a_view_is_the_whole_frame(client, researcher, settings):
    from pathlib import Path

    client.force_login(researcher)
    video = sized_video(researcher, Path(settings.MEDIA_ROOT), WIDTH, HEIGHT, title="whole")
    data = npz_bytes(map=np.ones((T, H, W), np.float32), timestamps=np.array([0, 0.25, 0.5, 0.75]))
    response = upload(client, video, data)
    assert response.status_code == 201, response.json()
    assert response.json()["view"] == [0.0, 0.0, 96.0, 48.0]
    assert Explanation.objects.get().view is None  # stored as "the whole frame"


def test_exports_shade_what_the_model_did_not_see():
    """The export renderer draws the map over the view only; outside it, the frame is dimmed
    and hatched (no colour of the map), whatever the map's values."""
    from workers.overlay import blend, colormap_lut, shade_unseen, view_layer

    frame = np.full((48, 96, 3), 200, dtype=np.uint8)
    heat = np.ones((4, 4), dtype=np.float32)
    layer, inside = view_layer(heat, 96, 48, VIEW, (WIDTH, HEIGHT))
    assert inside is not None
    assert inside[:, 24:72].all() and not inside[:, :24].any() and not inside[:, 72:].any()
    out = shade_unseen(blend(frame, layer, colormap_lut("jet"), 0.5, 0.0), frame, inside)
    lut = colormap_lut("jet")
    expected_inside = np.rint(200 * 0.5 + lut[255].astype(np.float32) * 0.5)
    assert np.all(out[:, 30] == expected_inside)  # the map's colour where the model looked
    band = out[:, :24].reshape(-1, 3)
    assert band.max() < 200 and len({tuple(p) for p in band}) == 2  # dim + hatch lines only
    whole, none = view_layer(heat, 96, 48, None, (WIDTH, HEIGHT))
    assert none is None and whole.shape == (48, 96)
