"""Quality of explanation methods on held-out synthetic clips, side by side in one run.

    python bench/bench_quality.py [--clips 200] [--faith-clips 50] [--json out.json]
    python bench/bench_quality.py --tune [--clips 200]     # how the STAA+ defaults were chosen

Report mode: the bundled model explains held-out clips (dataset seed 7, never used for training
or tuning) for their ground-truth class. Every localization metric is computed on all clips;
deletion / insertion AUC on all clips; faithfulness correlation, monotonicity and the
model-parameter randomization check on the first ``--faith-clips``. Methods that need hundreds
of passes per clip (IG, occlusion, RISE, LIME, KernelSHAP) run on ``--slow-clips`` clips
(0 skips them) and are reported in a second table.

Tune mode: one-factor-at-a-time sweeps of the STAA+ parameters around the defaults on a separate
tuning set (dataset seed 11), printing every localization metric and the deletion AUC.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workers.engine import method_defaults  # noqa: E402
from workers.evaluate import (  # noqa: E402
    VISUAL_LOCALIZATION,
    explain_items,
    format_table,
    items_from_synthetic,
    jsonable,
    localization_scores,
    perturbation_scores,
)
from workers.metrics import gini_batch, model_randomization_check  # noqa: E402
from workers.models.loader import bundled_model_path, load_model  # noqa: E402

HELDOUT_SEED = 7
TUNING_SEED = 11
FAST_METHODS = ["staa", "staa_plus", "rollout", "grad_attention", "random", "center"]
SLOW_METHODS = ["integrated_gradients", "occlusion", "rise", "lime", "kernel_shap"]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def score_methods(loaded, items, methods, faith_items, randomization: bool, params=None):
    params = params or {}
    results: dict = {}
    for m in methods:
        t0 = time.perf_counter()
        exps = explain_items(loaded, items, m, "label", **params.get(m, {}))
        row = localization_scores(items, exps)
        row.update(perturbation_scores(loaded, items, exps, ["deletion_auc", "insertion_auc"]))
        nf = len(faith_items)
        if nf:
            row.update(
                perturbation_scores(
                    loaded, items[:nf], exps[:nf], ["faithfulness_corr", "monotonicity"]
                )
            )
        row["sparsity"] = float(gini_batch(np.stack([e.map for e in exps])).mean())
        if randomization and nf and m not in ("random", "center"):
            check = model_randomization_check(
                loaded, [it.clip for it in faith_items], m, cascade=False, **params.get(m, {})
            )
            row["randomization"] = check.fully_randomized
        else:
            row["randomization"] = float("nan")
        row["seconds_per_clip"] = float(np.mean([e.cost.wall_seconds for e in exps]))
        results[m] = row
        log(f"{m}: {time.perf_counter() - t0:.1f} s")
    return results


COLUMNS = [
    *VISUAL_LOCALIZATION,
    "deletion_auc",
    "insertion_auc",
    "faithfulness_corr",
    "monotonicity",
    "sparsity",
    "randomization",
]


def report(args, loaded) -> int:
    items = items_from_synthetic(HELDOUT_SEED, range(args.clips), loaded)
    faith = items[: args.faith_clips]
    fast = score_methods(loaded, items, FAST_METHODS, faith, randomization=True)
    print(
        f"held-out synthetic clips: {len(items)} (dataset seed {HELDOUT_SEED}); faithfulness "
        f"correlation, monotonicity and randomization on the first {len(faith)}; target = "
        "ground-truth class; tolerance 15 px"
    )
    print(format_table({"methods": fast, "metrics": COLUMNS}, COLUMNS))
    out = {"fast": fast, "n_clips": len(items), "faith_clips": len(faith)}
    if args.slow_clips:
        sub = items[: args.slow_clips]
        slow = score_methods(
            loaded, sub, ["staa", "staa_plus", *SLOW_METHODS], sub, randomization=False
        )
        print()
        print(f"expensive methods on the first {len(sub)} clips (STAA/STAA+ again for reference):")
        print(format_table({"methods": slow, "metrics": COLUMNS[:-1]}, COLUMNS[:-1]))
        out["slow"] = slow
        out["slow_clips"] = len(sub)

    staa, plus = fast["staa"], fast["staa_plus"]
    floor = {k: max(fast["random"][k], fast["center"][k]) for k in VISUAL_LOCALIZATION}
    checks = {}
    for name, row in (("staa", staa), ("staa_plus", plus)):
        for k in VISUAL_LOCALIZATION:
            # accuracies need a margin of 0.2; the energy game is a mass fraction on another
            # scale (a diffuse map scores low even when its peak is right), so it needs to beat
            # the floors only
            margin = 0.0 if k == "energy_pointing" else 0.2
            checks[f"{name} {k} > random and center (+{margin})"] = row[k] > floor[k] + margin
    checks["staa_plus spatial_pointing > staa"] = (
        plus["spatial_pointing"] > staa["spatial_pointing"]
    )
    checks["staa_plus deletion_auc < staa (lower is better)"] = (
        plus["deletion_auc"] < staa["deletion_auc"]
    )
    for name in ("staa", "staa_plus"):
        checks[f"{name} randomization rank correlation < 0.5"] = fast[name]["randomization"] < 0.5
    print()
    for k, v in checks.items():
        print(f"{'PASS' if v else 'FAIL'}  {k}")
    out["checks"] = checks
    if args.json:
        Path(args.json).write_text(json.dumps(jsonable(out), indent=1) + "\n")
    return 0 if all(checks.values()) else 1


SWEEPS: dict[str, list] = {
    "layers": ["last", 2, 3, "rollout"],
    "head_fusion": ["focus", "mean", "max"],
    "temporal_focus": [0.0, 1.0, 4.0],
    "temporal_peak": [0.0, 0.25, 0.5, 0.75, 1.0],
    "smooth": [0.0, 0.5, 1.0],
    "threshold_k": [0.0, 0.5, 1.0, 2.0],
    "sharpen": [1.0, 2.0, 4.0],
    "temporal_threshold_k": [0.0, 0.5, 1.0],
    "temporal_sharpen": [1.0, 2.0, 4.0],
}


def tune(args, loaded) -> int:
    items = items_from_synthetic(TUNING_SEED, range(args.clips), loaded)
    del_items = items[: args.faith_clips]
    defaults = {k: v for k, v in method_defaults("staa_plus").items() if k in SWEEPS}
    print(
        f"STAA+ tuning on {len(items)} clips of dataset seed {TUNING_SEED} (deletion AUC on the "
        f"first {len(del_items)}); one parameter varied at a time around {defaults}"
    )
    cols = [*VISUAL_LOCALIZATION, "deletion_auc"]
    rows: dict = {}
    sweeps = {k: v for k, v in SWEEPS.items() if not args.only or k in args.only.split(",")}
    for label, method, params in [("staa (raw)", "staa", {})] + [
        (f"{name}={value}", "staa_plus", {name: value})
        for name, values in sweeps.items()
        for value in values
    ]:
        if (
            method == "staa_plus"
            and params
            and next(iter(params.values())) == defaults.get(next(iter(params)))
        ):
            label += " *"
        exps = explain_items(loaded, items, method, "label", **params)
        row = localization_scores(items, exps)
        row.update(perturbation_scores(loaded, del_items, exps[: len(del_items)], ["deletion_auc"]))
        rows[label] = row
        log(f"{label}: {row}")
    print(format_table({"methods": rows, "metrics": cols}, cols))
    print("* = the default")
    if args.json:
        Path(args.json).write_text(json.dumps(jsonable(rows), indent=1) + "\n")
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="model directory (default: the bundled model)")
    p.add_argument("--clips", type=int, default=200)
    p.add_argument("--faith-clips", type=int, default=50)
    p.add_argument("--slow-clips", type=int, default=10)
    p.add_argument("--tune", action="store_true")
    p.add_argument("--only", default="", help="tune mode: sweep only these parameters (comma list)")
    p.add_argument("--json", default=None)
    args = p.parse_args()
    loaded = load_model(args.model or bundled_model_path())
    return tune(args, loaded) if args.tune else report(args, loaded)


if __name__ == "__main__":
    sys.exit(main())
