"""Fixed-window counters shared by every web process (the ``default`` cache).

The cache is Redis when one is configured and the database otherwise (``settings.CACHES``);
both increment atomically, so N processes counting one key see one count.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from django.core.cache import cache

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600}
_UNITS |= {"hour": 3600, "d": 86400, "day": 86400}


def now() -> float:
    return time.time()


@dataclass(frozen=True)
class Rate:
    limit: int
    window: int  # seconds

    @classmethod
    def parse(cls, text: str) -> Rate:
        """``"60/min"``, ``"5/10s"``, ``"1000/day"`` → Rate."""
        match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*", text.lower())
        if not match or match.group(3) not in _UNITS:
            raise ValueError(f"not a rate: {text!r} (expected e.g. '60/min')")
        return cls(int(match.group(1)), int(match.group(2) or 1) * _UNITS[match.group(3)])


def hit(scope: str, ident: str, rate: Rate) -> tuple[int, int]:
    """Count one event of ``ident`` in ``scope``; return (count in this window, seconds left)."""
    moment = now()
    window = int(moment // rate.window)
    key = f"rl:{scope}:{ident}:{window}"
    retry_after = max(1, int((window + 1) * rate.window - moment))
    for _ in range(3):
        cache.add(key, 0, timeout=rate.window + 1)
        try:
            return cache.incr(key), retry_after
        except ValueError:  # expired between add and incr: start the window again
            continue
    return 1, retry_after
