"""``explain()``: one call shape for every attribution method.

    explain(model, clips, method, target=None, **params) -> list[Explanation]

``model`` is a :class:`workers.models.loader.LoadedModel`; ``clips`` one :class:`Clip` or a list.
All clips of a call go through the model as one batch where the method allows it. Every
explanation carries its map on the token grid ``(T', h, w)``, its temporal importance ``(T',)``,
the source timestamps of the map frames, the top-k prediction, the explained class and its cost.

Cost accounting: ``forward_passes`` / ``backward_passes`` count clip evaluations (a batch of k
perturbed copies of a clip counts k), so numbers are comparable across batch sizes. When several
clips are explained in one call, the passes, wall time and peak memory of the call are shared
equally among them (passes and time divided by the number of clips, peak memory as measured).
Peak memory is the CUDA peak allocation on GPU; on CPU it is the rise of the process's peak
resident set size during the call (Linux), 0 where that cannot be read.

Methods are looked up by name in :data:`workers.engine.registry.METHODS`, which importing the
method package :mod:`workers.engine.methods` (once, here) fills; each is called with a
:class:`~workers.engine.run.Run`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

import workers.engine.methods  # noqa: F401  (registers every method, once)
from workers.engine.attention import attention_layout
from workers.engine.errors import ExplainError
from workers.engine.registry import METHODS, MethodInfo, MethodOutput
from workers.engine.run import Run
from workers.models.spec import audio_token_times
from workers.types import Clip, Cost, Explanation, Prediction

if TYPE_CHECKING:  # pragma: no cover
    from workers.models.loader import LoadedModel

# Parameters every method accepts, in addition to its own.
COMMON_DEFAULTS: dict[str, Any] = {
    "topk": 5,
    "precision": "fp32",  # "fp32" | "bf16" | "fp16" (autocast, CUDA only)
}


PRECISIONS = ("fp32", "bf16", "fp16")


def _check_precision(precision: str, device: torch.device) -> None:
    """Autocast precisions need a CUDA device that has them."""
    if precision == "fp32":
        return
    if device.type != "cuda":
        raise ExplainError(
            f"precision={precision!r} needs a CUDA device; this model is on {device}"
        )
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise ExplainError("precision='bf16' is not supported by this GPU; use 'fp16'")


def available_methods() -> list[str]:
    """Names of all registered methods, in registration order."""
    return list(METHODS)


def method_info(method: str) -> MethodInfo:
    if method not in METHODS:
        raise ExplainError(
            f"unknown method {method!r}; available methods: {', '.join(sorted(METHODS))}"
        )
    return METHODS[method]


def method_defaults(method: str) -> dict[str, Any]:
    """All parameters ``method`` accepts with their defaults (common ones included)."""
    info = method_info(method)
    return {**COMMON_DEFAULTS, **info.defaults}


def _resolve_params(info: MethodInfo, params: dict[str, Any]) -> dict[str, Any]:
    accepted = {**COMMON_DEFAULTS, **info.defaults}
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ExplainError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for method {info.name!r}; "
            f"accepted: {', '.join(sorted(accepted))}"
        )
    resolved = {**accepted, **params}
    for key, allowed in info.choices.items():
        value = resolved[key]
        if value not in allowed:
            raise ExplainError(
                f"{info.name}: {key}={value!r} is not one of {', '.join(map(repr, allowed))}"
            )
    if resolved["precision"] not in PRECISIONS:
        raise ExplainError(
            f"precision must be 'fp32', 'bf16' or 'fp16', got {resolved['precision']!r}"
        )
    topk = resolved["topk"]
    if not isinstance(topk, int | np.integer) or isinstance(topk, bool) or topk < 1:
        raise ExplainError(f"topk must be a positive integer, got {topk!r}")
    return resolved


def validate_clips(loaded: Any, clips: Clip | Sequence[Clip]) -> list[Clip]:
    """Check every clip against the model's input spec; raise a clear error otherwise."""
    if isinstance(clips, Clip):
        clips = [clips]
    clips = list(clips)
    if not clips:
        raise ExplainError("no clips given")
    spec = loaded.spec
    expected = (spec.num_frames, spec.image_size, spec.image_size, 3)
    for n, clip in enumerate(clips):
        if not isinstance(clip, Clip):
            raise ExplainError(f"clip {n} is a {type(clip).__name__}, expected a Clip")
        frames = clip.frames
        if not isinstance(frames, np.ndarray):
            raise ExplainError(f"clip {n}: frames must be a numpy array, got {type(frames)}")
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ExplainError(
                f"clip {n}: frames shaped {frames.shape}; expected (T, S, S, 3) RGB, "
                f"i.e. {expected} for this model"
            )
        if frames.shape[0] != spec.num_frames:
            raise ExplainError(
                f"clip {n} has {frames.shape[0]} frames; the model expects {spec.num_frames}"
            )
        if frames.shape[1:3] != (spec.image_size, spec.image_size):
            raise ExplainError(
                f"clip {n}: frames are {frames.shape[2]}x{frames.shape[1]} pixels; the model "
                f"expects {spec.image_size}x{spec.image_size}"
            )
        if frames.dtype != np.uint8:
            raise ExplainError(f"clip {n}: frames must be uint8 RGB, got dtype {frames.dtype}")
        ts = np.asarray(clip.timestamps)
        if ts.shape != (spec.num_frames,):
            raise ExplainError(
                f"clip {n}: timestamps shaped {ts.shape}; expected ({spec.num_frames},), one "
                "source time per frame"
            )
        if not np.all(np.isfinite(ts)):
            raise ExplainError(f"clip {n}: timestamps must be finite numbers")
        if spec.audio is not None:
            _validate_audio(clip, n, spec.audio)
    return clips


def _validate_audio(clip: Clip, n: int, audio_spec: Any) -> None:
    if clip.audio is None:
        raise ExplainError(
            f"clip {n} has no sound, but this model is audio-visual: it needs the clip's audio "
            "track as well as its frames"
        )
    a = np.asarray(clip.audio)
    if a.shape != (audio_spec.num_samples,):
        raise ExplainError(
            f"clip {n}: audio shaped {a.shape}; the model expects ({audio_spec.num_samples},): "
            f"{audio_spec.duration} s of mono sound at {audio_spec.sample_rate} Hz"
        )
    if not np.all(np.isfinite(a)):
        raise ExplainError(f"clip {n}: audio samples must be finite numbers")
    span = clip.audio_span
    if span is None or len(span) != 2 or not all(np.isfinite(span)) or not span[1] > span[0]:
        raise ExplainError(
            f"clip {n}: audio_span must give the (start, end) source seconds of its sound, "
            f"with end > start; got {span!r}"
        )


def _resolve_target(loaded: Any, target: Any, batch: int) -> list[int] | None:
    num_labels = len(loaded.labels)
    if target is None:
        return None
    targets = [target] * batch if isinstance(target, int | np.integer) else list(target)
    if len(targets) != batch:
        raise ExplainError(f"got {len(targets)} targets for {batch} clips")
    out = []
    for t in targets:
        if isinstance(t, bool) or not isinstance(t, int | np.integer):
            raise ExplainError(f"target must be a class index (int), got {t!r}")
        if not 0 <= int(t) < num_labels:
            raise ExplainError(
                f"target class {int(t)} is out of range; the model has {num_labels} classes "
                f"(0..{num_labels - 1})"
            )
        out.append(int(t))
    return out


class _PeakMemory:
    """Peak memory of a block: CUDA peak allocation, or the rise of peak RSS on Linux."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.peak = 0

    @staticmethod
    def _status(key: str) -> int | None:
        try:
            with open("/proc/self/status") as fh:
                for line in fh:
                    if line.startswith(key):
                        return int(line.split()[1]) * 1024
        except OSError:
            return None
        return None

    def __enter__(self) -> _PeakMemory:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            return self
        self._rss0 = self._status("VmRSS:")
        self._reset_ok = False
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")  # resets the peak-RSS high-water mark of this process
            self._reset_ok = True
        except OSError:
            pass
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.device.type == "cuda":
            self.peak = int(torch.cuda.max_memory_allocated(self.device))
            return
        hwm = self._status("VmHWM:")
        if self._reset_ok and hwm is not None and self._rss0 is not None:
            self.peak = max(0, hwm - self._rss0)


def _topk(logits: torch.Tensor, labels: list[str], k: int) -> list[list[Prediction]]:
    probs = torch.softmax(logits.float(), dim=1)
    k = min(k, probs.shape[1])
    values, indices = probs.topk(k, dim=1)
    out = []
    for vals, idx in zip(values.tolist(), indices.tolist(), strict=True):
        out.append(
            [
                Prediction(label_index=int(i), label=str(labels[i]), probability=float(v))
                for v, i in zip(vals, idx, strict=True)
            ]
        )
    return out


def prepare_inputs(loaded: Any, clips: list[Clip]) -> torch.Tensor:
    frames = np.stack([c.frames for c in clips])
    x = loaded.preprocess(frames)
    if x.ndim == 4:
        x = x.unsqueeze(0)
    return x


def prepare_audio(loaded: Any, clips: list[Clip]) -> torch.Tensor | None:
    """The clips' waveforms ``(B, samples)`` for audio-visual models, else None."""
    if loaded.spec.audio is None:
        return None
    return loaded.preprocess_audio(np.stack([np.asarray(c.audio) for c in clips]))


def map_timestamps(loaded: Any, clip: Clip) -> np.ndarray:
    """Source time of each map frame: the first model frame of its tubelet."""
    tubelet = int(getattr(loaded.spec, "tubelet_size", 1) or 1)
    t = loaded.spec.grid[0]
    return np.asarray(clip.timestamps, dtype=np.float64)[::tubelet][:t].copy()


def explain(
    model: LoadedModel,
    clips: Clip | Sequence[Clip],
    method: str,
    target: int | Sequence[int] | None = None,
    **params: Any,
) -> list[Explanation]:
    """Explain ``clips`` with ``method``; one :class:`Explanation` per clip.

    ``target`` is the class to explain (one int for all clips, or one per clip); ``None``
    explains each clip's top-1 prediction. ``params`` are the method's parameters (see
    :func:`method_defaults`); unknown names are an error. Raises :class:`ExplainError` (a
    ``ValueError``) with a clear message for bad input.
    """
    info = method_info(method)
    resolved = _resolve_params(info, params)
    clip_list = validate_clips(model, clips)
    targets = _resolve_target(model, target, len(clip_list))
    device = torch.device(getattr(model, "device", "cpu"))
    _check_precision(resolved["precision"], device)
    audio_visual = model.spec.audio is not None
    if audio_visual and not info.audio_visual:
        usable = sorted(name for name, m in METHODS.items() if m.audio_visual)
        raise ExplainError(
            f"method {method!r} does not explain audio-visual models yet; methods that do: "
            f"{', '.join(usable)}"
        )
    if info.needs_attention:
        attention_layout(model)  # raises a clear error for models without attention

    start = time.perf_counter()
    with _PeakMemory(device) as mem:
        inputs = prepare_inputs(model, clip_list)
        run = Run(loaded=model, inputs=inputs, params=resolved, requested_target=targets)
        run.audio = prepare_audio(model, clip_list)
        out: MethodOutput = info.fn(run)
        logits = run.base_logits()
        chosen = run.targets()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    wall = time.perf_counter() - start

    batch = len(clip_list)
    grid = tuple(model.spec.grid)
    maps = np.asarray(out.maps, dtype=np.float32)
    temporal = np.asarray(out.temporal, dtype=np.float32)
    if maps.shape != (batch, *grid) or temporal.shape != (batch, grid[0]):
        raise RuntimeError(  # a bug in a method, not bad input
            f"{method} returned maps {maps.shape} / temporal {temporal.shape}; "
            f"expected {(batch, *grid)} / {(batch, grid[0])}"
        )
    audio = None
    if audio_visual:
        assert model.spec.audio is not None
        audio = np.asarray(out.audio, dtype=np.float32) if out.audio is not None else None
        if audio is None or audio.shape != (batch, model.spec.audio.tokens):
            raise RuntimeError(  # a bug in a method, not bad input
                f"{method} returned audio {None if audio is None else audio.shape}; expected "
                f"{(batch, model.spec.audio.tokens)}"
            )
    tops = _topk(logits, list(model.labels), int(resolved["topk"]))
    cost = Cost(
        forward_passes=int(round(run.forward_passes / batch)),
        backward_passes=int(round(run.backward_passes / batch)),
        wall_seconds=wall / batch,
        peak_memory_bytes=int(mem.peak),
    )
    public_params = {k: _jsonable(v) for k, v in resolved.items()}
    return [
        Explanation(
            method=method,
            map=maps[b],
            temporal=temporal[b],
            timestamps=map_timestamps(model, clip_list[b]),
            target=int(chosen[b]),
            topk=tops[b],
            cost=Cost(**vars(cost)),
            params=dict(public_params),
            audio=audio[b] if audio is not None else None,
            audio_times=audio_times(model, clip_list[b]) if audio is not None else None,
            view=clip_list[b].view_rect(),
        )
        for b in range(batch)
    ]


def audio_times(loaded: Any, clip: Clip) -> np.ndarray:
    """Source seconds ``(A, 2)`` ``[start, end)`` of each audio token of ``clip``."""
    assert clip.audio_span is not None
    return audio_token_times(clip.audio_span, loaded.spec.audio.tokens)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    return value


def set_num_threads_from_env() -> None:
    """Honour ``WHEREWHEN_TORCH_THREADS`` (CLIs and benchmarks call this)."""
    n = os.environ.get("WHEREWHEN_TORCH_THREADS")
    if n:
        torch.set_num_threads(int(n))
