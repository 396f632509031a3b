"""Attention rows from q/k hooks on the fused-kernel models equal eager attention's maps.

STAA, STAA+ and rollout read the class token's attention rows (and the heads-fused matrices for
rollouts) from hooks on the query/key projections while the model runs its fused attention
kernel. Here every such explanation is compared with the old road, eager attention with the
probability tensors read by hooks (``reference_capture``), on the bundled models and on random
TimeSformer (divided and joint) and VideoMAE configurations: max abs difference <= 1e-5, CPU,
float32.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from workers.engine import explain
from workers.engine.attention import attention_layout
from workers.engine.rows import (
    CHUNK_BYTES,
    QKRecorder,
    qk_capture,
    reference_capture,
    road_for,
    spatial_rows,
)
from workers.models.fast_attention import eager_attention, uses_fast_attention
from workers.models.loader import build_model, bundled_model_path, load_model
from workers.models.spec import InputSpec
from workers.types import Clip

LABELS = ["a", "b", "c", "d", "e"]
SMALL = {
    "hidden_size": 48,
    "num_hidden_layers": 3,
    "num_attention_heads": 3,
    "intermediate_size": 96,
}
TOL = 1e-5
# The fused kernel and eager attention add up in different orders (which order depends on the
# CPU's instruction set); STAA+'s head focus raises the weights to a power, which stretches
# that float32 noise to a few parts in 10^4 of the map. A wrong row is off by far more.
RTOL = 1e-3

# (method, params): every attention-row road through STAA, STAA+ and rollout
CASES = [
    ("staa", {}),
    ("staa", {"layers": 2, "head_fusion": "max"}),
    ("staa", {"layers": "all", "temporal_weighting": "uniform"}),
    ("staa", {"layers": "rollout"}),
    ("staa", {"layers": "rollout", "head_fusion": "max"}),
    ("staa_plus", {}),
    ("staa_plus", {"layers": "last", "head_fusion": "focus", "temporal_focus": 1.0}),
    ("staa_plus", {"layers": "all", "head_fusion": "max", "smooth": 1.0}),
    ("rollout", {}),
    ("rollout", {"head_fusion": "max"}),
]


def _random(arch: str, spec: InputSpec, seed: int, **overrides):
    torch.manual_seed(seed)
    return build_model(arch, spec, LABELS, **{**SMALL, **overrides})


MODELS = {
    "bundled-timesformer": lambda: load_model(bundled_model_path()),
    "bundled-av": lambda: load_model(bundled_model_path().parent / "tiny-av-transformer"),
    "timesformer-divided": lambda: _random("timesformer", InputSpec(4, 48, 16), 1),
    "timesformer-joint": lambda: _random(
        "timesformer", InputSpec(4, 48, 16), 2, attention_type="joint_space_time"
    ),
    "videomae": lambda: _random("videomae", InputSpec(4, 48, 16, tubelet_size=2), 3),
    "videomae-cls-pool": lambda: _random(
        "videomae", InputSpec(4, 32, 8, tubelet_size=2), 4, use_mean_pooling=False
    ),
}


@pytest.fixture(scope="module", params=sorted(MODELS))
def loaded(request):
    return MODELS[request.param]()


def clips_for(loaded, n: int = 2) -> list[Clip]:
    rng = np.random.default_rng(5)
    spec = loaded.spec
    clips = []
    for k in range(n):
        audio = None
        span = None
        if spec.audio is not None:
            audio = rng.uniform(-0.5, 0.5, spec.audio.num_samples).astype(np.float32)
            span = (float(k), float(k) + spec.audio.duration)
        clips.append(
            Clip(
                frames=rng.integers(
                    0, 256, (spec.num_frames, spec.image_size, spec.image_size, 3), np.uint8
                ),
                timestamps=np.arange(spec.num_frames) * 0.25 + k,
                source_size=(320, 240),
                video_id=f"v{k}",
                audio=audio,
                audio_span=span,
            )
        )
    return clips


def test_models_run_the_fused_kernel(loaded):
    assert uses_fast_attention(loaded.model)
    with eager_attention(loaded.model):
        assert not uses_fast_attention(loaded.model)
    assert uses_fast_attention(loaded.model)


@pytest.mark.parametrize("road", ["qk", "chosen"])
@pytest.mark.parametrize(("method", "params"), CASES)
def test_rows_from_qk_equal_eager_attention_maps(loaded, method, params, road):
    """Both roads agree with the reference: the q/k hooks (forced), and the road chosen for
    the device (on a CPU, whole matrices come from eager attention reduced layer by layer)."""
    clips = clips_for(loaded)
    if road == "qk":
        with qk_capture():
            fast = explain(loaded, clips, method, **params)
    else:
        fast = explain(loaded, clips, method, **params)
    assert uses_fast_attention(loaded.model)
    with reference_capture():
        eager = explain(loaded, clips, method, **params)
    assert uses_fast_attention(loaded.model)  # the reference pass switched back
    for a, b in zip(fast, eager, strict=True):
        np.testing.assert_allclose(a.map, b.map, rtol=RTOL, atol=TOL)
        np.testing.assert_allclose(a.temporal, b.temporal, rtol=RTOL, atol=TOL)
        if b.audio is not None:
            np.testing.assert_allclose(a.audio, b.audio, rtol=RTOL, atol=TOL)
        assert a.target == b.target
        assert [p.label_index for p in a.topk] == [p.label_index for p in b.topk]
        # a method that read nothing would also "agree" with a constant: the maps say something
        assert b.map.std() > 0


def test_a_batch_of_clips_gives_each_clip_its_own_explanation(loaded):
    """Requests batched into one forward get what they would get one at a time."""
    clips = clips_for(loaded, 3)
    for method in ("staa", "staa_plus"):
        together = explain(loaded, clips, method)
        for clip, batched in zip(clips, together, strict=True):
            (alone,) = explain(loaded, clip, method)
            assert np.abs(alone.map - batched.map).max() <= TOL
            assert np.abs(alone.temporal - batched.temporal).max() <= TOL


def test_the_fused_kernel_predicts_what_eager_attention_predicts(loaded):
    clips = clips_for(loaded)
    x = loaded.preprocess(np.stack([c.frames for c in clips]))
    audio = None
    if loaded.spec.audio is not None:
        audio = loaded.preprocess_audio(np.stack([c.audio for c in clips]))
    with torch.no_grad():
        fast = loaded.logits(x, audio)
        with eager_attention(loaded.model):
            eager = loaded.logits(x, audio)
    torch.testing.assert_close(fast, eager, rtol=1e-4, atol=1e-5)


def test_chunked_rows_equal_one_big_softmax(monkeypatch):
    """The mean query row and the fused matrix, computed in query chunks, are the plain
    softmax's (chunks of 7 rows over 50 queries: uneven last chunk)."""
    torch.manual_seed(0)
    q, k = torch.randn(2, 3, 50, 8), torch.randn(2, 3, 50, 8)
    layout = attention_layout(MODELS["videomae"]())
    tap = layout.qk_spatial[0]
    probs = ((q @ k.transpose(-2, -1)) * tap.scale).softmax(dim=-1)
    monkeypatch.setattr("workers.engine.rows.CHUNK_BYTES", 2 * 3 * 50 * 4 * 7)
    for has_cls in (False, True):
        rows, fused = spatial_rows(q, k, tap, has_cls, "max")
        expected = probs[:, :, 0] if has_cls else probs.mean(dim=-2)
        torch.testing.assert_close(rows, expected)
        torch.testing.assert_close(fused, probs.amax(dim=1))
    assert CHUNK_BYTES >= 2**20


def test_hooks_are_removed_and_only_chosen_layers_are_read():
    model = MODELS["timesformer-divided"]()
    layout = attention_layout(model)
    x = model.preprocess(clips_for(model, 1)[0].frames)
    with torch.no_grad(), QKRecorder(layout, [1], None) as rec:
        model.logits(x)
    assert set(rec.rows.spatial) == {1} and set(rec.rows.temporal) == {1}
    assert not rec.rows.spatial_fused
    t, h, w = model.spec.grid
    assert rec.rows.spatial[1].shape == (t, 3, 1 + h * w)
    assert rec.rows.temporal[1].shape == (h * w, 3, t)
    torch.testing.assert_close(rec.rows.spatial[1].sum(-1), torch.ones(t, 3))
    for tap in layout.qk_spatial + layout.qk_temporal:
        assert not tap.modules[0]._forward_hooks


def test_whole_matrices_on_a_cpu_come_from_eager_attention():
    cpu, gpu = torch.device("cpu"), torch.device("cuda")
    assert road_for(cpu, "mean") == "eager" and road_for(cpu, "max") == "eager"
    assert road_for(cpu, None) == "qk"  # class-token rows alone: the fused kernel stays on
    assert road_for(gpu, "mean") == "qk" and road_for(gpu, None) == "qk"
