"""Scoring throughput: how many map frames per minute each localization score handles.

    python bench/bench_scoring.py [--frames 64000] [--repeat 3] [--threads 2]

Random maps on realistic token grids (8 x 14 x 14 and 8 x 8 x 8 clips) over 320 x 240 source
frames with 1-3 boxes per frame, scored by the same vectorized functions the platform calls
(``workers.metrics``). Each line is the best of ``--repeat`` runs; "x target" compares with
1,000,000 frame-maps per minute. "all (score_clips)" is what the platform runs per batch of
explanations: every score above for every clip, from per-clip inputs. ``--threads`` caps the BLAS/OpenMP threads (2: the cores a
scoring worker gets on the reference machine); set it before numpy loads.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_PER_MINUTE = 1_000_000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=64_000, help="map frames per run")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = str(args.threads)

    import numpy as np

    from workers.metrics import (
        energy_pointing_game,
        small_object_frames,
        spacetime_pointing_game,
        spatial_pointing_game,
        temporal_pointing_game,
    )
    from workers.metrics.grounding import (
        ClipInput,
        human_pointing_game,
        score_clips,
        thresholded_iou,
    )

    rng = np.random.default_rng(0)
    size = (320, 240)
    rows = []
    for t, h, w in [(8, 14, 14), (8, 8, 8)]:
        clips = max(1, args.frames // t)
        n = clips * t
        maps = rng.random((n, h, w), dtype=np.float32)
        k = 3
        x0 = rng.uniform(0, 280, size=(n, k))
        y0 = rng.uniform(0, 200, size=(n, k))
        boxes = np.stack(
            [x0, y0, x0 + rng.uniform(4, 80, (n, k)), y0 + rng.uniform(4, 80, (n, k))], -1
        )
        mask = np.arange(k) < rng.integers(1, k + 1, size=n)[:, None]
        timestamps = np.tile(np.arange(t, dtype=np.float64) / 4.0, (clips, 1))
        segments = np.array([[[0.5, 1.0]]] * clips)
        temporal = rng.random((clips, t), dtype=np.float32)
        volume = maps.reshape(clips, t, h, w)
        clip_boxes = boxes.reshape(clips, t, k, 4)
        clip_mask = mask.reshape(clips, t, k)
        games = {
            "spatial pointing": (spatial_pointing_game, (maps, boxes, mask, size, 15.0)),
            "small-object subset": (small_object_frames, (boxes, mask, size)),
            "temporal pointing": (temporal_pointing_game, (temporal, timestamps, segments)),
            "space-time pointing": (
                spacetime_pointing_game,
                (volume, timestamps, segments, None, clip_boxes, clip_mask, size, 15.0),
            ),
            "energy pointing": (energy_pointing_game, (maps, boxes, mask, size)),
            "thresholded IoU": (thresholded_iou, (maps, boxes, mask, size)),
            "human baseline": (human_pointing_game, (boxes, mask, boxes[::-1], mask[::-1])),
        }
        for name, (game, game_args) in games.items():
            best = float("inf")
            for _ in range(args.repeat):
                start = time.perf_counter()
                game(*game_args)
                best = min(best, time.perf_counter() - start)
            per_minute = n / best * 60.0
            rows.append((name, f"{t}x{h}x{w}", n, best, per_minute))
        # What the platform runs: every score of every clip in one batch per token grid.
        inputs = [
            ClipInput(
                volume[c],
                temporal[c],
                timestamps[c],
                clip_boxes[c],
                clip_mask[c],
                segments[c],
                (320, 240),
            )
            for c in range(clips)
        ]
        best = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            score_clips(inputs, 15.0)
            best = min(best, time.perf_counter() - start)
        rows.append(("all (score_clips)", f"{t}x{h}x{w}", n, best, n / best * 60.0))

    header = (
        f"{'score':<22}{'grid':>10}{'frames':>10}{'seconds':>10}{'frames/min':>16}{'x target':>10}"
    )
    print(f"scoring throughput, {args.threads} thread(s), best of {args.repeat}")
    print(header)
    print("-" * len(header))
    for name, grid, n, secs, per_minute in rows:
        print(
            f"{name:<22}{grid:>10}{n:>10}{secs:>10.3f}{per_minute:>16,.0f}"
            f"{per_minute / TARGET_PER_MINUTE:>10.1f}"
        )
    print("(temporal pointing: frames = clips x T; target 1,000,000 frame-maps per minute)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
