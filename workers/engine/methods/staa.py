"""STAA, STAA+ and space-time attention rollout: explanations read off one forward pass.

STAA (raw), for a batch of clips:

* *where*: the spatial importance of patch ``p`` in frame ``t`` is the class token's attention
  to ``p`` in frame ``t``'s spatial attention (heads fused by mean or max; layers: the last one,
  the mean of the last ``L``, or the rollout through all of them). Models without a class token
  (VideoMAE) use the mean of all query rows, i.e. the attention the pooled representation pays.
* *when*: for divided space-time models the importance of frame ``t`` is the temporal attention
  that frame ``t`` receives (mean over query frames), averaged over patch positions weighted by
  their spatial importance (``temporal_weighting="spatial"``) or uniformly; for joint-attention
  models it is the attention mass on frame ``t``'s tokens.
* the joint map is ``temporal[t] * spatial[t, p] / sum_p spatial[t, p]``: one map that says where
  *and* when, whose frame sums are the temporal importance.

STAA+ post-processes the same captured attention (no extra passes); see :func:`staa_plus` and
``docs/methods.md`` for the defaults and the benchmark numbers that chose them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from workers.engine._utils import EPS, combine, normalize_last, temporal_from_parts, to_output
from workers.engine.attention import (
    AttentionLayout,
    attention_layout,
    audio_rows,
    fuse_heads,
    layer_indices,
    rollout_divided,
    rollout_joint,
    rows_to_grid,
)
from workers.engine.errors import ExplainError
from workers.engine.registry import MethodOutput, register
from workers.engine.rows import AttentionRows, capture_rows
from workers.engine.run import Run


def attention_parts(run: Run, layers: Any, rollout_heads: str = "mean") -> dict[str, Any]:
    """Capture attention rows in one forward pass and arrange them per layer and head.

    Returns ``spatial`` (Lsel, B, H, T, P): the class token's attention (or the mean query
    row) on the token grid; ``temporal_recv`` (Lsel, B, H, P, T): the temporal attention each
    frame receives at every patch position (divided models; else None); ``rollout`` (B, T, P)
    with heads fused by ``rollout_heads`` when ``layers == "rollout"``; and the layout.
    """
    layout = attention_layout(run.loaded)
    n = layout.num_layers
    idx = layer_indices(layers, n)
    fusion = rollout_heads if layers == "rollout" else None
    layout, rec, logits = capture_rows(run, idx, fusion)
    run.note_logits(logits)
    b = run.batch
    t, h, w = layout.grid
    p = h * w
    out: dict[str, Any] = {"layout": layout, "layers": idx}
    spatial_layers, temporal_layers, audio_layers = [], [], []
    for i in idx:
        rows = rec.spatial[i]
        spatial_layers.append(rows_to_grid(rows, layout, b))  # (B, H, T, P)
        if layout.audio_tokens:
            audio_layers.append(audio_rows(rows, layout))  # (B, H, A)
        if layout.kind == "divided":
            tr = rec.temporal[i]
            heads = tr.shape[1]
            temporal_layers.append(tr.reshape(b, p, heads, t).permute(0, 2, 1, 3))  # (B,H,P,T)
    out["spatial"] = torch.stack(spatial_layers)  # (L, B, H, T, P)
    out["temporal_recv"] = torch.stack(temporal_layers) if temporal_layers else None
    out["audio"] = torch.stack(audio_layers) if audio_layers else None  # (L, B, H, A)
    if layers == "rollout":
        out["rollout"], out["rollout_audio"] = _rollout_from_fused(layout, rec, idx, b)
    return out


def _rollout_from_fused(
    layout: AttentionLayout, rec: AttentionRows, idx: list[int], batch: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Rollout ``(B, T, P)`` from the heads-fused attention matrices of layers ``idx``, and for
    audio-visual models the rollout's audio part ``(B, A)`` (else None)."""
    t, h, w = layout.grid
    p = h * w
    if layout.kind == "divided":
        sp = [rec.spatial_fused[i].reshape(batch, t, p + 1, p + 1) for i in idx]
        tp = [rec.temporal_fused[i].reshape(batch, p, t, t) for i in idx]
        return rollout_divided(sp, tp, layout.grid), None
    r = rollout_joint([rec.spatial_fused[i] for i in idx], layout.has_cls)
    audio = r[:, t * p :] if layout.audio_tokens else None
    r = r[:, : t * p]
    if layout.token_order == "patch_major":
        return r.reshape(batch, p, t).transpose(1, 2), audio
    return r.reshape(batch, t, p), audio


STAA_DEFAULTS = {"layers": "last", "head_fusion": "mean", "temporal_weighting": "spatial"}
STAA_CHOICES = {"head_fusion": ("mean", "max"), "temporal_weighting": ("spatial", "uniform")}


def audio_from_parts(parts: dict[str, Any], layers: Any, head_fusion: str) -> torch.Tensor | None:
    """*When it is heard*: the class token's attention to each audio token ``(B, A)`` (heads
    fused, the chosen layers averaged, or the rollout's audio part), normalized to sum 1; None
    for video-only models."""
    if parts.get("audio") is None:
        return None
    if layers == "rollout":
        audio = parts["rollout_audio"]
    else:
        audio = fuse_heads(parts["audio"], head_fusion, dim=2).mean(dim=0)
    return normalize_last(audio)


def staa_raw(
    run: Run, layers: Any, head_fusion: str, temporal_weighting: str
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, Any]]:
    """Raw STAA: returns (map (B,T,P), temporal (B,T), spatial (B,T,P), parts); for
    audio-visual models ``parts["audio_importance"]`` is the audio curve (B, A)."""
    parts = attention_parts(run, layers, head_fusion)
    parts["audio_importance"] = audio_from_parts(parts, layers, head_fusion)
    if layers == "rollout":
        spatial = parts["rollout"]
    else:
        spatial = fuse_heads(parts["spatial"], head_fusion, dim=2).mean(dim=0)  # (B, T, P)
    recv = parts["temporal_recv"]
    recv_f = None if recv is None else fuse_heads(recv, head_fusion, dim=2).mean(dim=0)
    if parts["layout"].kind == "joint":
        temporal = spatial.clamp_min(0).sum(dim=-1)
        maps = normalize_last(spatial.flatten(1)).reshape(spatial.shape)
    else:
        temporal = temporal_from_parts(spatial, recv_f, temporal_weighting)
        maps = combine(spatial, temporal)
    return maps, normalize_last(temporal), spatial, parts


@register(
    "staa",
    defaults=STAA_DEFAULTS,
    needs_attention=True,
    class_specific=False,
    choices=STAA_CHOICES,
    audio_visual=True,
    summary="Spatio-temporal attention attribution from one forward pass (raw).",
)
def staa(run: Run) -> MethodOutput:
    p = run.params
    maps, temporal, _, parts = staa_raw(run, p["layers"], p["head_fusion"], p["temporal_weighting"])
    return to_output(run, maps, temporal, parts["audio_importance"])


# ---------------------------------------------------------------------------------------------
# STAA+


def gaussian_smooth(x: torch.Tensor, sigma: float, h: int, w: int) -> torch.Tensor:
    """Separable Gaussian smoothing over the spatial token grid of ``(..., h*w)`` values
    (zero padding, renormalized at the border so the border is not darkened)."""
    if sigma <= 0:
        return x
    radius = max(1, int(np.ceil(2.5 * sigma)))
    coords = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (coords / sigma) ** 2)
    kernel = kernel / kernel.sum()
    shape = x.shape
    img = x.reshape(-1, 1, h, w)
    ones = torch.ones(1, 1, h, w, dtype=x.dtype, device=x.device)
    kx = kernel.view(1, 1, 1, -1)
    ky = kernel.view(1, 1, -1, 1)

    def conv(z: torch.Tensor) -> torch.Tensor:
        z = torch.nn.functional.conv2d(z, kx, padding=(0, radius))
        return torch.nn.functional.conv2d(z, ky, padding=(radius, 0))

    out = conv(img) / conv(ones).clamp_min(EPS)
    return out.reshape(shape)


def dynamic_threshold(
    x: torch.Tensor, k: float, floor: float, dims: tuple[int, ...]
) -> torch.Tensor:
    """Per-sample dynamic threshold ``tau = mean + k * std`` over ``dims`` (the sample's own
    statistics); values above keep their excess over ``tau``, values below keep only
    ``floor * x`` so the order among them survives (no artificial ties)."""
    mean = x.mean(dim=dims, keepdim=True)
    std = x.std(dim=dims, keepdim=True, unbiased=False)
    tau = mean + k * std
    top = x.amax(dim=dims, keepdim=True)
    tau = torch.minimum(tau, top - 1e-6 * top.abs().clamp_min(EPS))  # the maximum always survives
    return (x - tau).clamp_min(0) + floor * x


def concentration(p: torch.Tensor) -> torch.Tensor:
    """``1 - entropy / log(n)`` of distributions along the last axis: 0 for uniform, 1 for a
    single spike."""
    p = normalize_last(p)
    ent = -(p * p.clamp_min(EPS).log()).sum(dim=-1)
    return (1.0 - ent / np.log(p.shape[-1])).clamp_min(0)


def head_focus_weights(spatial_heads: torch.Tensor, power: float = 1.0) -> torch.Tensor:
    """Attention focusing over heads for *where*: weight of each (layer, head) per clip from
    how concentrated its spatial attention is (averaged over frames), raised to ``power``.

    ``spatial_heads`` is (L, B, H, T, P); returns weights (L, B, H, 1, 1) summing to 1 over
    layers and heads."""
    conc = concentration(spatial_heads).mean(dim=-1) ** power  # (L, B, H)
    wts = conc / conc.sum(dim=(0, 2), keepdim=True).clamp_min(EPS)
    return wts[..., None, None]


def focused_temporal(recv: torch.Tensor, weights: torch.Tensor, power: float) -> torch.Tensor:
    """Attention focusing for *when*.

    ``recv`` (L, B, H, P, T) is the temporal attention each frame receives at each patch
    position, per layer and head; ``weights`` (B, P) the spatial importance of the positions.
    Each (layer, head) gives a distribution over frames (positions weighted by ``weights``);
    they are averaged with weights ``concentration ** power``, so heads that single out a few
    frames lead and heads that spread evenly (no temporal information) fade out. ``power=0``
    is the plain mean."""
    per_head = torch.einsum("bp,lbhpt->lbht", weights, recv)  # (L, B, H, T)
    if power == 0:
        return per_head.mean(dim=(0, 2))
    conc = concentration(per_head) ** power  # (L, B, H)
    wts = conc / conc.sum(dim=(0, 2), keepdim=True).clamp_min(EPS)
    return (wts[..., None] * normalize_last(per_head)).sum(dim=(0, 2))


STAA_PLUS_DEFAULTS = {
    "layers": "rollout",
    "head_fusion": "mean",
    "temporal_focus": 0.0,
    "temporal_peak": 0.5,
    "smooth": 0.0,
    "threshold_k": 1.0,
    "sharpen": 2.0,
    "temporal_threshold_k": 0.0,
    "temporal_sharpen": 2.0,
    "floor": 0.01,
}
STAA_PLUS_CHOICES = {"head_fusion": ("focus", "mean", "max")}


def _check_nonneg(params: dict[str, Any], names: tuple[str, ...]) -> None:
    for name in names:
        v = params[name]
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v) or v < 0:
            raise ExplainError(f"staa_plus: {name} must be a number >= 0, got {v!r}")


@register(
    "staa_plus",
    defaults=STAA_PLUS_DEFAULTS,
    needs_attention=True,
    class_specific=False,
    choices=STAA_PLUS_CHOICES,
    audio_visual=True,
    summary="STAA with dynamic thresholding and attention focusing (same single pass).",
)
def staa_plus(run: Run) -> MethodOutput:
    """STAA+ from the same single forward pass as STAA.

    *Where*: the spatial importance from the chosen layers (default: the rollout through all
    layers), optionally smoothed, then dynamically thresholded at the clip's own
    ``mean + threshold_k * std``, sharpened and renormalized per frame.
    *When*: the temporal attention frames receive, focused on the heads that single out a few
    frames (``temporal_focus``), combined geometrically with the peak of the class token's
    last-layer attention in each frame (``temporal_peak``: 0 ignores it, 1 uses it alone),
    then dynamically thresholded and sharpened. The joint map combines both as in STAA.
    *When it is heard* (audio-visual models): the class token's attention to the audio tokens
    from the same layers, thresholded and sharpened like *when* (``temporal_threshold_k``,
    ``temporal_sharpen``).
    """
    p = run.params
    _check_nonneg(
        p,
        (
            "temporal_focus",
            "temporal_peak",
            "smooth",
            "threshold_k",
            "sharpen",
            "temporal_threshold_k",
            "temporal_sharpen",
            "floor",
        ),
    )
    if p["temporal_peak"] > 1:
        raise ExplainError(
            f"staa_plus: temporal_peak must be in [0, 1], got {p['temporal_peak']!r}"
        )
    rollout_heads = "mean" if p["head_fusion"] == "focus" else p["head_fusion"]
    parts = attention_parts(run, p["layers"], rollout_heads)
    layout: AttentionLayout = parts["layout"]
    t, h, w = layout.grid
    heads = parts["spatial"]  # (L, B, H, T, P)
    if p["layers"] == "rollout":
        spatial = parts["rollout"]
    elif p["head_fusion"] == "focus":
        spatial = (head_focus_weights(heads) * heads).sum(dim=(0, 2))
    else:
        spatial = fuse_heads(heads, p["head_fusion"], dim=2).mean(dim=0)
    spatial = spatial.clamp_min(0)

    # when (from the raw attention, before the where-map is post-processed)
    peak = heads[-1].mean(dim=1).amax(dim=-1)  # (B, T): last layer, heads averaged
    recv = parts["temporal_recv"]
    if recv is None:  # joint attention: the attention mass on each frame's tokens
        temporal = spatial.sum(dim=-1)
    else:
        position_weights = normalize_last(spatial.mean(dim=1))  # (B, P)
        temporal = focused_temporal(recv, position_weights, float(p["temporal_focus"]))
    beta = float(p["temporal_peak"])
    temporal = (
        normalize_last(temporal).clamp_min(EPS) ** (1.0 - beta)
        * normalize_last(peak).clamp_min(EPS) ** beta
    )
    temporal = normalize_last(temporal)
    temporal = dynamic_threshold(
        temporal, float(p["temporal_threshold_k"]), float(p["floor"]), (1,)
    )
    temporal = normalize_last(temporal.clamp_min(0) ** float(p["temporal_sharpen"]))
    audio = audio_from_parts(parts, p["layers"], rollout_heads)
    if audio is not None:
        audio = dynamic_threshold(audio, float(p["temporal_threshold_k"]), float(p["floor"]), (1,))
        audio = normalize_last(audio.clamp_min(0) ** float(p["temporal_sharpen"]))

    # where: per-frame distribution, (optionally) smoothed into regions, dynamic threshold,
    # sharpened, renormalized
    s = normalize_last(spatial)
    s = gaussian_smooth(s, float(p["smooth"]), h, w)
    s = dynamic_threshold(s, float(p["threshold_k"]), float(p["floor"]), dims=(1, 2))
    s = normalize_last(s.clamp_min(0) ** float(p["sharpen"]))
    maps = combine(s, temporal)
    return to_output(run, maps, temporal, audio)


# ---------------------------------------------------------------------------------------------
# Rollout baseline


@register(
    "rollout",
    defaults={"head_fusion": "mean"},
    needs_attention=True,
    class_specific=False,
    choices={"head_fusion": ("mean", "max")},
    audio_visual=True,
    summary="Attention rollout through divided (temporal then spatial) or joint attention.",
)
def rollout(run: Run) -> MethodOutput:
    layout = attention_layout(run.loaded)
    idx = list(range(layout.num_layers))
    layout, rec, logits = capture_rows(run, idx, run.params["head_fusion"])
    run.note_logits(logits)
    r, audio = _rollout_from_fused(layout, rec, idx, run.batch)
    temporal = r.clamp_min(0).sum(dim=-1)
    audio = normalize_last(audio) if audio is not None else None
    return to_output(run, r, normalize_last(temporal), audio)
