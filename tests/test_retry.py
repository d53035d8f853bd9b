"""The retry policy, rule by rule: tables of (operation, failure) -> decision, Retry-After, backoff.

The last tests provoke the httpx exceptions for real over loopback, to show that the failures the
policy calls "not sent" indeed never reach the server and the ones it calls "maybe" can arrive
whole.
"""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from klaviyo_campaigns import REVISIONS
from klaviyo_campaigns._generated.operations import OPERATIONS
from klaviyo_campaigns._retry import (
    _ACTION_PATCHES,
    _GUARDED,
    _VALUE_PATCHES,
    Decision,
    Idempotency,
    backoff,
    confirmation,
    decide,
    decide_exception,
    decide_status,
    give_up,
    idempotency,
    may_have_been_applied,
    parse_retry_after,
)

R, F, U, A, C = (
    Decision.RETRY,
    Decision.FAIL,
    Decision.UNCERTAIN,
    Decision.APPLIED,
    Decision.CONFIRM,
)

# One operation of each kind, in the column order of the tables below.
KINDS = {
    "GET": ("get_campaigns", "GET"),
    "PATCH": ("update_campaign", "PATCH"),  # sets attributes
    "DELETE": ("delete_campaign", "DELETE"),
    "POST": ("create_campaign", "POST"),
    "ACTION": ("some_future_patch", "PATCH"),  # an action PATCH not known to be guarded
    "GUARDED": ("send_campaign", "POST"),  # refused (409) once applied
}


class CustomTransportError(httpx.TransportError):
    """A transport error httpx does not define (from a third-party transport)."""


Failure = int | BaseException
Row = tuple[Failure, Decision, Decision, Decision, Decision, Decision, Decision]


def failure_id(failure: object) -> str:
    return str(failure) if isinstance(failure, int) else type(failure).__name__


def rows(table: list[Row]) -> list[object]:
    return [
        pytest.param(kind, failure, expected, id=f"{failure_id(failure)}-{kind}")
        for failure, *decisions in table
        for kind, expected in zip(KINDS, decisions, strict=True)
    ]


# --- which operations may be repeated -------------------------------------------------------


@pytest.mark.parametrize(
    ("operation_id", "method", "expected"),
    [
        ("get_campaigns", "GET", Idempotency.SAFE),
        ("get_campaigns_beta", "get", Idempotency.SAFE),
        ("anything", "HEAD", Idempotency.SAFE),
        ("anything", "OPTIONS", Idempotency.SAFE),
        ("delete_campaign", "DELETE", Idempotency.IDEMPOTENT),
        ("delete_campaign_audience_beta", "DELETE", Idempotency.IDEMPOTENT),
        ("anything", "PUT", Idempotency.IDEMPOTENT),
        ("update_campaign", "PATCH", Idempotency.IDEMPOTENT),
        ("update_campaign_beta", "PATCH", Idempotency.IDEMPOTENT),
        ("update_campaign_message", "PATCH", Idempotency.IDEMPOTENT),
        ("update_campaign_message_beta", "patch", Idempotency.IDEMPOTENT),
        ("update_campaign_audience_beta", "PATCH", Idempotency.IDEMPOTENT),
        ("update_campaign_variation_beta", "PATCH", Idempotency.IDEMPOTENT),
        ("update_image_for_campaign_message", "PATCH", Idempotency.IDEMPOTENT),
        ("cancel_campaign_send", "PATCH", Idempotency.GUARDED),
        ("update_campaign_message_schedule_beta", "PATCH", Idempotency.GUARDED),
        ("some_future_patch", "PATCH", Idempotency.NON_IDEMPOTENT),  # unknown: an action
        ("create_campaign", "POST", Idempotency.NON_IDEMPOTENT),
        ("create_campaign_clone", "POST", Idempotency.NON_IDEMPOTENT),
        ("send_campaign", "POST", Idempotency.GUARDED),
        ("schedule_campaign_message_beta", "POST", Idempotency.GUARDED),
        ("send_campaign", "DELETE", Idempotency.IDEMPOTENT),  # the method decides first
        ("refresh_campaign_recipient_estimation", "POST", Idempotency.NON_IDEMPOTENT),
        ("assign_template_to_campaign_message", "POST", Idempotency.NON_IDEMPOTENT),
        ("update_campaign", "POST", Idempotency.NON_IDEMPOTENT),  # the method decides first
        ("anything", "TRACE", Idempotency.NON_IDEMPOTENT),
    ],
)
def test_idempotency(operation_id: str, method: str, expected: Idempotency) -> None:
    assert idempotency(operation_id, method) is expected


@pytest.mark.parametrize("revision", sorted(OPERATIONS))
def test_every_generated_operation_is_classified_on_purpose(revision: str) -> None:
    # A new PATCH in the spec must be added to one of the two lists, not fall to the default.
    expected = {"GET": Idempotency.SAFE, "DELETE": Idempotency.IDEMPOTENT}
    for operation in OPERATIONS[revision].values():
        kind = idempotency(operation.id, operation.method)
        name = operation.id.removesuffix("_beta")
        if operation.method == "PATCH":
            assert (name in _VALUE_PATCHES) != (name in _ACTION_PATCHES), operation.id
            assert (kind is Idempotency.IDEMPOTENT) == (name in _VALUE_PATCHES)
        elif name in _GUARDED:
            assert kind is Idempotency.GUARDED, operation.id
        else:
            assert kind is expected.get(operation.method, Idempotency.NON_IDEMPOTENT), operation.id
    # Every action PATCH of the spec is guarded (each leaves the state it requires).
    assert {
        o.id.removesuffix("_beta") for o in OPERATIONS[revision].values() if o.method == "PATCH"
    } & _ACTION_PATCHES <= _GUARDED


# --- the decision on a first failure ----------------------------------------------------------

#   failure                               GET  PATCH DELETE POST ACTION GUARDED
FIRST_FAILURE: list[Row] = [
    (429, R, R, R, R, R, R),  # rate limited: provably not processed
    (408, R, R, R, R, R, R),  # request timeout: the server did not get the whole request
    (400, F, F, F, F, F, F),
    (401, F, F, F, F, F, F),
    (403, F, F, F, F, F, F),
    (404, F, F, F, F, F, F),
    (405, F, F, F, F, F, F),
    (409, F, F, F, F, F, F),
    (415, F, F, F, F, F, F),
    (422, F, F, F, F, F, F),
    (500, R, R, R, U, U, R),  # may have been applied
    (502, R, R, R, U, U, R),
    (503, R, R, R, U, U, R),
    (504, R, R, R, U, U, R),
    (599, R, R, R, U, U, R),
    (501, F, F, F, F, F, F),  # not implemented: not processed, and final
    (505, F, F, F, F, F, F),
    (httpx.ConnectError("refused"), R, R, R, R, R, R),  # the request never left
    (httpx.ConnectTimeout("connect"), R, R, R, R, R, R),
    (httpx.PoolTimeout("pool"), R, R, R, R, R, R),
    (httpx.ProxyError("proxy"), R, R, R, R, R, R),
    (httpx.UnsupportedProtocol("ftp"), F, F, F, F, F, F),  # never sent, never will be
    (httpx.LocalProtocolError("bad"), F, F, F, F, F, F),
    (httpx.WriteTimeout("write"), R, R, R, U, U, R),  # bytes may reach the server later
    (httpx.WriteError("write"), R, R, R, U, U, R),
    (httpx.ReadTimeout("read"), R, R, R, U, U, R),
    (httpx.ReadError("read"), R, R, R, U, U, R),
    (httpx.RemoteProtocolError("disconnected"), R, R, R, U, U, R),
    (httpx.DecodingError("gzip"), F, U, U, U, U, U),  # answered, but unreadable: not transient
    (httpx.TooManyRedirects("loop"), F, U, U, U, U, U),
    (CustomTransportError("?"), R, R, R, U, U, R),  # unknown transport failure: assume the worst
    (httpx.NetworkError("?"), R, R, R, U, U, R),
    (httpx.TimeoutException("?"), R, R, R, U, U, R),
    (ValueError("a bug"), F, U, U, U, U, U),  # not a transport failure: never retried
]


@pytest.mark.parametrize(("kind", "failure", "expected"), rows(FIRST_FAILURE))
def test_decide_first_failure(kind: str, failure: int | BaseException, expected: Decision) -> None:
    operation_id, method = KINDS[kind]
    assert decide(operation_id, method, failure) is expected


# --- the decision once an earlier attempt may have been applied -------------------------------

#   failure                               GET  PATCH DELETE POST ACTION GUARDED
AFTER_UNCERTAIN: list[Row] = [
    (429, R, R, R, U, U, R),  # a non-idempotent write is never re-sent once it may be applied
    (500, R, R, R, U, U, R),
    (httpx.ConnectError("refused"), R, R, R, U, U, R),
    (httpx.ReadTimeout("read"), R, R, R, U, U, R),
    (404, F, U, A, U, U, U),  # a DELETE finding nothing: the earlier attempt deleted it
    (410, F, U, A, U, U, U),
    (409, F, U, U, U, U, C),  # a refusal proves nothing, except to a guarded write: read
    (400, F, U, U, U, U, U),
    (403, F, U, U, U, U, U),
    (501, F, U, U, U, U, U),
    (httpx.UnsupportedProtocol("ftp"), F, U, U, U, U, U),
]


@pytest.mark.parametrize(("kind", "failure", "expected"), rows(AFTER_UNCERTAIN))
def test_decide_after_an_attempt_that_may_have_been_applied(
    kind: str, failure: int | BaseException, expected: Decision
) -> None:
    operation_id, method = KINDS[kind]
    assert decide(operation_id, method, failure, earlier_may_be_applied=True) is expected


def test_a_delete_404_without_an_uncertain_attempt_is_a_plain_not_found() -> None:
    assert decide("delete_campaign", "DELETE", 404) is F


def test_decide_status_and_decide_exception_are_decide() -> None:
    for kind, (operation_id, method) in KINDS.items():
        for failure, *_ in FIRST_FAILURE + AFTER_UNCERTAIN:
            for earlier in (False, True):
                expected = decide(operation_id, method, failure, earlier_may_be_applied=earlier)
                if isinstance(failure, int):
                    got = decide_status(
                        operation_id, method, failure, earlier_may_be_applied=earlier
                    )
                else:
                    got = decide_exception(
                        operation_id, method, failure, earlier_may_be_applied=earlier
                    )
                assert got is expected, (kind, failure, earlier)


@pytest.mark.parametrize("status", [200, 201, 202, 204, 302, 399])
def test_a_success_is_not_a_failure(status: int) -> None:
    with pytest.raises(ValueError):
        decide_status("get_campaigns", "GET", status)


# --- the read that settles a guarded write after a 409 ----------------------------------------


def doc(**attributes: object) -> dict[str, object]:
    return {"data": {"type": "x", "id": "X", "attributes": attributes}}


def action(type_: str, id_: str, verb: str) -> dict[str, object]:
    return {"data": {"type": type_, "id": id_, "attributes": {"action": verb}}}


def test_confirming_a_send_reads_its_job() -> None:
    for revision in (REVISIONS.stable, REVISIONS.pre):
        check = confirmation(
            "send_campaign",
            revision,
            "/api/campaign-send-jobs",
            {"data": {"type": "campaign-send-job", "id": "C1"}},
        )
        assert check is not None
        assert (check.operation, check.url, check.answer) == (
            "get_campaign_send_job",
            "/api/campaign-send-jobs/C1",
            True,
        )
        for status in ("queued", "processing", "complete"):
            assert check.applied(doc(status=status))
        assert not check.applied(doc(status="cancelled"))  # someone cancelled: not ours to say
        assert not check.applied({"errors": []})
        assert not check.applied(None)
    odd = confirmation("send_campaign", REVISIONS.stable, "/x", {"data": {"id": "a/../b"}})
    assert odd is not None and odd.url == "/api/campaign-send-jobs/a%2F..%2Fb"


@pytest.mark.parametrize(("verb", "status"), [("cancel", "Cancelled"), ("revert", "Draft")])
def test_confirming_a_stable_cancel_or_revert_reads_the_campaign(verb: str, status: str) -> None:
    body = action("campaign-send-job", "C1", verb)
    check = confirmation(
        "cancel_campaign_send", REVISIONS.stable, "/api/campaign-send-jobs/C1", body
    )
    assert check is not None
    assert (check.operation, check.url, check.answer) == (
        "get_campaign",
        "/api/campaigns/C1",
        False,
    )
    assert check.applied(doc(status=status))
    assert not check.applied(doc(status="Sending"))
    # .pre campaigns have no status of their own: nothing to read, stays uncertain
    assert confirmation("cancel_campaign_send", REVISIONS.pre, "/api/x/C1", body) is None


@pytest.mark.parametrize(("verb", "status"), [("cancel", "CANCELLED"), ("revert", "DRAFT")])
def test_confirming_a_message_schedule_change_reads_the_message(verb: str, status: str) -> None:
    check = confirmation(
        "update_campaign_message_schedule_beta",
        REVISIONS.pre,
        "/api/campaign-message-schedule/M1",
        action("campaign-message-schedule", "M1", verb),
    )
    assert check is not None
    assert (check.operation, check.url, check.answer) == (
        "get_campaign_message_beta",
        "/api/campaign-messages/M1",
        False,
    )
    assert check.applied(doc(status=status))  # the overview's field
    assert check.applied(doc(definition={"status": status.lower()}))  # the reference's
    assert not check.applied(doc(status="SCHEDULED"))


@pytest.mark.parametrize(
    ("operation_id", "body"),
    [
        ("schedule_campaign_message_beta", {"data": {"type": "campaign-message-schedule"}}),
        ("cancel_campaign_send", action("campaign-send-job", "C1", "pause")),
        ("send_campaign", {"data": {"type": "campaign-send-job"}}),
        ("send_campaign", None),
        ("create_campaign", {"data": {"type": "campaign", "id": "C1"}}),
    ],
)
def test_no_read_can_settle_these(operation_id: str, body: object) -> None:
    assert confirmation(operation_id, REVISIONS.stable, "/api/x/C1", body) is None


# --- what a failed attempt proves ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (429, False),
        (408, False),
        (400, False),
        (404, False),
        (409, False),
        (501, False),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
        (httpx.ConnectError("x"), False),
        (httpx.ConnectTimeout("x"), False),
        (httpx.PoolTimeout("x"), False),
        (httpx.ProxyError("x"), False),
        (httpx.UnsupportedProtocol("x"), False),
        (httpx.LocalProtocolError("x"), False),
        (httpx.WriteTimeout("x"), True),
        (httpx.WriteError("x"), True),
        (httpx.ReadTimeout("x"), True),
        (httpx.ReadError("x"), True),
        (httpx.RemoteProtocolError("x"), True),
        (httpx.DecodingError("x"), True),
        (CustomTransportError("x"), True),
        (ValueError("x"), True),
    ],
    ids=failure_id,
)
def test_may_have_been_applied(failure: int | BaseException, expected: bool) -> None:
    assert may_have_been_applied(failure) is expected


# --- giving up when retries or time run out -----------------------------------------------------

#   failure, earlier attempt may be applied    GET  PATCH DELETE POST ACTION GUARDED
GIVE_UP: list[
    tuple[tuple[Failure, bool], Decision, Decision, Decision, Decision, Decision, Decision]
] = [
    ((429, False), F, F, F, F, F, F),  # a 429 storm: nothing was applied
    ((httpx.ConnectError("x"), False), F, F, F, F, F, F),
    ((httpx.PoolTimeout("x"), False), F, F, F, F, F, F),
    ((503, False), F, U, U, U, U, U),
    ((httpx.ReadTimeout("x"), False), F, U, U, U, U, U),
    ((429, True), F, U, U, U, U, U),  # an earlier timeout may have applied it
    ((httpx.ConnectError("x"), True), F, U, U, U, U, U),
]


@pytest.mark.parametrize(
    ("kind", "case", "expected"),
    [
        pytest.param(kind, case, expected, id=f"{failure_id(case[0])}-{case[1]}-{kind}")
        for case, *decisions in GIVE_UP
        for kind, expected in zip(KINDS, decisions, strict=True)
    ],
)
def test_give_up(kind: str, case: tuple[int | BaseException, bool], expected: Decision) -> None:
    operation_id, method = KINDS[kind]
    failure, earlier = case
    assert give_up(operation_id, method, failure, earlier_may_be_applied=earlier) is expected


# --- Retry-After ------------------------------------------------------------------------------

NOW = datetime(2026, 4, 15, 12, 0, 0, tzinfo=UTC)


def http_date(moment: datetime) -> str:
    return moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("soon", None),
        ("-1", None),  # delay-seconds has no sign
        ("1e3", None),
        ("nan", None),
        ("inf", None),
        ("0x10", None),
        ("Sun, 32 Nov 1994 08:49:37 GMT", None),  # not a date
        ("0", 0.0),
        ("3", 3.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),  # leniently: Klaviyo sends integers
        ("60", 60.0),
        ("61", 60.0),  # capped
        ("86400", 60.0),
        (http_date(NOW + timedelta(seconds=30)), 30.0),  # IMF-fixdate
        ((NOW + timedelta(seconds=12)).strftime("%A, %d-%b-%y %H:%M:%S GMT"), 12.0),  # RFC 850
        ((NOW + timedelta(seconds=5)).strftime("%a %b %d %H:%M:%S %Y"), 5.0),  # asctime, no zone
        ("Wed, 15 Apr 2026 14:00:20 +0200", 20.0),  # a numeric zone is honoured
        (http_date(NOW - timedelta(seconds=30)), 0.0),  # in the past: no wait, never negative
        (http_date(NOW + timedelta(hours=2)), 60.0),  # capped
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_parse_retry_after_takes_epoch_seconds_or_a_naive_utc_datetime() -> None:
    value = http_date(NOW + timedelta(seconds=9))
    assert parse_retry_after(value, NOW.timestamp()) == pytest.approx(9.0)
    assert parse_retry_after(value, NOW.replace(tzinfo=None)) == pytest.approx(9.0)


def test_parse_retry_after_cap_is_configurable() -> None:
    assert parse_retry_after("30", NOW, cap=10.0) == 10.0
    assert parse_retry_after("3600", NOW, cap=3600.0) == 3600.0
    assert parse_retry_after(http_date(NOW + timedelta(seconds=90)), NOW, cap=120.0) == 90.0


# --- backoff ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "base", "cap", "draw", "expected"),
    [
        (0, 0.5, 8.0, 0.5, 0.25),  # 0.5 * min(8, 0.5)
        (1, 0.5, 8.0, 0.5, 0.5),  # 0.5 * 1
        (2, 0.5, 8.0, 0.5, 1.0),  # 0.5 * 2
        (3, 0.5, 8.0, 0.5, 2.0),
        (4, 0.5, 8.0, 0.5, 4.0),  # 0.5 * 8: the cap
        (5, 0.5, 8.0, 0.5, 4.0),
        (10_000, 0.5, 8.0, 0.5, 4.0),  # no overflow however many attempts
        (3, 0.5, 8.0, 0.0, 0.0),  # full jitter reaches down to zero
        (3, 1.0, 30.0, 0.25, 2.0),
    ],
)
def test_backoff(attempt: int, base: float, cap: float, draw: float, expected: float) -> None:
    assert backoff(attempt, base, cap, lambda: draw) == pytest.approx(expected)


def test_backoff_spreads_over_the_whole_range() -> None:
    rng = random.Random(1)
    waits = [backoff(3, 0.5, 8.0, rng.random) for _ in range(2000)]
    assert all(0.0 <= wait < 4.0 for wait in waits)
    assert min(waits) < 0.1
    assert max(waits) > 3.9
    assert 1.8 < sum(waits) / len(waits) < 2.2


def test_backoff_rejects_a_negative_attempt() -> None:
    with pytest.raises(ValueError):
        backoff(-1, 0.5, 8.0, random.random)


# --- the classification against real failures over loopback ----------------------------------

REQUEST = b'{"data": {"type": "campaign"}}'


@asynccontextmanager
async def tcp_server(
    handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[str]:
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head + await reader.readexactly(length)


async def test_refused_connection_is_connect_error_and_safe_to_resend_a_post() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with httpx.AsyncClient() as http:
        with pytest.raises(httpx.ConnectError) as caught:
            await http.post(f"http://127.0.0.1:{port}/api/campaigns", content=REQUEST)

    assert not may_have_been_applied(caught.value)
    assert decide("create_campaign", "POST", caught.value) is R


async def test_server_closing_after_the_request_is_uncertain_for_a_post() -> None:
    received: list[bytes] = []

    async def read_then_drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await read_request(reader))  # the server has the whole request...
        writer.close()  # ...and hangs up: did it act on it?

    async with tcp_server(read_then_drop) as url, httpx.AsyncClient() as http:
        with pytest.raises(httpx.RemoteProtocolError) as caught:
            await http.post(url + "/api/campaigns", content=REQUEST)

    assert received and received[0].endswith(REQUEST)
    assert decide("create_campaign", "POST", caught.value) is U
    assert decide("get_campaigns", "GET", caught.value) is R


async def test_read_timeout_comes_after_the_whole_request_arrived() -> None:
    received: list[bytes] = []
    release = asyncio.Event()

    async def read_then_stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await read_request(reader))
        await release.wait()
        writer.close()

    async with tcp_server(read_then_stall) as url, httpx.AsyncClient(timeout=0.1) as http:
        with pytest.raises(httpx.ReadTimeout) as caught:
            await http.post(url + "/api/campaigns", content=REQUEST)
        release.set()

    assert received and received[0].endswith(REQUEST)
    assert decide("create_campaign", "POST", caught.value) is U


async def test_pool_timeout_never_sends_the_request() -> None:
    received: list[bytes] = []
    arrived, release = asyncio.Event(), asyncio.Event()

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await read_request(reader))
        arrived.set()
        await release.wait()
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()
        writer.close()

    limits = httpx.Limits(max_connections=1)
    timeout = httpx.Timeout(5.0, pool=0.1)
    async with (
        tcp_server(hold) as url,
        httpx.AsyncClient(limits=limits, timeout=timeout) as http,
    ):
        first = asyncio.create_task(http.post(url + "/api/campaigns", content=REQUEST))
        await arrived.wait()  # the only connection is now busy
        with pytest.raises(httpx.PoolTimeout) as caught:
            await http.post(url + "/api/campaigns", content=REQUEST)
        release.set()
        assert (await first).status_code == 204

    assert len(received) == 1  # the second request never reached the server
    assert decide("create_campaign", "POST", caught.value) is R
