"""Assisted tracking on the synthetic benchmark, beside linear interpolation, in one run.

    python bench/bench_tracking.py [--clips 100] [--seed 1] [--json out.json]

Each clip's target has an exact box on every frame (``Scene.target_box``). From the box on the
first frame of the target's event *only*, each tracker (``workers.tracking``: CSRT, KCF, MIL)
follows it to the last event frame; linear interpolation instead gets the true boxes of the
first *and* the last event frame and draws the straight line between them (what an annotator
gets from two keyframes); "hold" repeats the first box (no tracking at all). Scored on every
event frame after the first: mean IoU with the true box, the share of frames with IoU < 0.5,
and frames per second of tracking (frames tracked / seconds spent in the tracker).

Two scene sets: ``default`` is the benchmark as it is (32-frame clips, 8-10-frame events,
objects at 0.2-0.7 px/frame); ``long`` has 96-frame clips with 40-60-frame events and objects
at 1-2.5 px/frame, so targets bounce off the borders during their event and a straight line
between the event's ends is often wrong. Frames come straight from the renderer (no video
coding), so differences are the trackers' own.
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

from workers.synthetic import SceneConfig, scene_for  # noqa: E402
from workers.tracking import METHODS, track_box  # noqa: E402

CONFIGS = {
    "default": SceneConfig(),
    "long": SceneConfig(num_frames=96, event_frames=(40, 60), speed=(1.0, 2.5)),
}


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def lerp(a, b, t: float):
    return tuple(p + (q - p) * t for p, q in zip(a, b, strict=True))


def run(config: SceneConfig, clips: int, seed: int) -> dict:
    scores: dict[str, list[float]] = {m: [] for m in (*METHODS, "linear", "hold")}
    seconds: dict[str, float] = {m: 0.0 for m in METHODS}
    frames_tracked = 0
    bounced = 0
    for index in range(clips):
        scene = scene_for(seed, index, config)
        if scene.event_frames is None:
            continue
        start, end = scene.event_frames
        truth = [scene.target_box(f) for f in range(start, end + 1)]
        frames = [scene.render(f) for f in range(start, end + 1)]
        frames_tracked += len(frames) - 1
        target = scene.target
        cx0, _ = scene.object_centre(target, start)
        cx1, _ = scene.object_centre(target, end)
        if abs((cx1 - cx0) - target.vx * (end - start)) > 1e-6:
            bounced += 1
        for method in METHODS:
            t0 = time.perf_counter()
            result = track_box(frames, truth[0], method=method)
            seconds[method] += time.perf_counter() - t0
            for box, true in zip(result.boxes, truth[1:], strict=True):
                scores[method].append(iou(box, true) if box is not None else 0.0)
        for k in range(1, len(truth)):
            scores["linear"].append(iou(lerp(truth[0], truth[-1], k / (len(truth) - 1)), truth[k]))
            scores["hold"].append(iou(truth[0], truth[k]))
    table = {}
    for method, values in scores.items():
        arr = np.array(values)
        table[method] = {
            "mean_iou": float(arr.mean()),
            "share_iou_below_0_5": float((arr < 0.5).mean()),
            "frames_per_second": (
                frames_tracked / seconds[method] if method in seconds else float("nan")
            ),
            "input": "first box" if method in (*METHODS, "hold") else "first and last box",
        }
    return {"frames": frames_tracked, "clips_with_bounce": bounced, "methods": table}


def format_rows(result: dict) -> str:
    header = ["method", "input", "mean IoU", "IoU<0.5", "frames/s"]
    rows = [
        [
            name,
            row["input"],
            f"{row['mean_iou']:.3f}",
            f"{row['share_iou_below_0_5']:.3f}",
            "-" if np.isnan(row["frames_per_second"]) else f"{row['frames_per_second']:.0f}",
        ]
        for name, row in result["methods"].items()
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clips", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sets", nargs="+", default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    out = {}
    for name in args.sets:
        result = run(CONFIGS[name], args.clips, args.seed)
        out[name] = result
        print(
            f"\n[{name}] {args.clips} clips, seed {args.seed}: {result['frames']} event frames "
            f"tracked; {result['clips_with_bounce']} targets bounce during their event"
        )
        print(format_rows(result))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
