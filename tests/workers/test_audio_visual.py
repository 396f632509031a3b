"""The audio-visual side of the engine: benchmark sound modes, the model, STAA's audio curve,
the sound pointing game and the audio perturbation tests."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from workers.engine import ExplainError, explain, predict_probabilities_audio
from workers.metrics import audio_deletion_curve, audio_insertion_curve, sound_pointing_game
from workers.models.checkpoint_info import CheckpointError, read_checkpoint_info
from workers.models.loader import ModelInputError, load_model
from workers.models.spec import AudioSpec, audio_token_times
from workers.models.testing import write_random_av_checkpoint
from workers.synthetic import (
    CLASS_COLOURS,
    SceneConfig,
    SyntheticConfigError,
    generate_dataset,
    ground_truth,
    read_clip,
    scene_for,
)
from workers.synthetic.scene import AV_SOUND_MIX, CLASS_TONES_HZ
from workers.types import Clip

AV = SceneConfig(sound_mix=AV_SOUND_MIX)


@pytest.fixture(scope="module")
def av_dir(tmp_path_factory):
    return write_random_av_checkpoint(tmp_path_factory.mktemp("av") / "ckpt", seed=3)


@pytest.fixture(scope="module")
def av_model(av_dir):
    return load_model(av_dir)


def av_clips(n: int, seed: int = 0) -> list[Clip]:
    rng = np.random.default_rng(seed)
    return [
        Clip(
            frames=rng.integers(0, 256, (8, 64, 64, 3), dtype=np.uint8),
            timestamps=np.arange(8) / 4.0,
            source_size=(128, 128),
            audio=(0.1 * rng.standard_normal(32000)).astype(np.float32),
            audio_span=(0.0, 2.0),
        )
        for _ in range(n)
    ]


# --- the benchmark's sound -----------------------------------------------------------------


def tone_energy(audio: np.ndarray, hz: float, sr: int = 16000) -> float:
    t = np.arange(len(audio)) / sr
    return float(abs(np.sum(audio * np.exp(-2j * np.pi * hz * t))) / len(audio))


def test_sound_modes_follow_the_mix_and_keep_the_pictures():
    modes = [scene_for(5, i, AV).sound_mode for i in range(200)]
    counts = {m: modes.count(m) for m, _ in AV_SOUND_MIX}
    assert all(counts[m] > 0 for m in counts), counts
    assert counts["synced"] > counts["silent"]
    # the sound mode comes from its own generator: a clip that flashes looks the same under
    # the default (all synced) mix and the audio-visual one
    for i in range(12):
        a, b = scene_for(5, i, AV), scene_for(5, i)
        if a.sound_mode != "sound_only":
            assert np.array_equal(a.render_frames([0, 10, 20]), b.render_frames([0, 10, 20]))
    # and the default mix is all synced, as before
    assert {scene_for(5, i).sound_mode for i in range(50)} == {"synced"}


def test_ground_truth_of_each_sound_mode():
    seen = set()
    for i in range(80):
        scene = scene_for(2, i, AV)
        gt = ground_truth(scene, audio=True)
        mode = gt["sound_mode"]
        seen.add(mode)
        hz = CLASS_TONES_HZ[scene.label]
        audio = scene.audio()
        if mode == "silent":
            assert gt["sound"] is None
            assert tone_energy(audio, hz) < 0.01
            assert gt["when"] is not None and gt["boxes"]
            continue
        s0, s1 = gt["sound"]["start"], gt["sound"]["end"]
        sr = scene.config.audio_sample_rate
        inside = audio[int(s0 * sr) : int(s1 * sr)]
        outside = np.concatenate([audio[: int(s0 * sr)], audio[int(s1 * sr) :]])
        assert tone_energy(inside, hz) > 0.1
        if len(outside):
            assert tone_energy(outside, hz) < 0.01
        if mode == "synced":
            assert gt["sound"]["frames"] == gt["when"]["frames"]
        elif mode == "offset":
            f0, f1 = gt["when"]["frames"]
            g0, g1 = gt["sound"]["frames"]
            assert g1 < f0 - 1 or g0 > f1 + 1  # never touches the flash
            assert g1 - g0 == f1 - f0
        else:  # sound_only: the target never shows a class colour
            assert gt["when"] is None and gt["boxes"] == []
            frames = scene.render_frames()
            for colour in CLASS_COLOURS.values():
                assert not np.all(frames == np.array(colour, np.uint8), axis=-1).any()
    assert seen == {"synced", "offset", "silent", "sound_only"}


def test_without_audio_there_is_no_sound_truth():
    gt = ground_truth(scene_for(2, 0, AV), audio=False)
    assert gt["sound"] is None and gt["sound_mode"] is None


@pytest.mark.parametrize(
    "mix, match",
    [
        ((("loud", 1.0),), "unknown sound mode"),
        ((("synced", 1.5),), "must be in"),
        ((("synced", 0.0),), "must not all be 0"),
        ((), "pairs"),
    ],
)
def test_bad_sound_mix_is_refused(mix, match):
    with pytest.raises(SyntheticConfigError, match=match):
        SceneConfig(sound_mix=mix)


def test_written_clips_carry_the_sound_truth(tmp_path, av_model):
    records = generate_dataset(tmp_path, n=3, seed=4, audio=True, config=AV)
    manifest = json.loads((tmp_path / "dataset.json").read_text())
    assert manifest["config"]["sound_mix"] == [list(m) for m in AV_SOUND_MIX]
    for r in records:
        clip = read_clip(r.video_path, av_model.spec)
        assert clip.audio.shape == (av_model.spec.audio.num_samples,)
        assert clip.audio_span == pytest.approx((0.0, 2.0))
        ref = scene_for(4, int(r.clip_id[-5:]), AV).audio()
        assert np.corrcoef(clip.audio, ref)[0, 1] > 0.99  # AAC round trip, same timing


# --- the model ------------------------------------------------------------------------------


def test_checkpoint_reads_the_same_with_and_without_torch(av_dir, av_model):
    arch, spec, labels = read_checkpoint_info(av_dir)
    assert arch == av_model.architecture == "wherewhen_av"
    assert spec == av_model.spec and spec.audio == AudioSpec()
    assert labels == av_model.labels


def test_checkpoint_without_audio_settings_is_refused(tmp_path, av_dir):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(av_dir, bad)
    cfg = json.loads((bad / "config.json").read_text())
    cfg.pop("audio")
    (bad / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="needs an 'audio' object"):
        read_checkpoint_info(bad)
    with pytest.raises(CheckpointError, match="needs an 'audio' object"):
        load_model(bad)


def test_saved_model_predicts_what_it_did_before_saving(av_model):
    clips = av_clips(3)
    frames = np.stack([c.frames for c in clips])
    audio = np.stack([c.audio for c in clips])
    probs = av_model.predict(frames, audio=audio)
    assert probs.shape == (3, 4) and np.allclose(probs.sum(1), 1, atol=1e-5)
    # the sound matters: the same frames with other audio give other probabilities
    assert not np.allclose(probs, av_model.predict(frames, audio=audio[::-1].copy()))
    with pytest.raises(ModelInputError, match="needs audio"):
        av_model.predict(frames)
    with pytest.raises(ModelInputError, match="S=32000"):
        av_model.predict(frames, audio=audio[:, :100])


# --- STAA across modalities -----------------------------------------------------------------


def manual_last_layer_audio_attention(loaded, clip: Clip) -> np.ndarray:
    """The class token's last-layer attention to the audio tokens, heads averaged, computed
    here from the model's weights without hooks."""
    m = loaded.model
    x = loaded.preprocess(clip.frames)
    a = loaded.preprocess_audio(clip.audio)
    with torch.no_grad():
        tokens = torch.cat([m.cls_token, m.visual_tokens(x), m.audio_tokens_of(a)], dim=1)
        for layer in m.encoder.layers[:-1]:
            tokens = layer(tokens)
        last = m.encoder.layers[-1].attention
        h = m.encoder.layers[-1].norm1(tokens)
        b, n, d = h.shape
        qkv = last.qkv(h).reshape(b, n, 3, last.heads, last.head_dim).permute(2, 0, 3, 1, 4)
        probs = (qkv[0] @ qkv[1].transpose(-1, -2) / math.sqrt(last.head_dim)).softmax(-1)
    row = probs[0, :, 0, -m.audio_tokens :].mean(0).numpy()
    return row / row.sum()


def test_staa_audio_curve_is_the_class_tokens_attention_to_sound(av_model):
    clips = av_clips(2, seed=1)
    exps = explain(av_model, clips, "staa")
    for clip, e in zip(clips, exps, strict=True):
        assert e.cost.forward_passes == 1
        assert e.map.shape == (8, 4, 4) and e.audio.shape == (16,)
        np.testing.assert_allclose(
            e.audio, manual_last_layer_audio_attention(av_model, clip), rtol=1e-4, atol=1e-6
        )
        np.testing.assert_allclose(e.audio_times, audio_token_times((0.0, 2.0), 16))
        # the visual map is normalized over visual tokens only
        assert e.map.sum() == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("method", ["staa_plus", "rollout", "random", "center"])
def test_every_audio_visual_method_gives_a_curve(av_model, method):
    exps = explain(av_model, av_clips(2), method)
    for e in exps:
        assert e.audio.shape == (16,) and np.all(np.isfinite(e.audio)) and np.all(e.audio >= 0)
        assert e.audio_times[0, 0] == 0.0 and e.audio_times[-1, 1] == pytest.approx(2.0)


def test_audio_times_follow_the_clip_span(av_model):
    clip = av_clips(1)[0]
    clip.audio_span = (3.0, 7.0)  # a 4 s window stretched into the model's 2 s
    e = explain(av_model, clip, "staa")[0]
    assert e.audio_times[0].tolist() == [3.0, 3.25] and e.audio_times[-1, 1] == 7.0


def test_bad_audio_visual_requests_are_refused(av_model):
    clip = av_clips(1)[0]
    with pytest.raises(ExplainError, match="does not explain audio-visual models yet"):
        explain(av_model, clip, "occlusion")
    silent = Clip(clip.frames, clip.timestamps, clip.source_size)
    with pytest.raises(ExplainError, match="has no sound"):
        explain(av_model, silent, "staa")
    short = Clip(clip.frames, clip.timestamps, clip.source_size, audio=clip.audio[:999])
    short.audio_span = (0.0, 2.0)
    with pytest.raises(ExplainError, match=r"expects \(32000,\)"):
        explain(av_model, short, "staa")
    nan = Clip(clip.frames, clip.timestamps, clip.source_size, audio=clip.audio.copy())
    nan.audio[5] = np.nan
    nan.audio_span = (0.0, 2.0)
    with pytest.raises(ExplainError, match="finite"):
        explain(av_model, nan, "staa")
    no_span = Clip(clip.frames, clip.timestamps, clip.source_size, audio=clip.audio)
    with pytest.raises(ExplainError, match="audio_span"):
        explain(av_model, no_span, "staa")


# --- metrics ----------------------------------------------------------------------------------


def test_sound_pointing_game_by_hand():
    times = np.stack([audio_token_times((0.0, 2.0), 4)] * 4)  # centres 0.25 0.75 1.25 1.75
    audio = np.array(
        [
            [0.1, 0.7, 0.1, 0.1],  # peak at 0.75 s: inside [0.5, 1.0]
            [0.5, 0.1, 0.1, 0.5],  # tie: the first (0.25 s) counts, outside [1.5, 2.0]
            [0.0, 0.0, 0.0, 1.0],  # 1.75 s on the closed end of [1.0, 1.75]
            [1.0, 0.0, 0.0, 0.0],  # no sound segment: not counted
        ]
    )
    segments = np.array([[[0.5, 1.0]], [[1.5, 2.0]], [[1.0, 1.75]], [[np.nan, np.nan]]])
    r = sound_pointing_game(audio, times, segments)
    assert r.hits.tolist()[:3] == [True, False, True]
    assert r.counted.tolist() == [True, True, True, False]
    assert r.accuracy == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match=r"\(C, A, 2\)"):
        sound_pointing_game(audio, times[..., 0], segments)


def loudness_predict(segment: slice):
    """A known scoring function: the 'class' probability is the sound energy in ``segment``."""

    def fn(waves: np.ndarray) -> np.ndarray:
        e = np.sqrt(np.mean(waves[:, segment] ** 2, axis=1))
        p = e / (e + 0.05)
        return np.stack([p, 1 - p], axis=1)

    return fn


def test_audio_deletion_and_insertion_reward_the_right_token():
    wave = np.zeros(1600, np.float32)
    wave[400:600] = 0.5  # the evidence lies in token 2 of 8 (samples 400..600)
    predict = loudness_predict(slice(400, 600))
    right = np.array([0, 0, 1, 0, 0, 0, 0, 0], float)
    wrong = np.array([1, 0, 0, 0, 0, 0, 0, 0.5], float)
    d_right = audio_deletion_curve(predict, wave, right, 0)
    d_wrong = audio_deletion_curve(predict, wave, wrong, 0)
    assert d_right.scores[0] == d_wrong.scores[0] > 0.8  # nothing silenced yet
    assert d_right.scores[1] == pytest.approx(0.0)  # the evidence went first
    assert d_right.auc < d_wrong.auc
    i_right = audio_insertion_curve(predict, wave, right, 0)
    i_wrong = audio_insertion_curve(predict, wave, wrong, 0)
    assert i_right.auc > i_wrong.auc
    assert len(d_right.fractions) == 9  # one token per step
    with pytest.raises(ValueError, match="NaN"):
        audio_deletion_curve(predict, wave, np.full(8, np.nan), 0)


def test_audio_perturbation_runs_on_the_model(av_model):
    clip = av_clips(1, seed=4)[0]
    e = explain(av_model, clip, "staa")[0]
    hear = predict_probabilities_audio(av_model, clip.frames)
    r = audio_deletion_curve(hear, clip.audio, e.audio, e.target)
    full = av_model.predict(clip.frames, audio=clip.audio)[0, e.target]
    assert r.scores[0] == pytest.approx(full, abs=1e-5)
    silent = av_model.predict(clip.frames, audio=np.zeros(32000, np.float32))[0, e.target]
    assert r.scores[-1] == pytest.approx(silent, abs=1e-5)


# --- training ---------------------------------------------------------------------------------


def test_av_training_is_bit_reproducible_per_seed():
    from workers.train_av import AVTrainConfig, train_av

    def weights(seed):
        cfg = AVTrainConfig(
            seed=seed, steps=2, batch_size=4, train_clips=8, eval_clips=0, val_clips=0, log_every=1
        )
        loaded, log = train_av(cfg, verbose=False)
        assert [e["step"] for e in log["log"]] == [1, 2]
        return {k: v.clone() for k, v in loaded.model.state_dict().items()}

    a, b, c = weights(0), weights(0), weights(1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


# --- command line -----------------------------------------------------------------------------


def test_cli_explains_sound_and_refuses_a_silent_video(tmp_path, av_dir, capsys):
    from workers.explain import main

    (rec,) = generate_dataset(tmp_path / "av", n=1, seed=6, audio=True, config=AV)
    out = tmp_path / "r.npz"
    assert (
        main([str(rec.video_path), "--model", str(av_dir), "--method", "staa", "--out", str(out)])
        == 0
    )
    with np.load(out) as z:
        assert z["audio"].shape == (16,) and z["audio_times"].shape == (16, 2)
        assert z["audio"].sum() == pytest.approx(1.0, abs=1e-5)
    (mute,) = generate_dataset(tmp_path / "mute", n=1, seed=6, audio=False)
    code = main([str(mute.video_path), "--model", str(av_dir), "--out", str(tmp_path / "x.npz")])
    assert code == 2
    assert "has no audio track" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()


def test_generator_cli_writes_the_audio_visual_mix(tmp_path):
    from workers.synthetic.__main__ import main

    assert main(["--n", "6", "--seed", "2", "--out", str(tmp_path), "--av-mix", "--quiet"]) == 0
    manifest = json.loads((tmp_path / "dataset.json").read_text())
    assert manifest["audio"] is True
    modes = [
        json.loads((tmp_path / c["ground_truth"]).read_text())["sound_mode"]
        for c in manifest["clips"]
    ]
    assert modes == [scene_for(2, i, AV).sound_mode for i in range(6)]
