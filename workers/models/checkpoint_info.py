"""Read and validate a checkpoint directory without torch (for the web process).

``read_checkpoint_info(path) -> (architecture, InputSpec, labels)`` reads ``config.json``,
``labels.json`` (or the config's ``id2label``) and the optional ``preprocessor_config.json``, and
checks that the weights are there and look like a safetensors file. The web process uses it
where the model registry validates a directory; :func:`workers.models.loader.load_model` (torch)
starts with it too, then builds the model, so both apply the same rules with the same messages.
``tests/workers/test_checkpoint_info.py`` keeps the two in step: for every directory both accept,
they report the same architecture, input spec and labels, and they refuse the same broken
directories.

What this cannot see without building the model: weight tensors whose shapes do not fit the
config. The gpu worker finds those when it loads the model, and the explanation fails with the
loader's message.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import struct
from pathlib import Path

from workers.models.spec import RESAMPLE_NAMES, AudioSpec, InputSpec, Preprocessing

SUPPORTED_ARCHITECTURES = ("timesformer", "videomae", "wherewhen_av")
PREPROCESSOR_FILES = ("preprocessor_config.json", "video_preprocessor_config.json")
WEIGHTS_FILE = "model.safetensors"
WEIGHTS_INDEX_FILE = "model.safetensors.index.json"
_GENERIC_LABEL = re.compile(r"^LABEL_\d+$")
FIT_CHOICES = ("squash", "processor")
# Keys of a preprocessor config that describe how a frame becomes the model input.
_GEOMETRY_KEYS = ("size", "crop_size", "do_resize", "do_center_crop", "resample")
_MAX_HEADER_BYTES = 100 * 1024 * 1024


class ModelLoadError(ValueError):
    """A checkpoint directory or model description is unusable; the message says why."""


# The name the platform uses for the same error (registering a checkpoint without torch).
CheckpointError = ModelLoadError


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is not readable JSON: {exc}") from exc


def check_labels(labels: object, where: str) -> list[str]:
    """``labels`` as a list of class names; :class:`CheckpointError` naming ``where`` unless it
    is a non-empty list of distinct, non-empty strings."""
    if not isinstance(labels, list) or not labels:
        raise CheckpointError(f"{where}: the label map must be a non-empty list of class names")
    if not all(isinstance(x, str) and x.strip() for x in labels):
        raise CheckpointError(f"{where}: every label must be a non-empty string")
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise CheckpointError(f"{where}: duplicate labels {dupes}")
    return list(labels)


def _square(value: object, name: str, where: str) -> int:
    if isinstance(value, list | tuple):
        if len(value) != 2 or value[0] != value[1]:
            raise CheckpointError(f"{where}: only square {name} is supported, got {value!r}")
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise CheckpointError(f"{where}: {name} must be a positive integer, got {value!r}")
    return value


def _spec_from_config(cfg: dict, architecture: str, where: str) -> InputSpec:
    image_size = _square(cfg.get("image_size", 224), "image_size", where)
    patch_size = _square(cfg.get("patch_size", 16), "patch_size", where)
    default_frames = 8 if architecture == "timesformer" else 16
    num_frames = cfg.get("num_frames", default_frames)
    tubelet = cfg.get("tubelet_size", 2) if architecture == "videomae" else 1
    for name, v in (("num_frames", num_frames), ("tubelet_size", tubelet)):
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise CheckpointError(f"{where}: {name} must be a positive integer, got {v!r}")
    if image_size % patch_size:
        raise CheckpointError(
            f"{where}: image_size {image_size} is not a multiple of patch_size {patch_size}"
        )
    if num_frames % tubelet:
        raise CheckpointError(
            f"{where}: num_frames {num_frames} is not a multiple of tubelet_size {tubelet}"
        )
    audio = _audio_from_config(cfg, where) if architecture == "wherewhen_av" else None
    spacing = cfg.get("frame_spacing")
    if spacing is not None and (
        isinstance(spacing, bool) or not isinstance(spacing, int | float) or not spacing > 0
    ):
        raise CheckpointError(f"{where}: frame_spacing must be seconds > 0, got {spacing!r}")
    return InputSpec(
        num_frames=num_frames,
        image_size=image_size,
        patch_size=patch_size,
        tubelet_size=tubelet,
        audio=audio,
        frame_spacing=float(spacing) if spacing is not None else None,
    )


def _audio_from_config(cfg: dict, where: str) -> AudioSpec:
    """The sound input of an audio-visual checkpoint (its config's ``audio`` object)."""
    data = cfg.get("audio")
    if not isinstance(data, dict):
        raise CheckpointError(
            f"{where}: an audio-visual checkpoint needs an 'audio' object (sample_rate, "
            "duration, n_fft, hop_length, n_mels, tokens)"
        )
    try:
        spec = AudioSpec.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{where}: bad 'audio' settings {data!r}: {exc}") from exc
    if spec.sample_rate < 8000 or spec.duration <= 0 or spec.n_mels < 1 or spec.tokens < 1:
        raise CheckpointError(
            f"{where}: bad 'audio' settings {data!r}: need sample_rate >= 8000, duration > 0, "
            "n_mels >= 1 and tokens >= 1"
        )
    if spec.n_fft < 2 or spec.hop_length < 1 or spec.n_fft > spec.num_samples:
        raise CheckpointError(f"{where}: bad 'audio' settings {data!r}: n_fft / hop_length")
    return spec


def _normalization(directory: Path) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    for name in PREPROCESSOR_FILES:
        f = directory / name
        if not f.is_file():
            continue
        data = _read_json(f)
        if not isinstance(data, dict):
            raise CheckpointError(f"{f} must hold a JSON object")
        mean, std = data.get("image_mean"), data.get("image_std")
        if mean is None and std is None:
            continue
        ok = all(
            isinstance(v, list) and len(v) == 3 and all(isinstance(x, int | float) for x in v)
            for v in (mean, std)
        )
        if not ok or min(std) <= 0:
            raise CheckpointError(f"{f}: image_mean and image_std must be 3 numbers (std > 0)")
        return tuple(float(x) for x in mean), tuple(float(x) for x in std)
    return None


def _size_dict(value: object, square: bool, name: str, where: str) -> dict:
    """A transformers size value (int, [h, w] or dict) as a dict, the way ``get_size_dict``
    reads it (an int is the short side, or a square when ``square``)."""
    if isinstance(value, bool):
        raise CheckpointError(f"{where}: {name} must be a size, got {value!r}")
    if isinstance(value, int):
        return {"height": value, "width": value} if square else {"shortest_edge": value}
    if isinstance(value, list | tuple) and len(value) == 2:
        return {"height": value[0], "width": value[1]}
    if isinstance(value, dict):
        return dict(value)
    raise CheckpointError(f"{where}: {name} must be a size, got {value!r}")


def _positive(value: object, name: str, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise CheckpointError(f"{where}: {name} must be a positive integer, got {value!r}")
    return value


def _preprocessing(directory: Path, image_size: int) -> Preprocessing | None:
    """The checkpoint's resize/crop/rescale rule, or None for the S x S squash.

    The squash is kept when there is no preprocessor config, when it says ``"fit": "squash"``,
    or when it gives no resize or crop rule at all (normalization only); otherwise the rule is
    read with the defaults of transformers' ``VideoMAEImageProcessor`` for what it leaves out,
    and must end in ``image_size`` x ``image_size`` pixels.
    """
    for name in PREPROCESSOR_FILES:
        f = directory / name
        if not f.is_file():
            continue
        data = _read_json(f)
        if not isinstance(data, dict):
            raise CheckpointError(f"{f} must hold a JSON object")
        fit = data.get("fit")
        if fit is not None and fit not in FIT_CHOICES:
            raise CheckpointError(f"{f}: fit must be one of {', '.join(FIT_CHOICES)}, got {fit!r}")
        if fit == "squash":
            return None
        if fit is None and not any(k in data for k in _GEOMETRY_KEYS):
            continue
        return _read_preprocessing(data, image_size, str(f))
    return None


def _read_preprocessing(data: dict, image_size: int, where: str) -> Preprocessing:
    do_resize = bool(data.get("do_resize", True))
    size = _size_dict(data.get("size", {"shortest_edge": 224}), False, "size", where)
    shortest = _positive(size.get("shortest_edge"), "size.shortest_edge", where)
    longest = _positive(size.get("longest_edge"), "size.longest_edge", where)
    height = _positive(size.get("height"), "size.height", where)
    width = _positive(size.get("width"), "size.width", where)
    if do_resize and shortest is None and (height is None or width is None):
        raise CheckpointError(
            f"{where}: size {size!r} is not supported; use shortest_edge, or height and width"
        )
    crop = None
    if bool(data.get("do_center_crop", True)):
        cs = _size_dict(data.get("crop_size", {"height": 224, "width": 224}), True, "crop_size",
                        where)  # fmt: skip
        ch = _positive(cs.get("height"), "crop_size.height", where)
        cw = _positive(cs.get("width"), "crop_size.width", where)
        if ch is None or cw is None:
            raise CheckpointError(f"{where}: crop_size needs height and width, got {cs!r}")
        crop = (ch, cw)
    resample = data.get("resample", 2)
    if isinstance(resample, bool) or resample not in RESAMPLE_NAMES:
        raise CheckpointError(
            f"{where}: resample must be one of PIL's filters {sorted(RESAMPLE_NAMES)}, "
            f"got {resample!r}"
        )
    factor = data.get("rescale_factor", 1 / 255)
    if isinstance(factor, bool) or not isinstance(factor, int | float) or factor <= 0:
        raise CheckpointError(f"{where}: rescale_factor must be a positive number, got {factor!r}")
    prep = Preprocessing(
        do_resize=do_resize,
        shortest_edge=shortest if do_resize else None,
        longest_edge=longest if do_resize and shortest is not None else None,
        height=height if do_resize and shortest is None else None,
        width=width if do_resize and shortest is None else None,
        crop=crop,
        resample=int(resample),
        rescale_factor=float(factor) if bool(data.get("do_rescale", True)) else None,
        normalize=bool(data.get("do_normalize", True)),
    )
    if crop is not None:
        out = crop
    elif do_resize and prep.height is not None:
        out = (prep.height, prep.width)
    else:
        raise CheckpointError(
            f"{where}: without a centre crop the frames keep their aspect ratio; the model "
            f"needs {image_size}x{image_size} (set do_center_crop and crop_size, or size "
            'height and width, or "fit": "squash")'
        )
    if out != (image_size, image_size):
        raise CheckpointError(
            f"{where}: the processor makes {out[1]}x{out[0]} pixel frames but the model's "
            f"image_size is {image_size}"
        )
    return prep


def _labels_for(directory: Path, cfg: dict) -> list[str]:
    id2label = cfg.get("id2label")
    config_labels: list[str] | None = None
    if isinstance(id2label, dict) and id2label:
        try:
            keys = sorted(int(k) for k in id2label)
        except ValueError as exc:
            raise CheckpointError(
                f"{directory}/config.json: id2label keys must be integers"
            ) from exc
        if keys != list(range(len(keys))):
            raise CheckpointError(f"{directory}/config.json: id2label keys must be 0..n-1")
        config_labels = [str(id2label[str(k)] if str(k) in id2label else id2label[k]) for k in keys]
    num_labels = cfg.get("num_labels", len(config_labels) if config_labels else None)

    labels_file = directory / "labels.json"
    if labels_file.is_file():
        labels = check_labels(_read_json(labels_file), str(labels_file))
    elif config_labels is not None:
        labels = check_labels(config_labels, f"{directory}/config.json id2label")
    else:
        raise CheckpointError(
            f"{directory} has no label map: add labels.json (class names in index order) "
            "or id2label to config.json"
        )
    if num_labels is not None and num_labels != len(labels):
        raise CheckpointError(
            f"label map mismatch in {directory}: labels.json has {len(labels)} classes but the "
            f"config has num_labels={num_labels}"
        )
    if config_labels is not None:
        if len(config_labels) != len(labels):
            raise CheckpointError(
                f"label map mismatch in {directory}: labels.json has {len(labels)} classes but "
                f"config.json id2label has {len(config_labels)}"
            )
        generic = all(_GENERIC_LABEL.match(x) for x in config_labels)
        if not generic and config_labels != labels:
            diff = [
                f"{i}: {a!r} vs {b!r}"
                for i, (a, b) in enumerate(zip(labels, config_labels, strict=True))
                if a != b
            ]
            raise CheckpointError(
                f"label map mismatch in {directory}: labels.json and config.json id2label "
                f"disagree at index {', '.join(diff[:5])}"
            )
    return labels


def _check_safetensors(path: Path) -> None:
    """The file starts with a safetensors header and is as long as the header says."""
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
            if len(head) < 8:
                raise CheckpointError(f"{path} is not a safetensors file (it is too short)")
            (n,) = struct.unpack("<Q", head)
            if n <= 0 or n > _MAX_HEADER_BYTES or 8 + n > size:
                raise CheckpointError(f"{path} is not a safetensors file (bad header length)")
            header = json.loads(fh.read(n).decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} is not a safetensors file: {exc}") from exc
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} is not a safetensors file (the header is not an object)")
    end = 0
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2):
            raise CheckpointError(f"{path}: tensor {key!r} has no data offsets")
        end = max(end, int(offsets[1]))
    if 8 + n + end != size:
        raise CheckpointError(
            f"{path} is truncated or padded: the header describes {8 + n + end} bytes, the file "
            f"has {size}"
        )


def _weight_files(directory: Path) -> list[Path]:
    single = directory / WEIGHTS_FILE
    if single.is_file():
        _check_safetensors(single)
        return [single]
    index = directory / WEIGHTS_INDEX_FILE
    if index.is_file():
        data = _read_json(index)
        weight_map = data.get("weight_map") if isinstance(data, dict) else None
        if not isinstance(weight_map, dict) or not weight_map:
            raise CheckpointError(f"{index} has no weight_map")
        shards = sorted({str(v) for v in weight_map.values()})
        missing = [s for s in shards if not (directory / s).is_file()]
        if missing:
            raise CheckpointError(f"{directory} is missing weight shards: {', '.join(missing)}")
        for shard in shards:
            _check_safetensors(directory / shard)
        return [index] + [directory / s for s in shards]
    pickled = sorted(p.name for p in [*directory.glob("*.bin"), *directory.glob("*.pt")])
    hint = f" (found {', '.join(pickled)}; pickled weights are not loaded)" if pickled else ""
    raise CheckpointError(f"{directory} has no weights: model.safetensors is missing{hint}")


def read_checkpoint_info(path: str | Path) -> tuple[str, InputSpec, list[str]]:
    """Validate a checkpoint directory and return ``(architecture, input spec, labels)``.

    Raises :class:`CheckpointError` with a message naming the problem (no directory, no or bad
    ``config.json``, unsupported architecture, missing or unreadable weights, bad label map,
    inconsistent sizes).
    """
    directory = Path(path)
    if not directory.is_dir():
        raise CheckpointError(f"model path {directory} is not a directory")
    config_file = directory / "config.json"
    if not config_file.is_file():
        raise CheckpointError(f"{directory} has no config.json")
    cfg = _read_json(config_file)
    if not isinstance(cfg, dict):
        raise CheckpointError(f"{config_file} must hold a JSON object")
    architecture = cfg.get("model_type")
    if architecture not in SUPPORTED_ARCHITECTURES:
        raise CheckpointError(
            f"{config_file}: unsupported architecture model_type={architecture!r}; "
            f"supported: {', '.join(SUPPORTED_ARCHITECTURES)}"
        )
    _weight_files(directory)
    spec = _spec_from_config(cfg, architecture, str(config_file))
    labels = _labels_for(directory, cfg)
    norm = _normalization(directory)
    if norm is not None:
        spec = with_normalization(spec, norm)
    if architecture != "wherewhen_av":  # audio-visual models take the squash
        prep = _preprocessing(directory, spec.image_size)
        if prep is not None:
            spec = dataclasses.replace(spec, preprocessing=prep)
    return architecture, spec, labels


def with_normalization(spec: InputSpec, norm: tuple[tuple[float, ...], tuple[float, ...]]):
    """``spec`` with the checkpoint's own image mean and std."""
    return dataclasses.replace(spec, mean=tuple(norm[0]), std=tuple(norm[1]))


def checkpoint_fingerprint(path: str | Path) -> str:
    """A SHA-256 over the checkpoint's JSON files and its weight files' names, sizes and
    modification times: changes when the checkpoint is replaced on disk, cheap to compute."""
    directory = Path(path)
    digest = hashlib.sha256()
    for name in ("config.json", "labels.json", *PREPROCESSOR_FILES):
        f = directory / name
        if f.is_file():
            digest.update(name.encode() + b"\0" + f.read_bytes() + b"\0")
    for f in _weight_files(directory):
        st = f.stat()
        digest.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def spec_from_dict(data: dict) -> InputSpec:
    """The inverse of :meth:`InputSpec.to_dict` (as stored by the model registry)."""
    return InputSpec(
        num_frames=int(data["num_frames"]),
        image_size=int(data["image_size"]),
        patch_size=int(data["patch_size"]),
        tubelet_size=int(data.get("tubelet_size", 1)),
        mean=tuple(float(x) for x in data.get("mean", (0.5, 0.5, 0.5))),  # type: ignore[arg-type]
        std=tuple(float(x) for x in data.get("std", (0.5, 0.5, 0.5))),  # type: ignore[arg-type]
        audio=AudioSpec.from_dict(data["audio"]) if data.get("audio") else None,
        preprocessing=(
            Preprocessing.from_dict(data["preprocessing"]) if data.get("preprocessing") else None
        ),
        frame_spacing=float(data["frame_spacing"]) if data.get("frame_spacing") else None,
    )
