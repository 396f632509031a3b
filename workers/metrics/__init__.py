"""Explanation metrics, in one place for the platform, the CLIs and the benchmarks.

Importing this package needs numpy only (safe for the web process: no torch, and scipy only
inside the functions that use it). The pointing games and Gini are pure numpy; the faithfulness
metrics need a prediction callable (see ``workers.engine.predict_probabilities``); the sanity
check runs the engine (torch) lazily.
"""

from workers.metrics.complexity import gini, gini_batch
from workers.metrics.faithfulness import (
    CurveResult,
    audio_deletion_curve,
    audio_insertion_curve,
    cell_order,
    deletion_curve,
    faithfulness_correlation,
    insertion_curve,
    monotonicity,
)
from workers.metrics.pointing import (
    DEFAULT_TOLERANCE,
    EnergyResult,
    PointingResult,
    energy_pointing_game,
    max_cell_points,
    points_hit_boxes,
    small_object_frames,
    sound_pointing_game,
    spacetime_pointing_game,
    spatial_pointing_game,
    temporal_pointing_game,
)
from workers.metrics.sanity import RandomizationResult, model_randomization_check, rank_correlation

__all__ = [
    "DEFAULT_TOLERANCE",
    "CurveResult",
    "EnergyResult",
    "PointingResult",
    "RandomizationResult",
    "audio_deletion_curve",
    "audio_insertion_curve",
    "cell_order",
    "deletion_curve",
    "energy_pointing_game",
    "faithfulness_correlation",
    "gini",
    "gini_batch",
    "insertion_curve",
    "max_cell_points",
    "model_randomization_check",
    "monotonicity",
    "points_hit_boxes",
    "rank_correlation",
    "small_object_frames",
    "sound_pointing_game",
    "spacetime_pointing_game",
    "spatial_pointing_game",
    "temporal_pointing_game",
]
