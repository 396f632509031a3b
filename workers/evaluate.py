"""Benchmark explanation methods against ground truth: a methods x metrics table.

    python -m workers.evaluate --data DIR --methods staa,staa_plus,random \\
        --metrics spatial_pointing,temporal_pointing,deletion_auc [--json out.json]

``DIR`` is a synthetic benchmark directory written by ``python -m workers.synthetic`` (a
``dataset.json`` manifest, one MP4 and one ground-truth JSON per clip). Videos are decoded and
sampled exactly as for any other video (uniform sampling, area resize). Each map frame is scored
against the boxes of the source frame it was sampled from; clips are explained for their
ground-truth class by default (``--target label``, the usual pointing-game protocol) or for the
model's prediction (``--target pred``).

The same functions serve the quality benchmark (``bench/bench_quality.py``), which builds the
clips in memory instead of decoding MP4s.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from workers.metrics import (
    DEFAULT_TOLERANCE,
    audio_deletion_curve,
    audio_insertion_curve,
    deletion_curve,
    energy_pointing_game,
    faithfulness_correlation,
    gini_batch,
    insertion_curve,
    monotonicity,
    small_object_frames,
    sound_pointing_game,
    spacetime_pointing_game,
    spatial_pointing_game,
    temporal_pointing_game,
)
from workers.types import Clip

#: Metric names, what they mean, and whether higher is better.
METRICS: dict[str, tuple[str, bool]] = {
    "spatial_pointing": ("spatial pointing game accuracy over event frames", True),
    "spatial_pointing_small": ("spatial pointing on frames whose box < 1/4 frame", True),
    "temporal_pointing": ("temporal pointing game accuracy over clips", True),
    "spacetime_pointing": ("space-time pointing game accuracy over clips", True),
    "energy_pointing": ("energy pointing game, mean over event frames", True),
    "sound_pointing": ("temporal pointing game of the audio curve against sound segments", True),
    "deletion_auc": ("deletion AUC of the target probability (lower is better)", False),
    "insertion_auc": ("insertion AUC of the target probability", True),
    "faithfulness_corr": ("faithfulness correlation, mean over clips", True),
    "monotonicity": ("monotonicity correlation, mean over clips", True),
    "audio_deletion_auc": (
        "audio-only deletion AUC: silencing audio tokens (lower is better)",
        False,
    ),
    "audio_insertion_auc": ("audio-only insertion AUC: restoring audio tokens", True),
    "sparsity": ("Gini index of the maps, mean over clips", True),
    "randomization": ("rank correlation with the fully randomized model (lower is better)", False),
}
#: The pointing games of the picture (every model) and, for audio-visual models, of the sound.
VISUAL_LOCALIZATION = (
    "spatial_pointing",
    "spatial_pointing_small",
    "temporal_pointing",
    "spacetime_pointing",
    "energy_pointing",
)
LOCALIZATION = (*VISUAL_LOCALIZATION, "sound_pointing")
PERTURBATION = (
    "deletion_auc",
    "insertion_auc",
    "faithfulness_corr",
    "monotonicity",
    "audio_deletion_auc",
    "audio_insertion_auc",
)


@dataclass
class Item:
    """One benchmark clip: model input and the ground truth of its source video."""

    clip: Clip
    ground_truth: dict
    label_index: int


def frame_ground_truth(
    gt: dict, timestamps: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ground truth on the map frames of one clip.

    Returns ``boxes`` (T', 1, 4) as (x0, y0, x1, y1) with ``mask`` (T', 1) for the source frame
    each map frame was sampled from (frame index ``round(time * fps)``), and the "when"
    ``segments`` (1, 2)."""
    fps = float(gt["fps"])
    by_frame = {int(b["frame"]): b for b in gt.get("boxes", [])}
    t = len(timestamps)
    boxes = np.full((t, 1, 4), np.nan)
    mask = np.zeros((t, 1), dtype=bool)
    for k, ts in enumerate(np.asarray(timestamps, dtype=np.float64)):
        b = by_frame.get(int(round(ts * fps)))
        if b is not None:
            boxes[k, 0] = (b["x0"], b["y0"], b["x1"], b["y1"])
            mask[k, 0] = True
    when = gt.get("when")
    segments = np.array([[when["start"], when["end"]]]) if when else np.full((1, 2), np.nan)
    return boxes, mask, segments


def items_from_directory(path: str | Path, loaded: Any, limit: int | None = None) -> list[Item]:
    """Read a synthetic benchmark directory (``dataset.json`` + MP4 + JSON per clip)."""
    from workers.synthetic.video import read_clip

    root = Path(path)
    manifest_path = root / "dataset.json"
    if not manifest_path.is_file():
        raise ValueError(f"{root} is not a benchmark directory: dataset.json is missing")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    entries = manifest.get("clips", [])
    if limit is not None:
        entries = entries[:limit]
    if not entries:
        raise ValueError(f"{manifest_path} lists no clips")
    items = []
    for entry in entries:
        gt = json.loads((root / entry["ground_truth"]).read_text(encoding="utf-8"))
        clip = read_clip(root / entry["video"], loaded.spec, video_id=entry["clip_id"])
        items.append(Item(clip=clip, ground_truth=gt, label_index=int(gt["label_index"])))
    return items


def items_from_synthetic(
    seed: int, indices: Sequence[int], loaded: Any, config: Any = None
) -> list[Item]:
    """Benchmark clips rendered in memory (exact frames, no codec) from dataset ``seed``.

    For audio-visual models the clips carry their sound (the whole clip's track) and the ground
    truth its sound segment; ``config`` is the generator's ``SceneConfig`` (e.g. the
    audio-visual mix of sound modes)."""
    from workers.synthetic import ground_truth, model_frames, sample_indices, scene_for

    spec = loaded.spec
    items = []
    for i in indices:
        scene = scene_for(seed, int(i), config)
        cfg = scene.config
        idx = sample_indices(cfg.num_frames, spec.num_frames)
        clip = Clip(
            frames=model_frames(scene, spec.num_frames, spec.image_size),
            timestamps=idx / float(cfg.fps),
            source_size=(cfg.width, cfg.height),
            video_id=f"syn-s{seed}-{int(i):05d}",
        )
        if spec.audio is not None:
            wave = scene.audio(spec.audio.sample_rate)
            clip.audio = np.zeros(spec.audio.num_samples, np.float32)
            clip.audio[: min(len(wave), len(clip.audio))] = wave[: len(clip.audio)]
            clip.audio_span = (0.0, cfg.duration)
        gt = ground_truth(scene, audio=spec.audio is not None)
        items.append(Item(clip=clip, ground_truth=gt, label_index=scene.label_index))
    return items


def explain_items(
    loaded: Any,
    items: Sequence[Item],
    method: str,
    target: str = "label",
    batch_size: int = 16,
    **params: Any,
) -> list[Any]:
    """Explanations of all items with one method, in batches."""
    from workers.engine import explain

    out = []
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        tgt = [it.label_index for it in chunk] if target == "label" else None
        out.extend(explain(loaded, [it.clip for it in chunk], method, tgt, **params))
    return out


def localization_scores(
    items: Sequence[Item], explanations: Sequence[Any], tolerance: float = DEFAULT_TOLERANCE
) -> dict[str, float]:
    """All pointing games for a list of explanations (vectorized over frames and clips)."""
    maps = np.stack([e.map for e in explanations])  # (C, T, h, w)
    temporal = np.stack([e.temporal for e in explanations])
    ts = np.stack([e.timestamps for e in explanations])
    c, t = maps.shape[:2]
    boxes = np.full((c, t, 1, 4), np.nan)
    mask = np.zeros((c, t, 1), dtype=bool)
    segments = np.full((c, 1, 2), np.nan)
    sizes = np.zeros((c, 2))
    for k, (it, e) in enumerate(zip(items, explanations, strict=True)):
        boxes[k], mask[k], segments[k] = frame_ground_truth(it.ground_truth, e.timestamps)
        sizes[k] = it.clip.source_size
    frame_sizes = np.repeat(sizes, t, axis=0)
    # Models that crop saw only part of each frame (Clip.view); squash clips see it all.
    cropped = any(it.clip.view is not None for it in items)
    views = np.stack([it.clip.view_rect() for it in items]) if cropped else None
    frame_views = np.repeat(views, t, axis=0) if views is not None else None
    flat_maps = maps.reshape(c * t, *maps.shape[2:])
    flat_boxes = boxes.reshape(c * t, 1, 4)
    flat_mask = mask.reshape(c * t, 1)
    spatial = spatial_pointing_game(
        flat_maps, flat_boxes, flat_mask, frame_sizes, tolerance, view=frame_views
    )
    small = small_object_frames(flat_boxes, flat_mask, frame_sizes)
    seg_mask = np.isfinite(segments).all(axis=-1)
    sound = float("nan")
    if all(e.audio is not None for e in explanations):
        heard = np.full((c, 1, 2), np.nan)
        for k, it in enumerate(items):
            s = it.ground_truth.get("sound")
            if s:
                heard[k, 0] = (s["start"], s["end"])
        sound = sound_pointing_game(
            np.stack([e.audio for e in explanations]),
            np.stack([e.audio_times for e in explanations]),
            heard,
            np.isfinite(heard).all(axis=-1),
        ).accuracy
    return {
        "sound_pointing": sound,
        "spatial_pointing": spatial.accuracy,
        "spatial_pointing_small": spatial.subset(small).accuracy,
        "temporal_pointing": temporal_pointing_game(temporal, ts, segments, seg_mask).accuracy,
        "spacetime_pointing": spacetime_pointing_game(
            maps, ts, segments, seg_mask, boxes, mask, sizes, tolerance, view=views
        ).accuracy,
        "energy_pointing": energy_pointing_game(
            flat_maps, flat_boxes, flat_mask, frame_sizes, view=frame_views
        ).mean,
    }


def perturbation_scores(
    loaded: Any,
    items: Sequence[Item],
    explanations: Sequence[Any],
    metrics: Sequence[str],
    n_steps: int = 16,
) -> dict[str, float]:
    """Mean deletion/insertion AUC, faithfulness correlation and monotonicity over clips."""
    from workers.engine import predict_probabilities, predict_probabilities_audio

    audio_visual = loaded.spec.audio is not None
    predict = predict_probabilities(loaded) if not audio_visual else None
    colour = tuple(255.0 * m for m in loaded.spec.mean)
    values: dict[str, list[float]] = {m: [] for m in metrics}
    for it, e in zip(items, explanations, strict=True):
        frames = it.clip.frames
        if audio_visual:  # video-only tests perturb the picture and keep the clip's sound
            predict = predict_probabilities(loaded, audio=it.clip.audio)
            hear = predict_probabilities_audio(loaded, frames)
            if "audio_deletion_auc" in values:
                r = audio_deletion_curve(hear, it.clip.audio, e.audio, e.target)
                values["audio_deletion_auc"].append(r.auc)
            if "audio_insertion_auc" in values:
                r = audio_insertion_curve(hear, it.clip.audio, e.audio, e.target)
                values["audio_insertion_auc"].append(r.auc)
        elif "audio_deletion_auc" in values or "audio_insertion_auc" in values:
            values.pop("audio_deletion_auc", None)
            values.pop("audio_insertion_auc", None)
        if "deletion_auc" in values:
            r = deletion_curve(predict, frames, e.map, e.target, n_steps=n_steps, baseline=colour)
            values["deletion_auc"].append(r.auc)
        if "insertion_auc" in values:
            r = insertion_curve(predict, frames, e.map, e.target, n_steps=n_steps, baseline=colour)
            values["insertion_auc"].append(r.auc)
        if "faithfulness_corr" in values:
            values["faithfulness_corr"].append(
                faithfulness_correlation(predict, frames, e.map, e.target, baseline=colour)
            )
        if "monotonicity" in values:
            values["monotonicity"].append(
                monotonicity(predict, frames, e.map, e.target, baseline=colour)
            )
    return {k: _nanmean(v) for k, v in values.items()}


def _nanmean(values: Sequence[float]) -> float:
    a = np.asarray(values, dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(a.mean()) if a.size else float("nan")


def evaluate(
    loaded: Any,
    items: Sequence[Item],
    methods: Sequence[str],
    metrics: Sequence[str],
    params: dict[str, dict[str, Any]] | None = None,
    target: str = "label",
    tolerance: float = DEFAULT_TOLERANCE,
    batch_size: int = 16,
    randomization_clips: int = 8,
    log: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Score every method on every metric; returns a JSON-able dict."""
    from workers.engine import method_info

    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; available: {', '.join(METRICS)}")
    for m in methods:
        method_info(m)  # clear error for unknown methods before any work
    if target not in ("label", "pred"):
        raise ValueError(f"target must be 'label' or 'pred', got {target!r}")
    params = params or {}
    results: dict[str, Any] = {
        "n_clips": len(items),
        "target": target,
        "tolerance": tolerance,
        "metrics": list(metrics),
        "methods": {},
    }
    for method in methods:
        t0 = time.perf_counter()
        exps = explain_items(loaded, items, method, target, batch_size, **params.get(method, {}))
        row: dict[str, Any] = {}
        loc = [m for m in metrics if m in LOCALIZATION]
        if loc:
            scores = localization_scores(items, exps, tolerance)
            row.update({m: scores[m] for m in loc})
        pert = [m for m in metrics if m in PERTURBATION]
        if pert:
            row.update(perturbation_scores(loaded, items, exps, pert))
        if "sparsity" in metrics:
            row["sparsity"] = float(gini_batch(np.stack([e.map for e in exps])).mean())
        if "randomization" in metrics:
            from workers.metrics import model_randomization_check

            sub = [it.clip for it in items[:randomization_clips]]
            check = model_randomization_check(
                loaded, sub, method, cascade=False, **params.get(method, {})
            )
            row["randomization"] = check.fully_randomized
        row["seconds_per_clip"] = sum(e.cost.wall_seconds for e in exps) / len(exps)
        row["forward_passes_per_clip"] = float(np.mean([e.cost.forward_passes for e in exps]))
        results["methods"][method] = row
        if log:
            log(f"{method}: done in {time.perf_counter() - t0:.1f} s")
    return results


def format_table(results: dict[str, Any], metrics: Sequence[str] | None = None) -> str:
    """A plain-text methods x metrics table."""
    metrics = list(metrics or results["metrics"])
    cols = [*metrics, "seconds_per_clip"]
    header = ["method", *cols]
    rows = []
    for method, row in results["methods"].items():
        cells = [method]
        for c in cols:
            v = row.get(c, float("nan"))
            cells.append(
                "nan" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4f}"
            )
        rows.append(cells)
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append(
            "  ".join(
                (c.ljust(w) if i == 0 else c.rjust(w))
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return "\n".join(lines)


def jsonable(value: Any) -> Any:
    """Results with NaN replaced by ``None`` (strict JSON)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def parse_params(pairs: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``method.key=value`` pairs (value parsed as JSON when possible) -> nested dict."""
    out: dict[str, dict[str, Any]] = {}
    for pair in pairs:
        if "=" not in pair or "." not in pair.split("=", 1)[0]:
            raise ValueError(f"--param must look like method.key=value, got {pair!r}")
        key, raw = pair.split("=", 1)
        method, name = key.split(".", 1)
        out.setdefault(method, {})[name] = _parse_value(raw)
    return out


def _parse_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m workers.evaluate",
        description="Score explanation methods on a synthetic benchmark directory.",
    )
    p.add_argument(
        "--data", required=True, help="benchmark directory (python -m workers.synthetic)"
    )
    p.add_argument("--model", default=None, help="model directory (default: the bundled model)")
    p.add_argument("--methods", default="staa,staa_plus,random,center", help="comma separated")
    p.add_argument(
        "--metrics",
        default=",".join(VISUAL_LOCALIZATION + ("deletion_auc", "insertion_auc", "sparsity")),
        help=f"comma separated, from: {', '.join(METRICS)}",
    )
    p.add_argument("--limit", type=int, default=None, help="use only the first N clips")
    p.add_argument("--target", choices=("label", "pred"), default="label")
    p.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--param", action="append", default=[], help="method.key=value (repeatable)")
    p.add_argument("--json", default=None, help="write the results here as JSON")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)

    from workers.engine import ExplainError
    from workers.models.loader import ModelLoadError, bundled_model_path, load_model

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    try:
        params = parse_params(args.param)
        loaded = load_model(args.model or bundled_model_path(), device=args.device)
        items = items_from_directory(args.data, loaded, args.limit)
        results = evaluate(
            loaded,
            items,
            methods,
            metrics,
            params=params,
            target=args.target,
            tolerance=args.tolerance,
            batch_size=args.batch_size,
            log=lambda s: print(s, file=sys.stderr),
        )
    except (ExplainError, ModelLoadError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{results['n_clips']} clips, target={args.target}, tolerance={args.tolerance:g} px")
    print(format_table(results, metrics))
    if args.json:
        Path(args.json).write_text(json.dumps(jsonable(results), indent=1) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
