"""A checkpoint's own image-processor rule on decoded frames (numpy and PIL; no torch).

:func:`processor_frames` resizes and centre-crops RGB frames exactly as transformers' PIL image
processor for video models does (``VideoMAEImageProcessorPil``, which ``AutoImageProcessor``
gives for VideoMAE and TimeSformer checkpoints): ``PIL.Image.resize`` with the checkpoint's
filter (bilinear unless it says otherwise; PIL's filters widen with the scale factor, so a
downscale averages), then a centre crop at ``((H - h) // 2, (W - w) // 2)`` with zero padding
where the frame is smaller than the crop. The rescale and normalization steps happen on the
model's device (:meth:`workers.models.loader.LoadedModel.preprocess`), with the same arithmetic.

Where torchvision is installed, transformers picks its torchvision image processor by default
instead; that one resizes with torch's antialiased interpolation, whose rounding differs from
PIL's by at most a grey level here and there. The PIL processor is the reference here.
"""

from __future__ import annotations

import math

import numpy as np

from workers.models.spec import Preprocessing
from workers.video.errors import VideoError


def _pil():
    try:
        from PIL import Image
    except ImportError as exc:  # pragma: no cover - Pillow comes with the worker's packages
        raise VideoError(
            "this model resizes frames with its own image-processor rule, which needs Pillow "
            "(pip install Pillow)"
        ) from exc
    return Image


def center_crop(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """The centre ``height`` x ``width`` of an ``(H, W, C)`` frame, zero-padded where it is
    smaller (transformers' ``center_crop``)."""
    h, w = frame.shape[:2]
    top, left = (h - height) // 2, (w - width) // 2
    if top >= 0 and left >= 0 and top + height <= h and left + width <= w:
        return frame[top : top + height, left : left + width]
    new_h, new_w = max(height, h), max(width, w)
    canvas = np.zeros((new_h, new_w, *frame.shape[2:]), dtype=frame.dtype)
    top_pad, left_pad = math.ceil((new_h - h) / 2), math.ceil((new_w - w) / 2)
    canvas[top_pad : top_pad + h, left_pad : left_pad + w] = frame
    top, left = top + top_pad, left + left_pad
    return canvas[max(0, top) : min(new_h, top + height), max(0, left) : min(new_w, left + width)]


def processor_frames(frames: np.ndarray, prep: Preprocessing) -> np.ndarray:
    """uint8 RGB frames ``(N, H, W, 3)`` at display size -> the model's ``(N, h, w, 3)`` uint8
    frames after the resize and centre-crop steps of ``prep``."""
    arr = np.asarray(frames)
    if arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3:
        raise VideoError(f"frames must be uint8 RGB (N, H, W, 3), got {arr.dtype} {arr.shape}")
    image = _pil()
    out = []
    for frame in arr:
        if prep.do_resize:
            width, height = prep.resized_size(frame.shape[1], frame.shape[0])
            resized = image.fromarray(np.ascontiguousarray(frame)).resize(
                (width, height), resample=prep.resample, reducing_gap=None
            )
            frame = np.asarray(resized)
        if prep.crop is not None:
            frame = center_crop(frame, prep.crop[0], prep.crop[1])
        out.append(np.ascontiguousarray(frame))
    return np.stack(out)
