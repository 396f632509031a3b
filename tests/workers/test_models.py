"""Model loading (bundled, round trip, full-size, VideoMAE), bad checkpoints, training determinism."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from workers.models.fast_attention import eager_attention
from workers.models.loader import (
    LoadedModel,
    ModelInputError,
    ModelLoadError,
    build_model,
    bundled_model_path,
    load_model,
    save_model,
)
from workers.models.spec import InputSpec
from workers.synthetic import CLASSES, generate_dataset, model_batch, read_clip

TINY = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
}
TINY_SPEC = InputSpec(num_frames=4, image_size=32, patch_size=8)
FRESH_SEED = 31337  # neither the training nor the held-out dataset seed


def frames(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.fixture(scope="module")
def bundled() -> LoadedModel:
    return load_model(bundled_model_path())


@pytest.fixture
def tiny_dir(tmp_path):
    torch.manual_seed(0)
    m = build_model("timesformer", TINY_SPEC, ["a", "b", "c"], **TINY)
    save_model(m, tmp_path / "tiny")
    return tmp_path / "tiny"


def test_bundled_model_is_a_small_timesformer(bundled):
    assert bundled.architecture == "timesformer"
    assert bundled.labels == list(CLASSES)
    assert bundled.spec == InputSpec(num_frames=8, image_size=64, patch_size=16)
    assert bundled.spec.grid == (8, 4, 4)
    assert not bundled.model.training
    assert type(bundled.model).__name__ == "TimesformerForVideoClassification"
    assert bundled.model.config.attention_type == "divided_space_time"
    assert (bundled_model_path() / "model.safetensors").stat().st_size <= 10 * 2**20
    assert (bundled_model_path() / "MODEL_CARD.md").is_file()


def test_bundled_model_predicts_fresh_clips(bundled):
    x, y = model_batch(FRESH_SEED, range(24), 8, 64)
    pred = bundled.predict(x).argmax(1)
    assert (pred == y).sum() >= 23


def test_bundled_model_predicts_clips_read_from_mp4(bundled, tmp_path):
    records = generate_dataset(tmp_path, n=8, seed=FRESH_SEED, start_index=100)
    clips = [read_clip(r.video_path, bundled.spec) for r in records]
    pred = bundled.predict(np.stack([c.frames for c in clips])).argmax(1)
    assert (pred == np.array([r.label_index for r in records])).sum() >= 7


def test_preprocess_shapes_and_normalization(bundled):
    x = np.zeros((8, 64, 64, 3), np.uint8)
    x[..., 0] = 255
    t = bundled.preprocess(x)
    assert t.shape == (1, 8, 3, 64, 64) and t.dtype == torch.float32
    assert torch.allclose(t[:, :, 0], torch.ones(1)) and torch.allclose(t[:, :, 1], -torch.ones(1))
    assert bundled.preprocess(np.stack([x, x, x])).shape == (3, 8, 3, 64, 64)
    with pytest.raises(ModelInputError, match="T=8, S=64"):
        bundled.preprocess(np.zeros((8, 32, 32, 3), np.uint8))
    with pytest.raises(ModelInputError, match="uint8"):
        bundled.preprocess(np.zeros((8, 64, 64, 3), np.float32))


def test_round_trip_build_save_load_same_outputs(tmp_path):
    torch.manual_seed(1)
    built = build_model("timesformer", TINY_SPEC, ["a", "b", "c"], **TINY)
    save_model(built, tmp_path / "m")
    assert {"config.json", "model.safetensors", "labels.json"} <= {
        p.name for p in (tmp_path / "m").iterdir()
    }
    loaded = load_model(tmp_path / "m")
    assert loaded.labels == ["a", "b", "c"] and loaded.spec == TINY_SPEC
    assert loaded.path == (tmp_path / "m").resolve()
    x = frames((2, 4, 32, 32, 3))
    with torch.no_grad():
        a = built.model(pixel_values=built.preprocess(x)).logits
        b = loaded.model(pixel_values=loaded.preprocess(x)).logits
    assert torch.equal(a, b)
    # random weights really are random: another seed gives another model
    torch.manual_seed(2)
    other = build_model("timesformer", TINY_SPEC, ["a", "b", "c"], **TINY)
    with torch.no_grad():
        assert not torch.equal(a, other.model(pixel_values=other.preprocess(x)).logits)


def test_normalization_is_read_from_the_preprocessor_config(tiny_dir):
    cfg = json.loads((tiny_dir / "preprocessor_config.json").read_text())
    cfg["image_mean"], cfg["image_std"] = [0.45, 0.45, 0.45], [0.225, 0.225, 0.225]
    (tiny_dir / "preprocessor_config.json").write_text(json.dumps(cfg))
    loaded = load_model(tiny_dir)
    assert loaded.spec.mean == (0.45, 0.45, 0.45) and loaded.spec.std == (0.225, 0.225, 0.225)


def test_videomae_tiny_through_the_same_path(tmp_path):
    spec = InputSpec(num_frames=4, image_size=32, patch_size=8, tubelet_size=2)
    torch.manual_seed(0)
    built = build_model("videomae", spec, ["x", "y"], **TINY)
    save_model(built, tmp_path / "v")
    loaded = load_model(tmp_path / "v")
    assert loaded.architecture == "videomae" and loaded.spec.grid == (2, 4, 4)
    x = frames((4, 32, 32, 3))
    assert loaded.model.config._attn_implementation == "sdpa"  # the fused kernel
    with torch.no_grad(), eager_attention(loaded.model):  # probabilities need eager attention
        out = loaded.model(pixel_values=loaded.preprocess(x), output_attentions=True)
    assert loaded.model.config._attn_implementation == "sdpa"
    assert out.logits.shape == (1, 2)
    assert torch.allclose(torch.from_numpy(built.predict(x)), torch.softmax(out.logits, -1))
    assert len(out.attentions) == 2 and out.attentions[0].shape == (1, 2, 32, 32)


def test_full_size_timesformer_base_loads_and_runs(tmp_path):
    """TimeSformer-base (8 x 224 x 224, 12 layers, hidden 768) with random weights."""
    spec = InputSpec(num_frames=8, image_size=224, patch_size=16)
    labels = [f"class {i}" for i in range(400)]
    torch.manual_seed(0)
    built = build_model(
        "timesformer",
        spec,
        labels,
        hidden_size=768,
        num_hidden_layers=12,
        num_attention_heads=12,
        intermediate_size=3072,
    )
    save_model(built, tmp_path / "base")
    del built
    loaded = load_model(tmp_path / "base")
    cfg = loaded.model.config
    assert (cfg.num_hidden_layers, cfg.hidden_size, cfg.num_frames, cfg.image_size) == (
        12,
        768,
        8,
        224,
    )
    assert loaded.spec.grid == (8, 14, 14) and len(loaded.labels) == 400
    with torch.no_grad():
        logits = loaded.model(pixel_values=loaded.preprocess(frames((8, 224, 224, 3)))).logits
    assert logits.shape == (1, 400) and torch.isfinite(logits).all()


# --- bad checkpoints -------------------------------------------------------------------------


def expect_error(path, *words):
    with pytest.raises(ModelLoadError) as info:
        load_model(path)
    assert isinstance(info.value, ValueError)
    for w in words:
        assert w in str(info.value), str(info.value)


def test_missing_directory_and_config(tmp_path):
    expect_error(tmp_path / "nope", "not a directory")
    expect_error(tmp_path, "no config.json")


def test_bad_device(tiny_dir):
    with pytest.raises(ModelLoadError, match="device 'toaster'"):
        load_model(tiny_dir, device="toaster")


def test_directory_without_weights(tiny_dir):
    (tiny_dir / "model.safetensors").unlink()
    expect_error(tiny_dir, "no weights", "model.safetensors")
    (tiny_dir / "pytorch_model.bin").write_bytes(b"\x80")
    expect_error(tiny_dir, "no weights", "pytorch_model.bin")


@pytest.mark.parametrize("model_type", ["bert", "vivit", None])
def test_unsupported_architecture(tiny_dir, model_type):
    cfg = json.loads((tiny_dir / "config.json").read_text())
    cfg["model_type"] = model_type
    (tiny_dir / "config.json").write_text(json.dumps(cfg))
    expect_error(tiny_dir, "unsupported architecture", repr(model_type))


def test_label_map_with_the_wrong_number_of_classes(tiny_dir):
    (tiny_dir / "labels.json").write_text(json.dumps(["a", "b"]))
    expect_error(tiny_dir, "label map mismatch", "2 classes")


def test_label_map_that_disagrees_with_id2label(tiny_dir):
    (tiny_dir / "labels.json").write_text(json.dumps(["a", "c", "b"]))
    expect_error(tiny_dir, "label map mismatch", "index 1")


def test_label_map_that_is_not_a_list_of_names(tiny_dir):
    (tiny_dir / "labels.json").write_text(json.dumps({"0": "a"}))
    expect_error(tiny_dir, "labels.json", "list of class names")
    (tiny_dir / "labels.json").write_text(json.dumps(["a", "a", "b"]))
    expect_error(tiny_dir, "duplicate labels")


def test_labels_fall_back_to_id2label(tiny_dir):
    (tiny_dir / "labels.json").unlink()
    assert load_model(tiny_dir).labels == ["a", "b", "c"]


def test_broken_config_and_weights_that_do_not_fit(tiny_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_dir, broken)
    (broken / "config.json").write_text("{not json")
    expect_error(broken, "config.json", "not readable JSON")

    cfg = json.loads((tiny_dir / "config.json").read_text())
    cfg["hidden_size"], cfg["intermediate_size"] = 48, 96
    (tiny_dir / "config.json").write_text(json.dumps(cfg))
    expect_error(tiny_dir, "tiny")

    cfg["hidden_size"], cfg["image_size"] = 32, 30
    (tiny_dir / "config.json").write_text(json.dumps(cfg))
    expect_error(tiny_dir, "not a multiple of patch_size")


def test_build_model_rejects_bad_descriptions():
    with pytest.raises(ModelLoadError, match="unsupported architecture 'vivit'"):
        build_model("vivit", TINY_SPEC, ["a"])
    with pytest.raises(ModelLoadError, match="non-empty list"):
        build_model("timesformer", TINY_SPEC, [])
    with pytest.raises(ModelLoadError, match="patch_size"):
        build_model("timesformer", InputSpec(4, 30, 8), ["a", "b"], **TINY)
    with pytest.raises(ModelLoadError, match="num_frames"):
        build_model("timesformer", InputSpec(-4, 32, 8), ["a", "b"], **TINY)


# --- training ----------------------------------------------------------------------------------


def test_training_is_bit_reproducible_per_seed():
    from workers.train import TrainConfig, train

    def weights(seed):
        cfg = TrainConfig(
            seed=seed, steps=3, batch_size=4, train_clips=8, eval_clips=0, val_clips=0, log_every=1
        )
        loaded, log = train(cfg, verbose=False)
        assert [e["step"] for e in log["log"]] == [1, 2, 3]
        return {k: v.clone() for k, v in loaded.model.state_dict().items()}

    threads = torch.get_num_threads()
    a, b, c = weights(0), weights(0), weights(1)
    assert torch.get_num_threads() == threads  # training leaves the process settings alone
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
