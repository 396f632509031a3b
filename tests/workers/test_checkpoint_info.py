"""read_checkpoint_info (torch-free) must agree with load_model on what a checkpoint is."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.explanations_support import write_tiny_checkpoint
from workers.models.checkpoint_info import (
    CheckpointError,
    checkpoint_fingerprint,
    read_checkpoint_info,
)
from workers.models.loader import ModelLoadError, build_model, load_model, save_model
from workers.models.spec import InputSpec

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_checkpoint(tmp_path_factory.mktemp("c") / "tiny")


@pytest.fixture(scope="module")
def videomae(tmp_path_factory):
    import torch

    torch.manual_seed(0)
    spec = InputSpec(num_frames=4, image_size=32, patch_size=8, tubelet_size=2)
    m = build_model(
        "videomae", spec, ["x", "y"], hidden_size=32, num_hidden_layers=1,
        num_attention_heads=2, intermediate_size=64,
    )  # fmt: skip
    path = tmp_path_factory.mktemp("c") / "vmae"
    save_model(m, path)
    return path


def test_agrees_with_the_loader(tiny, videomae):
    for path in (tiny, videomae):
        loaded = load_model(path)
        assert read_checkpoint_info(path) == (loaded.architecture, loaded.spec, loaded.labels)


def test_normalization_and_id2label(tiny, tmp_path):
    copy = tmp_path / "c"
    shutil.copytree(tiny, copy)
    pre = json.loads((copy / "preprocessor_config.json").read_text())
    pre["image_mean"], pre["image_std"] = [0.45, 0.45, 0.45], [0.225, 0.225, 0.225]
    (copy / "preprocessor_config.json").write_text(json.dumps(pre))
    (copy / "labels.json").unlink()  # the config's id2label is used instead
    info = read_checkpoint_info(copy)
    loaded = load_model(copy)
    assert info == (loaded.architecture, loaded.spec, loaded.labels)
    assert info[1].mean == (0.45, 0.45, 0.45)


def breakages():
    def config(edit):
        def apply(d: Path):
            cfg = json.loads((d / "config.json").read_text())
            edit(cfg)
            (d / "config.json").write_text(json.dumps(cfg))

        return apply

    return {
        "no config": lambda d: (d / "config.json").unlink(),
        "config not json": lambda d: (d / "config.json").write_text("{"),
        "unknown architecture": config(lambda c: c.update(model_type="bert")),
        "no weights": lambda d: (d / "model.safetensors").unlink(),
        "pickled weights only": lambda d: (d / "model.safetensors").rename(d / "pytorch_model.bin"),
        "labels not a list": lambda d: (d / "labels.json").write_text('{"a": 1}'),
        "duplicate labels": lambda d: (d / "labels.json").write_text('["a","a","b","c"]'),
        "num_labels mismatch": config(lambda c: c.update(num_labels=7)),
        "patch does not divide": config(lambda c: c.update(patch_size=7)),
        "bad preprocessor": lambda d: (d / "preprocessor_config.json").write_text(
            '{"image_mean": [0.5], "image_std": [0.5, 0.5, 0.5]}'
        ),
    }


@pytest.mark.parametrize("name", sorted(breakages()))
def test_refuses_what_the_loader_refuses(tiny, tmp_path, name):
    copy = tmp_path / "c"
    shutil.copytree(tiny, copy)
    breakages()[name](copy)
    with pytest.raises(CheckpointError) as ours:
        read_checkpoint_info(copy)
    with pytest.raises(ModelLoadError):
        load_model(copy)
    assert str(ours.value)  # a message for the person registering it


def test_truncated_weights_are_caught_without_torch(tiny, tmp_path):
    copy = tmp_path / "c"
    shutil.copytree(tiny, copy)
    data = (copy / "model.safetensors").read_bytes()
    (copy / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated"):
        read_checkpoint_info(copy)


def test_fingerprint_follows_the_files(tiny, tmp_path):
    copy = tmp_path / "c"
    shutil.copytree(tiny, copy)
    before = checkpoint_fingerprint(copy)
    assert checkpoint_fingerprint(copy) == before
    (copy / "labels.json").write_text('["r", "g", "b", "y"]')
    assert checkpoint_fingerprint(copy) != before


def test_reading_a_checkpoint_does_not_import_torch(tiny):
    code = (
        "import sys; from workers.models.checkpoint_info import read_checkpoint_info; "
        f"read_checkpoint_info({str(tiny)!r}); print('torch' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
