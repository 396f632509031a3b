"""The attribution engine: every method's output, determinism, attention capture, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workers.engine import (
    ExplainError,
    available_methods,
    explain,
    method_defaults,
    predict_probabilities,
    randomization_stages,
    randomize_model,
)
from workers.engine.attention import (
    AttentionRecorder,
    attention_layout,
    rollout_divided,
    rollout_joint,
)
from workers.metrics import model_randomization_check
from workers.models.loader import LoadedModel, build_model
from workers.models.spec import InputSpec
from workers.types import Clip

LABELS = ["red", "green", "blue"]
TINY = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
}
FAST = {
    "integrated_gradients": {"n_steps": 3},
    "occlusion": {"window_cells": 2, "stride_cells": 2, "tube_frames": 2},
    "rise": {"n_masks": 8, "batch_size": 8},
    "lime": {"n_samples": 12, "batch_size": 12},
    "kernel_shap": {"n_samples": 12, "batch_size": 12},
}
EXPECTED_METHODS = {
    "staa",
    "staa_plus",
    "rollout",
    "grad_attention",
    "integrated_gradients",
    "occlusion",
    "rise",
    "lime",
    "kernel_shap",
    "random",
    "center",
}


@pytest.fixture(scope="module")
def timesformer() -> LoadedModel:
    torch.manual_seed(0)
    return build_model("timesformer", InputSpec(4, 32, 8), LABELS, **TINY)


@pytest.fixture(scope="module")
def videomae() -> LoadedModel:
    torch.manual_seed(0)
    return build_model("videomae", InputSpec(4, 32, 8, tubelet_size=2), LABELS, **TINY)


def make_clips(n: int = 2, frames: int = 4, size: int = 32) -> list[Clip]:
    rng = np.random.default_rng(0)
    return [
        Clip(
            frames=rng.integers(0, 256, size=(frames, size, size, 3), dtype=np.uint8),
            timestamps=np.arange(frames) * 0.25 + k,
            source_size=(160, 120),
            video_id=f"clip{k}",
        )
        for k in range(n)
    ]


def test_registry_has_every_method():
    assert set(available_methods()) == EXPECTED_METHODS
    assert method_defaults("lime")["n_samples"] == 1000
    assert method_defaults("kernel_shap")["n_samples"] == 1000
    assert method_defaults("staa")["layers"] == "last"


@pytest.mark.parametrize("method", sorted(EXPECTED_METHODS))
@pytest.mark.parametrize("arch", ["timesformer", "videomae"])
def test_every_method_shape_finite_deterministic(method, arch, request):
    loaded = request.getfixturevalue(arch)
    clips = make_clips()
    params = FAST.get(method, {})
    first = explain(loaded, clips, method, **params)
    second = explain(loaded, clips, method, **params)
    grid = loaded.spec.grid
    assert len(first) == 2
    for clip, a, b in zip(clips, first, second, strict=True):
        assert a.method == method
        assert a.map.shape == grid and a.map.dtype == np.float32
        assert a.temporal.shape == (grid[0],)
        assert np.isfinite(a.map).all() and np.isfinite(a.temporal).all()
        np.testing.assert_array_equal(a.map, b.map)
        np.testing.assert_array_equal(a.temporal, b.temporal)
        tub = loaded.spec.tubelet_size
        np.testing.assert_array_equal(a.timestamps, clip.timestamps[::tub])
        assert 0 <= a.target < len(LABELS)
        assert a.topk[0].label_index == a.target  # no target given: the top-1 class
        probs = [p.probability for p in a.topk]
        assert probs == sorted(probs, reverse=True) and len(probs) == len(LABELS)
        assert a.cost.forward_passes >= 1 and a.cost.wall_seconds > 0
        assert a.params == {**method_defaults(method), **params}


def test_pass_counts(timesformer):
    clips = make_clips(1)
    assert explain(timesformer, clips, "staa")[0].cost.forward_passes == 1
    assert explain(timesformer, clips, "staa_plus")[0].cost.forward_passes == 1
    g = explain(timesformer, clips, "grad_attention")[0].cost
    assert (g.forward_passes, g.backward_passes) == (1, 1)
    r = explain(timesformer, clips, "rise", n_masks=8)[0].cost
    assert r.forward_passes == 8 + 1
    lime = explain(timesformer, clips, "lime", n_samples=10, batch_size=5)[0].cost
    assert lime.forward_passes == 10 + 1


def test_target_is_respected_and_class_specific_maps_differ(timesformer):
    clips = make_clips(1)
    a = explain(timesformer, clips, "grad_attention", target=0)[0]
    b = explain(timesformer, clips, "grad_attention", target=2)[0]
    assert (a.target, b.target) == (0, 2)
    assert not np.allclose(a.map, b.map)
    per_clip = explain(timesformer, make_clips(2), "staa", target=[1, 2])
    assert [e.target for e in per_clip] == [1, 2]


def test_batch_equals_one_by_one(timesformer):
    clips = make_clips(3)
    batch = explain(timesformer, clips, "staa_plus")
    for clip, e in zip(clips, batch, strict=True):
        single = explain(timesformer, clip, "staa_plus")[0]
        np.testing.assert_allclose(single.map, e.map, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    "params",
    [
        {"layers": "last", "head_fusion": "focus", "smooth": 1.0},
        {"layers": 2, "head_fusion": "max", "temporal_focus": 4.0},
        {"temporal_peak": 0.0, "threshold_k": 0.0, "sharpen": 1.0},
        {"temporal_peak": 1.0, "temporal_threshold_k": 1.0, "temporal_sharpen": 4.0},
    ],
)
def test_staa_plus_options(timesformer, videomae, params):
    for model in (timesformer, videomae):
        e = explain(model, make_clips(1), "staa_plus", **params)[0]
        assert np.isfinite(e.map).all() and e.map.min() >= 0
        assert e.map.sum() == pytest.approx(1.0, abs=1e-5)
        np.testing.assert_allclose(e.map.sum(axis=(1, 2)), e.temporal, rtol=1e-4, atol=1e-7)


def test_staa_plus_keeps_the_maximum_and_the_order_below_the_threshold(timesformer):
    e = explain(timesformer, make_clips(1), "staa_plus", temporal_peak=0.0)[0]
    assert (e.map > 0).all()  # the floor keeps every cell, so no artificial ties


def test_random_baseline_seed(timesformer):
    clips = make_clips(1)
    a = explain(timesformer, clips, "random", seed=1)[0].map
    b = explain(timesformer, clips, "random", seed=2)[0].map
    assert not np.array_equal(a, b)


# ------------------------------------------------------------------------ attention capture


def test_hooks_capture_the_same_spatial_attention_hf_returns(timesformer):
    clips = make_clips(2)
    x = timesformer.preprocess(np.stack([c.frames for c in clips]))
    layout = attention_layout(timesformer)
    with torch.no_grad(), AttentionRecorder(layout, keep="full") as rec:
        out = timesformer.model(pixel_values=x, output_attentions=True)
    for i, hf in enumerate(out.attentions):
        torch.testing.assert_close(rec.spatial[i], hf)
    t, h, w = layout.grid
    assert rec.temporal[0].shape == (2 * h * w, 2, t, t)  # (B*P, heads, T, T)
    torch.testing.assert_close(rec.temporal[0].sum(-1), torch.ones(2 * h * w, 2, t))


def test_staa_where_is_the_class_token_attention_of_the_last_layer(timesformer):
    clip = make_clips(1)[0]
    x = timesformer.preprocess(clip.frames)
    with torch.no_grad():
        att = timesformer.model(pixel_values=x, output_attentions=True).attentions[-1]
    t, h, w = timesformer.spec.grid
    cls_row = att[:, :, 0, 1:].mean(dim=1).reshape(t, h, w).numpy()  # heads fused by mean
    expected = cls_row / cls_row.sum(axis=(1, 2), keepdims=True)
    e = explain(timesformer, clip, "staa")[0]
    got = e.map / e.map.sum(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # the frame sums of the joint map are the temporal importance
    np.testing.assert_allclose(e.map.sum(axis=(1, 2)), e.temporal, rtol=1e-5)
    assert e.temporal.sum() == pytest.approx(1.0, abs=1e-5)


def test_staa_layer_and_head_options(timesformer):
    clip = make_clips(1)
    maps = {
        (layers, hf): explain(timesformer, clip, "staa", layers=layers, head_fusion=hf)[0].map
        for layers in ("last", 2, "rollout")
        for hf in ("mean", "max")
    }
    assert not np.allclose(maps[("last", "mean")], maps[("last", "max")])
    assert not np.allclose(maps[("last", "mean")], maps[(2, "mean")])
    assert not np.allclose(maps[("last", "mean")], maps[("rollout", "mean")])


def test_videomae_without_class_token_uses_mean_query_rows(videomae):
    clip = make_clips(1)[0]
    x = videomae.preprocess(clip.frames)
    layout = attention_layout(videomae)
    assert (layout.kind, layout.has_cls) == ("joint", False)
    with torch.no_grad(), AttentionRecorder(layout, keep="full") as rec:
        videomae.model(pixel_values=x)
    last = rec.spatial[max(rec.spatial)]
    t, h, w = videomae.spec.grid
    expected = last.mean(dim=-2).mean(dim=1).reshape(t, h, w).numpy()
    e = explain(videomae, clip, "staa")[0]
    np.testing.assert_allclose(e.map, expected / expected.sum(), rtol=1e-5)


def test_attention_is_captured_even_if_the_model_was_switched_to_sdpa(videomae):
    clip = make_clips(1)
    videomae.model.set_attn_implementation("sdpa")
    try:
        e = explain(videomae, clip, "staa")[0]
        assert videomae.model.config._attn_implementation == "sdpa"  # restored
        assert np.isfinite(e.map).all() and e.map.sum() == pytest.approx(1.0, abs=1e-5)
    finally:
        videomae.model.set_attn_implementation("eager")


def brute_force_rollout(sp, tp):
    """Full-matrix rollout of divided attention (patch-major tokens, class token first)."""
    b_, t_, p1, _ = sp[0].shape
    p_ = p1 - 1
    n = 1 + p_ * t_
    out = []
    for b in range(b_):
        rollout = torch.eye(n, dtype=torch.float64)
        for s, tm in zip(sp, tp, strict=True):
            tmat = torch.zeros(n, n, dtype=torch.float64)
            tmat[0, 0] = 1
            smat = torch.zeros(n, n, dtype=torch.float64)
            for t in range(t_):
                smat[0, 0] += s[b, t, 0, 0] / t_
                for p in range(p_):
                    row = 1 + p * t_ + t
                    smat[0, row] += s[b, t, 0, 1 + p] / t_
                    smat[row, 0] = s[b, t, 1 + p, 0]
                    for q in range(p_):
                        smat[row, 1 + q * t_ + t] = s[b, t, 1 + p, 1 + q]
                    for u in range(t_):
                        tmat[row, 1 + p * t_ + u] = tm[b, p, t, u]
            eye = torch.eye(n, dtype=torch.float64)
            rollout = (0.5 * eye + 0.5 * smat) @ (0.5 * eye + 0.5 * tmat) @ rollout
        out.append(rollout[0, 1:].reshape(p_, t_).T)
    return torch.stack(out)


def test_divided_rollout_matches_the_full_matrix_product():
    g = torch.Generator().manual_seed(0)
    b, t, p, layers = 2, 3, 4, 2
    sp = [
        torch.softmax(torch.randn(b, t, p + 1, p + 1, generator=g), -1).double()
        for _ in range(layers)
    ]
    tp = [torch.softmax(torch.randn(b, p, t, t, generator=g), -1).double() for _ in range(layers)]
    got = rollout_divided(sp, tp, (t, 2, 2))
    torch.testing.assert_close(got, brute_force_rollout(sp, tp))


def test_joint_rollout_matches_the_full_matrix_product():
    g = torch.Generator().manual_seed(1)
    full = [torch.softmax(torch.randn(2, 5, 5, generator=g), -1).double() for _ in range(3)]
    eye = torch.eye(5, dtype=torch.float64)
    r = eye.expand(2, 5, 5)
    for a in full:
        r = (0.5 * eye + 0.5 * a) @ r
    torch.testing.assert_close(rollout_joint(full, has_cls=True), r[:, 0, 1:])
    torch.testing.assert_close(rollout_joint(full, has_cls=False), r.mean(dim=1))


# ------------------------------------------------------------------------------ bad input


def test_wrong_frame_count(timesformer):
    with pytest.raises(ExplainError, match="has 3 frames; the model expects 4"):
        explain(timesformer, make_clips(1, frames=3), "staa")


def test_wrong_frame_size(timesformer):
    with pytest.raises(ExplainError, match="expects 32x32"):
        explain(timesformer, make_clips(1, size=48), "staa")


def test_wrong_dtype_and_timestamps(timesformer):
    clip = make_clips(1)[0]
    bad = Clip(clip.frames.astype(np.float32), clip.timestamps, clip.source_size)
    with pytest.raises(ExplainError, match="uint8"):
        explain(timesformer, bad, "staa")
    bad = Clip(clip.frames, clip.timestamps[:2], clip.source_size)
    with pytest.raises(ExplainError, match="timestamps"):
        explain(timesformer, bad, "staa")


def test_unknown_method_lists_the_available_ones(timesformer):
    with pytest.raises(ExplainError, match="unknown method 'gradcam'.*staa_plus"):
        explain(timesformer, make_clips(1), "gradcam")


def test_unknown_or_bad_parameter(timesformer):
    with pytest.raises(ExplainError, match="unknown parameter.*'n_sample'.*lime"):
        explain(timesformer, make_clips(1), "lime", n_sample=10)
    with pytest.raises(ExplainError, match="head_fusion"):
        explain(timesformer, make_clips(1), "staa", head_fusion="median")
    with pytest.raises(ExplainError, match="layers=5 is out of range"):
        explain(timesformer, make_clips(1), "staa", layers=5)
    with pytest.raises(ExplainError, match="temporal_peak must be in"):
        explain(timesformer, make_clips(1), "staa_plus", temporal_peak=2.0)
    with pytest.raises(ExplainError, match="sharpen must be a number >= 0"):
        explain(timesformer, make_clips(1), "staa_plus", sharpen=-1)
    with pytest.raises(ExplainError, match="bf16"):
        explain(timesformer, make_clips(1), "staa", precision="bf16")
    with pytest.raises(ExplainError, match="'fp16' needs a CUDA device"):
        explain(timesformer, make_clips(1), "staa", precision="fp16")
    with pytest.raises(ExplainError, match="precision must be 'fp32', 'bf16' or 'fp16'"):
        explain(timesformer, make_clips(1), "staa", precision="int8")


def test_class_out_of_range(timesformer):
    with pytest.raises(ExplainError, match=r"target class 3 is out of range.*3 classes"):
        explain(timesformer, make_clips(1), "grad_attention", target=3)
    with pytest.raises(ExplainError, match="target class -1"):
        explain(timesformer, make_clips(1), "staa", target=-1)


class _Logits:
    def __init__(self, logits: torch.Tensor) -> None:
        self.logits = logits


class PoolingClassifier(torch.nn.Module):
    """A video classifier without attention."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(3, len(LABELS))

    def forward(self, pixel_values: torch.Tensor) -> _Logits:
        return _Logits(self.fc(pixel_values.mean(dim=(1, 3, 4))))


def test_model_without_attention(timesformer):
    loaded = LoadedModel(
        PoolingClassifier().eval(),
        "timesformer",
        timesformer.spec,
        LABELS,
        None,
        torch.device("cpu"),
    )
    with pytest.raises(ExplainError, match="needs a transformer with attention.*PoolingClassifier"):
        explain(loaded, make_clips(1), "staa")
    # methods that only need the model's output still work
    assert explain(loaded, make_clips(1), "occlusion", stride_cells=2)[0].map.shape == (4, 4, 4)


def test_space_only_timesformer_is_refused():
    torch.manual_seed(0)
    loaded = build_model(
        "timesformer", InputSpec(4, 32, 8), LABELS, attention_type="space_only", **TINY
    )
    with pytest.raises(ExplainError, match="space_only"):
        explain(loaded, make_clips(1), "staa")


# -------------------------------------------------------------------------- randomization


def test_randomize_model_cascade_leaves_the_original_untouched(timesformer):
    stages = randomization_stages(timesformer)
    assert stages == ["head", "layer_1", "layer_0", "embeddings"]
    before = {k: v.clone() for k, v in timesformer.model.state_dict().items()}
    head_only = randomize_model(timesformer, upto="head")
    full = randomize_model(timesformer)
    for k, v in timesformer.model.state_dict().items():
        torch.testing.assert_close(v, before[k])
    sd_head, sd_full = head_only.model.state_dict(), full.model.state_dict()
    assert not torch.equal(sd_head["classifier.weight"], before["classifier.weight"])
    key = "timesformer.encoder.layer.0.attention.attention.qkv.weight"
    assert torch.equal(sd_head[key], before[key])
    assert not torch.equal(sd_full[key], before[key])
    with pytest.raises(ExplainError, match="unknown randomization stage"):
        randomize_model(timesformer, upto="layer_9")


def test_model_randomization_check_runs_every_stage(timesformer):
    result = model_randomization_check(timesformer, make_clips(2), "staa", cascade=True)
    assert result.stages == randomization_stages(timesformer)
    for stage in result.stages:
        assert result.correlations[stage].shape == (2,)
    # STAA is class agnostic: randomizing only the head cannot change its maps
    assert result.mean("head") == pytest.approx(1.0)
    assert result.fully_randomized < 0.9


def test_predict_probabilities_matches_the_model(timesformer):
    clips = make_clips(2)
    frames = np.stack([c.frames for c in clips])
    probs = predict_probabilities(timesformer)(frames.astype(np.float32))
    np.testing.assert_allclose(probs, timesformer.predict(frames), rtol=1e-5, atol=1e-6)
