"""A clock the test controls: every timestamp, rate-limit window and job in the fake reads it."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class FakeClock:
    """Wall-clock time for the fake Klaviyo, moved forward by ``advance``.

    By default the clock ticks with real time from ``start`` (so a client that paces itself by
    real time sees rate-limit windows roll over), and ``advance`` jumps it forward on top of that.
    With ``ticking=False`` it stands still until advanced, which makes a test fully deterministic.
    """

    def __init__(self, start: datetime | None = None, *, ticking: bool = True) -> None:
        if start is not None and start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._start = start or datetime.now(UTC).replace(microsecond=0)
        self._ticking = ticking
        self._t0 = time.monotonic()
        self._offset = 0.0

    @property
    def ticking(self) -> bool:
        """Whether the clock follows real time between advances."""
        return self._ticking

    def seconds(self) -> float:
        """Seconds elapsed since ``start``: the clock's monotonic reading."""
        real = time.monotonic() - self._t0 if self._ticking else 0.0
        return real + self._offset

    def now(self) -> datetime:
        """The current fake time, timezone-aware (UTC)."""
        return self._start + timedelta(seconds=self.seconds())

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (never backwards)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds

    def advance_to(self, when: datetime) -> None:
        """Move the clock forward to ``when`` (no-op if that moment has passed)."""
        delta = (when - self.now()).total_seconds()
        if delta > 0:
            self.advance(delta)


def isoformat(moment: datetime) -> str:
    """Klaviyo's timestamp format: ISO 8601 with microseconds and an explicit UTC offset."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
