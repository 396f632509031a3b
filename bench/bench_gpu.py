"""Throughput of STAA and STAA+ against plain inference, full-size models, CPU or CUDA.

    .venv/bin/python bench/bench_gpu.py                          # CPU: batch 1, a few rounds
    WHEREWHEN_DEVICE=cuda .venv/bin/python bench/bench_gpu.py    # CUDA: batches 1, 8, 32,
                                                                 # fp32 and bf16 (under 5 min)

Models with random weights built from transformers' configs (nothing is downloaded):
TimeSformer-base (divided space-time, 8 x 224 x 224, 12 layers of 768, 8 x 14 x 14 tokens)
and VideoMAE-base (16 x 224 x 224, tubelet 2: 8 x 14 x 14 tokens, joint attention, no class
token), 400 classes.

Rows, per model, precision and batch size, timed side by side in interleaved rounds (every
round runs every row once) and reported as the median:

* ``plain`` -- what a prediction costs: preprocessing the uint8 frames, one forward pass on the
  fused attention kernel (as the engine loads every model), softmax, back to the host;
* ``plain (eager attention)`` -- the same forward with the probabilities multiplied out (how
  transformers runs TimeSformer, and how every attention method ran before the q/k hooks);
* ``staa`` / ``staa_plus`` -- ``explain()`` with their defaults: one forward pass on the fused
  kernel, the class token's rows computed from q/k by hooks;
* ``... (eager rows)`` (``--reference``, default on CUDA) -- the same methods reading eager
  attention's probability tensors instead.

Each explanation call takes the whole batch (what the gpu worker does with the queued requests
it batches together). ``x plain`` is the median over rounds of the row's time over ``plain``'s
in the same round (robust to load that drifts during the run). The last lines
compare STAA <= 1.05x and STAA+ <= 1.10x plain inference, and for fp32 the largest difference
between the maps of the two roads. The exit status is 0 unless something fails to run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers.engine import explain  # noqa: E402
from workers.engine.rows import reference_capture  # noqa: E402
from workers.models.fast_attention import eager_attention  # noqa: E402
from workers.models.loader import LoadedModel, build_model  # noqa: E402
from workers.models.spec import InputSpec  # noqa: E402
from workers.types import Clip  # noqa: E402

LABELS = [f"class {i}" for i in range(400)]
MODELS = {
    # transformers' default configs are the base sizes (768 wide, 12 layers, 12 heads)
    "timesformer-base": ("timesformer", InputSpec(num_frames=8, image_size=224, patch_size=16)),
    "videomae-base": (
        "videomae",
        InputSpec(num_frames=16, image_size=224, patch_size=16, tubelet_size=2),
    ),
}
LIMITS = {"staa": 1.05, "staa_plus": 1.10}


def build(name: str, device: torch.device) -> LoadedModel:
    arch, spec = MODELS[name]
    torch.manual_seed(0)
    loaded = build_model(arch, spec, LABELS)
    loaded.model.to(device)
    loaded.device = device
    return loaded


def make_clips(loaded: LoadedModel, n: int, seed: int) -> list[Clip]:
    rng = np.random.default_rng(seed)
    s, t = loaded.spec.image_size, loaded.spec.num_frames
    return [
        Clip(
            frames=rng.integers(0, 256, (t, s, s, 3), dtype=np.uint8),
            timestamps=np.arange(t) / 8.0,
            source_size=(s, s),
            video_id=f"clip{k}",
        )
        for k in range(n)
    ]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def plain(loaded: LoadedModel, clips: list[Clip], precision: str, eager: bool) -> np.ndarray:
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    x = loaded.preprocess(np.stack([c.frames for c in clips]))
    with (
        torch.no_grad(),
        torch.autocast(loaded.device.type, dtype=dtype, enabled=dtype is not None),
    ):
        if eager:
            with eager_attention(loaded.model):
                logits = loaded.logits(x)
        else:
            logits = loaded.logits(x)
    return torch.softmax(logits.float(), dim=-1).cpu().numpy()


def method(loaded: LoadedModel, clips: list[Clip], name: str, precision: str, reference: bool):
    if reference:
        with reference_capture():
            return explain(loaded, clips, name, precision=precision)
    return explain(loaded, clips, name, precision=precision)


def rows_for(loaded, clips, precision, reference) -> dict[str, Callable[[], object]]:
    rows: dict[str, Callable[[], object]] = {
        "plain": lambda: plain(loaded, clips, precision, eager=False),
    }
    if reference:
        rows["plain (eager attention)"] = lambda: plain(loaded, clips, precision, eager=True)
    for name in ("staa", "staa_plus"):
        rows[name] = lambda name=name: method(loaded, clips, name, precision, False)
    if reference:
        for name in ("staa", "staa_plus"):
            rows[f"{name} (eager rows)"] = lambda name=name: method(
                loaded, clips, name, precision, True
            )
    return rows


def time_rows(rows: dict[str, Callable], device, warmup: int, reps: int) -> dict[str, list]:
    """Per row, its time in every round; each round runs every row once, in an order shuffled
    per round (seeded), so neither load drift nor the row before favours a row."""
    for _ in range(warmup):
        for fn in rows.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in rows}
    order = list(rows)
    rng = np.random.default_rng(0)
    for _ in range(reps):
        rng.shuffle(order)
        for name in order:
            sync(device)
            t0 = time.perf_counter()
            rows[name]()
            sync(device)
            times[name].append(time.perf_counter() - t0)
    return times


def paired_ratio(times: dict[str, list[float]], row: str) -> float:
    """Median over rounds of the row's time over plain's time in the same round."""
    return statistics.median(a / b for a, b in zip(times[row], times["plain"], strict=True))


def map_difference(loaded, clips, precision: str) -> float:
    """Largest difference between the maps (and curves) of the q/k rows and the eager rows."""
    worst = 0.0
    for name in ("staa", "staa_plus"):
        fast = method(loaded, clips, name, precision, False)
        ref = method(loaded, clips, name, precision, True)
        for a, b in zip(fast, ref, strict=True):
            worst = max(worst, float(np.abs(a.map - b.map).max()))
            worst = max(worst, float(np.abs(a.temporal - b.temporal).max()))
    return worst


def parse_list(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    device = torch.device(os.environ.get("WHEREWHEN_DEVICE", "cpu").strip().lower() or "cpu")
    cuda = device.type == "cuda"
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=",".join(MODELS), help="comma-separated")
    p.add_argument("--batch-sizes", default="1,8,32" if cuda else "1")
    p.add_argument("--precisions", default="bf16,fp32" if cuda else "fp32")
    p.add_argument("--reps", type=int, default=15 if cuda else 3, help="timed rounds")
    p.add_argument("--warmup", type=int, default=3 if cuda else 1, help="untimed rounds")
    ref = p.add_mutually_exclusive_group()
    ref.add_argument("--reference", dest="reference", action="store_true", default=cuda)
    ref.add_argument("--no-reference", dest="reference", action="store_false")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument(
        "--max-seconds",
        type=float,
        default=240 if cuda else None,
        help="start no new table cell after this long (the rest is reported as skipped)",
    )
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if cuda and not torch.cuda.is_available():
        print(f"WHEREWHEN_DEVICE={device} but torch {torch.__version__} sees no CUDA device")
        return 2
    names = parse_list(args.models)
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        p.error(f"unknown model(s) {unknown}; known: {', '.join(MODELS)}")
    batches = [int(b) for b in parse_list(args.batch_sizes)]
    precisions = parse_list(args.precisions)

    where = torch.cuda.get_device_name(device) if cuda else (platform.processor() or "cpu")
    threads = "" if cuda else f", {torch.get_num_threads()} torch threads"
    print(f"device {device} ({where}){threads}, torch {torch.__version__}")
    print(
        f"{args.reps} rounds (every row once per round, shuffled) after {args.warmup} warm-up "
        "round(s); ms/call: median; x plain: median of per-round ratios\n"
    )
    header = f"{'model':<17}{'prec':<6}{'batch':>5}  {'row':<26}{'ms/call':>10}{'clips/s':>9}"
    header += f"{'x plain':>9}"
    print(header)
    print("-" * len(header))
    results, checks, diffs = [], [], []
    t_start = time.perf_counter()
    for name in names:
        loaded = build(name, device)
        for precision in precisions:
            for batch in batches:
                spent = time.perf_counter() - t_start
                if args.max_seconds is not None and spent > args.max_seconds:
                    print(f"{name:<17}{precision:<6}{batch:>5}  skipped: {spent:.0f} s spent")
                    continue
                clips = make_clips(loaded, batch, seed=batch)
                try:
                    times = time_rows(
                        rows_for(loaded, clips, precision, args.reference),
                        device,
                        args.warmup,
                        args.reps,
                    )
                except torch.cuda.OutOfMemoryError:
                    print(f"{name:<17}{precision:<6}{batch:>5}  out of GPU memory, skipped")
                    torch.cuda.empty_cache()
                    continue
                med = {row: statistics.median(v) for row, v in times.items()}
                for row, m in med.items():
                    ratio = paired_ratio(times, row)
                    results.append(
                        {
                            "model": name,
                            "precision": precision,
                            "batch": batch,
                            "row": row,
                            "median_seconds": m,
                            "clips_per_second": batch / m,
                            "x_plain": ratio,
                        }
                    )
                    print(
                        f"{name:<17}{precision:<6}{batch:>5}  {row:<26}{1000 * m:>10.1f}"
                        f"{batch / m:>9.2f}{ratio:>9.3f}",
                        flush=True,
                    )
                for method_name, limit in LIMITS.items():
                    ratio = paired_ratio(times, method_name)
                    checks.append((name, precision, batch, method_name, ratio, limit))
                if precision == "fp32" and batch == batches[0] and args.reference:
                    diffs.append((name, map_difference(loaded, clips, precision)))
        del loaded
        if cuda:
            torch.cuda.empty_cache()

    print()
    for name, precision, batch, method_name, ratio, limit in checks:
        verdict = "PASS" if ratio <= limit else "over"
        print(
            f"{name} {precision} batch {batch}: {method_name} / plain = {ratio:.3f} "
            f"(target <= {limit:.2f}): {verdict}"
        )
    for name, diff in diffs:
        print(f"{name} fp32: max |q/k rows - eager rows| over STAA and STAA+ maps = {diff:.2e}")
    print(f"total {time.perf_counter() - t_start:.0f} s")
    if args.json:
        out = {
            "device": str(device),
            "device_name": where,
            "torch": torch.__version__,
            "rows": results,
            "checks": [
                dict(
                    zip(("model", "precision", "batch", "method", "ratio", "limit"), c, strict=True)
                )
                for c in checks
            ],
            "map_differences": dict(diffs),
        }
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
