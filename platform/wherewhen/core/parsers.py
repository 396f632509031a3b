"""The JSON parser every API view uses: plain JSON, without what breaks a database or a stack.

On top of DRF's parser (which already refuses ``NaN`` and ``Infinity``) a body is refused with a
400 when a string or key anywhere in it holds a NUL character (``\\u0000``: PostgreSQL can store
it neither in text nor in ``jsonb``), or when it nests deeper than ``JSON_MAX_DEPTH`` levels (a
few thousand levels exhaust Python's stack in the parser; nothing the API takes needs more
than a handful).
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

NUL_MESSAGE = "it contains a NUL character (\\u0000), which no text field may hold."


def json_problem(value, max_depth: int) -> str | None:
    """Why ``value`` (parsed JSON) is refused, or None. Iterative: any depth is safe."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return NUL_MESSAGE
        elif isinstance(item, dict | list):
            if depth > max_depth:
                return f"it is nested more than {max_depth} levels deep."
            if isinstance(item, dict):
                for key, child in item.items():
                    if "\x00" in key:
                        return NUL_MESSAGE
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
    return None


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(
                f"it is nested more than {settings.JSON_MAX_DEPTH} levels deep."
            ) from None
        problem = json_problem(data, settings.JSON_MAX_DEPTH)
        if problem:
            raise ParseError(problem)
        return data
