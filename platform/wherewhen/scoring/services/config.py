"""A project's scoring settings: the pointing tolerance (pixels, 0 to ``TOLERANCE_MAX_PX``)."""

from __future__ import annotations

import math
from typing import Any

from wherewhen.annotations.models import Project
from wherewhen.core import exceptions, limits
from wherewhen.scoring.models import (
    ScoringSettings,
)


def parse_tolerance(value: Any) -> float:
    """A tolerance in pixels: a finite number from 0 to ``TOLERANCE_MAX_PX`` (400 otherwise)."""
    try:
        tolerance = float(value)
    except (TypeError, ValueError) as exc:
        raise exceptions.Invalid(
            {"tolerance": "The tolerance must be a number of pixels (0 or more)."}
        ) from exc
    if not math.isfinite(tolerance) or tolerance < 0 or tolerance > limits.TOLERANCE_MAX_PX:
        raise exceptions.Invalid({"tolerance": limits.tolerance_problem(tolerance)})
    return tolerance


def settings_for(project: Project) -> ScoringSettings:
    row, _ = ScoringSettings.objects.get_or_create(project=project)
    return row
