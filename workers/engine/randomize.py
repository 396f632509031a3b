"""Model-parameter randomization (Adebayo et al. 2018) for the sanity check.

Stages go from the output to the input: the classification head, then the transformer layers
from last to first, then the embeddings. ``randomize_model(loaded, upto=stage)`` re-initializes
every stage up to and including ``stage`` (a cascade); ``upto=None`` randomizes everything.
The original model is never touched: a deep copy is randomized.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import torch
from torch import nn

from workers.engine.errors import ExplainError


def _parts(model: nn.Module) -> list[tuple[str, list[nn.Module]]]:
    if hasattr(model, "timesformer"):
        base = model.timesformer
        head = [model.classifier, base.layernorm]
    elif hasattr(model, "videomae"):
        base = model.videomae
        head = [model.classifier]
        for name in ("fc_norm",):
            if getattr(model, name, None) is not None:
                head.append(getattr(model, name))
        if getattr(base, "layernorm", None) is not None:
            head.append(base.layernorm)
    else:
        raise ExplainError(
            f"model-parameter randomization knows TimeSformer and VideoMAE, not "
            f"{type(model).__name__}"
        )
    layers = list(base.encoder.layer)
    stages: list[tuple[str, list[nn.Module]]] = [("head", head)]
    for i in reversed(range(len(layers))):
        stages.append((f"layer_{i}", [layers[i]]))
    stages.append(("embeddings", [base.embeddings]))
    return stages


def randomization_stages(loaded: Any) -> list[str]:
    """Stage names in cascade order (output first)."""
    return [name for name, _ in _parts(loaded.model)]


@torch.no_grad()
def _reinit(module: nn.Module, gen: torch.Generator, std: float) -> None:
    for sub in module.modules():
        if isinstance(sub, nn.LayerNorm):
            if sub.weight is not None:
                sub.weight.fill_(1.0)
            if sub.bias is not None:
                sub.bias.zero_()
            continue
        for name, param in sub.named_parameters(recurse=False):
            if name == "bias":
                param.zero_()
            else:
                noise = torch.randn(param.shape, generator=gen, dtype=torch.float32) * std
                param.copy_(noise.to(param.device, param.dtype))


def randomize_model(loaded: Any, upto: str | None = None, seed: int = 0) -> Any:
    """A copy of ``loaded`` whose weights are re-initialized (normal, std = the config's
    ``initializer_range``) from the head down to ``upto`` (all stages when ``None``)."""
    stages = _parts(loaded.model)
    names = [n for n, _ in stages]
    if upto is not None and upto not in names:
        raise ExplainError(f"unknown randomization stage {upto!r}; stages: {', '.join(names)}")
    model = copy.deepcopy(loaded.model)
    std = float(getattr(model.config, "initializer_range", 0.02))
    gen = torch.Generator().manual_seed(seed)
    for name, modules in _parts(model):
        for module in modules:
            _reinit(module, gen, std)
        if name == upto:
            break
    model.eval()
    if dataclasses.is_dataclass(loaded):
        return dataclasses.replace(loaded, model=model)
    clone = copy.copy(loaded)
    clone.model = model
    return clone
