"""The OpenAPI schema: the error body every operation may answer, and post-processing.

``ApiErrorSerializer`` documents the one error shape of :mod:`wherewhen.core.errors`: a message
under ``detail`` (a string, or a list of them), or each field of the request mapped to its
messages. Operations declare it for their 400 answers, whose body may be either.

Integer bounds that Django derives from the database backend (PostgreSQL's int4 range versus
SQLite's int8) are storage details, not part of the API contract: without this hook the schema,
and the typed client generated from it, would differ between SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers

_BACKEND_BOUNDS = {2**31 - 1, 2**63 - 1, -(2**31), -(2**63)}


@extend_schema_field(
    {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
)
class MessagesField(serializers.Field):
    """A message, or a list of messages."""

    def to_representation(self, value):
        return value


class ApiErrorSerializer(serializers.Serializer):
    """An error: ``{"detail": "..."}``, or ``{"<field>": ["message", ...], ...}`` naming every
    problem of the request (nested fields nest the same way)."""

    detail = MessagesField(required=False, help_text="what went wrong (absent: see the fields)")


#: The 400 answer of an operation that validates its input.
INVALID = OpenApiResponse(
    ApiErrorSerializer, description="Invalid input: a message, or messages per field"
)


def _strip(node: Any) -> None:
    if isinstance(node, dict):
        if node.get("type") == "integer":
            stripped = False
            for key in ("maximum", "minimum"):
                if node.get(key) in _BACKEND_BOUNDS:
                    del node[key]
                    stripped = True
            if stripped and node.get("format") == "int64":
                del node["format"]
        for value in node.values():
            _strip(value)
    elif isinstance(node, list):
        for value in node:
            _strip(value)


def strip_database_integer_bounds(result, generator, request, public):
    _strip(result)
    return result
