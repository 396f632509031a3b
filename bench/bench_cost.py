"""Cost of every explanation method on the bundled model, measured side by side in one run.

    python bench/bench_cost.py [--model DIR] [--threads N] [--reps 40] [--json out.json]

Each method explains one clip at a time (batch 1, CPU unless --device says otherwise). Methods
are timed in interleaved rounds (every round runs every method once, in the same order) so
that load from other processes hits all of them alike; the table reports the median wall time
per clip. "plain forward" is what a prediction costs anyway: preprocessing, one forward pass and
the softmax. Ratios are against that forward pass and against LIME and KernelSHAP at their
default sample counts (1000 each).

Checks printed at the end: STAA <= 1.3x a plain forward pass; STAA <= 3% of LIME's and of
KernelSHAP's time.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers.engine import explain, method_defaults  # noqa: E402
from workers.evaluate import items_from_synthetic  # noqa: E402
from workers.models.loader import bundled_model_path, load_model  # noqa: E402

HELDOUT_SEED = 7
CHEAP = ["staa", "staa_plus", "rollout", "grad_attention"]
EXPENSIVE = ["integrated_gradients", "occlusion", "rise", "lime", "kernel_shap"]


def plain_forward(loaded, clip) -> float:
    t0 = time.perf_counter()
    with torch.no_grad():
        logits = loaded.model(pixel_values=loaded.preprocess(clip.frames)).logits
        torch.softmax(logits.float(), dim=-1).cpu().numpy()
    return time.perf_counter() - t0


def run_method(loaded, clip, method: str) -> tuple[float, object]:
    t0 = time.perf_counter()
    (e,) = explain(loaded, clip, method)
    return time.perf_counter() - t0, e


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="model directory (default: the bundled model)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--reps", type=int, default=40, help="rounds for the single-pass methods")
    p.add_argument("--slow-reps", type=int, default=2, help="rounds for the expensive methods")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    path = Path(args.model) if args.model else bundled_model_path()
    loaded = load_model(path, device=args.device)
    items = items_from_synthetic(HELDOUT_SEED, range(max(args.reps, args.slow_reps)), loaded)
    clips = [it.clip for it in items]

    # warm-up (first calls allocate and pick kernels)
    for _ in range(3):
        plain_forward(loaded, clips[0])
        for m in CHEAP:
            run_method(loaded, clips[0], m)

    times: dict[str, list[float]] = {"plain forward": []}
    passes: dict[str, tuple[int, int]] = {"plain forward": (1, 0)}
    memory: dict[str, int] = {"plain forward": 0}
    for m in CHEAP + EXPENSIVE:
        times[m] = []
    for r in range(args.reps):
        clip = clips[r % len(clips)]
        times["plain forward"].append(plain_forward(loaded, clip))
        for m in CHEAP:
            dt, e = run_method(loaded, clip, m)
            times[m].append(dt)
            passes[m] = (e.cost.forward_passes, e.cost.backward_passes)
            memory[m] = max(memory.get(m, 0), e.cost.peak_memory_bytes)
        if r < args.slow_reps:
            for m in EXPENSIVE:
                dt, e = run_method(loaded, clip, m)
                times[m].append(dt)
                passes[m] = (e.cost.forward_passes, e.cost.backward_passes)
                memory[m] = max(memory.get(m, 0), e.cost.peak_memory_bytes)
                # keep the cheap methods' samples alongside the expensive ones in time
                times["plain forward"].append(plain_forward(loaded, clip))
                for c in ("staa", "staa_plus"):
                    times[c].append(run_method(loaded, clip, c)[0])

    med = {m: statistics.median(v) for m, v in times.items()}
    fwd, lime, shap = med["plain forward"], med["lime"], med["kernel_shap"]
    print(
        f"model: {path.name} ({loaded.architecture}, grid {loaded.spec.grid}), device "
        f"{args.device}, torch threads {torch.get_num_threads()}, {platform.processor() or 'cpu'}"
    )
    print(
        f"samples per method: single-pass {args.reps}+ rounds, expensive {args.slow_reps}; "
        f"LIME n_samples={method_defaults('lime')['n_samples']}, KernelSHAP "
        f"n_samples={method_defaults('kernel_shap')['n_samples']}, IG "
        f"n_steps={method_defaults('integrated_gradients')['n_steps']}, RISE "
        f"n_masks={method_defaults('rise')['n_masks']}"
    )
    header = f"{'method':<22}{'fwd':>6}{'bwd':>5}{'median ms':>12}{'x forward':>11}{'% of LIME':>11}{'% of SHAP':>11}{'peak MiB':>10}"
    print(header)
    print("-" * len(header))
    rows = []
    for m in ["plain forward", *CHEAP, *EXPENSIVE]:
        f, b = passes[m]
        row = {
            "method": m,
            "forward_passes": f,
            "backward_passes": b,
            "median_seconds": med[m],
            "samples": len(times[m]),
            "x_forward": med[m] / fwd,
            "pct_of_lime": 100 * med[m] / lime,
            "pct_of_kernel_shap": 100 * med[m] / shap,
            "peak_memory_bytes": memory.get(m, 0),
        }
        rows.append(row)
        print(
            f"{m:<22}{f:>6}{b:>5}{1000 * med[m]:>12.2f}{row['x_forward']:>11.2f}"
            f"{row['pct_of_lime']:>10.3f}%{row['pct_of_kernel_shap']:>10.3f}%"
            f"{row['peak_memory_bytes'] / 2**20:>10.1f}"
        )
    staa = med["staa"]
    checks = {
        "staa_at_most_1.3x_forward": staa / fwd <= 1.3,
        "staa_at_most_3pct_of_lime": staa / lime <= 0.03,
        "staa_at_most_3pct_of_kernel_shap": staa / shap <= 0.03,
    }
    print()
    print(
        f"STAA / plain forward = {staa / fwd:.3f} (must be <= 1.3): {_ok(checks['staa_at_most_1.3x_forward'])}"
    )
    print(
        f"STAA / LIME          = {100 * staa / lime:.3f}% (must be <= 3%): {_ok(checks['staa_at_most_3pct_of_lime'])}"
    )
    print(
        f"STAA / KernelSHAP    = {100 * staa / shap:.3f}% (must be <= 3%): {_ok(checks['staa_at_most_3pct_of_kernel_shap'])}"
    )
    print(f"STAA+ / plain forward = {med['staa_plus'] / fwd:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "checks": checks}, indent=1) + "\n")
    return 0 if all(checks.values()) else 1


def _ok(flag: bool) -> str:
    return "PASS" if flag else "FAIL"


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
