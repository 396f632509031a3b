"""Gradient-based methods: gradient-weighted attention and Integrated Gradients (Captum)."""

from __future__ import annotations

import torch
from captum.attr import IntegratedGradients

from workers.engine._utils import combine, normalize_last, temporal_from_parts, to_output
from workers.engine.attention import attention_layout, capture, layer_indices, rows_to_grid
from workers.engine.errors import ExplainError
from workers.engine.grid import pool_to_grid, temporal_from_map
from workers.engine.registry import MethodOutput, register, samples_plus_one
from workers.engine.run import Run


@register(
    "grad_attention",
    defaults={"layers": "last", "temporal_weighting": "spatial"},
    needs_attention=True,
    class_specific=True,
    choices={"temporal_weighting": ("spatial", "uniform")},
    summary="Gradient-weighted attention (Grad-CAM on attention): mean over heads of "
    "relu(attention * d score / d attention), class specific; one forward + one backward.",
)
def grad_attention(run: Run) -> MethodOutput:
    layout = attention_layout(run.loaded)
    idx = layer_indices(run.params["layers"], layout.num_layers)
    layout, rec, logits = capture(run, idx, "full", grad=True)
    run.note_logits(logits)
    targets = torch.tensor(run.targets(), device=logits.device)
    score = logits.gather(1, targets[:, None]).sum()
    score.backward()
    run.backward_passes += run.batch
    b = run.batch
    t, h, w = layout.grid
    p = h * w
    spatial_layers, temporal_layers = [], []
    for i in idx:
        a = rec.spatial[i]
        if a.grad is None:
            raise ExplainError("no gradient reached the attention probabilities")
        cam = (a.detach() * a.grad).clamp_min(0).float()
        rows = cam[:, :, 0, :] if layout.has_cls else cam.mean(dim=-2)
        spatial_layers.append(rows_to_grid(rows, layout, b).mean(dim=1))  # (B, T, P)
        if layout.kind == "divided":
            ta = rec.temporal[i]
            tcam = (ta.detach() * ta.grad).clamp_min(0).float()  # (B*P, H, T, T)
            temporal_layers.append(tcam.mean(dim=-2).mean(dim=1).reshape(b, p, t))
    spatial = torch.stack(spatial_layers).mean(dim=0)
    if layout.kind == "joint":
        maps = normalize_last(spatial.flatten(1)).reshape(spatial.shape)
        temporal = spatial.sum(dim=-1)
    else:
        recv = torch.stack(temporal_layers).mean(dim=0)
        temporal = temporal_from_parts(spatial, recv, run.params["temporal_weighting"])
        maps = combine(spatial, temporal)
    run.model.zero_grad(set_to_none=True)
    return to_output(run, maps, normalize_last(temporal))


def aggregate_pixels(attr: torch.Tensor, run: Run, how: str) -> torch.Tensor:
    """Per-pixel attributions ``(B, T, 3, S, S)`` -> cell map ``(B, T', h, w)``."""
    a = attr.float().sum(dim=2)  # channels
    if how == "abs":
        a = a.abs()
    elif how == "positive":
        a = a.clamp_min(0)
    elif how != "signed":
        raise ExplainError(f"aggregate must be 'abs', 'positive' or 'signed', got {how!r}")
    return pool_to_grid(a, run.grid, reduce="sum")


def baseline_tensor(run: Run, baseline: str) -> torch.Tensor:
    """The reference input in normalized space: ``"mean"`` is the normalization mean colour
    (all zeros), ``"black"`` is black pixels."""
    if baseline == "mean":
        return torch.zeros_like(run.inputs)
    if baseline == "black":
        spec = run.loaded.spec
        mean = torch.tensor(spec.mean, dtype=run.inputs.dtype, device=run.device)
        std = torch.tensor(spec.std, dtype=run.inputs.dtype, device=run.device)
        return ((0.0 - mean) / std).view(1, 1, 3, 1, 1).expand_as(run.inputs).clone()
    raise ExplainError(f"baseline must be 'mean' or 'black', got {baseline!r}")


@register(
    "integrated_gradients",
    defaults={
        "n_steps": 32,
        "baseline": "mean",
        "aggregate": "abs",
        "internal_batch_size": 16,
    },
    class_specific=True,
    choices={"baseline": ("mean", "black"), "aggregate": ("abs", "positive", "signed")},
    passes=samples_plus_one("n_steps"),
    summary="Integrated Gradients (Captum, Gauss-Legendre steps) from a mean-colour baseline, "
    "summed over channels and over each token cell's pixels.",
)
def integrated_gradients(run: Run) -> MethodOutput:
    p = run.params
    n_steps = p["n_steps"]
    if not isinstance(n_steps, int) or n_steps < 1:
        raise ExplainError(f"n_steps must be a positive int, got {n_steps!r}")
    targets = run.targets()

    def forward(x: torch.Tensor) -> torch.Tensor:
        return run.forward(x, grad=True)

    ig = IntegratedGradients(forward)
    attr = ig.attribute(
        run.inputs,
        baselines=baseline_tensor(run, p["baseline"]),
        target=targets,
        n_steps=n_steps,
        internal_batch_size=int(p["internal_batch_size"]),
    )
    run.backward_passes += n_steps * run.batch
    run.model.zero_grad(set_to_none=True)
    maps = aggregate_pixels(attr.detach(), run, p["aggregate"])
    return to_output(run, maps, normalize_last(temporal_from_map(maps)))
