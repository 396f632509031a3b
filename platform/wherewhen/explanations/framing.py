"""The view of an explanation: the rectangle of the video frame its model saw.

A model that resizes and centre-crops (its checkpoint's own preprocessing, see
:class:`workers.models.spec.Preprocessing`) sees only the centre part of a wide or tall frame;
its map's cells tile that rectangle, ``view = [x0, y0, x1, y1]`` in the video's display pixels
(the coordinates of ground-truth boxes). Pixels outside it were *not seen*: the review player
and exports draw them as such (never as low importance) and scoring does not count a frame
whose boxes all lie outside it (:mod:`workers.metrics.pointing`). A stored ``None`` means the
whole frame (the squash of the bundled models, and explanations from before views existed).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

View = list[float]


def whole_frame(width: int, height: int) -> View:
    return [0.0, 0.0, float(width), float(height)]


def problem(view: Sequence[float], width: float, height: float) -> str:
    """Why ``view`` is not a rectangle inside a ``width`` x ``height`` frame ("" when it is)."""
    if len(view) != 4:
        return f"must be 4 numbers [x0, y0, x1, y1]; it has {len(view)}."
    if not all(math.isfinite(float(v)) for v in view):
        return "has a value that is NaN or infinite."
    x0, y0, x1, y1 = (float(v) for v in view)
    if not (x0 < x1 and y0 < y1):
        return f"{_text(view)} is empty: it needs x0 < x1 and y0 < y1."
    slack = 1e-6 * max(width, height, 1.0)
    if x0 < -slack or y0 < -slack or x1 > width + slack or y1 > height + slack:
        return (
            f"{_text(view)} is not inside the {_number(width)} x {_number(height)} frame "
            f"(0 <= x0 < x1 <= {_number(width)}, 0 <= y0 < y1 <= {_number(height)})."
        )
    return ""


def rescale(view: Sequence[float], from_size: Sequence[float], to_size: Sequence[float]) -> View:
    """``view`` given in a ``from_size`` (W, H) frame, in the pixels of a ``to_size`` frame
    (the same picture at another size), clamped to it."""
    sx = float(to_size[0]) / float(from_size[0])
    sy = float(to_size[1]) / float(from_size[1])
    x0, y0, x1, y1 = (float(v) for v in view)
    w, h = float(to_size[0]), float(to_size[1])
    return [
        min(max(x0 * sx, 0.0), w),
        min(max(y0 * sy, 0.0), h),
        min(max(x1 * sx, 0.0), w),
        min(max(y1 * sy, 0.0), h),
    ]


def stored(view: Sequence[float] | None, width: int, height: int) -> View | None:
    """What to store: None for the whole frame (or an unknown frame size), else the view."""
    if view is None:
        return None
    out = [float(v) for v in view]
    if (
        width
        and height
        and all(
            abs(a - b) <= 1e-6 * max(width, height)
            for a, b in zip(out, whole_frame(width, height), strict=True)
        )
    ):
        return None
    return out


def effective(view: Sequence[float] | None, width: int | None, height: int | None) -> View | None:
    """The view to draw and score with: the stored one, else the whole frame (None when the
    frame size is unknown)."""
    if view is not None:
        return [float(v) for v in view]
    if width and height:
        return whole_frame(int(width), int(height))
    return None


def _number(value: float) -> str:
    return f"{float(value):.3f}".rstrip("0").rstrip(".")


def _text(view: Sequence[float]) -> str:
    return "[" + ", ".join(_number(v) for v in view) + "]"
