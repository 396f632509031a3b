"""How a stimulus's map is drawn for participants, and whether it shows anything.

The display rule is the review player's: the browser gets the map quantized to 8 bits over the
whole clip (``explanations.storage.encode_map``), then normalizes either each frame on its own
(``frame``, the default: every frame with any variation shows its own hottest region) or the
whole clip at once (``clip``: quiet frames stay quiet), and draws the cells at or above the
threshold. A frame "shows nothing" when no cell would be drawn. The designer refuses a stimulus
whose map shows nothing on most frames under the study's rule, since participants would be asked
about an explanation they cannot see; every answer stores the rule and threshold it was shown
with (``Response.overlay_display_rule``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from wherewhen.explanations.models import Explanation
from wherewhen.explanations.services import read_map

PER_FRAME = "frame"
PER_CLIP = "clip"
NORMALIZATIONS = (PER_FRAME, PER_CLIP)

#: The most frames (a fraction) a stimulus's map may leave blank.
MAX_BLANK_FRACTION = 0.5


@dataclass(frozen=True)
class Coverage:
    """How many of a map's frames draw at least one pixel under a rule."""

    shown: int
    frames: int

    @property
    def blank(self) -> int:
        return self.frames - self.shown

    @property
    def mostly_blank(self) -> bool:
        return self.frames == 0 or self.blank > self.frames * MAX_BLANK_FRACTION

    def as_dict(self) -> dict[str, Any]:
        return {"shown": self.shown, "frames": self.frames, "mostly_blank": self.mostly_blank}


def display_rule_of(study) -> dict[str, Any]:
    """What participants of ``study`` are shown: the normalization and the threshold."""
    return {
        "normalization": study.overlay_normalization,
        "threshold": float(study.overlay_threshold),
    }


def quantized(arr: np.ndarray) -> np.ndarray:
    """The map as the browser receives it: 0..255 over the clip's range (all 0 if constant)."""
    arr = np.asarray(arr, dtype=np.float32)
    if arr.size == 0:
        return np.zeros(arr.shape, dtype=np.float32)
    lo, hi = float(arr.min()), float(arr.max())
    if hi <= lo:
        return np.zeros(arr.shape, dtype=np.float32)
    return np.clip(np.rint((arr - lo) / ((hi - lo) / 255.0)), 0, 255).astype(np.float32)


def coverage_of(arr: np.ndarray, normalization: str, threshold: float) -> Coverage:
    """Frames of a ``T x h x w`` map that draw something under the rule (the browser's rule)."""
    q = quantized(arr)
    if q.ndim != 3 or q.shape[0] == 0:
        return Coverage(0, 0 if q.ndim != 3 else int(q.shape[0]))
    threshold = min(1.0, max(0.0, float(threshold)))
    shown = 0
    clip_lo, clip_hi = float(q.min()), float(q.max())
    for frame in q:
        lo, hi = (float(frame.min()), float(frame.max()))
        if normalization == PER_FRAME:
            lo_ref, hi_ref = lo, hi
        else:
            lo_ref, hi_ref = clip_lo, clip_hi
        if hi_ref <= lo_ref:
            continue  # a constant frame (or clip) normalizes to 0 everywhere
        if (hi - lo_ref) / (hi_ref - lo_ref) >= threshold and hi > lo_ref:
            shown += 1
    return Coverage(shown, int(q.shape[0]))


def coverage_for(explanation: Explanation, normalization: str, threshold: float) -> Coverage:
    """:func:`coverage_of` the explanation's stored map."""
    return coverage_of(read_map(explanation.map_file), normalization, threshold)
