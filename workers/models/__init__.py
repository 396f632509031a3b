"""Model loading for local HF-format video transformer checkpoints."""

from workers.models.spec import InputSpec

__all__ = ["InputSpec"]
