"""Held-out accuracy of a video classifier on the synthetic benchmark; prints a table.

    .venv/bin/python bench/bench_model.py                      # bundled model, 500 clips
    .venv/bin/python bench/bench_model.py --model DIR --n 200
    .venv/bin/python bench/bench_model.py --retrain-seed 0     # rerun the full training and
                                                               # compare (minutes; see the card)
    .venv/bin/python bench/bench_model.py --compare DIR        # compare with a retrained DIR

Rows: clips rendered in memory (the training path); the same clips through a real H.264 MP4
encode and decode (``read_clip``); how often the two paths agree; and a sanity row with the
target's flash removed (everything else identical), where a model that uses the event, and not
static appearance, falls to chance (0.25 for 4 classes).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from workers.models.loader import LoadedModel, bundled_model_path, load_model
from workers.synthetic import generate_dataset, model_frames, read_clip, scene_for
from workers.train import HELDOUT_SEED, TrainConfig, train


def without_flash(scene):
    target = dataclasses.replace(scene.target, event="none")
    return dataclasses.replace(scene, objects=[*scene.objects[:-1], target])


def row(
    name: str, pred: np.ndarray, labels: np.ndarray, classes: list[str], seconds: float
) -> dict:
    per = [float((pred[labels == c] == c).mean()) for c in range(len(classes))]
    return {
        "path": name,
        "clips": len(labels),
        "accuracy": float((pred == labels).mean()),
        "per_class": per,
        "seconds": seconds,
    }


def evaluate(model: LoadedModel, n: int, seed: int, mp4: bool) -> list[dict]:
    spec, classes = model.spec, model.labels
    rows = []
    t0 = time.perf_counter()
    scenes = [scene_for(seed, i) for i in range(n)]
    labels = np.array([s.label_index for s in scenes])
    x = np.stack([model_frames(s, spec.num_frames, spec.image_size) for s in scenes])
    pred_mem = model.predict(x).argmax(1)
    rows.append(row("in memory", pred_mem, labels, classes, time.perf_counter() - t0))
    if mp4:
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            records = generate_dataset(tmp, n, seed)
            clips = [read_clip(r.video_path, spec) for r in records]
        pred_mp4 = model.predict(np.stack([c.frames for c in clips])).argmax(1)
        rows.append(row("MP4 encode+decode", pred_mp4, labels, classes, time.perf_counter() - t0))
        agree = float((pred_mp4 == pred_mem).mean())
        rows.append({"path": "agreement memory/MP4", "clips": n, "accuracy": agree})
    t0 = time.perf_counter()
    x0 = np.stack(
        [model_frames(without_flash(s), spec.num_frames, spec.image_size) for s in scenes]
    )
    pred0 = model.predict(x0).argmax(1)
    rows.append(row("flash removed (chance)", pred0, labels, classes, time.perf_counter() - t0))
    return rows


def print_table(title: str, rows: list[dict], classes: list[str]) -> None:
    print(f"\n{title}")
    head = f"{'path':<24} {'clips':>5} {'accuracy':>9} " + " ".join(f"{c:>7}" for c in classes)
    print(head + f" {'seconds':>8}")
    print("-" * len(head + " " * 9))
    for r in rows:
        per = " ".join(f"{v:7.3f}" for v in r.get("per_class", [])) or " " * (8 * len(classes) - 1)
        secs = f"{r['seconds']:8.1f}" if "seconds" in r else ""
        print(f"{r['path']:<24} {r['clips']:>5} {r['accuracy']:9.4f} {per} {secs}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", default=str(bundled_model_path()), help="checkpoint directory")
    p.add_argument("--n", type=int, default=500, help="held-out clips")
    p.add_argument("--seed", type=int, default=HELDOUT_SEED, help="held-out dataset seed")
    p.add_argument("--no-mp4", action="store_true", help="skip the MP4 round trip")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--retrain-seed", type=int, default=None, help="rerun training and compare")
    p.add_argument("--retrain-out", default=None, help="where to keep the retrained checkpoint")
    p.add_argument("--compare", default=None, help="a second checkpoint to compare with")
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    model = load_model(args.model)
    results: dict = {"model": args.model, "n": args.n, "seed": args.seed}
    rows = evaluate(model, args.n, args.seed, mp4=not args.no_mp4)
    results["shipped"] = rows
    print_table(f"{args.model}  (held-out dataset seed {args.seed})", rows, model.labels)
    log = Path(args.model) / "training_log.json"
    if log.is_file():
        recorded = json.loads(log.read_text()).get("heldout", {}).get("accuracy")
        print(f"accuracy recorded at training time: {recorded}")

    other = None
    if args.compare:
        other, title = load_model(args.compare), f"{args.compare}"
    elif args.retrain_seed is not None:
        out = args.retrain_out or tempfile.mkdtemp(prefix="retrain-")
        cfg = TrainConfig(seed=args.retrain_seed, threads=args.threads)
        print(f"\nretraining with seed {args.retrain_seed} into {out} ...", flush=True)
        other, info = train(cfg, out, verbose=False)
        title = f"retrained (seed {args.retrain_seed}, {info['total_wall_seconds']:.0f} s)"
        results["retrain_wall_seconds"] = info["total_wall_seconds"]
    if other is not None:
        retrained = other
        rows2 = evaluate(retrained, args.n, args.seed, mp4=not args.no_mp4)
        results["retrained"] = rows2
        print_table(title, rows2, model.labels)
        diff = 100 * (rows2[0]["accuracy"] - rows[0]["accuracy"])
        same = all(
            torch.equal(a, b)
            for a, b in zip(
                model.model.state_dict().values(),
                retrained.model.state_dict().values(),
                strict=True,
            )
        )
        results["accuracy_difference_points"] = diff
        results["bit_identical_weights"] = same
        print(
            f"\nheld-out accuracy difference: {diff:+.2f} points (within 1 point: {abs(diff) <= 1})"
        )
        print(f"bit-identical weights: {same}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
