"""Serializer fields for free-form JSON that a client sends and the database keeps."""

from __future__ import annotations

import json

from rest_framework import serializers

from wherewhen.core.parsers import json_problem


class BoundedDictField(serializers.DictField):
    """A JSON object of at most ``max_bytes`` (as compact JSON) and ``max_depth`` levels."""

    def __init__(self, *, max_bytes: int, max_depth: int = 4, **kwargs):
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        problem = json_problem(value, self.max_depth)
        if problem:
            raise serializers.ValidationError(f"This object is refused: {problem}")
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
        if size > self.max_bytes:
            raise serializers.ValidationError(
                f"This object is too large: {size} bytes of JSON, at most {self.max_bytes}."
            )
        return value
