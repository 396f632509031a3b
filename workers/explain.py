"""Explain one video from the command line.

    python -m workers.explain VIDEO --model DIR --method staa_plus --out result.npz

``VIDEO`` is any video file ffmpeg can decode; its frames are sampled uniformly and resized to
the model's input. ``--model`` defaults to the bundled model. The ``.npz`` holds ``map``
(T' x h x w on the token grid), ``temporal`` (T'), ``timestamps`` (source seconds of the map
frames), ``target``, the top-k prediction (``topk_index``, ``topk_label``, ``topk_probability``),
``source_size`` (W, H), ``view`` (x0, y0, x1, y1: the source rectangle the model saw, the whole
frame unless the model crops; the map's cells tile it) and, as JSON strings, ``params`` and
``cost``; explanations of
audio-visual models add ``audio`` (A, the audio importance curve) and ``audio_times`` (A x 2,
source seconds each audio token covers), the same names the platform's import reads.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--param must look like key=value, got {pair!r}")
        key, raw = pair.split("=", 1)
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def save_explanation(path: str | Path, explanation: Any, source_size: tuple[int, int]) -> None:
    """Write one explanation as a compressed ``.npz`` (see the module docstring)."""
    import numpy as np

    e = explanation
    sound = {}
    if e.audio is not None:
        sound = {
            "audio": e.audio.astype(np.float32),
            "audio_times": np.asarray(e.audio_times, dtype=np.float64),
        }
    np.savez_compressed(
        path,
        **sound,
        method=np.array(e.method),
        map=e.map.astype(np.float32),
        temporal=e.temporal.astype(np.float32),
        timestamps=e.timestamps.astype(np.float64),
        target=np.array(e.target),
        topk_index=np.array([p.label_index for p in e.topk]),
        topk_label=np.array([p.label for p in e.topk]),
        topk_probability=np.array([p.probability for p in e.topk], dtype=np.float64),
        source_size=np.array(source_size),
        view=np.array(e.view if e.view is not None else (0.0, 0.0, *source_size), dtype=np.float64),
        params=np.array(json.dumps(e.params)),
        cost=np.array(json.dumps(dataclasses.asdict(e.cost))),
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m workers.explain",
        description="Compute a space-time explanation of one video.",
    )
    p.add_argument("video", help="video file")
    p.add_argument("--model", default=None, help="model directory (default: the bundled model)")
    p.add_argument("--method", default="staa_plus", help="attribution method (--list to see all)")
    p.add_argument("--out", default="result.npz", help="output .npz (default: result.npz)")
    p.add_argument("--target", type=int, default=None, help="class index (default: top-1)")
    p.add_argument("--param", action="append", default=[], help="key=value method parameter")
    p.add_argument("--device", default="cpu")
    p.add_argument("--list", action="store_true", help="list the methods and their parameters")
    args = p.parse_args(argv)

    from workers.engine import ExplainError, available_methods, explain, method_defaults

    if args.list:
        for name in available_methods():
            print(f"{name}: {json.dumps(method_defaults(name))}")
        return 0

    from workers.models.loader import ModelLoadError, bundled_model_path, load_model
    from workers.synthetic.video import read_clip

    try:
        params = _parse_params(args.param)
        loaded = load_model(args.model or bundled_model_path(), device=args.device)
        clip = read_clip(args.video, loaded.spec)
        (result,) = explain(loaded, clip, args.method, args.target, **params)
        save_explanation(args.out, result, clip.source_size)
    except (ExplainError, ModelLoadError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    top = result.topk[0]
    print(
        f"{args.method}: explained class {result.target} ({loaded.labels[result.target]}); "
        f"top-1 {top.label} p={top.probability:.3f}; map {tuple(result.map.shape)}; "
        f"{result.cost.forward_passes} forward / {result.cost.backward_passes} backward passes, "
        f"{result.cost.wall_seconds * 1000:.1f} ms; wrote {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
