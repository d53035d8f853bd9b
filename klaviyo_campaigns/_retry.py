"""Retry policy as pure functions: what to retry, what a failure means, how long to wait.

Nothing here sleeps or does I/O; the send pipeline asks and acts. The one rule behind every
decision: a write is re-sent only where that cannot apply it twice, and when the SDK cannot know
whether a write was applied it says so (`Decision.UNCERTAIN`) instead of guessing.

How each operation may be repeated (`idempotency`):

=====================  ==========================================================================
SAFE                   GET, HEAD, OPTIONS: reads; retried on every transient failure.
IDEMPOTENT             DELETE (a second delete leaves the same state; its 404 after an attempt
                       that may have been applied means that attempt applied it), and the PATCHes
                       that set attributes or a relationship (`update_campaign`, `..._message`,
                       `..._audience`, `..._variation`, `update_image_for_campaign_message`):
                       sending the same values twice leaves the same state.
GUARDED                the writes that move a resource out of the state they require, so that
                       Klaviyo refuses a repeat (409) once one attempt applied: `send_campaign`
                       (only a draft is sent; its job takes the campaign's id, so a campaign
                       has one), `schedule_campaign_message` (only a draft message), and the
                       PATCHes `cancel_campaign_send` and `update_campaign_message_schedule`
                       (cancel / revert, each from a state it leaves). Retried like
                       IDEMPOTENT writes; a 409 after an attempt that may have been applied is
                       settled by a read (`Decision.CONFIRM`, `confirmation`). This assumes the
                       server checks the state and moves it in one step, as a send job keyed
                       by its campaign implies.
NON_IDEMPOTENT         every other POST (create, clone, assign template, estimation refresh:
                       each makes a new resource, template copy or job). Any PATCH not listed
                       here counts as an action, and so does any other method.
=====================  ==========================================================================

How a 409 after an uncertain attempt is settled (`confirmation`): the SDK reads the resource the
write changes, and the write counts as applied only if the read shows the state it produces.

==================================  =========================  ==================================
write                               read                       applied if the read shows
==================================  =========================  ==================================
send_campaign (both revisions)      get_campaign_send_job      the job queued, processing or
                                                               complete
cancel_campaign_send (stable)      get_campaign               status Cancelled (cancel) or Draft
                                                               (revert)
update_campaign_message_schedule    get_campaign_message_beta  status CANCELLED (cancel) or DRAFT
                                                               (revert)
==================================  =========================  ==================================

Like a DELETE that finds its resource gone, this proves the state the write asked for holds, not
who made it so. Without a read that shows it (`schedule_campaign_message`: no read returns a
schedule; `cancel_campaign_send` in `.pre`, where a campaign has no status of its own), a 409
after an uncertain attempt stays UNCERTAIN.

What a failure proves about the server (`may_have_been_applied`), per httpx exception; "not
sent" means no byte of the request left the client, so the server cannot have acted on it:

=====================  ============  ========================================================
ConnectError           not sent      DNS, TCP connect (refused, reset, unreachable) or TLS
                                     handshake failed; httpcore raises it only while opening
                                     a connection, before the request is written.
ConnectTimeout         not sent      the same phases, out of time.
PoolTimeout            not sent      no connection became free in the pool.
ProxyError             not sent      the proxy refused the CONNECT / SOCKS handshake.
UnsupportedProtocol    not sent      bad URL scheme (not transient: never retried).
LocalProtocolError     not sent      h11 refused our own request (a bug: never retried).
WriteTimeout           maybe         asyncio buffers writes: the timed-out bytes may already
                                     sit in the kernel and reach the server complete.
WriteError             maybe         part of the request was written (httpcore mostly hides
                                     it and reads the response instead).
ReadTimeout            maybe         the request was sent; no answer in time.
ReadError              maybe         the connection broke after the request was sent.
RemoteProtocolError    maybe         the server closed or garbled the response, e.g.
                                     "Server disconnected without sending a response".
DecodingError          maybe         the server answered; its body could not be decoded.
other TransportError   maybe         unknown transport failure: assume the worst.
=====================  ============  ========================================================

Statuses: 429 and 408 prove the request was not processed and are worth retrying; 501 and 505
prove it was not processed and are final; any other 4xx is final and not applied; any other 5xx
(500, 502, 503, 504, ...) may come after the server applied the write.
"""

from __future__ import annotations

import enum
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

__all__ = [
    "Confirmation",
    "Decision",
    "Idempotency",
    "backoff",
    "confirmation",
    "decide",
    "decide_exception",
    "decide_status",
    "give_up",
    "idempotency",
    "may_have_been_applied",
    "parse_retry_after",
]


class Idempotency(enum.Enum):
    """How an operation may be repeated."""

    SAFE = "safe"  # a read
    IDEMPOTENT = "idempotent"  # a write whose repeat leaves the same state
    GUARDED = "guarded"  # a write whose repeat the server refuses (409) once one attempt applied
    NON_IDEMPOTENT = "non-idempotent"  # a write whose repeat may act twice


class Decision(enum.Enum):
    """What the send pipeline does with a failed attempt."""

    RETRY = "retry"  # send again (after a wait): it cannot apply the write twice
    FAIL = "fail"  # stop and report the failure: the write was not applied
    UNCERTAIN = "uncertain"  # stop: the write may have been applied; raise "may have been applied"
    APPLIED = "applied"  # stop and report success: an earlier attempt applied the write
    CONFIRM = "confirm"  # stop sending; read whether an earlier attempt applied it (`confirmation`)


# PATCHes that set values (repeatable). Matched on the operation id without a `_beta` suffix.
_VALUE_PATCHES = frozenset(
    {
        "update_campaign",
        "update_campaign_message",
        "update_campaign_audience",
        "update_campaign_variation",
        "update_image_for_campaign_message",
    }
)
# PATCHes that are actions (cancel / revert): named here only to document them; any PATCH not in
# _VALUE_PATCHES is treated as one.
_ACTION_PATCHES = frozenset({"cancel_campaign_send", "update_campaign_message_schedule"})
# Writes Klaviyo refuses to repeat once applied (see GUARDED above), without the `_beta` suffix.
_GUARDED = frozenset(
    {
        "send_campaign",
        "schedule_campaign_message",
        "cancel_campaign_send",
        "update_campaign_message_schedule",
    }
)

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def idempotency(operation_id: str, method: str) -> Idempotency:
    """How operation `operation_id` (sent with `method`) may be repeated: see the table above."""
    method = method.upper()
    name = operation_id.removesuffix("_beta")
    if method in _SAFE_METHODS:
        return Idempotency.SAFE
    if method in ("DELETE", "PUT"):
        return Idempotency.IDEMPOTENT
    if method == "PATCH" and name in _VALUE_PATCHES:
        return Idempotency.IDEMPOTENT
    if method in ("POST", "PATCH") and name in _GUARDED:
        return Idempotency.GUARDED
    return Idempotency.NON_IDEMPOTENT


class _Seen(enum.Enum):
    NOT_PROCESSED = "not processed"
    MAYBE = "maybe processed"


# exception class -> (what the server may have seen, worth retrying); looked up along the MRO,
# so the most specific class wins.
_EXCEPTIONS: dict[type[BaseException], tuple[_Seen, bool]] = {
    httpx.ConnectError: (_Seen.NOT_PROCESSED, True),
    httpx.ConnectTimeout: (_Seen.NOT_PROCESSED, True),
    httpx.PoolTimeout: (_Seen.NOT_PROCESSED, True),
    httpx.ProxyError: (_Seen.NOT_PROCESSED, True),
    httpx.UnsupportedProtocol: (_Seen.NOT_PROCESSED, False),
    httpx.LocalProtocolError: (_Seen.NOT_PROCESSED, False),
    httpx.WriteTimeout: (_Seen.MAYBE, True),
    httpx.WriteError: (_Seen.MAYBE, True),
    httpx.ReadTimeout: (_Seen.MAYBE, True),
    httpx.ReadError: (_Seen.MAYBE, True),
    httpx.RemoteProtocolError: (_Seen.MAYBE, True),
    httpx.DecodingError: (_Seen.MAYBE, False),
    httpx.TooManyRedirects: (_Seen.MAYBE, False),
    httpx.TimeoutException: (_Seen.MAYBE, True),
    httpx.NetworkError: (_Seen.MAYBE, True),
    httpx.TransportError: (_Seen.MAYBE, True),
}


def _classify(failure: int | BaseException) -> tuple[_Seen, bool]:
    if isinstance(failure, BaseException):
        for cls in type(failure).__mro__:
            if cls in _EXCEPTIONS:
                return _EXCEPTIONS[cls]
        return _Seen.MAYBE, False  # not a transport failure: a bug or a cancellation
    if failure < 400:
        raise ValueError(f"HTTP {failure} is not a failure")
    if failure in (408, 429):
        return _Seen.NOT_PROCESSED, True
    if failure < 500 or failure in (501, 505):
        return _Seen.NOT_PROCESSED, False
    return _Seen.MAYBE, True


def may_have_been_applied(failure: int | BaseException) -> bool:
    """Whether a write that failed this way may have been applied by the server.

    `failure` is a status code of 400 or more, or the exception httpx raised. The pipeline keeps
    `earlier_may_be_applied = earlier_may_be_applied or may_have_been_applied(failure)` across
    the attempts of one call.
    """
    return _classify(failure)[0] is _Seen.MAYBE


def decide(
    operation_id: str,
    method: str,
    failure: int | BaseException,
    *,
    earlier_may_be_applied: bool = False,
) -> Decision:
    """What to do after an attempt of `operation_id` failed with `failure`.

    `failure` is a status code of 400 or more, or the exception httpx raised.
    `earlier_may_be_applied` says whether an earlier attempt of the same call may have been
    applied; once it is true, a final failure of a write proves nothing about that attempt, so it
    is UNCERTAIN (except a DELETE's 404 or 410: the earlier attempt deleted it, APPLIED; and a
    GUARDED write's 409: CONFIRM, read whether it was applied).
    RETRY is only the policy's verdict; when retries or time run out, ask `give_up`.
    """
    kind = idempotency(operation_id, method)
    seen, transient = _classify(failure)
    if kind is Idempotency.SAFE:
        return Decision.RETRY if transient else Decision.FAIL
    if kind is Idempotency.NON_IDEMPOTENT:
        if earlier_may_be_applied or seen is _Seen.MAYBE:
            return Decision.UNCERTAIN
        return Decision.RETRY if transient else Decision.FAIL
    if transient:
        return Decision.RETRY
    if earlier_may_be_applied:
        status = None if isinstance(failure, BaseException) else failure
        if kind is Idempotency.GUARDED and status == 409:
            return Decision.CONFIRM
        gone = status in (404, 410) and method.upper() == "DELETE"
        return Decision.APPLIED if gone else Decision.UNCERTAIN
    return Decision.FAIL if seen is _Seen.NOT_PROCESSED else Decision.UNCERTAIN


def decide_status(
    operation_id: str, method: str, status: int, *, earlier_may_be_applied: bool = False
) -> Decision:
    """`decide` for an HTTP status of 400 or more."""
    return decide(operation_id, method, status, earlier_may_be_applied=earlier_may_be_applied)


def decide_exception(
    operation_id: str, method: str, exc: BaseException, *, earlier_may_be_applied: bool = False
) -> Decision:
    """`decide` for an exception raised by httpx while sending or receiving."""
    return decide(operation_id, method, exc, earlier_may_be_applied=earlier_may_be_applied)


def give_up(
    operation_id: str,
    method: str,
    failure: int | BaseException,
    *,
    earlier_may_be_applied: bool = False,
) -> Decision:
    """The outcome to report when `decide` said RETRY but no retry is left (count or deadline).

    FAIL for reads and for writes that provably were never applied (a 429 storm, refused
    connections); UNCERTAIN for a write of which some attempt may have been applied.
    """
    if idempotency(operation_id, method) is Idempotency.SAFE:
        return Decision.FAIL
    if earlier_may_be_applied or may_have_been_applied(failure):
        return Decision.UNCERTAIN
    return Decision.FAIL


@dataclass(frozen=True)
class Confirmation:
    """The read that settles a GUARDED write after a 409 (`Decision.CONFIRM`)."""

    operation: str
    """The operationId of the read (a GET of the same revision)."""
    url: str
    """Its path, ids filled in."""
    applied: Callable[[Any], bool]
    """Given the read's JSON body: does it show the state the write produces?"""
    answer: bool
    """True: the read's answer stands for the write's (the same resource and model);
    False: the write answers 204 No Content, so an empty 204 stands for it."""


def confirmation(operation_id: str, revision: str, url: str, body: Any) -> Confirmation | None:
    """How to learn whether an earlier attempt of a GUARDED write was applied (table above).

    `url` is the write's path with its ids filled in, `body` its JSON body. None when no read
    can show it: the write then stays UNCERTAIN.
    """
    name = operation_id.removesuffix("_beta")
    data = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(data, Mapping):
        return None
    if name == "send_campaign":  # names its campaign in the body; the job has the same id
        campaign_id = data.get("id")
        if not isinstance(campaign_id, str):
            return None
        return Confirmation(
            "get_campaign_send_job",
            f"/api/campaign-send-jobs/{quote(campaign_id, safe='')}",
            lambda read: _field(read, "status") in ("queued", "processing", "complete"),
            answer=True,
        )
    attributes = data.get("attributes")
    action = attributes.get("action") if isinstance(attributes, Mapping) else None
    target = {"cancel": "cancelled", "revert": "draft"}.get(str(action))
    resource_id = url.rstrip("/").rpartition("/")[2]  # a PATCH names its resource in the URL
    if target is None:
        return None
    if name == "cancel_campaign_send" and not revision.endswith(".pre"):
        return Confirmation(
            "get_campaign",
            f"/api/campaigns/{resource_id}",
            lambda read: str(_field(read, "status")).lower() == target,
            answer=False,
        )
    if name == "update_campaign_message_schedule":
        return Confirmation(
            "get_campaign_message_beta",
            f"/api/campaign-messages/{resource_id}",
            lambda read: _message_status(read) == target,
            answer=False,
        )
    return None


def _field(document: Any, name: str) -> Any:
    """``data.attributes.<name>`` of a JSON:API document, or None."""
    try:
        return document["data"]["attributes"][name]
    except (KeyError, TypeError):
        return None


def _message_status(document: Any) -> str | None:
    # The overview's `status` (upper case) or the reference's `definition.status` (lower case).
    status = _field(document, "status")
    if status is None:
        definition = _field(document, "definition")
        status = definition.get("status") if isinstance(definition, Mapping) else None
    return str(status).lower() if status is not None else None


_DELAY_SECONDS = re.compile(r"\d+(?:\.\d+)?")


def parse_retry_after(
    value: str | None, now: datetime | float, *, cap: float = 60.0
) -> float | None:
    """Seconds to wait from a `Retry-After` header, within `[0, cap]`; None if absent or invalid.

    `value` is delay-seconds (`"3"`, leniently `"1.5"`) or an HTTP-date (IMF-fixdate, RFC 850 or
    asctime, read as UTC when it names no zone); `now` is the current time as an aware datetime or
    as seconds since the epoch (`time.time()`). A date in the past gives 0.
    """
    if value is None:
        return None
    value = value.strip()
    if _DELAY_SECONDS.fullmatch(value):
        return min(float(value), cap)
    try:
        when = parsedate_to_datetime(value)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if isinstance(now, datetime):
        now = (now if now.tzinfo else now.replace(tzinfo=UTC)).timestamp()
    return min(max(when.timestamp() - now, 0.0), cap)


def backoff(attempt: int, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Seconds to wait before retry number `attempt` (0 for the first): full jitter.

    A uniform draw from `[0, min(cap, base * 2 ** attempt))`, with `rand()` in `[0, 1)`
    (`random.random`), so that many clients failing together spread their retries out.
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    ceiling = cap if attempt >= 64 else min(cap, base * math.ldexp(1.0, attempt))
    return rand() * ceiling
