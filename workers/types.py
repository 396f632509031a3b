"""Plain data types shared by the engine, the metrics, the CLIs and the platform.

Numpy only (no torch) so the web process and the scoring code can use them freely.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Clip:
    """T frames of one video as the model sees them, and where they came from.

    ``frames`` are RGB uint8, already resized/cropped to the model's input size.
    ``timestamps`` are the exact source presentation times (seconds) of each frame.
    ``source_size`` is the (width, height) in pixels of the source video frames, the
    coordinate system of ground-truth boxes.
    ``view`` is the rectangle ``(x0, y0, x1, y1)`` of the source frame, in source pixels, that
    the frames show: the whole frame for the squash (also when None), the centre part for
    models that crop (see :attr:`workers.models.spec.InputSpec.preprocessing`). Source pixels
    outside it were not seen by the model; :func:`workers.models.spec.cell_rects` gives each
    token cell's source rectangle.
    """

    frames: np.ndarray  # (T, S, S, 3) uint8
    timestamps: np.ndarray  # (T,) float64 seconds
    source_size: tuple[int, int]  # (W, H)
    video_id: str | None = None
    # Audio-visual models only: the mono waveform the model hears, float32 in [-1, 1], exactly
    # ``spec.audio.num_samples`` long, and the source seconds ``(start, end)`` it covers (when
    # they span more or less than ``spec.audio.duration``, the sound was time-stretched to fit,
    # pitch preserved).
    audio: np.ndarray | None = None
    audio_span: tuple[float, float] | None = None
    view: tuple[float, float, float, float] | None = None

    def view_rect(self) -> tuple[float, float, float, float]:
        """:attr:`view`, or the whole source frame when it is not set."""
        if self.view is not None:
            return tuple(float(v) for v in self.view)  # type: ignore[return-value]
        return (0.0, 0.0, float(self.source_size[0]), float(self.source_size[1]))


@dataclass
class Cost:
    forward_passes: int = 0
    backward_passes: int = 0
    wall_seconds: float = 0.0
    peak_memory_bytes: int = 0


@dataclass
class Prediction:
    label_index: int
    label: str
    probability: float


@dataclass
class Explanation:
    """One explanation of one clip: where (map) and when (temporal) on the token grid."""

    method: str
    map: np.ndarray  # (T, h, w) float32 on the model's token grid
    temporal: np.ndarray  # (T,) float32 temporal importance
    timestamps: np.ndarray  # (T,) float64 source seconds of each map frame
    target: int  # explained class index
    topk: list[Prediction]
    cost: Cost
    params: dict = field(default_factory=dict)
    # Audio-visual models only: importance of each audio token ``(A,)`` and the source seconds
    # ``(A, 2)`` ``[start, end)`` each token covers; None for video-only models.
    audio: np.ndarray | None = None
    audio_times: np.ndarray | None = None
    # The source rectangle (x0, y0, x1, y1) the model saw (``Clip.view_rect()``): the map's
    # cells tile it; source pixels outside it are "not seen" (no value, not a low one).
    view: tuple[float, float, float, float] | None = None
