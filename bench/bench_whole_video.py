"""A whole-video explanation of a long 720p video: wall time and peak memory of the worker.

    python bench/bench_whole_video.py [--minutes 10] [--method staa] [--keep DIR]

Makes a ``--minutes`` long 1280x720 30 fps H.264 video with ffmpeg (``testsrc2``, keyframe every
2 s), reads its frame table (what ingest stores), then, in a fresh Python process that does what
the gpu worker does for a whole-video request (load the bundled model, ``workers.windows.
explain_windows``: sliding windows of the model's clip length, stride half of it, decoded a
batch of windows at a time, the stacked map written to a memory-mapped ``.npy`` as it goes), on
the CPU. Prints a table: windows, map rows, wall time, windows/s, seconds of video per second,
and the peak resident memory of that process and of its largest ffmpeg child (``getrusage``).
The worker must stay under 2 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

LIMIT_BYTES = 2 * 1024**3


def make_video(path: Path, minutes: float) -> float:
    from workers.video.tools import ffmpeg_exe

    start = time.perf_counter()
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=30:duration={minutes * 60:g}",
         "-c:v", "libx264", "-preset", "ultrafast", "-crf", "28", "-g", "60",
         "-pix_fmt", "yuv420p", str(path)],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - start


def worker(args: argparse.Namespace) -> None:
    """The measured process: prints one JSON line."""
    import numpy as np
    import torch

    from workers.models.loader import bundled_model_path, load_model
    from workers.windows import explain_windows

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    stamps = np.load(args.table)
    duration = float(stamps[-1] + np.median(np.diff(stamps)))
    started = time.perf_counter()
    loaded = load_model(bundled_model_path())
    loaded_at = time.perf_counter()
    progress = []
    result = explain_windows(
        loaded,
        args.video,
        args.method,
        args.map,
        timestamps=stamps,
        duration=duration,
        on_progress=progress.append,
    )
    done = time.perf_counter()
    self_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(
        json.dumps(
            {
                "windows": len(result.spans),
                "rows": int(result.grid[0]),
                "grid": list(result.grid),
                "load_s": loaded_at - started,
                "explain_s": done - loaded_at,
                "model_s": result.cost.wall_seconds,
                "duration": duration,
                "peak_rss": self_peak,
                "ffmpeg_peak_rss": child_peak,
                "progress_done": progress[0].done if progress else 0,
                "curve_points": len(result.curve),
                "map_bytes": os.path.getsize(args.map),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--method", default="staa")
    parser.add_argument("--keep", type=Path, default=None, help="folder to keep the video in")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--video", help=argparse.SUPPRESS)
    parser.add_argument("--table", help=argparse.SUPPRESS)
    parser.add_argument("--map", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    import numpy as np

    from workers.video import read_frame_timestamps

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-whole-"))
    folder.mkdir(parents=True, exist_ok=True)
    video = folder / f"long-{args.minutes:g}min-720p.mp4"
    made = 0.0
    if not video.is_file():
        made = make_video(video, args.minutes)
    t0 = time.perf_counter()
    stamps = read_frame_timestamps(video).timestamps
    table_s = time.perf_counter() - t0
    np.save(folder / "table.npy", stamps)
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", "--video", str(video), "--method", args.method,
         "--table", str(folder / "table.npy"), "--map", str(folder / "map.npy")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        sys.exit(f"the worker process failed:\n{proc.stderr[-3000:]}")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    wall = r["load_s"] + r["explain_s"]
    rows = [
        ("video", f"{args.minutes:g} min, 1280x720, 30 fps, {len(stamps)} frames, H.264"),
        ("make the video (ffmpeg)", f"{made:.1f} s" if made else "reused"),
        ("frame table (as ingest stores it)", f"{table_s:.1f} s"),
        ("method", args.method),
        ("windows (2 s, stride 1 s)", f"{r['windows']}"),
        ("map rows x grid", f"{r['grid'][0]} x {r['grid'][1]} x {r['grid'][2]}"),
        ("stacked map file", f"{r['map_bytes'] / 1e6:.1f} MB"),
        ("curve points", f"{r['curve_points']}"),
        ("model load", f"{r['load_s']:.1f} s"),
        ("explain, window by window", f"{r['explain_s']:.1f} s"),
        ("  of which model (engine cost)", f"{r['model_s']:.1f} s"),
        ("wall time", f"{wall:.1f} s"),
        ("windows / s", f"{r['windows'] / r['explain_s']:.1f}"),
        ("video seconds / wall second", f"{r['duration'] / wall:.1f}"),
        ("worker peak RSS", f"{r['peak_rss'] / 2**20:.0f} MiB"),
        ("ffmpeg child peak RSS", f"{r['ffmpeg_peak_rss'] / 2**20:.0f} MiB"),
        ("worker under 2 GiB", "yes" if r["peak_rss"] < LIMIT_BYTES else "NO"),
    ]
    width = max(len(k) for k, _v in rows)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 30}")
    for k, v in rows:
        print(f"{k:<{width}}  {v}")
    if r["peak_rss"] >= LIMIT_BYTES:
        sys.exit(1)


if __name__ == "__main__":
    main()
