"""Synthetic space-time benchmark: clips whose evidence is known exactly.

A target object in a cluttered, moving scene flashes a class colour for a short window; the
ground truth is its box in every event frame ("where"), the window in seconds ("when") and,
optionally, a tone in the audio track during the event. Numpy and ffmpeg only (no torch, no
Django). See ``scene.py`` for the design and ``docs`` in the model card of the bundled model.

    from workers.synthetic import generate_dataset
    records = generate_dataset("var/synthetic", n=200, seed=1, audio=True)
"""

from workers.synthetic.annotations import clip_id, cvat_video_xml, ground_truth
from workers.synthetic.dataset import (
    ClipRecord,
    generate_dataset,
    model_batch,
    model_frames,
    scene_for,
    write_clip,
)
from workers.synthetic.scene import (
    CLASS_COLOURS,
    Scene,
    SceneConfig,
    SyntheticConfigError,
    make_scene,
)
from workers.synthetic.video import (
    VideoIOError,
    clip_from_frames,
    read_clip,
    read_video,
    resize_frames,
    sample_indices,
    write_mp4,
)

CLASSES: tuple[str, ...] = tuple(CLASS_COLOURS)

__all__ = [
    "CLASSES",
    "CLASS_COLOURS",
    "ClipRecord",
    "Scene",
    "SceneConfig",
    "SyntheticConfigError",
    "VideoIOError",
    "clip_from_frames",
    "clip_id",
    "cvat_video_xml",
    "generate_dataset",
    "ground_truth",
    "make_scene",
    "model_batch",
    "model_frames",
    "read_clip",
    "read_video",
    "resize_frames",
    "sample_indices",
    "scene_for",
    "write_clip",
    "write_mp4",
]
