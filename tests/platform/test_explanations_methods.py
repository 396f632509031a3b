"""The web's method catalogue must match the engine's registry (names, defaults, choices)."""

from __future__ import annotations

import pytest

from wherewhen.explanations import methods


def test_catalogue_matches_the_engine():
    from workers.engine import METHODS, method_defaults

    assert list(methods.METHODS) == list(METHODS)
    for name, info in METHODS.items():
        spec = methods.METHODS[name]
        assert spec.all_defaults == method_defaults(name), name
        assert {k: tuple(v) for k, v in spec.choices.items()} == {
            k: tuple(v) for k, v in info.choices.items()
        }, name
        assert spec.class_specific == info.class_specific, name
        assert spec.needs_attention == info.needs_attention, name
        assert spec.audio_visual == info.audio_visual, name


def test_canonical_params_fill_defaults_and_normalize_numbers():
    full = methods.canonical_params("rise", {"n_masks": 100.0, "p_keep": 1})
    assert full["n_masks"] == 100 and isinstance(full["n_masks"], int)
    assert full["p_keep"] == 1.0 and isinstance(full["p_keep"], float)
    assert full["topk"] == 5 and full["precision"] == "fp32"
    assert methods.canonical_params("staa", None) == methods.canonical_params(
        "staa", {"layers": "last"}
    )
    assert methods.canonical_params("staa", {"layers": 2})["layers"] == 2


@pytest.mark.parametrize(
    "method, params, words",
    [
        ("nope", {}, "Unknown method"),
        ("staa", {"layers": 0}, "layers must be"),
        ("staa", {"layers": True}, "layers must be"),
        ("lime", {"n_samples": 2.5}, "whole number"),
        ("lime", {"n_samples": 0}, "at least 1"),
        ("lime", {"alpha": "x"}, "finite number"),
        ("lime", {"alpha": float("nan")}, "finite number"),
        ("random", {"seed": -1}, "at least 0"),
        ("staa", {"precision": "fp8"}, "is not one of"),
    ],
)
def test_bad_parameters_are_named(method, params, words):
    with pytest.raises(methods.ParamsError, match=words):
        methods.canonical_params(method, params)


def test_time_limits_per_family(settings):
    soft, hard = methods.time_limits("staa")
    slow_soft, slow_hard = methods.time_limits("kernel_shap")
    assert soft < hard and slow_soft < slow_hard and soft < slow_soft
    settings.EXPLANATION_TIME_LIMITS = {"fast": (5, 6), "slow": (50, 60)}
    assert methods.time_limits("rise") == (50, 60)
