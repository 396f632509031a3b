"""Train the bundled small TimeSformer on the synthetic benchmark, reproducibly on a CPU.

    python -m workers.train --seed 0 --out workers/models/bundled/tiny-timesformer

Same seed, same thread count -> bit-identical weights (``torch.use_deterministic_algorithms``;
data come from the seeded generator, shuffling and augmentation from seeded generators). The
run is a fixed number of optimizer steps, never a time budget, so a slower machine gives the
same model, later.

Data: a pool of clips rendered in memory (dataset seed ``TRAIN_DATA_SEED_OFFSET + seed``),
sampled and resized exactly as :func:`workers.synthetic.read_clip` does for MP4 files, with
label-preserving augmentation (horizontal/vertical flips, 90-degree rotations, time reversal).
Held-out accuracy is measured on ``HELDOUT_SEED`` clips, a dataset seed never used for training.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from workers.models.loader import LoadedModel, build_model, save_model
from workers.models.spec import InputSpec
from workers.synthetic import CLASSES, SceneConfig, model_batch

TRAIN_DATA_SEED_OFFSET = 1000
VALIDATION_SEED = 900
HELDOUT_SEED = 7
SPEC = InputSpec(num_frames=8, image_size=64, patch_size=16)
MODEL_CONFIG = {
    "hidden_size": 96,
    "num_hidden_layers": 3,
    "num_attention_heads": 4,
    "intermediate_size": 384,
    "hidden_dropout_prob": 0.0,
    "attention_probs_dropout_prob": 0.0,
}


@dataclass
class TrainConfig:
    seed: int = 0
    steps: int = 2000
    batch_size: int = 32
    train_clips: int = 8000
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


def setup_determinism(seed: int, threads: int) -> None:
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def augment(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Label-preserving flips, 90-degree rotations and time reversal of ``(B, T, S, S, 3)``."""
    out = np.empty_like(frames)
    for i, clip in enumerate(frames):
        k = int(rng.integers(4))
        clip = np.rot90(clip, k, axes=(1, 2))
        if rng.integers(2):
            clip = clip[:, :, ::-1]
        if rng.integers(2):
            clip = clip[::-1]
        out[i] = clip
    return out


def make_pool(seed: int, n: int, spec: InputSpec = SPEC) -> tuple[np.ndarray, np.ndarray]:
    """``n`` in-memory training clips of dataset ``seed`` (frames uint8, labels int64)."""
    frames = np.empty((n, spec.num_frames, spec.image_size, spec.image_size, 3), np.uint8)
    labels = np.empty(n, np.int64)
    chunk = 256
    for s in range(0, n, chunk):
        idx = range(s, min(n, s + chunk))
        f, y = model_batch(seed, idx, spec.num_frames, spec.image_size, SceneConfig())
        frames[s : s + len(f)], labels[s : s + len(f)] = f, y
    return frames, labels


@torch.no_grad()
def evaluate(
    loaded: LoadedModel, frames: np.ndarray, labels: np.ndarray, batch_size: int = 64
) -> dict:
    """Accuracy, per-class accuracy and predictions on in-memory frames."""
    was_training = loaded.model.training
    loaded.model.eval()
    probs = loaded.predict(frames, batch_size=batch_size)
    loaded.model.train(was_training)
    pred = probs.argmax(1)
    per_class = {
        name: float((pred[labels == c] == c).mean()) if (labels == c).any() else float("nan")
        for c, name in enumerate(loaded.labels)
    }
    return {
        "accuracy": float((pred == labels).mean()),
        "per_class": per_class,
        "n": int(len(labels)),
        "predictions": pred.tolist(),
    }


def heldout_set(n: int, spec: InputSpec = SPEC) -> tuple[np.ndarray, np.ndarray]:
    return model_batch(HELDOUT_SEED, range(n), spec.num_frames, spec.image_size, SceneConfig())


def check_config(cfg: TrainConfig) -> None:
    if cfg.steps < 1 or cfg.batch_size < 1 or cfg.train_clips < cfg.batch_size:
        raise ValueError(
            f"need steps >= 1 and train_clips >= batch_size >= 1, got steps={cfg.steps}, "
            f"batch_size={cfg.batch_size}, train_clips={cfg.train_clips}"
        )


def train(
    cfg: TrainConfig, out: str | Path | None = None, verbose: bool = True
) -> tuple[LoadedModel, dict]:
    """Train from scratch; save to ``out`` (if given) with ``training_log.json``."""
    check_config(cfg)
    return preserving_torch_settings(_train, cfg, out, verbose)


def preserving_torch_settings(fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn`` and put torch's thread count and determinism back as they were (tests train
    in one process)."""
    previous = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())
    try:
        return fn(*args)
    finally:
        torch.set_num_threads(previous[0])
        torch.use_deterministic_algorithms(previous[1])


class Clock:
    """Wall and CPU time since the start of a run, and its progress lines."""

    def __init__(self, verbose: bool) -> None:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        self.verbose = verbose

    def wall(self) -> float:
        return time.perf_counter() - self.wall0

    def cpu(self) -> float:
        return time.process_time() - self.cpu0

    def say(self, msg: str) -> None:
        if self.verbose:
            print(f"[{self.wall():7.1f}s] {msg}", flush=True)


def _train(cfg: TrainConfig, out: str | Path | None, verbose: bool) -> tuple[LoadedModel, dict]:
    clock = Clock(verbose)
    setup_determinism(cfg.seed, cfg.threads)
    data_seed = TRAIN_DATA_SEED_OFFSET + cfg.seed
    clock.say(f"rendering {cfg.train_clips} training clips (dataset seed {data_seed})")
    pool_x, pool_y = make_pool(data_seed, cfg.train_clips)
    val_x = val_y = None
    if cfg.val_clips > 0:
        val_x, val_y = model_batch(
            VALIDATION_SEED, range(cfg.val_clips), SPEC.num_frames, SPEC.image_size
        )
    data_seconds = clock.wall()
    clock.say(f"data ready in {data_seconds:.1f}s")

    loaded = build_model("timesformer", SPEC, list(CLASSES), **cfg.model_config)

    def batch_logits(idx: np.ndarray, aug_rng: np.random.Generator):
        x = pool_x[idx]
        if cfg.augment:
            x = augment(x, aug_rng)
        return loaded.model(pixel_values=loaded.preprocess(x)).logits, pool_y[idx]

    def validate() -> dict:
        return {"val_accuracy": evaluate(loaded, val_x, val_y)["accuracy"]}

    log = optimize(cfg, loaded, batch_logits, validate if val_x is not None else None, 12345, clock)
    result = run_record(cfg, SPEC, data_seed, data_seconds, log, clock)
    if cfg.eval_clips > 0:
        clock.say(f"evaluating on {cfg.eval_clips} held-out clips (dataset seed {HELDOUT_SEED})")
        hx, hy = heldout_set(cfg.eval_clips)
        ev = evaluate(loaded, hx, hy)
        result["heldout"] = {k: v for k, v in ev.items() if k != "predictions"}
        clock.say(f"held-out accuracy {ev['accuracy']:.4f} per class {ev['per_class']}")
    finish(loaded, result, out, clock)
    return loaded, result


def optimize(
    cfg: TrainConfig,
    loaded: LoadedModel,
    batch_logits: Callable[[np.ndarray, np.random.Generator], tuple[torch.Tensor, np.ndarray]],
    validate: Callable[[], dict] | None,
    augment_seed: int,
    clock: Clock,
) -> list[dict]:
    """The optimizer loop both bundled models are trained with: AdamW, one-cycle schedule,
    gradient clipping, seeded shuffling (``cfg.seed``) and augmentation
    (``[cfg.seed, augment_seed]``). ``batch_logits(indices, rng)`` gives the logits and labels
    of one batch of the training pool; ``validate()`` the validation entries of the log."""
    model = loaded.model
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=cfg.warmup_fraction
    )
    order_gen = torch.Generator().manual_seed(cfg.seed)
    aug_rng = np.random.default_rng([cfg.seed, augment_seed])
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
        logits, labels = batch_logits(idx, aug_rng)
        y = torch.from_numpy(labels)
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
                "wall_seconds": round(clock.wall(), 1),
            }
            run_loss = run_correct = run_n = 0.0
        if validate is not None and (step % cfg.val_every == 0 or step == cfg.steps):
            entry = entry or {"step": step}
            entry.update(validate())
        if entry:
            log.append(entry)
            clock.say(" ".join(f"{k}={v}" for k, v in entry.items() if k != "wall_seconds"))
    model.eval()
    return log


def run_record(
    cfg: TrainConfig,
    spec: InputSpec,
    data_seed: int,
    data_seconds: float,
    log: list[dict],
    clock: Clock,
) -> dict:
    """What ``training_log.json`` records of a run: settings, times, machine, loss curve."""
    return {
        "config": asdict(cfg),
        "spec": spec.to_dict(),
        "classes": list(CLASSES),
        "train_data_seed": data_seed,
        "heldout_seed": HELDOUT_SEED,
        "data_seconds": round(data_seconds, 1),
        "train_wall_seconds": round(clock.wall(), 1),
        "train_cpu_seconds": round(clock.cpu(), 1),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "log": log,
    }


def finish(loaded: LoadedModel, result: dict, out: str | Path | None, clock: Clock) -> None:
    result["total_wall_seconds"] = round(clock.wall(), 1)
    if out is not None:
        save_model(loaded, out)
        Path(out, "training_log.json").write_text(json.dumps(result, indent=1) + "\n")
        clock.say(f"saved to {out}")


def parse_config(
    argv: list[str] | None, defaults: TrainConfig, prog: str, description: str
) -> tuple[TrainConfig, str]:
    """The training command line (the same flags for both bundled models)."""
    d = defaults
    p = argparse.ArgumentParser(prog=prog, description=description)
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
    cfg = type(d)(
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
    return cfg, args.out


def main(argv: list[str] | None = None) -> int:
    cfg, out = parse_config(
        argv,
        TrainConfig(),
        "python -m workers.train",
        "Train the small TimeSformer on synthetic clips (deterministic per seed).",
    )
    try:
        train(cfg, out)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
