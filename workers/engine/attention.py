"""Capturing attention probabilities from HF video transformers in one forward pass.

Two layouts are supported:

* **divided** space-time attention (TimeSformer, ``attention_type="divided_space_time"``). Each
  layer runs a *temporal* attention over the T frames of every patch position (no class token),
  then a *spatial* attention over the patches of every frame, in which a copy of the class token
  takes part once per frame. HF returns only the spatial probabilities with
  ``output_attentions=True``; here both are captured with forward hooks on the attention-dropout
  modules, whose output *is* the probability tensor (dropout is the identity in eval mode).
* **joint** space-time attention over all tokens (VideoMAE; TimeSformer with
  ``attention_type="joint_space_time"``; the audio-visual model ``wherewhen_av``, whose tokens
  are ``[class, visual (frame-major)..., audio...]``, so its class token's row also says how
  much each moment of sound counts). VideoMAE has no class token (it mean-pools the tokens),
  so the "class token row" is replaced by the mean of all query rows: the attention each token
  receives from the pooled representation.

Token orders (checked against the HF sources): TimeSformer stores patch tokens patch-major,
``index = p * T + t``; the spatial attention batch is ``b * T + t`` and the temporal attention
batch is ``b * P + p``. VideoMAE tokens are frame-major, ``index = t * P + p``. Here everything is
returned as ``(B, T', P)`` with ``p = i * w + j`` row-major on the token grid.

Two ways to read the attention:

* :mod:`workers.engine.rows` (what STAA, STAA+ and rollout use): hooks on the projections that
  make the queries and keys (:class:`QKTap`) compute the few rows a method reads, while the
  model itself runs its fused attention kernel;
* :class:`AttentionRecorder` / :func:`capture` (gradient-weighted attention, and the reference
  the rows are tested against): the model is switched to eager attention for the pass and hooks
  keep the probability tensors themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from workers.engine.errors import ExplainError
from workers.engine.run import Run
from workers.models.fast_attention import eager_attention


@dataclass
class QKTap:
    """Where one attention module's queries and keys come from.

    ``modules`` is ``(qkv,)`` for a packed projection whose output is ``(B', N, 3 * C)``
    (TimeSformer, wherewhen_av) or ``(query, key)`` for separate ones (VideoMAE). Scores are
    ``q k^T * scale``, or ``q k^T / scale`` when ``divide``, as the model computes them."""

    modules: tuple[nn.Module, ...]
    heads: int
    scale: float
    divide: bool = False


@dataclass
class AttentionLayout:
    """Where the attention of a model lives and how its tokens are laid out."""

    kind: str  # "divided" | "joint"
    has_cls: bool
    token_order: str  # "patch_major" (TimeSformer) | "frame_major" (VideoMAE)
    grid: tuple[int, int, int]  # (T', h, w)
    spatial: list[nn.Module]  # one per layer; output is (or contains) attention probs
    temporal: list[nn.Module]  # one per layer for divided models, else empty
    output_index: int | None  # None: the module output is the tensor; else index in a tuple
    model: nn.Module
    qk_spatial: list[QKTap]  # one per layer: the spatial (or joint) attention's q/k
    qk_temporal: list[QKTap]  # one per layer for divided models, else empty
    audio_tokens: int = 0  # audio-visual models: audio tokens after the visual ones

    @property
    def num_layers(self) -> int:
        return len(self.spatial)


def attention_layout(loaded: Any) -> AttentionLayout:
    """Inspect ``loaded.model`` and say where its attention is; clear error if it has none."""
    model = loaded.model
    grid = tuple(loaded.spec.grid)
    cls_name = type(model).__name__
    if hasattr(model, "timesformer"):
        config = model.config
        layers = list(model.timesformer.encoder.layer)
        attention_type = getattr(config, "attention_type", "divided_space_time")
        try:
            spatial = [layer.attention.attention.attn_drop for layer in layers]
            qk_spatial = [_packed_tap(layer.attention.attention) for layer in layers]
        except AttributeError as exc:  # pragma: no cover - a very different TimeSformer
            raise ExplainError(f"cannot find the attention modules of {cls_name}: {exc}") from exc
        if attention_type == "divided_space_time":
            temporal = [layer.temporal_attention.attention.attn_drop for layer in layers]
            qk_temporal = [_packed_tap(layer.temporal_attention.attention) for layer in layers]
            return AttentionLayout(
                "divided",
                True,
                "patch_major",
                grid,
                spatial,
                temporal,
                None,
                model,
                qk_spatial=qk_spatial,
                qk_temporal=qk_temporal,
            )
        if attention_type == "joint_space_time":
            return AttentionLayout(
                "joint", True, "patch_major", grid, spatial, [], None, model, qk_spatial, []
            )
        raise ExplainError(
            f"TimeSformer with attention_type={attention_type!r} has no space-time attention to "
            "attribute; attention methods need 'divided_space_time' or 'joint_space_time'"
        )
    if getattr(getattr(model, "config", None), "model_type", None) == "wherewhen_av":
        layers = list(model.encoder.layers)
        spatial = [layer.attention.attn_drop for layer in layers]
        taps = [
            QKTap((m.qkv,), m.heads, math.sqrt(m.head_dim), divide=True)
            for m in (layer.attention for layer in layers)
        ]
        audio = int(model.audio_tokens)
        return AttentionLayout(
            "joint", True, "frame_major", grid, spatial, [], None, model, taps, [], audio
        )
    if hasattr(model, "videomae"):
        layers = list(model.videomae.encoder.layer)
        spatial = [layer.attention.attention for layer in layers]
        taps = [
            QKTap((m.query, m.key), m.num_attention_heads, float(m.scaling))
            for m in (layer.attention.attention for layer in layers)
        ]
        has_cls = False  # VideoMAE pools (mean or first token), it has no class token
        return AttentionLayout(
            "joint", has_cls, "frame_major", grid, spatial, [], 1, model, taps, []
        )
    raise ExplainError(
        f"method needs a transformer with attention (TimeSformer or VideoMAE); model class "
        f"{cls_name} has no attention layers the engine can read"
    )


def _packed_tap(module: nn.Module) -> QKTap:
    """The tap of a TimeSformer self-attention module (packed ``qkv``, scores times ``scale``)."""
    return QKTap((module.qkv,), int(module.num_heads), float(module.scale))


class AttentionRecorder:
    """Forward hooks that keep, per layer, either the full probabilities or just the rows needed.

    While it is active the model runs eager attention (the probabilities only exist there).

    ``keep="rows"`` stores, for the spatial/joint attention, the class-token row (or the mean of
    all query rows when there is no class token) as ``(batch, heads, keys)``, and for temporal
    attention the attention each frame *receives* (mean over query frames) as
    ``(B*P, heads, T)``. ``keep="full"`` stores the whole tensors (rollout, gradients).
    ``keep="fused"`` stores the rows as ``"rows"`` does and, in ``spatial_fused`` /
    ``temporal_fused``, the whole matrices with their heads fused by ``fusion`` (what rollout
    needs, a ``heads``-th of the memory of ``"full"``), as float32.
    """

    def __init__(
        self,
        layout: AttentionLayout,
        layers: list[int] | None = None,
        keep: str = "rows",
        retain_grad: bool = False,
        fusion: str = "mean",
    ) -> None:
        self.layout = layout
        n = layout.num_layers
        self.layers = list(range(n)) if layers is None else sorted(set(layers))
        self.keep = keep
        self.retain_grad = retain_grad
        self.fusion = fusion
        self.spatial: dict[int, torch.Tensor] = {}
        self.temporal: dict[int, torch.Tensor] = {}
        self.spatial_fused: dict[int, torch.Tensor] = {}
        self.temporal_fused: dict[int, torch.Tensor] = {}
        self._handles: list[Any] = []
        self._eager: Any = None

    def _probs(self, output: Any) -> torch.Tensor:
        if self.layout.output_index is None:
            return output
        probs = output[self.layout.output_index]
        if probs is None:
            raise ExplainError(
                "the model did not materialize attention probabilities (non-eager attention)"
            )
        return probs

    def _spatial_hook(self, index: int):
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            probs = self._probs(output)
            if self.keep == "full":
                if self.retain_grad and probs.requires_grad:
                    probs.retain_grad()
                self.spatial[index] = probs
                return
            probs = probs.detach()
            if self.keep == "fused":
                self.spatial_fused[index] = fuse_heads(probs.float(), self.fusion)
            if self.layout.has_cls:
                self.spatial[index] = probs[:, :, 0, :].float()
            else:
                self.spatial[index] = probs.float().mean(dim=-2)

        return hook

    def _temporal_hook(self, index: int):
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            probs = self._probs(output)
            if self.keep == "full":
                if self.retain_grad and probs.requires_grad:
                    probs.retain_grad()
                self.temporal[index] = probs
                return
            probs = probs.detach().float()
            if self.keep == "fused":
                self.temporal_fused[index] = fuse_heads(probs, self.fusion)
            self.temporal[index] = probs.mean(dim=-2)

        return hook

    def __enter__(self) -> AttentionRecorder:
        self._eager = eager_attention(self.layout.model)
        self._eager.__enter__()
        for index in self.layers:
            module = self.layout.spatial[index]
            self._handles.append(module.register_forward_hook(self._spatial_hook(index)))
            if self.layout.temporal:
                module = self.layout.temporal[index]
                self._handles.append(module.register_forward_hook(self._temporal_hook(index)))
        return self

    def __exit__(self, *exc: Any) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        if self._eager is not None:
            self._eager.__exit__(*exc)
            self._eager = None


def layer_indices(layers: Any, num_layers: int) -> list[int]:
    """``"last"`` -> [L-1]; ``"all"`` -> every layer; int ``k`` -> the last ``k`` layers."""
    if layers == "last":
        return [num_layers - 1]
    if layers == "all" or layers == "rollout":
        return list(range(num_layers))
    if isinstance(layers, int | np.integer) and not isinstance(layers, bool):
        k = int(layers)
        if not 1 <= k <= num_layers:
            raise ExplainError(f"layers={k} is out of range; the model has {num_layers} layers")
        return list(range(num_layers - k, num_layers))
    raise ExplainError(
        f"layers must be 'last', 'all', 'rollout' or a number of last layers, got {layers!r}"
    )


def capture(
    run: Run, layers: list[int] | None, keep: str, grad: bool = False
) -> tuple[AttentionLayout, AttentionRecorder, torch.Tensor]:
    """One forward pass of the batch, eager attention, hooks keeping the probabilities;
    returns layout, recorder, logits."""
    layout = attention_layout(run.loaded)
    recorder = AttentionRecorder(layout, layers=layers, keep=keep, retain_grad=grad)
    x = run.inputs
    if grad:
        x = x.detach().clone().requires_grad_(True)
    with recorder:
        logits = run.forward(x, grad=grad)
    if not recorder.spatial:
        raise ExplainError("no attention was captured from the model's forward pass")
    return layout, recorder, logits


def fuse_heads(x: torch.Tensor, how: str, dim: int = 1) -> torch.Tensor:
    """Fuse attention heads along ``dim``: ``mean`` or ``max``."""
    if how == "mean":
        return x.mean(dim=dim)
    if how == "max":
        return x.amax(dim=dim)
    raise ExplainError(f"head_fusion must be 'mean' or 'max', got {how!r}")


def rows_to_grid(rows: torch.Tensor, layout: AttentionLayout, batch: int) -> torch.Tensor:
    """Per-head class-token rows -> ``(B, H, T', P)`` on the token grid (``p = i * w + j``).

    ``rows`` is ``(B*T, H, 1+P)`` (divided, class token first), ``(B, H, 1+P*T)`` (joint with a
    class token, patch-major tokens) or ``(B, H, T*P)`` (joint without, frame-major tokens).
    """
    t, h, w = layout.grid
    p = h * w
    heads = rows.shape[1]
    if layout.kind == "divided":
        return rows[:, :, 1:].reshape(batch, t, heads, p).permute(0, 2, 1, 3)
    tokens = rows[:, :, 1:] if layout.has_cls else rows
    tokens = tokens[:, :, : t * p]  # audio tokens (audio-visual models) come after the visual
    if layout.token_order == "patch_major":
        return tokens.reshape(batch, heads, p, t).transpose(-1, -2)
    return tokens.reshape(batch, heads, t, p)


def audio_rows(rows: torch.Tensor, layout: AttentionLayout) -> torch.Tensor:
    """The audio part ``(B, H, A)`` of joint-attention class-token rows ``(B, H, 1+T'P+A)``."""
    if not layout.audio_tokens:
        raise ExplainError("this model has no audio tokens")
    return rows[:, :, rows.shape[-1] - layout.audio_tokens :]


def rollout_divided(
    spatial: list[torch.Tensor], temporal: list[torch.Tensor], grid: tuple[int, int, int]
) -> torch.Tensor:
    """Attention rollout through divided space-time layers; returns ``(B, T, P)``.

    Each layer is two residual attention steps, temporal then spatial, each modelled as
    ``0.5 * I + 0.5 * A`` (Abnar & Zuidema 2020). The class token's row of the product
    ``A_L ... A_1`` is computed by pushing a row vector down through the layers (vector-matrix
    products only, never the full ``(1+PT)^2`` matrix). In the spatial step the class token is
    copied into every frame and the copies' outputs are averaged, so the class token's row is the
    frame mean of its per-frame rows.

    ``spatial[l]`` is the head-fused ``(B, T, 1+P, 1+P)`` and ``temporal[l]`` ``(B, P, T, T)``.
    """
    sp0 = spatial[-1]
    batch, t = sp0.shape[0], sp0.shape[1]
    p = sp0.shape[-1] - 1
    r_cls = torch.ones(batch, dtype=sp0.dtype, device=sp0.device)
    r_x = torch.zeros(batch, t, p, dtype=sp0.dtype, device=sp0.device)
    for sp, tp in zip(reversed(spatial), reversed(temporal), strict=True):
        # spatial step: r <- r @ (0.5 I + 0.5 S)
        new_cls = r_cls * sp[:, :, 0, 0].mean(dim=1) + torch.einsum(
            "btp,btp->b", r_x, sp[:, :, 1:, 0]
        )
        new_x = r_cls[:, None, None] * sp[:, :, 0, 1:] / t + torch.einsum(
            "btp,btpq->btq", r_x, sp[:, :, 1:, 1:]
        )
        r_cls = 0.5 * r_cls + 0.5 * new_cls
        r_x = 0.5 * r_x + 0.5 * new_x
        # temporal step: r <- r @ (0.5 I + 0.5 T); the class token is not involved
        r_x = 0.5 * r_x + 0.5 * torch.einsum("btp,bpts->bsp", r_x, tp)
    return r_x


def rollout_joint(full: list[torch.Tensor], has_cls: bool) -> torch.Tensor:
    """Attention rollout for joint attention; ``full[l]`` is head-fused ``(B, N, N)``.

    Returns the row of the rolled-out matrix for the class token (or the mean of all rows when
    there is none), without the class token column: ``(B, tokens)``.
    """
    a0 = full[-1]
    batch, n = a0.shape[0], a0.shape[-1]
    if has_cls:
        r = torch.zeros(batch, n, dtype=a0.dtype, device=a0.device)
        r[:, 0] = 1.0
    else:
        r = torch.full((batch, n), 1.0 / n, dtype=a0.dtype, device=a0.device)
    for a in reversed(full):
        r = 0.5 * r + 0.5 * torch.einsum("bn,bnm->bm", r, a)
    return r[:, 1:] if has_cls else r
