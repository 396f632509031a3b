"""Model loading for local HF-format video transformer checkpoints.

Importing this package stays torch-free; the loader's names are resolved lazily on first use
(``from workers.models import load_model`` imports torch then).
"""

from typing import Any

from workers.models.spec import InputSpec, Preprocessing

_LOADER_NAMES = (
    "LoadedModel",
    "ModelInputError",
    "ModelLoadError",
    "build_model",
    "bundled_model_path",
    "load_model",
    "save_model",
)

__all__ = ["InputSpec", "Preprocessing", *_LOADER_NAMES]


def __getattr__(name: str) -> Any:
    if name in _LOADER_NAMES:
        from workers.models import loader

        return getattr(loader, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
