"""The errors the SDK raises, all under one base class.

    KlaviyoError
    ├── ConfigurationError ........ the client cannot be built (no or bad API key, bad setting)
    ├── ValidationError ........... bad input (an argument, a body), raised before sending
    │   └── FilterError ........... a filter the operation does not take, or text that is not one
    ├── TransportError ............ no HTTP response arrived (after any retries)
    │   ├── ConnectError .......... the connection could not be made
    │   └── TimeoutError .......... the request timed out
    ├── ClientClosedError ......... the client was closed before this call got its answer
    ├── WriteMayHaveBeenApplied ... a write failed in a way that may have applied it: check first
    ├── ResponseValidationError ... a 2xx answer the SDK cannot parse into its model
    ├── WaitError ................. waiting for a status did not succeed
    │   ├── TerminalStateError .... it ended in another status (e.g. cancelled)
    │   └── WaitTimeoutError ...... it did not get there in time
    ├── LimiterUnavailableError ... the shared rate limiter's store (Redis) failed or timed out
    └── APIStatusError ............ Klaviyo answered with a 4xx/5xx status
        ├── BadRequestError ....... 400
        ├── AuthenticationError ... 401
        ├── PermissionDeniedError . 403
        ├── NotFoundError ......... 404
        ├── ConflictError ......... 409
        ├── RateLimitError ........ 429
        └── ServerError ........... 5xx

Every message names the operation and the request's method and path; none holds the API key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

__all__ = [
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "ErrorDetail",
    "FilterError",
    "KlaviyoError",
    "LimiterUnavailableError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "ServerError",
    "TerminalStateError",
    "TimeoutError",
    "TransportError",
    "ValidationError",
    "WaitError",
    "WaitTimeoutError",
    "WriteMayHaveBeenApplied",
]


@attrs.frozen
class ErrorDetail:
    """One entry of a JSON:API ``errors`` list."""

    id: str | None = None
    code: str | None = None
    title: str | None = None
    detail: str | None = None
    pointer: str | None = None
    parameter: str | None = None

    @classmethod
    def from_json(cls, item: object) -> ErrorDetail:
        """Read one error object, tolerating missing or oddly typed members."""
        if not isinstance(item, Mapping):
            return cls(detail=str(item))
        source = item.get("source")
        source = source if isinstance(source, Mapping) else {}

        def text(value: object) -> str | None:
            return None if value is None else str(value)

        return cls(
            id=text(item.get("id")),
            code=text(item.get("code")),
            title=text(item.get("title")),
            detail=text(item.get("detail")),
            pointer=text(source.get("pointer")),
            parameter=text(source.get("parameter")),
        )


class KlaviyoError(Exception):
    """Base class of every error the SDK raises."""


class ConfigurationError(KlaviyoError):
    """The client cannot be built as configured."""


class ValidationError(KlaviyoError, ValueError):
    """Bad input, found before any request was sent."""


class _RequestError(KlaviyoError):
    """An error tied to one request: operation id, method and path (never headers or key)."""

    def __init__(self, message: str, *, operation: str, method: str, path: str) -> None:
        super().__init__(f"{message} ({operation}: {method} {path})")
        self.operation = operation
        self.method = method
        self.path = path


class TransportError(_RequestError):
    """No HTTP response arrived, after any retries the SDK could safely make."""


class ConnectError(TransportError):
    """The connection to Klaviyo could not be made."""


class TimeoutError(TransportError):
    """The request timed out."""


class ClientClosedError(_RequestError):
    """The client was closed (``aclose()``, or its ``httpx.AsyncClient`` was) before this call
    got its answer; it is not retried. A write that may already have reached Klaviyo raises
    ``WriteMayHaveBeenApplied`` instead, with this error as its ``__cause__``.
    """


class WriteMayHaveBeenApplied(_RequestError):
    """A write failed after it may have reached Klaviyo: check its effect before trying again.

    Raised for a non-idempotent request (create, clone, send, schedule, ...) that met a 5xx
    answer, a timeout or a dropped connection after the request was sent. ``__cause__`` holds
    what happened; ``sent_at`` is when (``time.monotonic()``) the last attempt that may have been
    applied was sent, the moment from which ``klaviyo_campaigns.settle.settle`` counts the
    server's commit horizon.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        method: str,
        path: str,
        sent_at: float | None = None,
    ) -> None:
        super().__init__(message, operation=operation, method=method, path=path)
        self.sent_at = sent_at


class ResponseValidationError(_RequestError):
    """A successful answer whose body is not what the spec promises (not JSON, missing field)."""


class APIStatusError(_RequestError):
    """Klaviyo answered with an error status; ``errors`` holds its JSON:API error objects."""

    def __init__(
        self,
        *,
        status: int,
        errors: Sequence[ErrorDetail],
        operation: str,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        first = errors[0] if errors else None
        what = (first.detail or first.title or first.code) if first else None
        message = f"HTTP {status}" + (f": {what}" if what else "")
        if len(errors) > 1:
            message += f" (+{len(errors) - 1} more)"
        super().__init__(message, operation=operation, method=method, path=path)
        self.status = status
        self.errors = tuple(errors)
        self.headers: Mapping[str, str] = dict(headers or {})


class BadRequestError(APIStatusError):
    """400: the request was malformed or invalid."""


class AuthenticationError(APIStatusError):
    """401: the API key is missing or not valid."""


class PermissionDeniedError(APIStatusError):
    """403: the API key lacks a scope this operation needs."""


class NotFoundError(APIStatusError):
    """404: no such resource."""


class ConflictError(APIStatusError):
    """409: the resource's state does not allow this change."""


class RateLimitError(APIStatusError):
    """429: too many requests, after any retries."""


class ServerError(APIStatusError):
    """5xx: Klaviyo failed to handle the request."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    """The error class for an HTTP status (``APIStatusError`` for ones without their own)."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, APIStatusError)


def error_details(body: Any) -> list[ErrorDetail]:
    """The ``errors`` of a JSON:API error document; empty when the body has none."""
    items = body.get("errors") if isinstance(body, Mapping) else None
    if not isinstance(items, list):
        return []
    return [ErrorDetail.from_json(item) for item in items]


class WaitError(KlaviyoError):
    """Waiting for a resource to reach a status did not succeed."""


class TerminalStateError(WaitError):
    """The resource ended in a status that is not the one waited for (e.g. cancelled)."""

    def __init__(self, what: str, status: str, resource: Any) -> None:
        super().__init__(f"{what} ended as {status!r}")
        self.status = status
        self.resource = resource


class WaitTimeoutError(WaitError):
    """The resource did not reach the status waited for in time."""

    def __init__(self, what: str, status: str, timeout: float) -> None:
        super().__init__(f"{what} still {status!r} after {timeout:g} s")
        self.status = status
        self.timeout = timeout


class FilterError(ValidationError):
    """A filter the operation does not accept, or filter text that does not parse."""

    def __init__(self, message: str, *, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class LimiterUnavailableError(KlaviyoError):
    """The shared rate limiter could not reach its store (Redis) in time; nothing was sent."""
