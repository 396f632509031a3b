"""Errors raised by the attribution engine."""

from __future__ import annotations


class ExplainError(ValueError):
    """A request the engine cannot serve: bad clip, unknown method or parameter, bad target,
    or a model that lacks what the method needs. The message says what is wrong."""
