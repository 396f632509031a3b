"""CSV that a spreadsheet opens as data, never as formulas (CSV injection).

A cell whose text starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as
a formula by Excel, LibreOffice and Google Sheets. Every CSV the platform writes goes through
``SafeDictWriter``, which puts an apostrophe in front of such a cell: spreadsheets show it as
text (and hide the apostrophe). Numbers are left alone, including negative ones written as
text (``"-0.25"``), because a number is never run.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Mapping
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def escape_cell(value: Any) -> Any:
    """``value`` as it may go into a CSV cell."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


class SafeDictWriter(csv.DictWriter):
    """``csv.DictWriter`` that escapes formula-looking cells (headers are the caller's own)."""

    def writerow(self, rowdict: Mapping[str, Any]):
        return super().writerow({key: escape_cell(value) for key, value in rowdict.items()})

    def writerows(self, rowdicts: Iterable[Mapping[str, Any]]):
        for rowdict in rowdicts:
            self.writerow(rowdict)
