"""Audio-visual explanations on the platform: which models hear, requests refused before
anything is queued when the video is silent, the audio curve computed by the real engine and
served, imported curves validated, and the sound temporal pointing game on the leaderboard."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.explanations_support import (  # noqa: F401 - fixtures
    fake_broker_fixture,
    ready_video,
    register_tiny_model,
    researcher_fixture,
    tiny_checkpoint_fixture,
)
from wherewhen.core import tasking
from wherewhen.explanations import services
from wherewhen.explanations.models import BulkRun, Explanation
from wherewhen.videos.models import Dataset

AV_TOKENS = 16  # workers.models.spec.AudioSpec().tokens, the random checkpoint's


@pytest.fixture(scope="session")
def av_checkpoint(tmp_path_factory):
    from workers.models.testing import write_random_av_checkpoint

    return write_random_av_checkpoint(tmp_path_factory.mktemp("models") / "av", seed=0)


@pytest.fixture
def av_model(researcher, av_checkpoint):
    return register_tiny_model(researcher, av_checkpoint, name="tiny-av")


@pytest.fixture
def api(client, researcher):
    client.force_login(researcher)
    return client


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def sound_benchmark(owner):
    """One synthetic benchmark clip with its event tone, ingested for real, with its ground
    truth (visual and sound segments) in the benchmark project."""
    from wherewhen.annotations.benchmark import load_benchmark
    from wherewhen.annotations.models import Project

    (video,) = load_benchmark(owner, n=1, seed=3, audio=True)
    return video, Project.objects.get(tasks__video=video)


# --- the registry says which models hear --------------------------------------------------------


@pytest.mark.django_db
def test_models_say_whether_they_are_audio_visual(api, researcher, av_model, tiny_checkpoint):
    video_model = register_tiny_model(researcher, tiny_checkpoint, name="tiny-video")
    rows = {m["name"]: m for m in api.get("/api/v1/models/").json()["results"]}
    assert rows["tiny-av"]["modalities"] == ["video", "audio"]
    assert rows["tiny-av"]["input_spec"]["audio"]["tokens"] == AV_TOKENS
    assert rows["tiny-video"]["modalities"] == ["video"]
    assert rows["tiny-video"]["input_spec"]["audio"] is None
    assert av_model.is_audio_visual and not video_model.is_audio_visual
    methods = {m["name"]: m for m in api.get("/api/v1/explanation-methods/").json()}
    assert methods["staa"]["audio_visual"] and not methods["lime"]["audio_visual"]


# --- requests refused up front --------------------------------------------------------------------


@pytest.mark.django_db
def test_audio_visual_model_on_a_silent_video_is_a_400_and_nothing_is_queued(
    api, researcher, av_model, settings, fake_broker
):
    video = ready_video(researcher, settings.MEDIA_ROOT, title="silent")
    response = post(
        api, "/api/v1/explanations/", {"video": video.pk, "model": av_model.pk, "method": "staa"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "video": [
            f"Video {video.pk} ('silent') has no audio track; model 'tiny-av' is audio-visual "
            "and needs sound."
        ]
    }
    assert Explanation.objects.count() == 0 and fake_broker.sent == []


@pytest.mark.django_db
def test_a_lost_sound_is_named_in_the_refusal(api, researcher, av_model, settings, fake_broker):
    video = ready_video(
        researcher,
        settings.MEDIA_ROOT,
        title="lost",
        audio_error="The sound could not be converted, so the video plays without it: x.",
    )
    response = post(
        api, "/api/v1/explanations/", {"video": video.pk, "model": av_model.pk, "method": "staa"}
    )
    assert response.status_code == 400
    assert "could not be converted" in response.json()["video"][0]
    assert Explanation.objects.count() == 0 and fake_broker.sent == []


@pytest.mark.django_db
def test_methods_that_cannot_hear_are_refused_for_audio_visual_models(
    api, researcher, av_model, settings, fake_broker
):
    video = ready_video(researcher, settings.MEDIA_ROOT, title="any", has_audio=True)
    response = post(
        api, "/api/v1/explanations/", {"video": video.pk, "model": av_model.pk, "method": "lime"}
    )
    assert response.status_code == 400
    message = response.json()["method"][0]
    assert "'lime' does not explain audio-visual models" in message
    assert "staa, staa_plus" in message
    assert Explanation.objects.count() == 0 and fake_broker.sent == []


@pytest.mark.django_db
def test_bulk_run_skips_silent_videos_for_an_audio_visual_model(
    api, researcher, av_model, settings, fake_broker
):
    dataset = Dataset.objects.create(owner=researcher, name="mixed")
    loud = ready_video(researcher, settings.MEDIA_ROOT, title="loud", has_audio=True)
    quiet = ready_video(researcher, settings.MEDIA_ROOT, title="quiet")
    dataset.videos.add(loud, quiet)
    body = {"dataset": dataset.pk, "model": av_model.pk, "methods": ["staa"]}
    response = post(api, "/api/v1/bulk-runs/", body)
    assert response.status_code == 201, response.json()
    run = BulkRun.objects.get()
    assert run.skipped == [{"video": quiet.pk, "reason": "no audio track"}]
    assert list(run.explanations.values_list("video_id", flat=True)) == [loud.pk]
    bad = post(api, "/api/v1/bulk-runs/", {**body, "methods": ["staa", "occlusion"]})
    assert bad.status_code == 400 and "occlusion" in bad.json()["methods"][0]


# --- computed by the real engine ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_computed_audio_curve_is_stored_served_and_scored(
    client, researcher, av_model, monkeypatch
):
    from wherewhen.explanations import compute
    from wherewhen.scoring import leaderboards
    from wherewhen.scoring import services as scoring

    monkeypatch.setattr(tasking, "celery_app", lambda: _Nowhere())
    monkeypatch.setattr(scoring.recompute, "send_recompute", lambda ids: None)
    video, project = sound_benchmark(researcher)
    assert video.has_audio and video.waveform
    client.force_login(researcher)
    response = post(
        client, "/api/v1/explanations/", {"video": video.pk, "model": av_model.pk, "method": "staa"}
    )
    assert response.status_code == 202, response.json()
    pk = response.json()["id"]
    outcome = compute.run(pk)
    assert outcome["outcome"] == "computed", outcome
    body = client.get(f"/api/v1/explanations/{pk}/").json()
    assert body["status"] == "done", body["error"]
    assert body["model"]["modalities"] == ["video", "audio"]
    audio = body["audio"]
    assert len(audio["importance"]) == AV_TOKENS and len(audio["times"]) == AV_TOKENS
    assert all(np.isfinite(audio["importance"]))
    times = np.array(audio["times"])
    assert np.all(times[:, 1] > times[:, 0])
    np.testing.assert_allclose(times[1:, 0], times[:-1, 1], atol=1e-6)  # back to back
    assert times[0, 0] == pytest.approx(0.0, abs=1e-6)
    assert times[-1, 1] == pytest.approx(video.duration, abs=0.07)  # the whole clip

    scoring.recompute_now(project)
    score = Explanation.objects.get(pk=pk).scores.get(reference="consensus")
    assert score.sound_hit is not None  # the clip has a sound segment and a curve
    scores = client.get(f"/api/v1/scoring/scores/?explanation={pk}").json()["results"]
    assert {r["sound_hit"] for r in scores} == {score.sound_hit}
    board = leaderboards.leaderboard(researcher, project)
    (row,) = board["rows"]
    assert row["sound"]["n"] == 1 and row["sound"]["value"] == float(score.sound_hit)
    truth = client.get(f"/api/v1/explanations/{pk}/ground-truth/").json()
    assert truth["sound_hit"] == score.sound_hit and len(truth["sound_segments"]) == 1


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_worker_refuses_a_video_whose_file_has_no_sound(client, researcher, av_model, settings):
    """The row says sound (e.g. stale), the file has none: the worker fails it, clearly."""
    from wherewhen.explanations import compute

    video = ready_video(researcher, settings.MEDIA_ROOT, title="mute", has_audio=True)
    e = services.request_explanation(
        researcher, video=video, model=av_model, method="staa"
    ).explanation
    compute.run(e.pk)
    e.refresh_from_db()
    assert e.status == "failed"
    assert e.error == (
        f"The video could not be read for the model: video {video.pk} has no audio track; "
        "model 'tiny-av' is audio-visual and needs sound"
    )


class _Nowhere:
    """The compute task runs in the test; the message it would send goes nowhere."""

    def send_task(self, *args, **kwargs):
        return None


# --- imported curves ---------------------------------------------------------------------------

T, H, W = 4, 7, 7


def npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def arrays(**overrides):
    rng = np.random.default_rng(3)
    out = {
        "map": rng.random((T, H, W)).astype(np.float32),
        "timestamps": np.array([0.0, 0.25, 0.5, 0.75]),
        "audio": np.array([0.1, 0.7, 0.3, 0.2], dtype=np.float32),
        "audio_times": np.array([[0.0, 0.25], [0.25, 0.5], [0.5, 0.75], [0.75, 1.0]]),
    }
    out.update(overrides)
    return {k: v for k, v in out.items() if v is not None}


def upload(api, video, data: bytes):
    body = {"video": video.pk, "method": "external-av"}
    body["file"] = SimpleUploadedFile("av.npz", data, content_type="application/octet-stream")
    return api.post("/api/v1/explanations/import/", body)


@pytest.mark.django_db
def test_imported_audio_curve_is_stored_and_served(api, researcher, settings):
    video = ready_video(researcher, settings.MEDIA_ROOT, title="imp")  # 1 s
    response = upload(api, video, npz_bytes(**arrays()))
    assert response.status_code == 201, response.json()
    body = api.get(f"/api/v1/explanations/{response.json()['id']}/").json()
    assert body["audio"]["importance"] == pytest.approx([0.1, 0.7, 0.3, 0.2])
    assert body["audio"]["times"] == [[0.0, 0.25], [0.25, 0.5], [0.5, 0.75], [0.75, 1.0]]
    plain = upload(api, video, npz_bytes(**arrays(audio=None, audio_times=None)))
    assert plain.status_code == 201 and plain.json()["audio"] is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"audio_times": None}, "has 'audio' but no 'audio_times'"),
        ({"audio": None}, "has 'audio_times' but no 'audio'"),
        ({"audio": np.ones((2, 2), np.float32)}, "shape (A,)"),
        ({"audio": np.ones(3, np.float32)}, "must have shape (3, 2)"),
        ({"audio": np.array([0.1, np.nan, 0.3, 0.2])}, "NaN or infinite"),
        ({"audio_times": np.array([[0, 0.25], [0.25, np.inf], [0.5, 0.75], [0.75, 1]])}, "NaN"),
        ({"audio_times": np.array([[0, 0.25], [0.5, 0.5], [0.5, 0.75], [0.75, 1]])}, "start < end"),
        ({"audio_times": np.array([[0.5, 0.75], [0, 0.25], [0.25, 0.5], [0.75, 1]])}, "increasing"),
        ({"audio_times": np.array([[0, 0.25], [0.25, 0.5], [0.5, 0.75], [0.75, 3]])}, "outside"),
        ({"audio": np.array(["a", "b", "c", "d"])}, "real numbers"),
    ],
)
def test_bad_imported_audio_is_a_400_that_writes_nothing(api, researcher, settings, change, words):
    from tests.platform.videohelpers import media_files

    video = ready_video(researcher, settings.MEDIA_ROOT, title="bad")
    before = media_files()
    response = upload(api, video, npz_bytes(**arrays(**change)))
    assert response.status_code == 400
    assert words in response.json()["file"][0]
    assert Explanation.objects.count() == 0
    assert media_files() == before


# --- demo data ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_demo_registers_both_bundled_models_once(
    monkeypatch, tiny_checkpoint, av_checkpoint, tmp_path
):
    import shutil

    from wherewhen.explanations import demo
    from wherewhen.explanations.models import RegisteredModel

    video_dir, av_dir = tmp_path / "tiny-timesformer", tmp_path / "tiny-av-transformer"
    shutil.copytree(tiny_checkpoint, video_dir)
    monkeypatch.setattr(demo, "bundled_model_dir", lambda: video_dir)
    monkeypatch.setattr(demo, "bundled_av_model_dir", lambda: av_dir)
    out = io.StringIO()
    demo.seed_demo(stdout=out)  # the audio-visual checkpoint is not there yet: skipped
    assert list(RegisteredModel.objects.values_list("name", flat=True)) == ["tiny-timesformer"]
    assert f"not at {av_dir} yet" in out.getvalue()
    shutil.copytree(av_checkpoint, av_dir)
    demo.seed_demo(stdout=out)
    demo.seed_demo(stdout=out)
    models = {m.name: m for m in RegisteredModel.objects.all()}
    assert set(models) == {"tiny-timesformer", "tiny-av-transformer"}
    av = models["tiny-av-transformer"]
    assert av.public and av.bundled and av.owner is None and av.is_audio_visual
    assert not models["tiny-timesformer"].is_audio_visual
