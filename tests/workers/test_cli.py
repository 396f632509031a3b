"""The command-line tools: ``python -m workers.explain`` and ``python -m workers.evaluate``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from workers import evaluate as evaluate_cli
from workers import explain as explain_cli
from workers.models.loader import build_model, save_model
from workers.models.spec import InputSpec
from workers.synthetic import CLASSES, SceneConfig, generate_dataset

ROOT = Path(__file__).resolve().parents[2]
TINY = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    loaded = build_model("timesformer", InputSpec(4, 32, 8), list(CLASSES), **TINY)
    path = tmp_path_factory.mktemp("model")
    save_model(loaded, path)
    return path


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bench")
    config = SceneConfig(width=64, height=48, num_frames=16, fps=8, event_frames=(3, 4))
    generate_dataset(path, n=3, seed=5, config=config)
    return path


def test_explain_writes_an_npz(model_dir, data_dir, tmp_path, capsys):
    video = sorted(data_dir.glob("*.mp4"))[0]
    out = tmp_path / "result.npz"
    argv = [str(video), "--model", str(model_dir), "--method", "staa_plus", "--out", str(out)]
    assert explain_cli.main(argv) == 0
    assert "staa_plus: explained class" in capsys.readouterr().out
    with np.load(out) as r:
        assert r["map"].shape == (4, 4, 4)
        assert r["temporal"].shape == (4,)
        assert r["timestamps"].shape == (4,)
        assert r["source_size"].tolist() == [64, 48]
        assert str(r["method"]) == "staa_plus"
        assert json.loads(str(r["cost"]))["forward_passes"] == 1
        assert json.loads(str(r["params"]))["layers"] == "rollout"
        assert r["topk_label"].shape == (4,)


def test_explain_params_and_target(model_dir, data_dir, tmp_path):
    video = sorted(data_dir.glob("*.mp4"))[0]
    out = tmp_path / "r.npz"
    argv = [str(video), "--model", str(model_dir), "--method", "rise", "--out", str(out)]
    argv += ["--param", "n_masks=4", "--target", "2"]
    assert explain_cli.main(argv) == 0
    with np.load(out) as r:
        assert int(r["target"]) == 2
        assert json.loads(str(r["params"]))["n_masks"] == 4


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method", "nope"], "unknown method 'nope'"),
        (["--target", "9"], "target class 9 is out of range"),
        (["--param", "bogus=1"], "unknown parameter(s) 'bogus'"),
    ],
)
def test_explain_bad_input_exits_2_with_a_message(
    model_dir, data_dir, tmp_path, capsys, extra, message
):
    video = sorted(data_dir.glob("*.mp4"))[0]
    argv = [str(video), "--model", str(model_dir), "--out", str(tmp_path / "x.npz"), *extra]
    assert explain_cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_explain_missing_video(model_dir, tmp_path, capsys):
    argv = [str(tmp_path / "missing.mp4"), "--model", str(model_dir)]
    assert explain_cli.main(argv) == 2
    assert "missing.mp4" in capsys.readouterr().err


def test_explain_list(capsys):
    assert explain_cli.main(["unused", "--list"]) == 0
    out = capsys.readouterr().out
    assert "kernel_shap:" in out and '"n_samples": 1000' in out


def test_evaluate_prints_a_table_and_writes_json(model_dir, data_dir, tmp_path, capsys):
    out = tmp_path / "results.json"
    argv = [
        "--data",
        str(data_dir),
        "--model",
        str(model_dir),
        "--methods",
        "staa,random,center",
        "--metrics",
        "spatial_pointing,temporal_pointing,spacetime_pointing,energy_pointing,deletion_auc,sparsity",
        "--json",
        str(out),
    ]
    assert evaluate_cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "spatial_pointing" in printed and "center" in printed
    results = json.loads(out.read_text())
    assert results["n_clips"] == 3
    assert set(results["methods"]) == {"staa", "random", "center"}
    row = results["methods"]["staa"]
    assert 0.0 <= row["spatial_pointing"] <= 1.0
    assert 0.0 <= row["deletion_auc"] <= 1.0
    assert 0.0 <= row["sparsity"] <= 1.0


def test_evaluate_rejects_unknown_metric_and_method(model_dir, data_dir, capsys):
    base = ["--data", str(data_dir), "--model", str(model_dir)]
    assert evaluate_cli.main([*base, "--metrics", "accuracy"]) == 2
    assert "unknown metric" in capsys.readouterr().err
    assert evaluate_cli.main([*base, "--methods", "gradcam"]) == 2
    assert "unknown method 'gradcam'" in capsys.readouterr().err


def test_frame_ground_truth_matches_boxes_by_source_frame():
    gt = {
        "fps": 4,
        "boxes": [{"frame": 2, "x0": 1, "y0": 2, "x1": 3, "y1": 4}],
        "when": {"start": 0.5, "end": 0.5},
    }
    boxes, mask, segments = evaluate_cli.frame_ground_truth(gt, np.array([0.0, 0.5, 1.0]))
    assert mask[:, 0].tolist() == [False, True, False]
    assert boxes[1, 0].tolist() == [1, 2, 3, 4]
    assert segments.tolist() == [[0.5, 0.5]]


def test_modules_run_as_scripts(model_dir, data_dir, tmp_path):
    video = sorted(data_dir.glob("*.mp4"))[0]
    out = tmp_path / "s.npz"
    cmd = [sys.executable, "-m", "workers.explain", str(video), "--model", str(model_dir)]
    cmd += ["--method", "staa", "--out", str(out)]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert out.is_file()
