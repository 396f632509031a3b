"""The attribution engine: one call shape for every explanation method.

>>> from workers.engine import explain, available_methods
>>> explanations = explain(loaded_model, clips, "staa_plus")

Importing this package imports torch, transformers and captum (never done by the web process).

Layout (modules import only downwards in this list, so there are no import cycles):

* :mod:`~workers.engine.core` -- :func:`explain`, input validation, method look-up;
* :mod:`~workers.engine.methods` -- the methods, one module per family; importing the package
  registers them;
* :mod:`~workers.engine._utils`, :mod:`~workers.engine.attention`, :mod:`~workers.engine.grid`
  -- helpers the methods share (outputs, attention capture, the token grid);
* :mod:`~workers.engine.registry` -- :class:`MethodInfo` (defaults, choices, pass estimate) and
  :func:`~workers.engine.registry.register`;
* :mod:`~workers.engine.run` -- :class:`Run`, the state of one call handed to a method;
* :mod:`~workers.engine.errors` -- :class:`ExplainError`.

Beside them: :mod:`~workers.engine.predict` (numpy scoring functions for the metrics) and
:mod:`~workers.engine.randomize` (model-parameter randomization for the sanity check).
"""

from workers.engine.core import (
    COMMON_DEFAULTS,
    available_methods,
    explain,
    method_defaults,
    method_info,
    validate_clips,
)
from workers.engine.errors import ExplainError
from workers.engine.predict import predict_probabilities, predict_probabilities_audio
from workers.engine.randomize import randomization_stages, randomize_model
from workers.engine.registry import METHODS, MethodInfo, MethodOutput
from workers.engine.run import Run

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
