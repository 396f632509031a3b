"""The attribution engine: one call shape for every explanation method.

>>> from workers.engine import explain, available_methods
>>> explanations = explain(loaded_model, clips, "staa_plus")

Importing this package imports torch, transformers and captum (never done by the web process).
"""

from workers.engine.core import (
    COMMON_DEFAULTS,
    Run,
    available_methods,
    explain,
    method_defaults,
    method_info,
    predict_probabilities,
    predict_probabilities_audio,
    validate_clips,
)
from workers.engine.errors import ExplainError
from workers.engine.randomize import randomization_stages, randomize_model
from workers.engine.registry import METHODS, MethodInfo, MethodOutput

available_methods()  # fill the registry

__all__ = [
    "COMMON_DEFAULTS",
    "METHODS",
    "ExplainError",
    "MethodInfo",
    "MethodOutput",
    "Run",
    "available_methods",
    "explain",
    "method_defaults",
    "method_info",
    "predict_probabilities",
    "predict_probabilities_audio",
    "randomization_stages",
    "randomize_model",
    "validate_clips",
]
