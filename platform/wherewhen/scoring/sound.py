"""The sound temporal pointing game of an audio-visual explanation (numpy only).

The audio token with the largest importance (the first on ties, ``numpy.argmax``) is a hit
if its time, the centre of its ``[start, end)`` span, lies inside a ground-truth *sound*
segment ``[start, end]`` (closed). The math is ``workers.metrics.pointing.
sound_pointing_game`` (the temporal pointing game with the audio curve for the importance and
the token centres for the timestamps), so the definition has one implementation; this module
reads the stored curve and says "not counted" when there is nothing to score.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from workers.metrics.pointing import sound_pointing_game


def audio_arrays(audio: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """``(importance (A,), times (A, 2))`` of a stored audio curve, or None without one."""
    if not audio:
        return None
    importance = np.asarray(audio.get("importance") or [], dtype=np.float64)
    times = np.asarray(audio.get("times") or [], dtype=np.float64).reshape(-1, 2)
    if importance.ndim != 1 or len(importance) == 0 or times.shape != (len(importance), 2):
        raise ValueError(
            f"the audio curve has {importance.size} importances but {len(times)} token spans"
        )
    if not (np.all(np.isfinite(importance)) and np.all(np.isfinite(times))):
        raise ValueError("the audio curve contains NaN or infinite values")
    return importance, times


def sound_hit(audio: Any, segments: Sequence[Sequence[float]]) -> bool | None:
    """Hit (True) or miss (False) of the sound temporal pointing game; None (not counted) for
    an explanation without an audio curve or ground truth without a sound segment."""
    arrays = audio_arrays(audio)
    if arrays is None or not segments:
        return None
    importance, times = arrays
    result = sound_pointing_game(
        importance[None, :],
        times[None, :, :],
        np.asarray(segments, dtype=np.float64).reshape(1, -1, 2),
    )
    return bool(result.hits[0]) if result.counted[0] else None
