"""The server's own account of a bucket: Klaviyo's `RateLimit-*` headers, and what to do with them.

Klaviyo counts each endpoint's requests per account, and every private-key integration of the
account (a platform app, a CDP sync, this service) draws on the same quota. Every answer that is
not a 429 says how the steady window stands: `RateLimit-Limit` (requests per window),
`RateLimit-Remaining` (approximately how many are left, counting everyone's requests) and
`RateLimit-Reset` (seconds until the window resets). `RateLimitSnapshot` is one such report;
`Headroom` is what an in-process limiter keeps per bucket to adapt to it:

- It compares the server's count with its own: requests used in the window minus the ones this
  limiter sent in it are someone else's. While others draw on the quota ("shared"), the bucket
  stops bursting and spaces its requests evenly over what is left of the window, never faster
  than the steady limit's average, after leaving room for what the others are expected to draw
  in the rest of it: at least what they drew in the whole window before, and at least their
  rate so far in this one (measured over a quarter or half window at least, so that an
  opening burst is not taken for a rate). Shared lasts one more window after the others were
  last seen.
- Whether shared or not, once the server says nothing remains, nothing goes until the window
  resets.

Each party that adapts so takes what is left minus the others' expected draw, so two adapting
clients settle on half each, and a third party that does not adapt is left its rate.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["Headroom", "RateLimitSnapshot", "parse_rate_limit_headers"]


@dataclass(frozen=True, slots=True)
class RateLimitSnapshot:
    """What Klaviyo last said about one endpoint's steady window (its `RateLimit-*` headers).

    Counts cover every client of the account, not only this one. Klaviyo calls `remaining`
    approximate. `received_at` and `resets_at` are `time.monotonic()` times.
    """

    limit: int
    """`RateLimit-Limit`: requests allowed per steady window (one minute)."""
    remaining: int
    """`RateLimit-Remaining`: requests left in the current window, by anyone on the account."""
    reset: float
    """`RateLimit-Reset`: seconds until the window resets, as of the answer."""
    received_at: float
    """When the answer arrived (`time.monotonic()`)."""
    whole_seconds: bool = True
    """Whether `reset` was given in whole seconds (so the reset is known to within a second)."""

    @property
    def resets_at(self) -> float:
        """The `time.monotonic()` time at which the window resets (as sent; see `whole_seconds`)."""
        return self.received_at + self.reset

    @property
    def used(self) -> int:
        """Requests counted in the current window so far, by every client of the account."""
        return max(0, self.limit - self.remaining)


def parse_rate_limit_headers(headers: Mapping[str, str], now: float) -> RateLimitSnapshot | None:
    """The snapshot in an answer's headers, or None if they are absent or not numbers.

    Accepts a plain number (`150`) or the IETF draft's list form (`150, 150;w=60`), taking the
    first figure of each header.
    """
    values = []
    for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
        raw = headers.get(name)
        if raw is None:
            return None
        first = raw.split(",", 1)[0].split(";", 1)[0].strip()
        try:
            value = float(first)
        except ValueError:
            return None
        if not math.isfinite(value) or value < 0:
            return None
        values.append((first, value))
    (_, limit), (_, remaining), (reset_text, reset) = values
    if limit < 1:
        return None
    return RateLimitSnapshot(
        limit=int(limit),
        remaining=int(remaining),
        reset=reset,
        received_at=now,
        whole_seconds="." not in reset_text,
    )


@dataclass(slots=True)
class Headroom:
    """One bucket's adaptation to the server's reports (see the module docstring).

    `window` is the steady window's length in seconds as the limiter measures it (60; shrunk in
    tests). The owner calls `sent(now)` for each request it lets go, `observe(report, in_flight)`
    for each report, and asks `opens_at(now)` when the next request may go.
    """

    window: float
    report: RateLimitSnapshot | None = None
    since_report: int = 0  # own requests let go after the report arrived
    in_flight_at_report: int = 0  # own requests that may have reached the server after it
    others: int = 0  # requests of others in the report's window, so far
    others_before: int | None = None  # their whole draw in the window before, if reported
    shared_until: float = float("-inf")
    last_sent: float = float("-inf")
    own: deque[float] = field(default_factory=deque)  # own send times, the last window or two

    def sent(self, now: float) -> None:
        """One request of this bucket was let go at `now`."""
        self.own.append(now)
        self.last_sent = now
        self.since_report += 1
        horizon = now - 2 * self.window - 2.0
        while self.own and self.own[0] < horizon:
            self.own.popleft()

    def observe(self, report: RateLimitSnapshot, in_flight: int) -> None:
        """Take a report; `in_flight` is how many own requests are still unanswered."""
        current = self.report
        if current is not None and (
            report.resets_at < current.resets_at - self.window / 2  # from an earlier window
            or (
                abs(report.resets_at - current.resets_at) < self.window / 2
                and report.remaining > current.remaining  # same window, fewer counted
            )
        ):
            return  # an older answer overtaken by a newer one
        if current is not None and report.resets_at >= current.resets_at + self.window / 2:
            # A new window: what the others drew in the last one is the best guess for this one.
            follows = abs(report.resets_at - current.resets_at - self.window) < self.window / 2
            self.others_before = self.others if follows else None
        self.report = report
        self.since_report = 0
        self.in_flight_at_report = in_flight
        # Count own sends from the earliest the window can have started: any doubt makes them
        # more, and the others fewer, so a client alone is never taken for a shared one.
        start = report.resets_at - _uncertainty(report) - self.window
        own = sum(1 for t in self.own if t >= start)
        self.others = max(0, report.used - own)
        if self.others > 2 + report.limit // 50:  # Remaining is approximate
            self.shared_until = max(self.shared_until, self._ends_at(report) + self.window)

    def shared(self, now: float) -> bool:
        """Whether another user of the account drew on this bucket's quota recently."""
        return now < self.shared_until

    def opens_at(self, now: float) -> float:
        """The earliest time the next request may go by the server's reports (`now` if free)."""
        report = self.report
        if report is None:
            return now
        ends_at = self._ends_at(report)
        shared = self.shared(now)
        if now >= ends_at:  # a new window, not yet reported on
            return max(now, self.last_sent + self.window / report.limit) if shared else now
        left = report.remaining - self.in_flight_at_report - self.since_report
        if not shared:
            return now if left > 0 else ends_at
        # Leave the others what they are expected to draw in the rest of the window, and spread
        # the rest evenly over the time left (never faster than the steady average).
        time_left = ends_at - now
        budget = left - self._others_to_come(report, time_left)
        if budget < 1:
            return ends_at
        spacing = max(time_left / budget, self.window / report.limit)
        return max(now, self.last_sent + spacing)

    def _others_to_come(self, report: RateLimitSnapshot, time_left: float) -> float:
        # Their rate so far, over a quarter of the window at least (an opening burst is not a
        # rate); once a whole window of theirs is known, at least what they drew in it, and the
        # rate over half a window at least (late in the window the rate is the better guess).
        elapsed = self.window - (report.resets_at - report.received_at)
        if self.others_before is None:
            return self.others / max(elapsed, self.window / 4) * time_left
        at_rate = self.others / max(elapsed, self.window / 2) * time_left
        return max(self.others_before - self.others, at_rate)

    def _ends_at(self, report: RateLimitSnapshot) -> float:
        # The latest the window can reset: a request sent after it cannot count in this one.
        return report.resets_at + _uncertainty(report)


def _uncertainty(report: RateLimitSnapshot) -> float:
    return 1.0 if report.whole_seconds else 0.001
