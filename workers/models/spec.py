"""Input specification of a video model (numpy only, no torch)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Seconds between input frames when a checkpoint does not say: the bundled models' training
#: spacing (every 4th frame of 16 fps clips), so their clips cover 8 x 0.25 = 2 s.
DEFAULT_FRAME_SPACING = 0.25


@dataclass(frozen=True)
class AudioSpec:
    """What an audio-visual model hears: ``duration`` seconds of mono sound at ``sample_rate``.

    The model turns the waveform into a log-mel spectrogram (``n_fft``, ``hop_length``,
    ``n_mels``) and pools it into ``tokens`` audio tokens along time, so audio token ``i`` covers
    the ``i``-th of ``tokens`` equal parts of the clip's audio span.
    """

    sample_rate: int = 16000
    duration: float = 2.0
    n_fft: int = 512
    hop_length: int = 160
    n_mels: int = 32
    tokens: int = 16

    @property
    def num_samples(self) -> int:
        return int(round(self.sample_rate * self.duration))

    def to_dict(self) -> dict:
        return {
            "sample_rate": self.sample_rate,
            "duration": self.duration,
            "n_fft": self.n_fft,
            "hop_length": self.hop_length,
            "n_mels": self.n_mels,
            "tokens": self.tokens,
        }

    @classmethod
    def from_dict(cls, data: dict) -> AudioSpec:
        return cls(
            sample_rate=int(data["sample_rate"]),
            duration=float(data["duration"]),
            n_fft=int(data["n_fft"]),
            hop_length=int(data["hop_length"]),
            n_mels=int(data["n_mels"]),
            tokens=int(data["tokens"]),
        )


#: PIL's resampling filter codes (what ``resample`` holds in a ``preprocessor_config.json``).
RESAMPLE_NAMES = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}


@dataclass(frozen=True)
class Preprocessing:
    """A checkpoint's own image-processor rule, reproduced exactly on decoded frames.

    The rule of transformers' image processors for video models (``VideoMAEImageProcessor``, which
    TimeSformer checkpoints name too), applied to every frame at its display size in square
    pixels:

    1. resize (``do_resize``): the short side to ``shortest_edge`` with the aspect kept (the long
       side ``int(shortest_edge * long / short)``; capped by ``longest_edge`` when set), or to
       exactly ``height`` x ``width``; with PIL's filter ``resample`` (2 = bilinear), as the
       PIL image processor does;
    2. centre crop (``crop`` = ``(height, width)``, None = no crop): top-left corner at
       ``((H - h) // 2, (W - w) // 2)`` of the resized frame, zero padding where the crop is
       larger than the frame;
    3. rescale: float64 pixels times ``rescale_factor`` (None = no rescale), then float32;
    4. normalize (``normalize``): ``(x - mean) / std`` in float32 with the spec's mean and std.

    ``InputSpec.preprocessing`` is None for models that take the whole frame squashed to
    ``S x S`` by area averaging (the bundled models, and any checkpoint that says
    ``"fit": "squash"``).
    """

    do_resize: bool = True
    shortest_edge: int | None = 224
    longest_edge: int | None = None
    height: int | None = None
    width: int | None = None
    crop: tuple[int, int] | None = (224, 224)
    resample: int = 2
    rescale_factor: float | None = 1 / 255
    normalize: bool = True

    def resized_size(self, width: int, height: int) -> tuple[int, int]:
        """``(width, height)`` of a ``width`` x ``height`` frame after the resize step."""
        if not self.do_resize:
            return int(width), int(height)
        if self.height is not None and self.width is not None and self.shortest_edge is None:
            return int(self.width), int(self.height)
        if self.shortest_edge is None:
            raise ValueError("a resize needs shortest_edge or height and width")
        h, w = _short_side_size(int(height), int(width), self.shortest_edge, self.longest_edge)
        return w, h

    def output_size(self, width: int, height: int) -> tuple[int, int]:
        """``(width, height)`` of the model input made from a ``width`` x ``height`` frame."""
        if self.crop is not None:
            return int(self.crop[1]), int(self.crop[0])
        return self.resized_size(width, height)

    def view(self, width: int, height: int) -> tuple[float, float, float, float]:
        """The rectangle ``(x0, y0, x1, y1)`` of a ``width`` x ``height`` source frame that the
        model input shows, in source pixels (it reaches outside the frame where the crop pads)."""
        rw, rh = self.resized_size(width, height)
        if self.crop is None:
            left, top, cw, ch = 0, 0, rw, rh
        else:
            ch, cw = int(self.crop[0]), int(self.crop[1])
            top, left = (rh - ch) // 2, (rw - cw) // 2
        sx, sy = width / rw, height / rh
        return (left * sx, top * sy, (left + cw) * sx, (top + ch) * sy)

    def to_dict(self) -> dict:
        return {
            "do_resize": self.do_resize,
            "shortest_edge": self.shortest_edge,
            "longest_edge": self.longest_edge,
            "height": self.height,
            "width": self.width,
            "crop": list(self.crop) if self.crop is not None else None,
            "resample": self.resample,
            "rescale_factor": self.rescale_factor,
            "normalize": self.normalize,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Preprocessing:
        crop = data.get("crop")
        return cls(
            do_resize=bool(data.get("do_resize", True)),
            shortest_edge=data.get("shortest_edge"),
            longest_edge=data.get("longest_edge"),
            height=data.get("height"),
            width=data.get("width"),
            crop=(int(crop[0]), int(crop[1])) if crop else None,
            resample=int(data.get("resample", 2)),
            rescale_factor=data.get("rescale_factor"),
            normalize=bool(data.get("normalize", True)),
        )


def _short_side_size(height: int, width: int, short: int, longest: int | None) -> tuple[int, int]:
    """``(height, width)`` after scaling the short side to ``short`` (transformers' rule)."""
    if longest is not None:  # get_size_with_aspect_ratio
        raw = None
        lo, hi = float(min(height, width)), float(max(height, width))
        if hi / lo * short > longest:
            raw = longest * lo / hi
            short = int(round(raw))
        if (height <= width and height == short) or (width <= height and width == short):
            return height, width
        if width < height:
            return (int((raw if raw is not None else short) * height / width), short)
        return (short, int((raw if raw is not None else short) * width / height))
    if width <= height:  # get_resize_output_image_size(default_to_square=False)
        return int(short * height / width), short
    return short, int(short * width / height)


@dataclass(frozen=True)
class InputSpec:
    """What a model expects: T frames of size x size RGB pixels, normalized by mean/std.

    ``tubelet_size`` is 1 for divided space-time models (TimeSformer) and usually 2 for
    joint-attention models with 3D patches (VideoMAE); the token grid is
    ``(num_frames // tubelet_size, image_size // patch_size, image_size // patch_size)``.
    ``audio`` describes the sound input of audio-visual models (None for video-only models).
    ``preprocessing`` is the checkpoint's own resize/crop rule (:class:`Preprocessing`); None
    means the whole display frame squashed to S x S.
    """

    num_frames: int
    image_size: int
    patch_size: int
    tubelet_size: int = 1
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    audio: AudioSpec | None = None  # set for audio-visual models only
    # The checkpoint's own resize/crop/rescale rule; None: the whole frame squashed to S x S.
    preprocessing: Preprocessing | None = None
    # Seconds between two consecutive input frames in training (config.json "frame_spacing");
    # None: not stated, :data:`DEFAULT_FRAME_SPACING`. Sets the whole-video window length.
    frame_spacing: float | None = None

    @property
    def clip_seconds(self) -> float:
        """How much time one clip covers at the trained frame spacing: ``num_frames`` times
        :attr:`frame_spacing` (the sliding-window length of whole-video explanations)."""
        spacing = self.frame_spacing if self.frame_spacing else DEFAULT_FRAME_SPACING
        return float(self.num_frames) * float(spacing)

    @property
    def grid(self) -> tuple[int, int, int]:
        side = self.image_size // self.patch_size
        return (self.num_frames // self.tubelet_size, side, side)

    def to_dict(self) -> dict:
        return {
            "num_frames": self.num_frames,
            "image_size": self.image_size,
            "patch_size": self.patch_size,
            "tubelet_size": self.tubelet_size,
            "mean": list(self.mean),
            "std": list(self.std),
            "audio": self.audio.to_dict() if self.audio is not None else None,
            "preprocessing": (
                self.preprocessing.to_dict() if self.preprocessing is not None else None
            ),
            **({"frame_spacing": self.frame_spacing} if self.frame_spacing else {}),
        }

    @property
    def fit(self) -> str:
        """How clips are made for this model: ``"processor"`` (the checkpoint's own rule,
        :attr:`preprocessing`) or ``"squash"`` (the whole frame to S x S)."""
        return "processor" if self.preprocessing is not None else "squash"


def audio_token_times(span: tuple[float, float], tokens: int) -> np.ndarray:
    """Source seconds ``(tokens, 2)`` ``[start, end)`` of each audio token of a clip whose sound
    covers ``span`` (the tokens are equal parts of the span)."""
    start, end = float(span[0]), float(span[1])
    edges = start + (end - start) * np.arange(tokens + 1, dtype=np.float64) / tokens
    return np.stack([edges[:-1], edges[1:]], axis=1)


def cell_rects(view: tuple[float, float, float, float], grid: tuple[int, int]) -> np.ndarray:
    """Source rectangles ``(h, w, 4)`` ``(x0, y0, x1, y1)`` of the cells of an ``h`` x ``w``
    token grid over a model input that shows the source rectangle ``view``
    (:attr:`workers.types.Clip.view`). Source pixels outside ``view`` lie in no cell: the model
    did not see them."""
    h, w = int(grid[0]), int(grid[1])
    x0, y0, x1, y1 = (float(v) for v in view)
    xs = x0 + (x1 - x0) * np.arange(w + 1, dtype=np.float64) / w
    ys = y0 + (y1 - y0) * np.arange(h + 1, dtype=np.float64) / h
    out = np.empty((h, w, 4), dtype=np.float64)
    out[..., 0] = xs[None, :-1]
    out[..., 1] = ys[:-1, None]
    out[..., 2] = xs[None, 1:]
    out[..., 3] = ys[1:, None]
    return out


def seen_mask(view: tuple[float, float, float, float], source_size: tuple[int, int]) -> np.ndarray:
    """``(H, W)`` bool: which source pixels (by their centres) the model saw through ``view``."""
    width, height = int(source_size[0]), int(source_size[1])
    x0, y0, x1, y1 = (float(v) for v in view)
    cx = np.arange(width, dtype=np.float64) + 0.5
    cy = np.arange(height, dtype=np.float64) + 0.5
    return ((cy >= y0) & (cy < y1))[:, None] & ((cx >= x0) & (cx < x1))[None, :]
