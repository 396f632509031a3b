"""Assisted tracking for annotators: propagate one box through neighbouring frames with a
classical OpenCV tracker (CSRT by default; KCF and MIL too), which needs no downloaded weights.

The tracker reads the video's own frames and nothing else (never a model's explanation). Frames
come from :func:`read_frames` (the playback file, decoded in order by OpenCV, so frame ``i`` is
the ``i``-th decoded frame: the same numbering as the video's ``frame_timestamps``) or from any
iterable of ``(H, W, 3)`` uint8 arrays, so the benchmark can feed rendered frames directly.

    from workers.tracking import track_box, read_frames
    frames = read_frames("playback.mp4", start=10, stop=40)
    result = track_box(frames, (12.0, 30.0, 40.0, 61.0))
    result.boxes  # one (x0, y0, x1, y1) per frame after the first, or None where it was lost
"""

from workers.tracking.core import (
    MAX_SPAN,
    METHODS,
    TrackingCancelled,
    TrackingError,
    TrackResult,
    read_frames,
    track_box,
)

__all__ = [
    "MAX_SPAN",
    "METHODS",
    "TrackResult",
    "TrackingCancelled",
    "TrackingError",
    "read_frames",
    "track_box",
]
