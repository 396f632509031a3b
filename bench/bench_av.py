"""Audio-visual explanations on held-out synthetic clips with sound, side by side in one run.

    python bench/bench_av.py [--clips 200] [--faith-clips 100] [--cost-clips 50] [--json out.json]

The bundled audio-visual model (``tiny-av-transformer``) explains held-out clips of the
audio-visual benchmark (dataset seed 7, never used for training; the mix of sound modes of
``workers.synthetic.scene.AV_SOUND_MIX``: the tone with the flash, at another time, missing, or
alone) for their ground-truth class. Printed:

0. held-out accuracy of the model on ``--accuracy-clips`` fresh clips, per sound mode;
1. every audio-visual method: the visual spatial and temporal pointing games (clips with a
   flash), the *sound* temporal pointing game of the audio curve (clips with a tone), the
   video-only deletion AUC (space-time cells removed, sound kept) and the audio-only deletion /
   insertion AUC (audio tokens silenced / restored, picture kept);
2. the sound pointing game per sound mode (in ``offset`` clips the tone and the flash happen at
   different times, so only a curve that follows the sound scores there);
3. cost: STAA and STAA+ beside one plain forward pass of the same model on the same clips, one
   clip at a time, measured in the same run.
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

from workers.engine import explain  # noqa: E402
from workers.engine.core import set_num_threads_from_env  # noqa: E402
from workers.evaluate import (  # noqa: E402
    explain_items,
    format_table,
    items_from_synthetic,
    jsonable,
    localization_scores,
    perturbation_scores,
)
from workers.metrics import sound_pointing_game  # noqa: E402
from workers.models.loader import load_model  # noqa: E402
from workers.synthetic.scene import SOUND_MODES  # noqa: E402
from workers.train_av import AV_CONFIG, evaluate_av, heldout_av  # noqa: E402

HELDOUT_SEED = 7
METHODS = ["staa", "staa_plus", "rollout", "random", "center"]
COLUMNS = [
    "spatial_pointing",
    "temporal_pointing",
    "sound_pointing",
    "deletion_auc",
    "audio_deletion_auc",
    "audio_insertion_auc",
]


def bundled_av_path() -> Path:
    return ROOT / "workers" / "models" / "bundled" / "tiny-av-transformer"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def sound_by_mode(items, exps) -> dict[str, float]:
    out = {}
    for mode in SOUND_MODES:
        sel = [k for k, it in enumerate(items) if it.ground_truth["sound_mode"] == mode]
        segs = np.full((len(sel), 1, 2), np.nan)
        for n, k in enumerate(sel):
            s = items[k].ground_truth["sound"]
            if s:
                segs[n, 0] = (s["start"], s["end"])
        if not sel or not np.isfinite(segs).any():
            out[mode] = float("nan")
            continue
        r = sound_pointing_game(
            np.stack([exps[k].audio for k in sel]),
            np.stack([exps[k].audio_times for k in sel]),
            segs,
        )
        out[mode] = r.accuracy
    return out


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def cost_table(loaded, items, repeats: int) -> list[tuple[str, float, float]]:
    """Seconds per clip (best of ``repeats`` over the same clips, one clip per call)."""
    clips = [it.clip for it in items]

    def forward():
        for c in clips:
            loaded.predict(c.frames, audio=c.audio)

    def method(name):
        def run():
            for c in clips:
                explain(loaded, c, name)

        return run

    base = timed(forward, repeats) / len(clips)
    rows = [("forward pass (prediction only)", base, 1.0)]
    for name in ("staa", "staa_plus", "rollout"):
        t = timed(method(name), repeats) / len(clips)
        rows.append((name, t, t / base))
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="audio-visual checkpoint directory")
    p.add_argument("--clips", type=int, default=200)
    p.add_argument("--faith-clips", type=int, default=100)
    p.add_argument("--cost-clips", type=int, default=50)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--accuracy-clips", type=int, default=500)
    p.add_argument("--json", default=None)
    args = p.parse_args()
    set_num_threads_from_env()
    loaded = load_model(args.model or bundled_av_path())
    if loaded.spec.audio is None:
        print(f"error: {args.model} is not an audio-visual model", file=sys.stderr)
        return 2
    accuracy = None
    if args.accuracy_clips > 0:
        accuracy = evaluate_av(loaded, heldout_av(args.accuracy_clips))
        print(
            f"held-out accuracy on {accuracy['n']} fresh clips (dataset seed {HELDOUT_SEED}): "
            f"{accuracy['accuracy']:.3f}; per sound mode: "
            + ", ".join(
                f"{k} {v:.3f}" for k, v in accuracy["per_sound_mode"].items() if v is not None
            )
        )
        print()
    items = items_from_synthetic(HELDOUT_SEED, range(args.clips), loaded, config=AV_CONFIG)
    faith = items[: args.faith_clips]
    modes = [it.ground_truth["sound_mode"] for it in items]
    results: dict = {}
    by_mode: dict = {}
    for m in METHODS:
        t0 = time.perf_counter()
        exps = explain_items(loaded, items, m, "label")
        row = localization_scores(items, exps)
        row.update(
            perturbation_scores(
                loaded,
                faith,
                exps[: len(faith)],
                ["deletion_auc", "audio_deletion_auc", "audio_insertion_auc"],
            )
        )
        row["seconds_per_clip"] = float(np.mean([e.cost.wall_seconds for e in exps]))
        results[m] = {k: row[k] for k in [*COLUMNS, "seconds_per_clip"]}
        by_mode[m] = sound_by_mode(items, exps)
        log(f"{m}: {time.perf_counter() - t0:.1f} s")

    counts = {mode: modes.count(mode) for mode in SOUND_MODES}
    print(
        f"held-out audio-visual clips: {len(items)} (dataset seed {HELDOUT_SEED}; sound modes "
        f"{', '.join(f'{k} {v}' for k, v in counts.items())}); perturbation tests on the first "
        f"{len(faith)}; target = ground-truth class; tolerance 15 px"
    )
    print(format_table({"methods": results, "metrics": COLUMNS}, COLUMNS))
    print()
    print("sound pointing game per sound mode (silent clips have no tone and are not counted):")
    header = ["method", *[m for m in SOUND_MODES if m != "silent"]]
    print("  ".join(f"{h:>12}" for h in header))
    for m in METHODS:
        vals = [by_mode[m][mode] for mode in header[1:]]
        print("  ".join([f"{m:>12}", *[f"{v:12.3f}" for v in vals]]))

    cost_items = items[: args.cost_clips]
    rows = cost_table(loaded, cost_items, args.repeats)
    print()
    print(
        f"cost per clip, {len(cost_items)} clips one at a time, best of {args.repeats} "
        "(same model, same clips, this run):"
    )
    print(f"{'':>32}  {'ms/clip':>9}  {'x forward':>9}")
    for name, sec, ratio in rows:
        print(f"{name:>32}  {1000 * sec:9.2f}  {ratio:9.2f}")

    plus, rnd = results["staa_plus"], results["random"]
    checks = {
        "staa_plus sound_pointing > random + 0.2": plus["sound_pointing"]
        > rnd["sound_pointing"] + 0.2,
        "staa_plus spatial_pointing > random + 0.2": plus["spatial_pointing"]
        > rnd["spatial_pointing"] + 0.2,
        "staa_plus audio_deletion_auc < random": plus["audio_deletion_auc"]
        < rnd["audio_deletion_auc"],
        "staa_plus sound_pointing on offset clips > random + 0.2": by_mode["staa_plus"]["offset"]
        > by_mode["random"]["offset"] + 0.2,
    }
    print()
    for k, v in checks.items():
        print(f"{'PASS' if v else 'FAIL'}  {k}")
    if args.json:
        out = {
            "heldout_accuracy": accuracy,
            "n_clips": len(items),
            "faith_clips": len(faith),
            "sound_modes": counts,
            "methods": results,
            "sound_pointing_by_mode": by_mode,
            "cost": [{"what": n, "seconds_per_clip": s, "x_forward": r} for n, s, r in rows],
            "checks": checks,
        }
        Path(args.json).write_text(json.dumps(jsonable(out), indent=1) + "\n")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
