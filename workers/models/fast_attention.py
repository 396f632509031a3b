"""The fast attention kernel for every model the engine loads, and a switch back to eager.

Inference runs with PyTorch's fused scaled-dot-product attention
(``torch.nn.functional.scaled_dot_product_attention``: flash / memory-efficient kernels on CUDA,
the fused kernel on CPU), which never materializes the ``N x N`` probability matrix:

* **TimeSformer** -- transformers' ``TimesformerSelfAttention`` always multiplies out
  ``softmax(q k^T) v`` itself. Each of its modules is given :class:`FastTimesformerSelfAttention`
  as class: the same weights and state dict, the same maths, through the fused kernel
  (``output_attentions=True`` still returns the probabilities, computed the eager way).
* **VideoMAE** -- transformers' own ``"sdpa"`` attention implementation.
* **wherewhen_av** -- :class:`workers.models.av.AVAttention` uses the fused kernel unless its
  ``eager`` flag is set.

Explanations do not need the probabilities: the engine computes the few rows it reads from the
queries and keys (:mod:`workers.engine.attention`). Methods that need the whole probability
tensors in the autograd graph (gradient-weighted attention) switch the model to the eager path
for one pass with :func:`eager_attention`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import torch
from torch import nn
from torch.nn import functional as F


@cache
def _fast_timesformer_class() -> type:
    from transformers.models.timesformer.modeling_timesformer import TimesformerSelfAttention

    class FastTimesformerSelfAttention(TimesformerSelfAttention):
        """``TimesformerSelfAttention`` through the fused kernel (eager when ``eager`` is set
        or the probabilities are asked for)."""

        eager = False

        def forward(self, hidden_states: torch.Tensor, output_attentions: bool = False):
            if output_attentions or self.eager:
                return super().forward(hidden_states, output_attentions)
            batch, tokens, channels = hidden_states.shape
            qkv = (
                self.qkv(hidden_states)
                .reshape(batch, tokens, 3, self.num_heads, channels // self.num_heads)
                .permute(2, 0, 3, 1, 4)
            )
            dropout = self.attn_drop.p if self.training else 0.0
            context = F.scaled_dot_product_attention(
                qkv[0], qkv[1], qkv[2], dropout_p=dropout, scale=self.scale
            )
            return (context.transpose(1, 2).reshape(batch, tokens, channels),)

    FastTimesformerSelfAttention.__name__ = "FastTimesformerSelfAttention"
    return FastTimesformerSelfAttention


def _timesformer_attentions(model: nn.Module) -> list[nn.Module]:
    from transformers.models.timesformer.modeling_timesformer import TimesformerSelfAttention

    return [m for m in model.modules() if isinstance(m, TimesformerSelfAttention)]


def _av_attentions(model: nn.Module) -> list[nn.Module]:
    from workers.models.av import AVAttention

    return [m for m in model.modules() if isinstance(m, AVAttention)]


def _is_videomae(model: nn.Module) -> bool:
    return getattr(getattr(model, "config", None), "model_type", None) == "videomae"


def use_fast_attention(model: nn.Module) -> nn.Module:
    """Put ``model`` (TimeSformer, VideoMAE or wherewhen_av) on the fused attention kernel, in
    place; other models are returned unchanged."""
    fast = None
    for module in _timesformer_attentions(model):
        fast = fast or _fast_timesformer_class()
        if type(module) is not fast:
            module.__class__ = fast
    for module in _av_attentions(model):
        module.eager = False
    if _is_videomae(model) and model.config._attn_implementation != "sdpa":
        model.set_attn_implementation("sdpa")
    return model


def uses_fast_attention(model: nn.Module) -> bool:
    """True when every attention module of ``model`` is on the fused kernel."""
    fast = [
        not m.eager and type(m).__name__ == "FastTimesformerSelfAttention"
        for m in _timesformer_attentions(model)
    ]
    fast += [not m.eager for m in _av_attentions(model)]
    if _is_videomae(model):
        fast.append(model.config._attn_implementation == "sdpa")
    return bool(fast) and all(fast)


@contextmanager
def eager_attention(model: nn.Module) -> Iterator[None]:
    """Within the block, ``model`` multiplies out its attention probabilities (the eager path,
    where hooks can read them); the previous setting comes back afterwards."""
    flagged = [m for m in _timesformer_attentions(model) + _av_attentions(model)]
    before = [m.__dict__.get("eager") for m in flagged]
    previous = model.config._attn_implementation if _is_videomae(model) else None
    for m in flagged:
        m.eager = True
    if previous is not None and previous != "eager":
        model.set_attn_implementation("eager")
    try:
        yield
    finally:
        for m, old in zip(flagged, before, strict=True):
            if old is None:
                m.__dict__.pop("eager", None)
            else:
                m.eager = old
        if previous is not None and previous != "eager":
            model.set_attn_implementation(previous)
