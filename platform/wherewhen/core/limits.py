"""Upper bounds on numbers a client sets, stated once.

A setting without a ceiling is a lever: a tolerance of 1e308 px makes every click a hit, a
study with two billion trials per participant writes two billion rows when someone starts it.
"""

from __future__ import annotations

import math

# Pointing tolerances (project scoring and study pointing trials), in pixels. Larger than the
# diagonal of any frame the library accepts (VIDEO_MAX_DIMENSION 8192 px: 11,585 px) would
# mean "anywhere"; 10,000 px is already far more than any sensible tolerance.
TOLERANCE_MAX_PX = 10_000.0

# Answer scale of rating trials: from 2 (yes/no) to 11 (0..10) points.
LIKERT_POINTS_MIN = 2
LIKERT_POINTS_MAX = 11

# Classes an annotation project may list.
PROJECT_LABELS_MAX = 200

# Study design sizes (trials are written in full when a participant starts).
STUDY_BOUNDS = {
    "trials_per_participant": (1, 500),
    "practice_trials": (0, 50),
    "attention_every": (0, 500),
    "max_failed_checks": (0, 500),
    "min_response_ms": (0, 600_000),
    "time_limit_seconds": (0, 24 * 3600),
    "distinction_k": (2, 8),
}
CONFIDENCE_MIN, CONFIDENCE_MAX = 1, 5
ATTENTION_CHECKS_MAX = 50


def tolerance_problem(value: float) -> str | None:
    """Why ``value`` is not an acceptable tolerance in pixels, or None."""
    if not math.isfinite(value) or value < 0:
        return f"The tolerance must be 0 or more pixels; got {value}."
    if value > TOLERANCE_MAX_PX:
        return f"The tolerance must be at most {TOLERANCE_MAX_PX:g} pixels; got {value:g}."
    return None
