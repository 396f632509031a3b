"""Datasets of synthetic clips: on disk (MP4 + JSON + CVAT XML) or in memory for training."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from workers.synthetic.annotations import clip_id, cvat_video_xml, ground_truth
from workers.synthetic.scene import Scene, SceneConfig, SyntheticConfigError, make_scene
from workers.synthetic.video import resize_frames, sample_indices, write_mp4

MAX_CLIPS = 100_000


@dataclass
class ClipRecord:
    """One generated clip on disk and its ground truth (see :func:`ground_truth`)."""

    clip_id: str
    label: str
    label_index: int
    video_path: Path
    json_path: Path
    cvat_path: Path
    ground_truth: dict

    def to_dict(self) -> dict:
        return {
            "clip_id": self.clip_id,
            "label": self.label,
            "label_index": self.label_index,
            "video": self.video_path.name,
            "ground_truth": self.json_path.name,
            "cvat": self.cvat_path.name,
        }


def _check_seed_index(seed: object, index: object = 0) -> None:
    for name, v in (("seed", seed), ("index", index)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer):
            raise SyntheticConfigError(f"{name} must be an integer, got {v!r}")
        if v < 0:
            raise SyntheticConfigError(f"{name} must be >= 0, got {v}")


def scene_for(seed: int, index: int, config: SceneConfig | None = None) -> Scene:
    """The scene of clip ``index`` of the dataset ``seed``; its class is ``index % #classes``."""
    _check_seed_index(seed, index)
    config = config or SceneConfig()
    return make_scene(int(seed), int(index), int(index) % len(config.classes), config)


def model_frames(scene: Scene, num_frames: int, image_size: int) -> np.ndarray:
    """The frames a model sees, straight from the renderer: uniform sampling + area resize.

    Same sampling and resizing as :func:`workers.synthetic.video.read_clip`, minus the codec.
    """
    idx = sample_indices(scene.config.num_frames, num_frames)
    return resize_frames(scene.render_frames(idx), image_size)


def model_batch(
    seed: int,
    indices: Iterable[int],
    num_frames: int,
    image_size: int,
    config: SceneConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """In-memory batch: frames ``(B, T, S, S, 3)`` uint8 and labels ``(B,)`` int64."""
    scenes = [scene_for(seed, i, config) for i in indices]
    frames = np.stack([model_frames(s, num_frames, image_size) for s in scenes])
    labels = np.array([s.label_index for s in scenes], dtype=np.int64)
    return frames, labels


def _write_text(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    Path(tmp).chmod(0o644)
    Path(tmp).replace(path)


def write_clip(scene: Scene, out_dir: str | Path, audio: bool = False, crf: int = 18) -> ClipRecord:
    """Write one scene as ``<clip_id>.mp4``, ``<clip_id>.json`` and ``<clip_id>.xml``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cid = clip_id(scene.seed, scene.index)
    cfg = scene.config
    video = out / f"{cid}.mp4"
    write_mp4(
        video,
        scene.render_frames(),
        cfg.fps,
        audio=scene.audio() if audio else None,
        sample_rate=cfg.audio_sample_rate,
        crf=crf,
    )
    gt = ground_truth(scene, audio=audio)
    gt["video"] = video.name
    json_path, cvat_path = out / f"{cid}.json", out / f"{cid}.xml"
    _write_text(json_path, json.dumps(gt, indent=1) + "\n")
    _write_text(cvat_path, cvat_video_xml(gt, video.name))
    return ClipRecord(cid, scene.label, scene.label_index, video, json_path, cvat_path, gt)


def generate_dataset(
    out_dir: str | Path,
    n: int,
    seed: int,
    audio: bool = False,
    config: SceneConfig | None = None,
    start_index: int = 0,
    crf: int = 18,
    progress: bool = False,
) -> list[ClipRecord]:
    """Generate clips ``start_index .. start_index+n-1`` of dataset ``seed`` into ``out_dir``.

    Per clip: ``<clip_id>.mp4`` (H.264 yuv420p, AAC tone when ``audio``), ``<clip_id>.json``
    (ground truth) and ``<clip_id>.xml`` (CVAT for video 1.1); plus ``dataset.json`` listing the
    clips and the generator settings. Same arguments, same frames and ground truth. Arguments
    are checked before anything is written.
    """
    _check_seed_index(seed, start_index)
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise SyntheticConfigError(f"n must be an integer, got {n!r}")
    if not 0 <= n <= MAX_CLIPS:
        raise SyntheticConfigError(f"n must be in 0..{MAX_CLIPS}, got {n}")
    if isinstance(crf, bool) or not isinstance(crf, int) or not 0 <= crf <= 51:
        raise SyntheticConfigError(f"crf must be an integer in 0..51, got {crf!r}")
    config = config or SceneConfig()
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise SyntheticConfigError(f"output path {out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    indices = range(int(start_index), int(start_index) + int(n))
    if progress:
        from tqdm import tqdm

        indices = tqdm(indices, desc="clips", unit="clip")
    records = [write_clip(scene_for(seed, i, config), out, audio=audio, crf=crf) for i in indices]
    manifest = {
        "generator": "workers.synthetic",
        "seed": int(seed),
        "start_index": int(start_index),
        "n": int(n),
        "audio": bool(audio),
        "config": config.to_dict(),
        "clips": [r.to_dict() for r in records],
    }
    _write_text(out / "dataset.json", json.dumps(manifest, indent=1) + "\n")
    return records
