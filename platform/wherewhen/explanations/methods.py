"""The attribution methods the platform offers, as the web process sees them (no torch).

The engine's registry (``workers.engine.registry``) is the source of truth, but importing it
imports torch. This catalogue repeats, for each method, what the web needs to validate a request
and to build its idempotency key: parameter defaults, allowed choices, whether it explains a
class, and its *family* (which sets the task's time limits). A test compares it with the engine
(``tests/platform/test_explanations_methods.py``), so the two cannot drift apart silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# Every method also accepts these (workers.engine.core.COMMON_DEFAULTS).
COMMON_DEFAULTS: dict[str, Any] = {"topk": 5, "precision": "fp32"}
COMMON_CHOICES: dict[str, tuple] = {"precision": ("fp32", "bf16", "fp16")}

# Upper bounds on sample counts, so one request cannot occupy a worker for hours.
MAX_SAMPLES = 20_000


@dataclass(frozen=True)
class MethodSpec:
    name: str
    family: str  # "fast" (one pass, seconds) or "slow" (many passes)
    summary: str
    defaults: dict[str, Any]
    choices: dict[str, tuple] = field(default_factory=dict)
    class_specific: bool = True
    needs_attention: bool = False
    # Also explains audio-visual models (and gives their audio importance curve).
    audio_visual: bool = False
    # Integer parameters that count passes or samples: bounded by MAX_SAMPLES.
    counts: tuple[str, ...] = ()

    @property
    def all_defaults(self) -> dict[str, Any]:
        return {**COMMON_DEFAULTS, **self.defaults}

    @property
    def all_choices(self) -> dict[str, tuple]:
        return {**COMMON_CHOICES, **self.choices}


_TUBE = {"tube_frames": 2, "tube_cells": 2, "batch_size": 16, "seed": 0}
_STAA_LAYERS = "'last', 'all', 'rollout' or a number of last layers"

METHODS: dict[str, MethodSpec] = {
    m.name: m
    for m in [
        MethodSpec(
            "random",
            "fast",
            "Uniform random map and temporal importance (a sanity floor).",
            {"seed": 0},
            class_specific=False,
            audio_visual=True,
        ),
        MethodSpec(
            "center",
            "fast",
            "Centre prior: a space-time Gaussian on the middle of the frame and of the clip.",
            {"sigma": 0.25},
            class_specific=False,
            audio_visual=True,
        ),
        MethodSpec(
            "staa",
            "fast",
            "Spatio-temporal attention attribution from one forward pass (raw).",
            {"layers": "last", "head_fusion": "mean", "temporal_weighting": "spatial"},
            {"head_fusion": ("mean", "max"), "temporal_weighting": ("spatial", "uniform")},
            class_specific=False,
            needs_attention=True,
            audio_visual=True,
        ),
        MethodSpec(
            "staa_plus",
            "fast",
            "STAA with dynamic thresholding and attention focusing (same single pass).",
            {
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
            },
            {"head_fusion": ("focus", "mean", "max")},
            class_specific=False,
            needs_attention=True,
            audio_visual=True,
        ),
        MethodSpec(
            "rollout",
            "fast",
            "Attention rollout through divided (temporal then spatial) or joint attention.",
            {"head_fusion": "mean"},
            {"head_fusion": ("mean", "max")},
            class_specific=False,
            needs_attention=True,
            audio_visual=True,
        ),
        MethodSpec(
            "grad_attention",
            "fast",
            "Gradient-weighted attention (Grad-CAM on attention), class specific.",
            {"layers": "last", "temporal_weighting": "spatial"},
            {"temporal_weighting": ("spatial", "uniform")},
            needs_attention=True,
        ),
        MethodSpec(
            "integrated_gradients",
            "slow",
            "Integrated Gradients (Captum) from a mean-colour baseline, pooled to token cells.",
            {"n_steps": 32, "baseline": "mean", "aggregate": "abs", "internal_batch_size": 16},
            {"baseline": ("mean", "black"), "aggregate": ("abs", "positive", "signed")},
            counts=("n_steps",),
        ),
        MethodSpec(
            "occlusion",
            "slow",
            "Space-time occlusion (Captum): slide a mean-colour tube over the clip.",
            {"window_cells": 2, "stride_cells": 1, "tube_frames": 2, "batch_size": 16},
        ),
        MethodSpec(
            "rise",
            "slow",
            "RISE over space-time: probability-weighted random smooth masks.",
            {
                "n_masks": 500,
                "cells": 4,
                "time_cells": 4,
                "p_keep": 0.5,
                "batch_size": 16,
                "seed": 0,
            },
            counts=("n_masks",),
        ),
        MethodSpec(
            "lime",
            "slow",
            "LIME (Captum) over space-time tubes with a ridge surrogate.",
            {"n_samples": 1000, "alpha": 1.0, **_TUBE},
            counts=("n_samples",),
        ),
        MethodSpec(
            "kernel_shap",
            "slow",
            "KernelSHAP (Captum) over the same space-time tubes.",
            {"n_samples": 1000, "alpha": 0.0, **_TUBE},
            counts=("n_samples",),
        ),
    ]
}


class ParamsError(ValueError):
    """A request's method or parameters are not acceptable (the message says why)."""


def get_method(name: object) -> MethodSpec:
    if not isinstance(name, str) or name not in METHODS:
        raise ParamsError(
            f"Unknown method {name!r}. Available methods: {', '.join(sorted(METHODS))}."
        )
    return METHODS[name]


def _is_number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def canonical_params(method: str, params: object) -> dict[str, Any]:
    """The full parameter set of a request: defaults filled in, every value checked.

    Two requests that differ only in spelling out a default get the same canonical parameters,
    hence the same explanation. Numbers that are whole (``2.0``) compare equal to ints, but
    keep the default's type.
    """
    spec = get_method(method)
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ParamsError("Parameters must be a JSON object of name: value pairs.")
    defaults = spec.all_defaults
    unknown = sorted(set(params) - set(defaults))
    if unknown:
        raise ParamsError(
            f"Unknown parameter(s) {', '.join(map(repr, unknown))} for method {method!r}; "
            f"accepted: {', '.join(sorted(defaults))}."
        )
    out: dict[str, Any] = {}
    choices = spec.all_choices
    for key, default in defaults.items():
        value = params.get(key, default)
        if key in choices:
            if value not in choices[key]:
                raise ParamsError(
                    f"{method}: {key}={value!r} is not one of {', '.join(map(repr, choices[key]))}."
                )
        elif key == "layers":
            if not (value in ("last", "all", "rollout") or (_is_int(value) and value >= 1)):
                raise ParamsError(f"{method}: layers must be {_STAA_LAYERS}, got {value!r}.")
        elif _is_int(default):
            if _is_number(value) and float(value).is_integer():
                value = int(value)
            if not _is_int(value):
                raise ParamsError(f"{method}: {key} must be a whole number, got {value!r}.")
            low = 0 if key == "seed" else 1
            if value < low:
                raise ParamsError(f"{method}: {key} must be at least {low}, got {value}.")
            if key in spec.counts and value > MAX_SAMPLES:
                raise ParamsError(f"{method}: {key} must be at most {MAX_SAMPLES}, got {value}.")
            if key == "topk" and value > 1000:
                raise ParamsError(f"{method}: topk must be at most 1000, got {value}.")
        elif isinstance(default, float):
            if not _is_number(value):
                raise ParamsError(f"{method}: {key} must be a finite number, got {value!r}.")
            value = float(value)
        out[key] = value
    return out


def time_limits(method: str, windowed: bool = False) -> tuple[int, int]:
    """(soft, hard) time limits in seconds of one compute task for ``method``'s family (a
    windowed request runs one explanation per window: its family's windowed limits)."""
    from django.conf import settings

    if windowed:
        limits = (
            getattr(settings, "EXPLANATION_WINDOWED_TIME_LIMITS", None)
            or DEFAULT_WINDOWED_TIME_LIMITS
        )
    else:
        limits = getattr(settings, "EXPLANATION_TIME_LIMITS", None) or DEFAULT_TIME_LIMITS
    return tuple(limits[get_method(method).family])  # type: ignore[return-value]


DEFAULT_TIME_LIMITS: dict[str, tuple[int, int]] = {"fast": (300, 360), "slow": (3600, 3700)}
#: A whole 10-minute video with a single-pass method takes minutes on a CPU worker.
DEFAULT_WINDOWED_TIME_LIMITS: dict[str, tuple[int, int]] = {
    "fast": (3600, 3700),
    "slow": (6 * 3600, 6 * 3600 + 100),
}


def catalogue() -> list[dict[str, Any]]:
    """Every method with its family, summary, defaults and choices (for the API and the UI)."""
    return [
        {
            "name": m.name,
            "family": m.family,
            "summary": m.summary,
            "class_specific": m.class_specific,
            "needs_attention": m.needs_attention,
            "audio_visual": m.audio_visual,
            "defaults": m.all_defaults,
            "choices": {k: list(v) for k, v in m.all_choices.items()},
        }
        for m in METHODS.values()
    ]
