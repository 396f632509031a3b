"""Demo data of the explanations app: the bundled models, registered once (``seed_demo``).

Two ship with WhereWhen: ``tiny-timesformer`` (video only) and ``tiny-av-transformer``
(audio-visual: it hears the clip's sound too). A model whose checkpoint is not in its folder
yet (e.g. it is still being trained) is skipped.
"""

from __future__ import annotations

from pathlib import Path

from wherewhen.explanations import services
from wherewhen.explanations.models import RegisteredModel
from workers.models.checkpoint_info import (
    CheckpointError,
    checkpoint_fingerprint,
    read_checkpoint_info,
)

BUNDLED_NAME = "tiny-timesformer"
BUNDLED_AV_NAME = "tiny-av-transformer"
DESCRIPTIONS = {
    BUNDLED_NAME: "Small TimeSformer trained on the synthetic space-time benchmark.",
    BUNDLED_AV_NAME: "Small audio-visual transformer trained on the synthetic benchmark with "
    "its event tone: where the evidence is seen and when it is heard.",
}


def _bundled(name: str) -> Path:
    import workers.models

    return Path(workers.models.__file__).resolve().parent / "bundled" / name


def bundled_model_dir() -> Path:
    """workers/models/bundled/tiny-timesformer (same place as ``loader.bundled_model_path``)."""
    return _bundled(BUNDLED_NAME)


def bundled_av_model_dir() -> Path:
    """workers/models/bundled/tiny-av-transformer, the audio-visual one."""
    return _bundled(BUNDLED_AV_NAME)


def _default_dir(name: str) -> Path:
    return bundled_av_model_dir() if name == BUNDLED_AV_NAME else bundled_model_dir()


def ensure_bundled_model(
    directory: Path | None = None, name: str = BUNDLED_NAME
) -> RegisteredModel | None:
    """Register a bundled model (public, no owner); refresh it when its files changed.

    Returns None when the checkpoint is not there (e.g. it is still being trained)."""
    directory = directory or _default_dir(name)
    try:
        architecture, spec, labels = read_checkpoint_info(directory)
        fingerprint = checkpoint_fingerprint(directory)
    except CheckpointError:
        return None
    existing = RegisteredModel.objects.filter(name=name).first()
    if existing is None:
        return services.register_model(
            owner=None,
            name=name,
            checkpoint_dir=str(directory),
            description=DESCRIPTIONS.get(name, ""),
            public=True,
            bundled=True,
        )
    if existing.fingerprint != fingerprint or existing.checkpoint_dir != str(directory.resolve()):
        existing.checkpoint_dir = str(directory.resolve())
        existing.architecture = architecture
        existing.labels = labels
        existing.input_spec = spec.to_dict()
        existing.fingerprint = fingerprint
        existing.save()
    return existing


def seed_demo(stdout=None) -> None:
    for name in (BUNDLED_NAME, BUNDLED_AV_NAME):
        model = ensure_bundled_model(name=name)
        if stdout is None:
            continue
        if model is None:
            stdout.write(f"The bundled model is not at {_default_dir(name)} yet; not registered.")
        else:
            stdout.write(f"Bundled model registered: {model.name} ({model.architecture}).")
