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

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from workers.models.av import MODEL_TYPE
from workers.models.loader import LoadedModel, build_model, save_model
from workers.models.spec import AudioSpec, InputSpec
from workers.synthetic import CLASSES, SceneConfig, model_frames, scene_for
from workers.synthetic.scene import AV_SOUND_MIX, SOUND_MODES
from workers.train import HELDOUT_SEED, TRAIN_DATA_SEED_OFFSET, VALIDATION_SEED, setup_determinism

AV_CONFIG = SceneConfig(sound_mix=AV_SOUND_MIX)
SPEC = InputSpec(num_frames=8, image_size=64, patch_size=16, audio=AudioSpec())
MODEL_CONFIG = {
    "hidden_size": 96,
    "num_hidden_layers": 3,
    "num_attention_heads": 4,
    "intermediate_size": 384,
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
}


@dataclass
class AVTrainConfig:
    seed: int = 0
    steps: int = 2000
    batch_size: int = 32
    train_clips: int = 6000
    lr: float = 4e-4
    weight_decay: float = 0.05
    warmup_fraction: float = 0.15
    grad_clip: float = 1.0
    threads: int = 2
    eval_clips: int = 500
    val_clips: int = 256
    val_every: int = 250
    log_every: int = 25
    augment: bool = True
    model_config: dict = field(default_factory=lambda: dict(MODEL_CONFIG))


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
    if cfg.steps < 1 or cfg.batch_size < 1 or cfg.train_clips < cfg.batch_size:
        raise ValueError(
            f"need steps >= 1 and train_clips >= batch_size >= 1, got steps={cfg.steps}, "
            f"batch_size={cfg.batch_size}, train_clips={cfg.train_clips}"
        )
    previous = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())
    try:
        return _train(cfg, out, verbose)
    finally:
        torch.set_num_threads(previous[0])
        torch.use_deterministic_algorithms(previous[1])


def _train(cfg: AVTrainConfig, out: str | Path | None, verbose: bool) -> tuple[LoadedModel, dict]:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    setup_determinism(cfg.seed, cfg.threads)

    def say(msg: str) -> None:
        if verbose:
            print(f"[{time.perf_counter() - wall0:7.1f}s] {msg}", flush=True)

    data_seed = TRAIN_DATA_SEED_OFFSET + cfg.seed
    say(f"rendering {cfg.train_clips} audio-visual training clips (dataset seed {data_seed})")
    pool = av_set(data_seed, range(cfg.train_clips))
    val = av_set(VALIDATION_SEED, range(cfg.val_clips)) if cfg.val_clips > 0 else None
    data_seconds = time.perf_counter() - wall0
    say(f"data ready in {data_seconds:.1f}s")

    loaded = build_model(MODEL_TYPE, SPEC, list(CLASSES), **cfg.model_config)
    model = loaded.model
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=cfg.warmup_fraction
    )
    order_gen = torch.Generator().manual_seed(cfg.seed)
    aug_rng = np.random.default_rng([cfg.seed, 54321])
    perm = torch.randperm(cfg.train_clips, generator=order_gen).numpy()
    cursor = 0
    log: list[dict] = []
    run_loss = run_correct = run_n = 0.0
    for step in range(1, cfg.steps + 1):
        if cursor + cfg.batch_size > len(perm):
            perm = torch.randperm(cfg.train_clips, generator=order_gen).numpy()
            cursor = 0
        idx = np.sort(perm[cursor : cursor + cfg.batch_size])
        cursor += cfg.batch_size
        x, a = pool.frames[idx], pool.audio[idx].astype(np.float32)
        if cfg.augment:
            x, a = augment_av(x, a, aug_rng)
        y = torch.from_numpy(pool.labels[idx])
        logits = loaded.logits(loaded.preprocess(x), loaded.preprocess_audio(a))
        loss = torch.nn.functional.cross_entropy(logits, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        sched.step()
        run_loss += float(loss.detach()) * len(y)
        run_correct += float((logits.argmax(1) == y).sum())
        run_n += len(y)
        entry = None
        if step % cfg.log_every == 0 or step == cfg.steps:
            entry = {
                "step": step,
                "loss": round(run_loss / run_n, 5),
                "train_accuracy": round(run_correct / run_n, 4),
                "lr": float(sched.get_last_lr()[0]),
                "wall_seconds": round(time.perf_counter() - wall0, 1),
            }
            run_loss = run_correct = run_n = 0.0
        if val is not None and (step % cfg.val_every == 0 or step == cfg.steps):
            entry = entry or {"step": step}
            ev = evaluate_av(loaded, val)
            entry["val_accuracy"] = ev["accuracy"]
            entry["val_per_sound_mode"] = ev["per_sound_mode"]
        if entry:
            log.append(entry)
            say(" ".join(f"{k}={v}" for k, v in entry.items() if k != "wall_seconds"))

    train_wall, train_cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    model.eval()
    result: dict = {
        "config": asdict(cfg),
        "spec": SPEC.to_dict(),
        "classes": list(CLASSES),
        "sound_mix": [list(m) for m in AV_SOUND_MIX],
        "train_data_seed": data_seed,
        "heldout_seed": HELDOUT_SEED,
        "data_seconds": round(data_seconds, 1),
        "train_wall_seconds": round(train_wall, 1),
        "train_cpu_seconds": round(train_cpu, 1),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "log": log,
    }
    if cfg.eval_clips > 0:
        say(f"evaluating on {cfg.eval_clips} held-out clips (dataset seed {HELDOUT_SEED})")
        ev = evaluate_av(loaded, heldout_av(cfg.eval_clips))
        result["heldout"] = ev
        say(f"held-out accuracy {ev['accuracy']:.4f} per sound mode {ev['per_sound_mode']}")
    result["total_wall_seconds"] = round(time.perf_counter() - wall0, 1)
    if out is not None:
        save_model(loaded, out)
        Path(out, "training_log.json").write_text(json.dumps(result, indent=1) + "\n")
        say(f"saved to {out}")
    return loaded, result


def main(argv: list[str] | None = None) -> int:
    d = AVTrainConfig()
    p = argparse.ArgumentParser(
        prog="python -m workers.train_av",
        description="Train the small audio-visual transformer (deterministic per seed).",
    )
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--out", required=True, help="checkpoint directory to write")
    p.add_argument("--steps", type=int, default=d.steps)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--train-clips", type=int, default=d.train_clips)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--threads", type=int, default=d.threads)
    p.add_argument("--eval-clips", type=int, default=d.eval_clips)
    p.add_argument("--val-clips", type=int, default=d.val_clips)
    p.add_argument("--no-augment", action="store_true")
    args = p.parse_args(argv)
    cfg = AVTrainConfig(
        seed=args.seed,
        steps=args.steps,
        batch_size=args.batch_size,
        train_clips=args.train_clips,
        lr=args.lr,
        threads=args.threads,
        eval_clips=args.eval_clips,
        val_clips=args.val_clips,
        augment=not args.no_augment,
    )
    try:
        train_av(cfg, args.out)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
