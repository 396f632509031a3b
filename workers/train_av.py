"""Train the bundled small audio-visual transformer on the synthetic benchmark with sound.

    python -m workers.train_av --seed 0 --out workers/models/bundled/tiny-av-transformer

The same rules as :mod:`workers.train` (the video model): seeded and deterministic (same seed and
thread count -> bit-identical weights), a fixed number of steps, data rendered in memory exactly
as the MP4 readers sample it. The clips follow the audio-visual mix of sound modes
(``workers.synthetic.scene.AV_SOUND_MIX``): the class tone sounds with the flash, at another time
than the flash, not at all (only the picture tells the class) or without any flash (only the
sound tells it), so the model must use both modalities and cannot rely on their timing agreeing.
Augmentation: flips and 90-degree rotations of the frames, a random gain of the sound.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from workers.models.av import MODEL_TYPE
from workers.models.loader import LoadedModel, build_model
from workers.models.spec import AudioSpec, InputSpec
from workers.synthetic import CLASSES, SceneConfig, model_frames, scene_for
from workers.synthetic.scene import AV_SOUND_MIX, SOUND_MODES
from workers.train import (
    HELDOUT_SEED,
    TRAIN_DATA_SEED_OFFSET,
    VALIDATION_SEED,
    Clock,
    TrainConfig,
    check_config,
    finish,
    optimize,
    parse_config,
    preserving_torch_settings,
    run_record,
    setup_determinism,
)

AV_CONFIG = SceneConfig(sound_mix=AV_SOUND_MIX)
SPEC = InputSpec(num_frames=8, image_size=64, patch_size=16, audio=AudioSpec())


@dataclass
class AVTrainConfig(TrainConfig):
    """The video model's settings; the pool is smaller (each clip also holds 2 s of sound)."""

    train_clips: int = 6000


@dataclass
class AVSet:
    """In-memory audio-visual clips: frames, waveforms, labels and sound modes."""

    frames: np.ndarray  # (N, T, S, S, 3) uint8
    audio: np.ndarray  # (N, samples) float16 (float32 when handed to the model)
    labels: np.ndarray  # (N,) int64
    modes: np.ndarray  # (N,) str


def av_set(seed: int, indices: range | list[int], spec: InputSpec = SPEC) -> AVSet:
    """Clips ``indices`` of the audio-visual dataset ``seed``, as the model sees them."""
    assert spec.audio is not None
    scenes = [scene_for(seed, i, AV_CONFIG) for i in indices]
    n = len(scenes)
    frames = np.empty((n, spec.num_frames, spec.image_size, spec.image_size, 3), np.uint8)
    audio = np.empty((n, spec.audio.num_samples), np.float16)
    for k, scene in enumerate(scenes):
        frames[k] = model_frames(scene, spec.num_frames, spec.image_size)
        audio[k] = scene.audio(spec.audio.sample_rate)[: spec.audio.num_samples]
    labels = np.array([s.label_index for s in scenes], dtype=np.int64)
    modes = np.array([s.sound_mode for s in scenes])
    return AVSet(frames, audio, labels, modes)


def augment_av(
    frames: np.ndarray, audio: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Label-preserving flips and 90-degree rotations of the frames, a gain on the sound."""
    out = np.empty_like(frames)
    for i, clip in enumerate(frames):
        clip = np.rot90(clip, int(rng.integers(4)), axes=(1, 2))
        if rng.integers(2):
            clip = clip[:, :, ::-1]
        out[i] = clip
    gain = rng.uniform(0.5, 1.5, size=(len(audio), 1)).astype(np.float32)
    return out, np.clip(audio.astype(np.float32) * gain, -1.0, 1.0)


@torch.no_grad()
def evaluate_av(loaded: LoadedModel, data: AVSet, batch_size: int = 64) -> dict:
    """Accuracy overall, per class and per sound mode."""
    was_training = loaded.model.training
    loaded.model.eval()
    probs = loaded.predict(data.frames, batch_size=batch_size, audio=data.audio)
    loaded.model.train(was_training)
    pred = probs.argmax(1)
    hit = pred == data.labels

    def acc(mask: np.ndarray) -> float | None:
        return float(hit[mask].mean()) if mask.any() else None

    return {
        "accuracy": float(hit.mean()),
        "per_class": {n: acc(data.labels == c) for c, n in enumerate(loaded.labels)},
        "per_sound_mode": {m: acc(data.modes == m) for m in SOUND_MODES},
        "n": int(len(hit)),
    }


def heldout_av(n: int) -> AVSet:
    return av_set(HELDOUT_SEED, range(n))


def train_av(
    cfg: AVTrainConfig, out: str | Path | None = None, verbose: bool = True
) -> tuple[LoadedModel, dict]:
    """Train from scratch; save to ``out`` (if given) with ``training_log.json``."""
    check_config(cfg)
    return preserving_torch_settings(_train, cfg, out, verbose)


def _train(cfg: AVTrainConfig, out: str | Path | None, verbose: bool) -> tuple[LoadedModel, dict]:
    clock = Clock(verbose)
    setup_determinism(cfg.seed, cfg.threads)
    data_seed = TRAIN_DATA_SEED_OFFSET + cfg.seed
    clock.say(f"rendering {cfg.train_clips} audio-visual training clips (dataset seed {data_seed})")
    pool = av_set(data_seed, range(cfg.train_clips))
    val = av_set(VALIDATION_SEED, range(cfg.val_clips)) if cfg.val_clips > 0 else None
    data_seconds = clock.wall()
    clock.say(f"data ready in {data_seconds:.1f}s")

    loaded = build_model(MODEL_TYPE, SPEC, list(CLASSES), **cfg.model_config)

    def batch_logits(idx: np.ndarray, aug_rng: np.random.Generator):
        x, a = pool.frames[idx], pool.audio[idx].astype(np.float32)
        if cfg.augment:
            x, a = augment_av(x, a, aug_rng)
        return loaded.logits(loaded.preprocess(x), loaded.preprocess_audio(a)), pool.labels[idx]

    def validate() -> dict:
        ev = evaluate_av(loaded, val)
        return {"val_accuracy": ev["accuracy"], "val_per_sound_mode": ev["per_sound_mode"]}

    log = optimize(cfg, loaded, batch_logits, validate if val is not None else None, 54321, clock)
    result = run_record(cfg, SPEC, data_seed, data_seconds, log, clock)
    result["sound_mix"] = [list(m) for m in AV_SOUND_MIX]
    if cfg.eval_clips > 0:
        clock.say(f"evaluating on {cfg.eval_clips} held-out clips (dataset seed {HELDOUT_SEED})")
        ev = evaluate_av(loaded, heldout_av(cfg.eval_clips))
        result["heldout"] = ev
        clock.say(f"held-out accuracy {ev['accuracy']:.4f} per sound mode {ev['per_sound_mode']}")
    finish(loaded, result, out, clock)
    return loaded, result


def main(argv: list[str] | None = None) -> int:
    cfg, out = parse_config(
        argv,
        AVTrainConfig(),
        "python -m workers.train_av",
        "Train the small audio-visual transformer (deterministic per seed).",
    )
    try:
        train_av(cfg, out)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
