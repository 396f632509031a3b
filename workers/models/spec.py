"""Input specification of a video model (numpy only, no torch)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class InputSpec:
    """What a model expects: T frames of size x size RGB pixels, normalized by mean/std.

    ``tubelet_size`` is 1 for divided space-time models (TimeSformer) and usually 2 for
    joint-attention models with 3D patches (VideoMAE); the token grid is
    ``(num_frames // tubelet_size, image_size // patch_size, image_size // patch_size)``.
    """

    num_frames: int
    image_size: int
    patch_size: int
    tubelet_size: int = 1
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)

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
        }
