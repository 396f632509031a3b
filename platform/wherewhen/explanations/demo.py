"""Demo data of the explanations app: the bundled model, registered once (``seed_demo``)."""

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


def bundled_model_dir() -> Path:
    """workers/models/bundled/tiny-timesformer (same place as ``loader.bundled_model_path``)."""
    import workers.models

    return Path(workers.models.__file__).resolve().parent / "bundled" / BUNDLED_NAME


def ensure_bundled_model(directory: Path | None = None) -> RegisteredModel | None:
    """Register the bundled model (public, no owner); refresh it when its files changed.

    Returns None when the checkpoint is not there (e.g. it is still being trained)."""
    directory = directory or bundled_model_dir()
    try:
        architecture, spec, labels = read_checkpoint_info(directory)
        fingerprint = checkpoint_fingerprint(directory)
    except CheckpointError:
        return None
    existing = RegisteredModel.objects.filter(name=BUNDLED_NAME).first()
    if existing is None:
        return services.register_model(
            owner=None,
            name=BUNDLED_NAME,
            checkpoint_dir=str(directory),
            description="Small TimeSformer trained on the synthetic space-time benchmark.",
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
    model = ensure_bundled_model()
    if stdout is not None:
        if model is None:
            stdout.write(f"The bundled model is not at {bundled_model_dir()} yet; not registered.")
        else:
            stdout.write(f"Bundled model registered: {model.name} ({model.architecture}).")
