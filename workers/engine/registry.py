"""The method registry: every attribution method is a function registered under a name.

A method function receives a :class:`~workers.engine.core.Run` (the model, the batch of clips as
one tensor, the resolved parameters, pass counters) and returns a :class:`MethodOutput`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from workers.engine.core import Run


@dataclass
class MethodOutput:
    """What a method computes for a batch of B clips, on the token grid (T', h, w)."""

    maps: np.ndarray  # (B, T', h, w) float32
    temporal: np.ndarray  # (B, T') float32
    audio: np.ndarray | None = None  # (B, A) float32: audio-visual models only


@dataclass(frozen=True)
class MethodInfo:
    name: str
    fn: Callable[[Run], MethodOutput]
    defaults: dict[str, Any]
    needs_attention: bool
    class_specific: bool
    summary: str
    choices: dict[str, tuple] = field(default_factory=dict)
    audio_visual: bool = False  # also explains audio-visual models (gives an audio curve)


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
) -> Callable[[Callable[[Run], MethodOutput]], Callable[[Run], MethodOutput]]:
    """Register ``fn`` as method ``name`` with its parameter defaults."""

    def deco(fn: Callable[[Run], MethodOutput]) -> Callable[[Run], MethodOutput]:
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
        )
        return fn

    return deco
