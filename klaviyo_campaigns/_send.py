"""The send pipeline: limiter -> httpx -> retry decision -> status -> parse.

Every call of every facade, pagination and polling goes through ``Sender.send``; there is no
second path to the network. Read it top to bottom to follow one request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, TypeVar

import httpx

from . import _retry
from ._core import Operation, Response, mismatch, origin
from ._generated.operations import OPERATIONS
from ._headroom import RateLimitSnapshot, parse_rate_limit_headers
from ._limits import Bucket, Limiter
from .errors import (
    APIStatusError,
    ClientClosedError,
    ConnectError,
    KlaviyoError,
    ResponseValidationError,
    TimeoutError,
    TransportError,
    ValidationError,
    WriteMayHaveBeenApplied,
    error_details,
    status_error_class,
)

T = TypeVar("T")

logger = logging.getLogger(__name__.rpartition(".")[0])

JSON_API = "application/vnd.api+json"


class Sender:
    """Runs requests for one client: one limiter, one retry policy, one ``httpx.AsyncClient``."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        headers: Mapping[str, str],
        key_id: str,
        limiter: Limiter,
        max_retries: int,
        retry_deadline: float,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        retry_after_cap: float = 60.0,
        rate_share: float = 1.0,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._headers = dict(headers)  # holds the Authorization header: never logged or shown
        # Per revision, the headers of a request with no body and no extra headers, built once:
        # httpx normalizes a plain dict's headers again on every request.
        self._plain_headers: dict[str, httpx.Headers] = {}
        self._key_id = key_id
        self._limiter = limiter
        self._max_retries = max_retries
        self._retry_deadline = retry_deadline
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._retry_after_cap = retry_after_cap
        self._rate_share = rate_share
        self.rate_limits: dict[str, RateLimitSnapshot] = {}  # by endpoint: the latest report
        self._closed = False
        self._calls: dict[asyncio.Task[Any], _Call] = {}  # the tasks inside _exchange now

    def __repr__(self) -> str:
        return f"<Sender {self._base_url} key={self._key_id}>"

    async def send(
        self, operation: Operation, request: dict[str, Any], parse: Callable[[Any], T]
    ) -> T:
        """Run one operation and return its parsed model, or raise a ``KlaviyoError``."""
        response = _unbound(await self._exchange(operation, request))
        return _parse(operation, response, parse)

    async def send_raw(
        self, operation: Operation, request: dict[str, Any], parse: Callable[[Any], T]
    ) -> Response[T]:
        """Run one operation and return status, headers, content and the parsed model."""
        response = _unbound(await self._exchange(operation, request))
        return Response(
            status_code=HTTPStatus(response.status_code),
            content=response.content,
            headers=response.headers,
            parsed=_parse(operation, response, parse),
        )

    def _bucket(self, operation: Operation) -> Bucket:
        # Klaviyo limits each endpoint; both revisions of one endpoint share its bucket.
        return Bucket(
            key=f"{self._key_id}:{operation.method} {operation.path}",
            burst=operation.burst,
            steady=operation.steady,
        ).scaled(self._rate_share)

    def _build(self, operation: Operation, request: dict[str, Any]) -> httpx.Request:
        headers: Mapping[str, str]
        extra = request.get("headers")
        if "content" in request or extra:
            merged = {**self._headers, "revision": operation.revision, **(extra or {})}
            if "content" in request:
                merged["Content-Type"] = JSON_API
            headers = merged
        else:
            headers = self._plain_headers.get(operation.revision) or self._plain(operation)
        return self._http.build_request(
            operation.method,
            self._base_url + request["url"],
            params=request.get("params"),
            content=request.get("content"),
            headers=headers,
            timeout=request.get("timeout", httpx.USE_CLIENT_DEFAULT),
        )

    def _plain(self, operation: Operation) -> httpx.Headers:
        headers = httpx.Headers({**self._headers, "revision": operation.revision})
        self._plain_headers[operation.revision] = headers
        return headers

    async def aclose(self) -> None:
        """End every call in flight with ``ClientClosedError`` (or ``WriteMayHaveBeenApplied``
        for a write that may have reached Klaviyo), refuse new ones, and wait until the calls
        have let go of their connections and limiter slots."""
        self._closed = True
        current = asyncio.current_task()
        ending = []
        for task, call in list(self._calls.items()):
            if task is current:
                continue
            if not call.closing:  # a second aclose() waits, but cancels nothing twice
                call.closing = True
                task.cancel()
            ending.append(call.done)
        if ending:
            await asyncio.wait(ending)

    async def _exchange(self, operation: Operation, request: dict[str, Any]) -> httpx.Response:
        """One call: checked, then sent (``_attempts``), ended by ``aclose`` if it comes first."""
        content = _check(operation, request)
        if content is not None:  # encoded once, here, for every attempt
            request = {**request, "content": content}
        if self._closed:
            raise ClientClosedError("the client is closed", **_where(operation))
        task = asyncio.current_task()
        assert task is not None
        call = self._calls[task] = _Call(asyncio.get_running_loop().create_future())
        try:
            return await self._attempts(operation, request, call)
        except asyncio.CancelledError:
            if call.closing and task.uncancel() == 0:  # cancelled by aclose() and nothing else
                error = _closed_error(operation, call)
                raise error from error.__cause__
            raise
        except RuntimeError as exc:
            if not self._http.is_closed:  # the httpx.AsyncClient was closed under us
                raise
            if "Cannot send a request" in str(exc):  # httpx refused it before sending anything
                call.in_flight = False
            error = _closed_error(operation, call)
            raise error from error.__cause__
        finally:
            del self._calls[task]
            call.done.set_result(None)

    async def _attempts(
        self, operation: Operation, request: dict[str, Any], call: _Call
    ) -> httpx.Response:
        """Send until a final answer, retrying only where ``_retry`` says it cannot apply twice."""
        bucket = self._bucket(operation)
        deadline = time.monotonic() + self._retry_deadline
        attempt = 0
        maybe_sent_at: float | None = None  # when the last attempt that may have applied was sent
        while True:
            await self._limiter.acquire(bucket)
            failure: int | httpx.TransportError
            sent_at = time.monotonic()
            try:
                call.in_flight, call.sent_at = True, sent_at
                response: httpx.Response | None = await self._http.send(
                    self._build(operation, request)
                )
            except httpx.TransportError as exc:
                response, failure, outcome = None, exc, type(exc).__name__
            finally:
                # Answered, failed or cancelled: the request can no longer reach Klaviyo later.
                self._limiter.release(bucket)
            call.in_flight = False
            if response is not None:
                self._observe(operation, bucket, response)
                if response.status_code < 400:
                    self._log(operation, str(response.status_code), attempt, None)
                    return response
                failure = response.status_code
                outcome = str(failure)
            if _retry.may_have_been_applied(failure):
                maybe_sent_at = sent_at
            decision = _retry.decide(
                operation.id, operation.method, failure, earlier_may_be_applied=call.maybe_applied
            )
            wait = self._wait(attempt, response)
            if decision is _retry.Decision.RETRY and not self._may_retry(attempt, wait, deadline):
                decision = _retry.give_up(
                    operation.id,
                    operation.method,
                    failure,
                    earlier_may_be_applied=call.maybe_applied,
                )
            if failure == 429:
                # Klaviyo said stop: every task sending to this bucket waits, not only this one.
                await self._limiter.pause(bucket, wait)
            if decision is _retry.Decision.RETRY:
                self._log(operation, outcome, attempt, wait)
                if failure != 429:
                    await asyncio.sleep(wait)
                # Did an earlier attempt of this call possibly reach Klaviyo? (aclose reads it too)
                call.maybe_applied = call.maybe_applied or _retry.may_have_been_applied(failure)
                attempt += 1
                continue
            self._log(operation, outcome, attempt, None)
            if decision is _retry.Decision.CONFIRM:  # a retried guarded write was refused (409)
                confirmed = await self._confirm(operation, request)
                if confirmed is not None:
                    return confirmed
                decision = _retry.Decision.UNCERTAIN
            if decision is _retry.Decision.APPLIED:  # a retried DELETE found it already gone
                return httpx.Response(204, request=self._build(operation, request))
            if decision is _retry.Decision.UNCERTAIN:
                raise _uncertain(operation, response, failure, maybe_sent_at)
            if response is None:
                assert isinstance(failure, httpx.TransportError)
                raise _transport_error(operation, failure) from failure
            return response

    async def _confirm(
        self, operation: Operation, request: dict[str, Any]
    ) -> httpx.Response | None:
        """Read whether an earlier attempt of a guarded write was applied (``_retry.confirmation``):
        the answer to return for the write if the read shows its effect, else None."""
        check = _retry.confirmation(
            operation.id, operation.revision, request["url"], request.get("json")
        )
        read = OPERATIONS[operation.revision].get(check.operation) if check else None
        if check is None or read is None:
            return None
        try:
            # Inside this call's own _exchange: the read is one more step of the write's call.
            reading = _Call(asyncio.get_running_loop().create_future())
            response = await self._attempts(read, {"url": check.url}, reading)
        except KlaviyoError:  # the read failed too: still uncertain
            return None
        try:
            shows = response.status_code == 200 and check.applied(response.json())
        except ValueError:
            shows = False
        if not shows:
            return None
        return response if check.answer else httpx.Response(204, request=response.request)

    def _observe(self, operation: Operation, bucket: Bucket, response: httpx.Response) -> None:
        """Keep the server's ``RateLimit-*`` report, and hand it to a limiter that adapts."""
        report = parse_rate_limit_headers(response.headers, time.monotonic())
        if report is None:  # a 429, or an answer from something other than Klaviyo
            return
        self.rate_limits[f"{operation.method} {operation.path}"] = report
        observe = getattr(self._limiter, "observe", None)
        if observe is not None:
            observe(bucket, report)

    def _wait(self, attempt: int, response: httpx.Response | None) -> float:
        if response is not None and response.status_code == 429:
            after = _retry.parse_retry_after(
                response.headers.get("Retry-After"), time.time(), cap=self._retry_after_cap
            )
            if after is not None:
                return after
        return self._backoff(attempt)

    def _backoff(self, attempt: int) -> float:
        return _retry.backoff(attempt, self._backoff_base, self._backoff_cap, random.random)

    def _may_retry(self, attempt: int, wait: float, deadline: float) -> bool:
        return attempt < self._max_retries and time.monotonic() + wait < deadline

    def _log(self, operation: Operation, outcome: str, attempt: int, wait: float | None) -> None:
        if wait is None:
            logger.debug(
                "%s %s %s -> %s (attempt %d)",
                operation.id, operation.method, operation.path, outcome, attempt + 1,
            )  # fmt: skip
        else:
            logger.debug(
                "%s %s %s -> %s (attempt %d), retrying in %.3f s",
                operation.id, operation.method, operation.path, outcome, attempt + 1, wait,
            )  # fmt: skip


class _Call:
    """One call's state, as ``aclose`` needs it: is an attempt on the wire, may one have been
    applied, was it ended by ``aclose``, and a future set when it is over."""

    __slots__ = ("closing", "done", "in_flight", "maybe_applied", "sent_at")

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.done = done
        self.in_flight = False
        self.maybe_applied = False
        self.closing = False
        self.sent_at: float | None = None  # when the latest attempt was sent (monotonic)


def _where(operation: Operation) -> dict[str, str]:
    return {"operation": operation.id, "method": operation.method, "path": operation.path}


def _closed_error(operation: Operation, call: _Call) -> KlaviyoError:
    """What a call ended by closing raises: nothing more is sent, nothing retried."""
    closed = ClientClosedError(
        "the client was closed before this call got its answer", **_where(operation)
    )
    if _retry.idempotency(operation.id, operation.method) is _retry.Idempotency.SAFE:
        return closed
    if not (call.in_flight or call.maybe_applied):
        return closed  # never sent, or every attempt provably not applied
    error = WriteMayHaveBeenApplied(
        "the client was closed while this write was in flight: this write may have been "
        "applied; check before trying again",
        operation=operation.id,
        method=operation.method,
        path=operation.path,
        sent_at=call.sent_at,
    )
    error.__cause__ = closed
    return error


def _check(operation: Operation, request: dict[str, Any]) -> bytes | None:
    """Refuse, before anything is sent, what the generated code passes through unchecked; the
    JSON body encoded as httpx would encode it (strict JSON, UTF-8), if there is one."""
    params = request.get("params") or {}
    cursor = params.get("page[cursor]")
    if cursor is not None and (not isinstance(cursor, str) or not cursor):
        got = "an empty string" if isinstance(cursor, str) else type(cursor).__name__
        raise ValidationError(f"page_cursor: expected a links.next cursor (a str), got {got}")
    size = params.get("page[size]")
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, int):
            raise ValidationError(f"page_size: expected an int, got {type(size).__name__}")
        low, high = operation.page_size or (size, size)
        if not low <= size <= high:
            raise ValidationError(
                f"page_size: {size} is outside {low}..{high}, the bounds of {operation.id}"
            )
    if request.get("json") is None:  # as httpx's json=None: no body
        return None
    try:
        return json.dumps(
            request["json"], ensure_ascii=False, separators=(",", ":"), allow_nan=False
        ).encode()
    except UnicodeEncodeError:
        raise ValidationError(
            "body: holds a string that is not valid Unicode (a lone surrogate)"
        ) from None
    except ValueError:
        raise ValidationError("body: holds a number JSON cannot carry (NaN or infinity)") from None
    except TypeError as exc:
        raise ValidationError(f"body: holds a value JSON cannot carry ({exc})") from None


def _transport_error(operation: Operation, exc: httpx.TransportError) -> TransportError:
    where = _where(operation)
    what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return TimeoutError(what, **where)
    if isinstance(exc, httpx.ConnectError):
        return ConnectError(what, **where)
    return TransportError(what, **where)


def _uncertain(
    operation: Operation,
    response: httpx.Response | None,
    failure: int | httpx.TransportError,
    sent_at: float | None,
) -> WriteMayHaveBeenApplied:
    cause: KlaviyoError = (
        _status_error(operation, response)
        if response is not None
        else _transport_error(operation, failure)  # type: ignore[arg-type]
    )
    error = WriteMayHaveBeenApplied(
        f"{cause.args[0].rsplit(' (', 1)[0]}: this write may have been applied; "
        "check before trying again",
        operation=operation.id,
        method=operation.method,
        path=operation.path,
        sent_at=sent_at,
    )
    error.__cause__ = cause
    return error


def _status_error(operation: Operation, response: httpx.Response) -> APIStatusError:
    try:
        body: Any = response.json()
    except ValueError:  # an HTML page from a proxy, a truncated body: no JSON:API errors
        body = None
    return status_error_class(response.status_code)(
        status=response.status_code,
        errors=error_details(body),
        operation=operation.id,
        method=operation.method,
        path=operation.path,
        headers=response.headers,
    )


def _unbound(response: httpx.Response) -> httpx.Response:
    """The read response, freed by reference counting once dropped.

    ``httpx.AsyncClient.send`` leaves a cycle (the response's stream refers back to the
    response), so every answer, body included, waited for the cyclic garbage collector: by then
    usually in its oldest generation, collected rarely. Listing held hundreds of KB of pages
    that way. The body is read and its stream closed; a stream of the same bytes breaks the
    cycle.
    """
    response.stream = httpx.ByteStream(response.content)
    return response


def _parse(operation: Operation, response: httpx.Response, parse: Callable[[Any], T]) -> T:
    if response.status_code >= 400:
        raise _status_error(operation, response)
    where = _where(operation)
    if response.status_code == 204 or not response.content:
        try:
            return parse(None)
        except (AttributeError, KeyError, TypeError) as exc:
            raise ResponseValidationError(
                "empty body where a document was expected", **where
            ) from (exc)
    try:
        body = response.json()
    except ValueError as exc:
        raise ResponseValidationError(
            f"HTTP {response.status_code} body is not JSON", **where
        ) from exc
    try:
        parsed = parse(body)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise mismatch(exc, where) from exc
    # Models parse a field when it is first read: one that does not parse raises then, as a
    # ResponseValidationError naming this operation and the field's path.
    origin(parsed, operation)
    return parsed
