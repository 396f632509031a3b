"""Load local HF-format video transformer checkpoints (TimeSformer, VideoMAE) for the engine.

A checkpoint is a directory with ``config.json`` (HF config), ``model.safetensors`` (or a
sharded ``model.safetensors.index.json``) and a label map ``labels.json`` (class names in index
order; when absent, the config's ``id2label`` is used). An optional ``preprocessor_config.json``
gives ``image_mean``/``image_std`` (without it mean = std = 0.5 is assumed) and the checkpoint's
own resize / centre-crop / rescale rule, which clips then follow exactly
(:class:`workers.models.spec.Preprocessing`); ``"fit": "squash"`` in it (what :func:`save_model`
writes, and what the bundled models say) keeps the whole frame squashed to S x S instead.

The directory is read and checked by
:func:`workers.models.checkpoint_info.read_checkpoint_info` (no torch), the same function the
web process validates a checkpoint with; this module then builds the model from it.

Weights only ever come from local disk: ``from_pretrained(dir, local_files_only=True)``, never
the network, and never pickled ``.bin`` weights.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from workers.models.checkpoint_info import (
    PREPROCESSOR_FILES,
    SUPPORTED_ARCHITECTURES,
    ModelLoadError,
    check_labels,
    read_checkpoint_info,
)
from workers.models.fast_attention import use_fast_attention
from workers.models.spec import InputSpec

BUNDLED_MODEL_NAME = "tiny-timesformer"
PREPROCESSOR_FILE = PREPROCESSOR_FILES[0]  # what save_model writes


class ModelInputError(ValueError):
    """Frames handed to a model do not match its input spec."""


@dataclass
class LoadedModel:
    """A video classifier ready for inference and attribution.

    ``model`` is an HF ``TimesformerForVideoClassification`` or
    ``VideoMAEForVideoClassification`` (or the audio-visual model) in eval mode on ``device``,
    on the fused attention kernel (:func:`workers.models.fast_attention.use_fast_attention`).
    """

    model: torch.nn.Module
    architecture: str
    spec: InputSpec
    labels: list[str]
    path: Path | None
    device: torch.device

    def preprocess(self, frames: np.ndarray) -> torch.Tensor:
        """uint8 RGB ``(T, S, S, 3)`` or ``(B, T, S, S, 3)`` -> normalized float ``(B, T, 3, S, S)``."""
        arr = np.asarray(frames)
        if arr.dtype != np.uint8:
            raise ModelInputError(f"frames must be uint8 RGB, got dtype {arr.dtype}")
        if arr.ndim == 4:
            arr = arr[None]
        t, s = self.spec.num_frames, self.spec.image_size
        if arr.ndim != 5 or arr.shape[1:] != (t, s, s, 3):
            raise ModelInputError(
                f"frames must be shaped (T, S, S, 3) or (B, T, S, S, 3) with T={t}, S={s}; "
                f"got {tuple(np.asarray(frames).shape)}"
            )
        x = torch.from_numpy(np.ascontiguousarray(arr)).to(self.device)
        prep = self.spec.preprocessing
        mean = torch.tensor(self.spec.mean, dtype=torch.float32, device=self.device)
        std = torch.tensor(self.spec.std, dtype=torch.float32, device=self.device)
        if prep is None:  # the squash models' arithmetic, unchanged
            x = x.permute(0, 1, 4, 2, 3).to(torch.float32).div_(255.0)
            return (x - mean.view(1, 1, 3, 1, 1)) / std.view(1, 1, 3, 1, 1)
        # The image processor's arithmetic: rescale in float64, then float32, then normalize.
        x = x.permute(0, 1, 4, 2, 3)
        if prep.rescale_factor is not None:
            x = (x.to(torch.float64) * prep.rescale_factor).to(torch.float32)
        else:
            x = x.to(torch.float32)
        if prep.normalize:
            x = (x - mean.view(1, 1, 3, 1, 1)) / std.view(1, 1, 3, 1, 1)
        return x

    @property
    def audio_visual(self) -> bool:
        """True for models that hear as well as see (``spec.audio`` is set)."""
        return self.spec.audio is not None

    def preprocess_audio(self, audio: np.ndarray) -> torch.Tensor:
        """Mono waveforms ``(S,)`` or ``(B, S)`` in [-1, 1] -> float tensor ``(B, S)``."""
        if self.spec.audio is None:
            raise ModelInputError("this model is video-only; it takes no audio")
        arr = np.asarray(audio, dtype=np.float32)
        if arr.ndim == 1:
            arr = arr[None]
        n = self.spec.audio.num_samples
        if arr.ndim != 2 or arr.shape[1] != n:
            raise ModelInputError(
                f"audio must be shaped (S,) or (B, S) with S={n} samples "
                f"({self.spec.audio.duration} s at {self.spec.audio.sample_rate} Hz); "
                f"got {tuple(np.asarray(audio).shape)}"
            )
        if not np.all(np.isfinite(arr)):
            raise ModelInputError("audio samples must be finite numbers")
        return torch.from_numpy(np.ascontiguousarray(arr)).to(self.device)

    def logits(self, pixel_values: torch.Tensor, audio: torch.Tensor | None = None):
        """The model's logits for preprocessed inputs (audio for audio-visual models)."""
        if self.spec.audio is None:
            return self.model(pixel_values=pixel_values).logits
        if audio is None:
            raise ModelInputError(
                "this model is audio-visual: it needs the clip's sound as well as its frames"
            )
        return self.model(pixel_values=pixel_values, audio_values=audio).logits

    @torch.no_grad()
    def predict(
        self, frames: np.ndarray, batch_size: int = 32, audio: np.ndarray | None = None
    ) -> np.ndarray:
        """Class probabilities ``(B, num_labels)`` for uint8 frames (see :meth:`preprocess`);
        audio-visual models also take the waveforms ``(B, S)`` (see :meth:`preprocess_audio`)."""
        arr = np.asarray(frames)
        if arr.ndim == 4:
            arr = arr[None]
        wav = None
        if self.spec.audio is not None:
            if audio is None:
                raise ModelInputError(
                    "this model is audio-visual: predict needs audio as well as frames"
                )
            wav = np.asarray(audio, dtype=np.float32)
            wav = wav[None] if wav.ndim == 1 else wav
            if len(wav) != len(arr):
                raise ModelInputError(f"{len(arr)} clips of frames but {len(wav)} of audio")
        out = []
        for i in range(0, len(arr), batch_size):
            a = self.preprocess_audio(wav[i : i + batch_size]) if wav is not None else None
            logits = self.logits(self.preprocess(arr[i : i + batch_size]), a)
            out.append(torch.softmax(logits.float(), dim=-1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.labels)), np.float32)


def _quiet_hf() -> None:
    """No progress bars from transformers while loading or saving (worker logs stay readable)."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def bundled_model_path() -> Path:
    """Directory of the small TimeSformer trained on the synthetic benchmark."""
    return Path(__file__).resolve().parent / "bundled" / BUNDLED_MODEL_NAME


def _model_class(architecture: str) -> type:
    if architecture == "timesformer":
        from transformers import TimesformerForVideoClassification

        return TimesformerForVideoClassification
    if architecture == "videomae":
        from transformers import VideoMAEForVideoClassification

        return VideoMAEForVideoClassification
    if architecture == "wherewhen_av":
        from workers.models.av import AVTransformerForVideoClassification

        return AVTransformerForVideoClassification
    raise ModelLoadError(
        f"unsupported architecture {architecture!r}; supported: {', '.join(SUPPORTED_ARCHITECTURES)}"
    )


def _check_weight_shapes(directory: Path, cls: type) -> None:
    """Compare model.safetensors' tensor shapes with what config.json describes (no loading)."""
    weights = directory / "model.safetensors"
    if not weights.is_file():
        return  # sharded checkpoints are checked by from_pretrained itself
    from safetensors import safe_open

    try:
        config = cls.config_class.from_pretrained(str(directory), local_files_only=True)
        with torch.device("meta"):
            expected = {k: tuple(v.shape) for k, v in cls(config).state_dict().items()}
        with safe_open(str(weights), framework="pt") as f:
            stored = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118
    except Exception as exc:  # safetensors raises its own error type for corrupt files
        raise ModelLoadError(f"could not read the checkpoint in {directory}: {exc}") from exc
    wrong = [
        f"{k} {stored[k]} (config says {expected[k]})"
        for k in sorted(expected.keys() & stored.keys())
        if stored[k] != expected[k]
    ]
    if wrong:
        raise ModelLoadError(
            f"{weights} does not fit {directory}/config.json: {len(wrong)} tensors have other "
            f"shapes, e.g. {'; '.join(wrong[:3])}"
        )


def load_model(path: str | Path, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a local TimeSformer/VideoMAE classification checkpoint directory (eval mode)."""
    directory = Path(path)
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ModelLoadError(f"unknown device {device!r}: {exc}") from exc
    architecture, spec, labels = read_checkpoint_info(directory)  # the files, without torch

    cls = _model_class(architecture)
    _quiet_hf()
    _check_weight_shapes(directory, cls)
    kwargs: dict = {"local_files_only": True, "output_loading_info": True, "dtype": torch.float32}
    if architecture == "videomae":
        kwargs["attn_implementation"] = "sdpa"
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # we report problems ourselves, as ModelLoadError
    try:
        model, info = cls.from_pretrained(str(directory), **kwargs)
    except (OSError, RuntimeError, ValueError, KeyError, TypeError) as exc:
        raise ModelLoadError(
            f"could not load the {architecture} checkpoint in {directory}: {exc}"
        ) from exc
    finally:
        hf_logging.set_verbosity(verbosity)
    missing = list(info.get("missing_keys") or [])
    mismatched = list(info.get("mismatched_keys") or [])
    if missing or mismatched:
        what = [f"missing weights {sorted(missing)[:5]}"] if missing else []
        what += [f"wrongly shaped weights {mismatched[:5]}"] if mismatched else []
        raise ModelLoadError(
            f"{directory}/model.safetensors does not fit its config: {'; '.join(what)}"
        )
    model.config.id2label = dict(enumerate(labels))
    model.config.label2id = {name: i for i, name in enumerate(labels)}
    use_fast_attention(model)
    try:
        model.to(dev).eval()
    except (RuntimeError, AssertionError) as exc:
        raise ModelLoadError(f"device {device!r} is not usable here: {exc}") from exc
    return LoadedModel(model, architecture, spec, labels, directory.resolve(), dev)


def build_model(
    architecture: str, spec: InputSpec, labels: list[str], **config_overrides: object
) -> LoadedModel:
    """A model with random weights (seed torch first for repeatable weights)."""
    cls = _model_class(architecture)
    labels = check_labels(list(labels), "build_model")
    for name in ("num_frames", "image_size", "patch_size", "tubelet_size"):
        v = getattr(spec, name)
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ModelLoadError(f"build_model: spec.{name} must be a positive integer, got {v!r}")
    if spec.image_size % spec.patch_size:
        raise ModelLoadError(
            f"build_model: image_size {spec.image_size} is not a multiple of patch_size "
            f"{spec.patch_size}"
        )
    if architecture == "timesformer" and spec.tubelet_size != 1:
        raise ModelLoadError("build_model: TimeSformer has tubelet_size 1")
    if spec.num_frames % spec.tubelet_size:
        raise ModelLoadError(
            f"build_model: num_frames {spec.num_frames} is not a multiple of tubelet_size "
            f"{spec.tubelet_size}"
        )
    common = {
        "image_size": spec.image_size,
        "patch_size": spec.patch_size,
        "num_frames": spec.num_frames,
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {name: i for i, name in enumerate(labels)},
    }
    if architecture == "wherewhen_av" and spec.audio is None:
        raise ModelLoadError("build_model: an audio-visual model needs spec.audio")
    try:
        if architecture == "timesformer":
            from transformers import TimesformerConfig

            config = TimesformerConfig(**{**common, **config_overrides})
        elif architecture == "wherewhen_av":
            from workers.models.av import AVTransformerConfig

            assert spec.audio is not None
            config = AVTransformerConfig(
                **{**common, "audio": spec.audio.to_dict(), **config_overrides}
            )
        else:
            from transformers import VideoMAEConfig

            config = VideoMAEConfig(
                **{**common, "tubelet_size": spec.tubelet_size, **config_overrides},
                attn_implementation="sdpa",
            )
        model = cls(config)
    except (TypeError, ValueError) as exc:
        raise ModelLoadError(f"build_model: bad {architecture} config: {exc}") from exc
    use_fast_attention(model)
    model.eval()
    return LoadedModel(model, architecture, spec, labels, None, torch.device("cpu"))


def save_model(loaded: LoadedModel, path: str | Path) -> None:
    """Write ``config.json``, ``model.safetensors``, ``labels.json`` and the preprocessing
    (the normalization, and ``"fit": "squash"`` unless the spec has its own
    :class:`~workers.models.spec.Preprocessing`, written as the image-processor settings)."""
    directory = Path(path)
    directory.mkdir(parents=True, exist_ok=True)
    _quiet_hf()
    model = loaded.model
    model.config.id2label = dict(enumerate(loaded.labels))
    model.config.label2id = {name: i for i, name in enumerate(loaded.labels)}
    model.save_pretrained(str(directory))
    (directory / "labels.json").write_text(json.dumps(loaded.labels, indent=1) + "\n")
    preprocessor = processor_config(loaded.spec)
    (directory / PREPROCESSOR_FILE).write_text(json.dumps(preprocessor, indent=1) + "\n")
    for f in directory.iterdir():  # readable by the web server and other worker users
        if f.is_file():
            f.chmod(0o644)


def processor_config(spec: InputSpec) -> dict:
    """The ``preprocessor_config.json`` of a model with input ``spec``: transformers'
    ``VideoMAEImageProcessor`` settings, plus ``"fit": "squash"`` for squash models."""
    s = spec.image_size
    prep = spec.preprocessing
    config: dict = {"image_processor_type": "VideoMAEImageProcessor"}
    if prep is None:
        config["fit"] = "squash"
        config.update(
            {
                "do_resize": True,
                "size": {"height": s, "width": s},
                "do_center_crop": False,
                "do_rescale": True,
                "rescale_factor": 1 / 255,
                "do_normalize": True,
            }
        )
    else:
        if prep.shortest_edge is not None:
            size: dict = {"shortest_edge": prep.shortest_edge}
            if prep.longest_edge is not None:
                size["longest_edge"] = prep.longest_edge
        else:
            size = {"height": prep.height, "width": prep.width}
        config.update(
            {
                "do_resize": prep.do_resize,
                "size": size,
                "resample": prep.resample,
                "do_center_crop": prep.crop is not None,
                "crop_size": (
                    {"height": prep.crop[0], "width": prep.crop[1]} if prep.crop else None
                ),
                "do_rescale": prep.rescale_factor is not None,
                "rescale_factor": prep.rescale_factor if prep.rescale_factor else 1 / 255,
                "do_normalize": prep.normalize,
            }
        )
    config.update(
        {
            "image_mean": list(spec.mean),
            "image_std": list(spec.std),
            "num_frames": spec.num_frames,
        }
    )
    return config
