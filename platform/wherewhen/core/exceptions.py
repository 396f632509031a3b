"""Domain errors: what services raise when a request cannot be done, in the domain's words.

Services never speak HTTP (they do not import DRF); views and the one exception handler
(:func:`wherewhen.core.errors.exception_handler`) turn these into responses:

=================  ======  =====================================================
error              status  meaning
=================  ======  =====================================================
:class:`Invalid`     400   the input breaks a rule (``detail``: a message, or
                           ``{field: [messages]}`` naming every problem)
:class:`NotAllowed`  403   the caller may not do this
:class:`NotFound`    404   no such thing (or not one the caller may see)
:class:`Conflict`    409   fine input, but the current state does not allow it
=================  ======  =====================================================

``detail`` is a message a person understands, or a mapping of field names to messages (a
string or a list of strings each), exactly as the API answers it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

Detail = str | Mapping[str, Any] | Sequence[str]


class DomainError(Exception):
    """Base of the domain errors; ``detail`` is what the API answers."""

    default_detail = "The request could not be done."

    def __init__(self, detail: Detail | None = None):
        self.detail = self.default_detail if detail is None else detail
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """Every message of ``detail`` in one line (for logs and plain-text callers)."""
        return "; ".join(_messages(self.detail))


class Invalid(DomainError):
    default_detail = "The request is not valid."


class NotAllowed(DomainError):
    default_detail = "You are not allowed to do this."


class NotFound(DomainError):
    default_detail = "There is no such thing."


class Conflict(DomainError):
    default_detail = "This cannot be done in the current state."


def _messages(detail: Any) -> list[str]:
    if isinstance(detail, str):
        return [detail]
    if isinstance(detail, Mapping):
        return [m for value in detail.values() for m in _messages(value)]
    if isinstance(detail, Sequence):
        return [m for value in detail for m in _messages(value)]
    return [str(detail)]
