"""OpenAPI schema post-processing.

Integer bounds that Django derives from the database backend (PostgreSQL's int4 range versus
SQLite's int8) are storage details, not part of the API contract: without this hook the schema,
and the typed client generated from it, would differ between SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

_BACKEND_BOUNDS = {2**31 - 1, 2**63 - 1, -(2**31), -(2**63)}


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
