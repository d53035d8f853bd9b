"""Klaviyo's rate limits: fixed 1-second (burst) and 1-minute (steady) windows per operation
per API key; a request over either limit is answered 429 with ``Retry-After``, every other answer
carries ``RateLimit-Limit``, ``RateLimit-Remaining`` and ``RateLimit-Reset`` for the steady window.
An API key stands for its account: every client using it draws on, and is told about, one count.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from .jsonapi import ApiError


@dataclass
class _Window:
    index: int = -1
    count: int = 0


class RateLimiter:
    """Counts requests in fixed windows read from a clock (``clock()`` returns seconds).

    ``speedup`` shrinks both windows by that factor (speedup=60 makes the steady window one
    second) so tests reach the limits quickly; limits themselves stay as the spec says.
    """

    def __init__(self, clock: Callable[[], float], *, speedup: float = 1.0) -> None:
        if speedup <= 0:
            raise ValueError("speedup must be positive")
        self._clock = clock
        self.speedup = speedup
        self.enabled = True
        self._windows: dict[tuple[str, str, str], _Window] = {}

    def reset(self) -> None:
        """Forget every count."""
        self._windows.clear()

    def acquire(self, api_key: str, operation: str, burst: int, steady: int) -> dict[str, str]:
        """Count one request and return the ``RateLimit-*`` headers of its answer, or raise a
        429 ``ApiError`` if a window is full."""
        if not self.enabled:
            return {}
        now = self._clock()
        checks = (("s", 1.0 / self.speedup, burst), ("m", 60.0 / self.speedup, steady))
        windows = []
        for name, length, limit in checks:
            index = math.floor(now / length)
            window = self._windows.setdefault((api_key, operation, name), _Window())
            if window.index != index:
                window.index, window.count = index, 0
            if window.count >= limit:
                wait = (index + 1) * length - now
                raise throttled(wait, self.speedup)
            windows.append(window)
        for window in windows:
            window.count += 1
        steady_window = windows[1]
        length = 60.0 / self.speedup
        reset = (steady_window.index + 1) * length - now
        return {
            "RateLimit-Limit": str(steady),
            "RateLimit-Remaining": str(max(0, steady - steady_window.count)),
            # Whole seconds, rounded up, as Klaviyo sends them; to the millisecond when sped up.
            "RateLimit-Reset": (
                str(max(1, math.ceil(reset)))
                if self.speedup == 1.0
                else f"{math.ceil(reset * 1000) / 1000:.3f}"
            ),
        }


def throttled(wait: float, speedup: float = 1.0) -> ApiError:
    """The 429 answer, ``Retry-After`` in whole seconds (fractional when sped up)."""
    whole = speedup == 1.0
    retry_after = str(max(1, math.ceil(wait))) if whole else f"{max(wait, 0.001):.3f}"
    return ApiError(
        429,
        "throttled",
        "Request was throttled.",
        f"Request was throttled. Expected available in {retry_after} seconds.",
        headers={"Retry-After": retry_after},
    )
