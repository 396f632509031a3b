"""One box through a run of frames with an OpenCV tracker, and the frames of a video file.

Boxes are closed rectangles ``(x0, y0, x1, y1)`` in source-pixel coordinates (CVAT's
``xtl, ytl, xbr, ybr``), the annotation's own convention. Large frames are tracked on a copy
scaled down so the longer side is at most :data:`TRACK_SIZE` pixels (the boxes are scaled back),
which keeps tracking quick and the memory a backward run needs small.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

Box = tuple[float, float, float, float]

#: Trackers offered, best first. CSRT (discriminative correlation filter with channel and
#: spatial reliability) is the most accurate of OpenCV's classical trackers; KCF is faster;
#: MIL is the one in OpenCV's main package.
METHODS: tuple[str, ...] = ("csrt", "kcf", "mil")
#: Longest side (pixels) of the frames the tracker works on.
TRACK_SIZE = 640
#: Most frames one run may cover (the first frame included).
MAX_SPAN = 500
#: A box narrower or lower than this (pixels, at tracking size) cannot be tracked.
MIN_SIDE = 4.0


class TrackingError(ValueError):
    """The tracker cannot run as asked (the message says why, in words a person can act on)."""


class TrackingCancelled(Exception):
    """Raised by a ``should_stop`` callback's caller when a run was cancelled."""


@dataclass
class TrackResult:
    """What one run found: a box per frame after the first (``None`` once the tracker lost the
    object: it stops there), where it stopped, and whether it was cancelled."""

    method: str
    boxes: list[Box | None] = field(default_factory=list)
    lost_at: int | None = None  # index into ``boxes`` of the first frame without a box
    cancelled: bool = False

    @property
    def found(self) -> list[Box]:
        """The boxes up to where the tracker lost the object (or the run stopped)."""
        out: list[Box] = []
        for box in self.boxes:
            if box is None:
                break
            out.append(box)
        return out


def _create(method: str):
    import cv2  # loaded where tracking runs, never by the web process at start

    # The legacy API keeps sub-pixel boxes (Rect2d); the new one rounds them to whole pixels.
    legacy = getattr(cv2, "legacy", None)
    makers = {
        "csrt": "TrackerCSRT_create",
        "kcf": "TrackerKCF_create",
        "mil": "TrackerMIL_create",
    }
    if method not in makers:
        raise TrackingError(f"Unknown tracker '{method}'; choose one of {', '.join(METHODS)}.")
    maker = getattr(legacy, makers[method], None) if legacy is not None else None
    if maker is None:
        if method != "mil":
            raise TrackingError(
                f"The '{method}' tracker needs OpenCV's contrib modules, which are not installed."
            )
        return cv2.TrackerMIL_create(), False
    return maker(), True


def _scale_for(shape: tuple[int, ...]) -> float:
    h, w = shape[0], shape[1]
    return min(1.0, TRACK_SIZE / max(h, w))


def _prepare(frame: np.ndarray, scale: float) -> np.ndarray:
    import cv2  # loaded where tracking runs, never by the web process at start

    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise TrackingError("Frames must be (height, width, 3) uint8 images.")
    if scale < 1.0:
        size = (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale)))
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(frame)


def _clip(box: Box, width: float, height: float) -> Box | None:
    x0, y0 = max(0.0, box[0]), max(0.0, box[1])
    x1, y1 = min(float(width), box[2]), min(float(height), box[3])
    if x1 - x0 < 1.0 or y1 - y0 < 1.0:
        return None
    return (x0, y0, x1, y1)


def track_box(
    frames: Iterable[np.ndarray],
    box: Box,
    *,
    method: str = "csrt",
    on_progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrackResult:
    """Follow ``box`` (on the first of ``frames``) through the rest of ``frames``.

    ``on_progress(n)`` is called after each tracked frame with how many are done;
    ``should_stop()`` is asked before each frame and a true answer ends the run early
    (``cancelled``). The tracker stops at the first frame where it loses the object or where
    the box leaves the picture; the result then holds ``None`` from there on.
    """
    if not (isinstance(box, tuple | list) and len(box) == 4):
        raise TrackingError("The box must be (x0, y0, x1, y1).")
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in box):
        raise TrackingError("The box's coordinates must be finite numbers.")
    iterator: Iterator[np.ndarray] = iter(frames)
    first = next(iterator, None)
    if first is None:
        raise TrackingError("There is no frame to start tracking from.")
    height, width = first.shape[0], first.shape[1]
    start = _clip(tuple(float(v) for v in box), width, height)  # type: ignore[arg-type]
    if start is None:
        raise TrackingError("The box is outside the picture.")
    scale = _scale_for(first.shape)
    x0, y0, x1, y1 = (v * scale for v in start)
    if x1 - x0 < MIN_SIDE or y1 - y0 < MIN_SIDE:
        raise TrackingError("The box is too small to track; draw it around the whole object.")
    tracker, subpixel = _create(method)
    rect = (x0, y0, x1 - x0, y1 - y0)
    if not subpixel:
        rect = tuple(int(round(v)) for v in rect)
    ok = tracker.init(_prepare(first, scale), rect)
    if ok is False:  # the new API returns None, the legacy one a flag
        raise TrackingError("The tracker could not start from this box.")
    result = TrackResult(method=method)
    for done, frame in enumerate(iterator, start=1):
        if should_stop is not None and should_stop():
            result.cancelled = True
            break
        if result.lost_at is not None:
            result.boxes.append(None)
            continue
        ok, found = tracker.update(_prepare(frame, scale))
        got = None
        if ok:
            fx, fy, fw, fh = (float(v) / scale for v in found)
            got = _clip((fx, fy, fx + fw, fy + fh), width, height)
        if got is None:
            result.lost_at = len(result.boxes)
        result.boxes.append(got)
        if on_progress is not None:
            on_progress(done)
    return result


def read_frames(path: str | Path, start: int, stop: int) -> Iterator[np.ndarray]:
    """RGB frames ``start`` .. ``stop - 1`` of a video file, decoded in order from its first
    frame (so the numbering is exactly the decoder's, as ``frame_timestamps`` lists it)."""
    import cv2  # loaded where tracking runs, never by the web process at start

    if start < 0 or stop <= start:
        raise TrackingError(f"Bad frame range {start}..{stop}.")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise TrackingError(f"Cannot open the video file {Path(path).name}.")
    try:
        index = 0
        while index < stop:
            if index < start:
                ok = capture.grab()  # decode without converting: cheap skipping
            else:
                ok, frame = capture.read()
            if not ok:
                break
            if index >= start:
                yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            index += 1
    finally:
        capture.release()
