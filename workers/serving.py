"""Serving explanations in a long-lived gpu worker process (torch side, no Django).

* :class:`ModelCache` -- a bounded LRU of loaded models, one per worker process, so a warm
  worker answers a request with one ``explain()`` call and no loading.
* :func:`resolve_device` -- a model's device preference (``auto``/``cpu``/``cuda``), overridden
  by ``WHEREWHEN_DEVICE`` on the worker.
* :func:`load_clip` -- the model's input clip for a video file (optionally a time window).
* :func:`group_batches` -- split work items into batches that one ``explain()`` call can take.
* :class:`PassCounter` and :func:`expected_passes` -- progress of slow methods, counted from the
  clip evaluations the model actually runs, against the estimate each method registers.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from workers.models.spec import InputSpec
from workers.types import Clip

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_CACHE_SIZE = 2


class ClipError(ValueError):
    """A video could not be turned into a model clip (the message says why)."""


# --- Devices and the model cache ---------------------------------------------------------------


def resolve_device(preference: str = "auto") -> str:
    """``WHEREWHEN_DEVICE`` if set, else the preference; ``auto`` picks CUDA when available.

    A model that prefers ``cuda`` on a worker without a GPU runs on the CPU (with a warning)
    rather than failing: the result is the same, only slower.
    """
    import torch

    choice = (os.environ.get("WHEREWHEN_DEVICE") or preference or "auto").strip().lower()
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice.startswith("cuda") and not torch.cuda.is_available():
        log.warning("device %r requested but CUDA is not available; using the CPU", choice)
        return "cpu"
    return choice


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    evictions: int = 0


class ModelCache:
    """Least-recently-used cache of loaded models, bounded by ``max_models``.

    Keys are ``(checkpoint directory, fingerprint, device)``: replacing the files on disk (a new
    fingerprint) loads the new weights. ``max_models`` defaults to ``WHEREWHEN_MODEL_CACHE_SIZE``
    (2). Evicting a model frees its GPU memory. Thread-safe.
    """

    def __init__(
        self,
        max_models: int | None = None,
        loader: Callable[[str, str], Any] | None = None,
    ) -> None:
        if max_models is None:
            max_models = int(os.environ.get("WHEREWHEN_MODEL_CACHE_SIZE", DEFAULT_CACHE_SIZE))
        if max_models < 1:
            raise ValueError("the model cache must hold at least one model")
        self.max_models = max_models
        self._loader = loader
        self._models: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.stats = CacheStats()

    def _load(self, path: str, device: str) -> Any:
        if self._loader is not None:
            return self._loader(path, device)
        from workers.models.loader import load_model

        return load_model(path, device=device)

    def get(self, path: str | Path, fingerprint: str = "", device: str = "cpu") -> Any:
        key = (str(path), fingerprint, device)
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                self.stats.hits += 1
                return self._models[key]
            self.stats.misses += 1
            loaded = self._load(str(path), device)
            self._models[key] = loaded
            while len(self._models) > self.max_models:
                old_key, _old = self._models.popitem(last=False)
                self.stats.evictions += 1
                log.info("model cache: evicted %s", old_key[0])
                del _old
                _free_cuda(old_key[2])
            return loaded

    def __len__(self) -> int:
        return len(self._models)

    def entries(self) -> list[tuple]:
        return list(self._models)

    def clear(self) -> None:
        with self._lock:
            devices = {k[2] for k in self._models}
            self._models.clear()
            for device in devices:
                _free_cuda(device)


def _free_cuda(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


_process_cache: ModelCache | None = None


def process_cache() -> ModelCache:
    """The model cache of this worker process (created on first use)."""
    global _process_cache
    if _process_cache is None:
        _process_cache = ModelCache()
    return _process_cache


# --- Clips --------------------------------------------------------------------------------------


def load_clip(
    path: str | Path,
    spec: InputSpec,
    start: float | None = None,
    end: float | None = None,
    *,
    timestamps: Sequence[float] | None = None,
    duration: float | None = None,
    video_id: str | None = None,
    model_name: str | None = None,
) -> Clip:
    """The model clip of a video file: ``spec.num_frames`` frames sampled uniformly from the
    whole video or from the window ``[start, end)`` seconds, made into the model's input by its
    own rule (``spec.fit``: the checkpoint's resize and centre crop, or the S x S squash; the
    clip's ``view`` is the source rectangle the model sees), with their exact source timestamps
    (``workers.video.sample``: the sampling rule the bundled model was trained with), and for
    audio-visual models (``spec.audio``) the window's sound.
    ``timestamps``, the frame table stored at ingest, saves a decode pass; ``duration``, the
    exact end of its last frame, closes a window that runs to the end of the video.
    Raises :class:`ClipError` with the reason when the file cannot give a clip (a video without
    an audio track for an audio-visual model included)."""
    from workers.video.audio import NoAudioError
    from workers.video.sample import sample_clip

    path = Path(path)
    if not path.is_file():
        raise ClipError(f"the video file {path.name} is missing")
    table = list(timestamps) if timestamps else None
    try:
        return sample_clip(
            path, spec, start, end, timestamps=table, duration=duration, video_id=video_id
        )
    except NoAudioError as exc:
        if model_name:
            raise ClipError(
                f"video {video_id or path.name} has no audio track; model {model_name!r} is "
                "audio-visual and needs sound"
            ) from exc
        raise ClipError(str(exc)) from exc
    except ValueError as exc:  # VideoError and friends: the message says what is wrong
        raise ClipError(str(exc)) from exc


# --- Batching -----------------------------------------------------------------------------------


def group_batches(items: Iterable[T], key: Callable[[T], Hashable], max_size: int) -> list[list[T]]:
    """Group items with equal ``key`` (e.g. model, method, parameters) into batches of at most
    ``max_size``, keeping the order in which each group first appears."""
    if max_size < 1:
        raise ValueError("max_size must be at least 1")
    groups: OrderedDict[Hashable, list[T]] = OrderedDict()
    for item in items:
        groups.setdefault(key(item), []).append(item)
    batches: list[list[T]] = []
    for members in groups.values():
        batches.extend(members[i : i + max_size] for i in range(0, len(members), max_size))
    return batches


# --- Progress -----------------------------------------------------------------------------------


def expected_passes(method: str, params: dict[str, Any], spec: InputSpec) -> int:
    """How many clip evaluations ``explain()`` runs per clip for ``method`` (approximately).

    The method's registered pass estimate (:attr:`workers.engine.MethodInfo.passes`) for
    ``params`` with the method's defaults filled in; 1 for a name the engine does not know
    (``explain()`` refuses it with the reason)."""
    from workers.engine import METHODS, method_defaults

    info = METHODS.get(method)
    if info is None:
        return 1
    return int(info.passes({**method_defaults(method), **params}, spec))


class PassCounter:
    """Counts the clips the model evaluates (a forward hook) while a block runs.

    ``fraction`` is clips evaluated / clips expected, capped below 1 until the block ends.
    """

    def __init__(self, model: Any, expected: int) -> None:
        self.model = model
        self.expected = max(1, int(expected))
        self.seen = 0
        self._handle = None

    def _hook(self, module, args, kwargs, output) -> None:
        x = kwargs.get("pixel_values") if kwargs else None
        if x is None and args:
            x = args[0]
        self.seen += int(getattr(x, "shape", (1,))[0] or 1)

    def __enter__(self) -> PassCounter:
        self._handle = self.model.register_forward_hook(self._hook, with_kwargs=True)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    @property
    def fraction(self) -> float:
        return min(0.99, self.seen / self.expected)


def explain_batch(
    loaded: Any,
    clips: Sequence[Clip],
    method: str,
    targets: Sequence[int] | None,
    params: dict[str, Any],
    on_counter: Callable[[PassCounter], None] | None = None,
    timings: dict[str, float] | None = None,
) -> list[Any]:
    """One ``explain()`` call for a batch of clips, counting passes for progress.

    ``timings``, when given, receives the seconds spent turning frames into the model's input
    (``preprocess``) and the rest of the call (``model``)."""
    from workers.engine import explain

    counter = PassCounter(loaded.model, expected_passes(method, params, loaded.spec) * len(clips))
    if on_counter is not None:
        on_counter(counter)
    spent = [0.0]
    preprocess = loaded.preprocess

    def timed_preprocess(frames):
        t0 = time.perf_counter()
        try:
            return preprocess(frames)
        finally:
            spent[0] += time.perf_counter() - t0

    started = time.perf_counter()
    if timings is not None:
        loaded.preprocess = timed_preprocess  # this call only (instance attribute)
    try:
        with counter:
            return explain(loaded, list(clips), method, target=targets, **params)
    finally:
        if timings is not None:
            del loaded.preprocess
            timings["preprocess"] = spent[0]
            timings["model"] = time.perf_counter() - started - spent[0]
