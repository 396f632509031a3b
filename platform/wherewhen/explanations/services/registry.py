"""The model registry: checkpoint directories registered under a name, validated (config,
labels, weights) without loading them; a model with explanations cannot be deleted."""

from __future__ import annotations

from pathlib import Path

from django.db import IntegrityError, transaction

from wherewhen.core.exceptions import Conflict, Invalid
from wherewhen.explanations import conf
from wherewhen.explanations.models import RegisteredModel
from workers.models.checkpoint_info import (
    CheckpointError,
    checkpoint_fingerprint,
    read_checkpoint_info,
)


def register_model(
    *,
    owner,
    name: str,
    checkpoint_dir: str,
    description: str = "",
    device: str = "auto",
    public: bool = False,
    bundled: bool = False,
) -> RegisteredModel:
    """Validate ``checkpoint_dir`` (without loading it) and register it under ``name``."""
    path = Path(str(checkpoint_dir)).expanduser()
    if not path.is_absolute():
        raise Invalid({"checkpoint_dir": ["Give the absolute path of the directory."]})
    path = path.resolve()
    roots = [Path(r).expanduser().resolve() for r in conf.model_roots()]
    if roots and not any(path == root or root in path.parents for root in roots):
        raise Invalid(
            {
                "checkpoint_dir": [
                    "Checkpoints can only be registered from the model folders of "
                    f"this server: {', '.join(map(str, roots))}."
                ]
            }
        )
    try:
        architecture, spec, labels = read_checkpoint_info(path)
        fingerprint = checkpoint_fingerprint(path)
    except CheckpointError as exc:
        raise Invalid({"checkpoint_dir": [f"This is not a usable checkpoint: {exc}"]}) from exc
    if RegisteredModel.objects.filter(name=name).exists():
        raise Invalid({"name": [f"A model named {name!r} is already registered."]})
    try:
        with transaction.atomic():
            return RegisteredModel.objects.create(
                owner=owner,
                name=name,
                description=description,
                architecture=architecture,
                checkpoint_dir=str(path),
                labels=labels,
                input_spec=spec.to_dict(),
                device=device,
                fingerprint=fingerprint,
                public=public,
                bundled=bundled,
            )
    except IntegrityError as exc:
        raise Invalid({"name": [f"A model named {name!r} is already registered."]}) from exc


def delete_model(model: RegisteredModel) -> None:
    if model.explanations.exists() or model.bulk_runs.exists():
        raise Conflict(
            f"Model {model.name!r} has explanations; it cannot be deleted while they exist."
        )
    model.delete()
