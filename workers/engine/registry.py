"""The method registry: every attribution method is a function registered under a name.

Every method has the same call shape: it receives a :class:`~workers.engine.run.Run` (the model,
the batch of clips as one tensor, the resolved parameters, pass counters) and returns a
:class:`MethodOutput`. A method module registers its functions with :func:`register` when it is
imported; :mod:`workers.engine.core` imports the method package :mod:`workers.engine.methods`
once and then looks methods up in :data:`METHODS`.

A :class:`MethodInfo` carries what callers need without running the method: its parameter
defaults and allowed choices, whether it needs attention or explains a class, whether it
explains audio-visual models, and ``passes``, the number of clip evaluations it runs per clip
for given parameters (the gpu worker's progress bar divides by it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from workers.engine.run import Run
from workers.models.spec import InputSpec


@dataclass
class MethodOutput:
    """What a method computes for a batch of B clips, on the token grid (T', h, w)."""

    maps: np.ndarray  # (B, T', h, w) float32
    temporal: np.ndarray  # (B, T') float32
    audio: np.ndarray | None = None  # (B, A) float32: audio-visual models only


#: ``passes(params, spec)``: clip evaluations per clip for the resolved ``params`` (defaults
#: filled in) on a model with input ``spec``.
PassEstimate = Callable[[dict[str, Any], InputSpec], int]
MethodFn = Callable[[Run], MethodOutput]


def one_pass(params: dict[str, Any], spec: InputSpec) -> int:
    """The pass estimate of methods that read everything off one forward pass."""
    return 1


def samples_plus_one(name: str) -> PassEstimate:
    """The pass estimate of methods that evaluate ``params[name]`` perturbed or interpolated
    copies of each clip, plus the clip itself (for its prediction)."""

    def passes(params: dict[str, Any], spec: InputSpec) -> int:
        return int(params[name]) + 1

    passes.__name__ = f"{name}_plus_one"
    return passes


@dataclass(frozen=True)
class MethodInfo:
    name: str
    fn: MethodFn
    defaults: dict[str, Any]
    needs_attention: bool
    class_specific: bool
    summary: str
    choices: dict[str, tuple] = field(default_factory=dict)
    audio_visual: bool = False  # also explains audio-visual models (gives an audio curve)
    passes: PassEstimate = one_pass  # clip evaluations per clip (see PassEstimate)


METHODS: dict[str, MethodInfo] = {}


def register(
    name: str,
    *,
    defaults: dict[str, Any],
    needs_attention: bool = False,
    class_specific: bool = True,
    summary: str = "",
    choices: dict[str, tuple] | None = None,
    audio_visual: bool = False,
    passes: PassEstimate = one_pass,
) -> Callable[[MethodFn], MethodFn]:
    """Register ``fn`` as method ``name`` with its parameter defaults and pass estimate."""

    def deco(fn: MethodFn) -> MethodFn:
        if name in METHODS:
            raise RuntimeError(f"method {name!r} registered twice")
        METHODS[name] = MethodInfo(
            name=name,
            fn=fn,
            defaults=dict(defaults),
            needs_attention=needs_attention,
            class_specific=class_specific,
            summary=summary,
            choices=dict(choices or {}),
            audio_visual=audio_visual,
            passes=passes,
        )
        return fn

    return deco
