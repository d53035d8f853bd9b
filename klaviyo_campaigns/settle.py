"""Settling a create or clone that may have been applied: look only once looking can be trusted.

After ``WriteMayHaveBeenApplied`` a lookup that finds the resource proves the write was applied,
but a lookup that finds nothing proves nothing yet: the server may still be working on the
request the client gave up on, and commit it a second later. A caller who looked right away,
found nothing and created again ended up with two. ``settle`` therefore trusts a "not found"
only from a lookup sent after the server's *commit horizon* (the longest the server can still
apply a request after it was sent) has passed since the uncertain attempt went out. A "found"
is trusted at once.

``write_once`` wraps a create or clone in that: send it; if its outcome is unknown, settle it;
send it again only if settling proved it was not applied.

The lookup must recognise *this* write's resource and no other: a name or marker only this call
uses (see the errors guide), never a name that other campaigns may share.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .errors import KlaviyoError, ValidationError, WriteMayHaveBeenApplied

__all__ = ["DEFAULT_HORIZON", "settle", "write_once"]

T = TypeVar("T")
U = TypeVar("U")

DEFAULT_HORIZON = 120.0
"""Seconds after which Klaviyo can no longer apply a request it was sent: an assumption (Klaviyo
publishes no such bound), well past the 30 s the SDK waits for an answer and the 60 s of common
load balancers. A service that knows better (or tests against the fake) passes its own."""


async def settle(
    error: WriteMayHaveBeenApplied,
    find: Callable[[], Awaitable[U | None]],
    *,
    horizon: float = DEFAULT_HORIZON,
    interval: float = 2.0,
) -> U | None:
    """What the uncertain write made, or None once it provably was not applied.

    ``find`` is called at once, then every ``interval`` seconds: the first time it finds the
    resource, that is returned. None is the answer only from a lookup sent ``horizon`` seconds or
    more after the uncertain attempt (``error.sent_at``, or from now if unknown), when the
    server can no longer apply it; before that, the write may still commit. Errors from
    ``find`` propagate.

    Args:
        error: the ``WriteMayHaveBeenApplied`` the write raised.
        find: looks the write's resource up (e.g. ``get_campaigns`` filtered on a marker only
            this write used) and returns it, or None.
        horizon: seconds after which the server can no longer apply a request it was sent.
        interval: seconds between lookups.

    Raises:
        ValidationError: ``horizon`` is negative or ``interval`` not positive.
    """
    _check(horizon, interval)
    sent_at = error.sent_at if error.sent_at is not None else time.monotonic()
    settled_at = sent_at + horizon
    while True:
        final = time.monotonic() >= settled_at  # measured before the lookup is sent
        found = await find()
        if found is not None:
            return found
        if final:
            return None
        await asyncio.sleep(min(interval, max(0.0, settled_at - time.monotonic())))


async def write_once(
    write: Callable[[], Awaitable[T]],
    find: Callable[[], Awaitable[U | None]],
    *,
    horizon: float = DEFAULT_HORIZON,
    interval: float = 2.0,
    attempts: int = 3,
) -> T | U:
    """Run a create or clone so that it is applied once: its answer, or what ``find`` found.

    When ``write`` raises ``WriteMayHaveBeenApplied``, ``settle`` decides with ``find``: found,
    that is returned; proved not applied, the write is sent again, up to ``attempts`` sends in
    all, after which the last one's failure is raised (not the "may have been applied": it was
    settled as not applied). Any other error propagates at once.

    Args:
        write: sends the create or clone (e.g. ``lambda: kl.pre.create_campaign(body=body)``).
        find: as for ``settle``: what this write made, or None.
        horizon: as for ``settle``.
        interval: as for ``settle``.
        attempts: how many times the write may be sent in all.

    Raises:
        ValidationError: ``attempts`` is below 1 (or as ``settle``).
        KlaviyoError: every attempt was settled as not applied; the last one's failure (a
            ``ServerError``, ``TimeoutError`` ...) is raised, meaning nothing was created.
    """
    _check(horizon, interval)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ValidationError(f"attempts must be an int of at least 1, got {attempts!r}")
    last: WriteMayHaveBeenApplied | None = None
    for _ in range(attempts):
        try:
            return await write()
        except WriteMayHaveBeenApplied as error:
            found = await settle(error, find, horizon=horizon, interval=interval)
            if found is not None:
                return found
            last = error  # provably not applied: send it again
    assert last is not None
    # Settled as not applied: what made the last attempt fail, no longer "may have been applied".
    cause = last.__cause__
    if isinstance(cause, KlaviyoError):
        raise cause from last
    raise last


def _check(horizon: float, interval: float) -> None:
    """Typed errors for bad timings, before anything is sent or awaited."""
    for name, value, zero_ok in (("horizon", horizon, True), ("interval", interval, False)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            ok = False
        else:
            ok = value >= 0 if zero_ok else value > 0  # False for NaN
        if not ok:
            bound = ">= 0" if zero_ok else "> 0"
            raise ValidationError(f"{name} must be a number {bound} (seconds), got {value!r}")
