"""The ASGI application: one request's path through the fake, top to bottom.

revision header -> route (404 / 405) -> API key (401) and scopes (403) -> scripted fault ->
rate limit (429) -> content type (415) -> spec validation (400) -> time settles -> handler
(404 / 409 / ...) -> JSON:API answer. Routing is driven by the spec of the requested revision,
so the app is one ASGI endpoint built from Starlette's request and response types.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from . import documents
from .behaviour import Answer, Context
from .faults import Fault
from .jsonapi import JSONAPI_MEDIA_TYPE, ApiError, not_found
from .ratelimit import throttled
from .validation import check_api_key, check_content_type, check_revision, check_scopes

if TYPE_CHECKING:
    from .fake import FakeKlaviyo

logger = logging.getLogger(__name__)

TRANSPORT_EXTENSION = "klaviyo_fake.transport"
"""ASGI scope extension under which the loopback server passes the connection's transport."""

_HTML = b"<html><head><title>502 Bad Gateway</title></head><body>Bad Gateway</body></html>"


class ConnectionDropped(Exception):
    """Raised in-process where a real server would close the connection without answering."""


class FakeApp:
    """The fake Klaviyo as an ASGI application (use ``FakeKlaviyo.app`` or ``create_app``)."""

    def __init__(self, fake: FakeKlaviyo) -> None:
        self.fake = fake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        body = await request.body()
        op_id = None
        fault: Fault | None = None
        try:
            op_id, answer, fault = await self._handle(request, body)
        except ApiError as error:
            answer = Answer(error.status, error.document())
            answer_headers = error.headers
        except Exception as error:  # never a stack trace: a JSON:API 500, and a record of it
            logger.exception("fake Klaviyo: unexpected error")
            self.fake.unexpected_errors.append(error)
            answer = Answer(500, ApiError(500, "error", "A server error occurred.", "").document())
            answer_headers = {}
        else:
            answer_headers = {}
        op_id = op_id or getattr(request.state, "op_id", None)
        if op_id is not None:
            self.fake.counters.statuses[(op_id, answer.status)] += 1
        content = b"" if answer.document is None else json.dumps(answer.document).encode()
        headers = {**answer_headers}
        if answer.status != 429:  # as Klaviyo: every answer but a 429 says how the window stands
            headers.update(getattr(request.state, "rate_limit_headers", {}))
        if isinstance(answer, _Html):
            content, headers["content-type"] = _HTML, "text/html"
        elif content:
            headers["content-type"] = JSONAPI_MEDIA_TYPE
        if fault is not None and fault.kind in ("drop", "truncate"):
            await _break_connection(scope, send, answer.status, headers, content, fault)
            return
        response = Response(content, status_code=answer.status, headers=headers)
        await response(scope, receive, send)

    async def _handle(
        self, request: Request, body: bytes
    ) -> tuple[str | None, Answer, Fault | None]:
        fake = self.fake
        revision = check_revision(request.headers.get("revision"), list(fake.specs))
        spec = fake.specs[revision]
        path = request.url.path.rstrip("/") or "/"
        matched = spec.match(path)
        if matched is None:
            raise not_found(f"No endpoint {path!r} in revision {revision}.")
        _, by_method, path_params = matched
        op = by_method.get(request.method.upper())
        if op is None:
            allowed = ", ".join(sorted(by_method))
            raise ApiError(
                405,
                "method_not_allowed",
                "Method not allowed.",
                f"Method {request.method!r} not allowed; allowed: {allowed}.",
                headers={"Allow": allowed},
            )
        fake.counters.requests[op.id] += 1
        request.state.op_id = op.id  # so error answers are counted under their operation too
        key = check_api_key(request.headers.get("authorization"), fake.api_keys)
        check_scopes(key, op, fake.api_keys)

        fault = fake.faults.take(op.id)
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
            fault = None
        if fault is not None and fault.kind == "throttle":
            raise throttled(
                fault.retry_after, 1.0 if float(fault.retry_after).is_integer() else 2.0
            )
        if fault is not None and fault.kind == "non_json":
            return op.id, _Html(fault.status), None
        if fault is not None and not fault.after_commit:
            if fault.kind == "status":
                raise _server_error(fault.status)
            return op.id, Answer(0), fault  # drop before doing anything

        request.state.rate_limit_headers = fake.limiter.acquire(key, op.id, op.burst, op.steady)
        check_content_type(request.headers.get("content-type"), op, body)
        query = list(request.query_params.multi_items())
        checked = (
            fake.validators[revision].validate(op.method, path, query, dict(request.headers), body)
            if fake.validate
            else None
        )
        behaviour = fake.behaviours[revision]
        now = fake.clock.now()
        data = fake.store[revision]
        behaviour.settle(data, now)
        ctx = Context(
            op=op,
            path_params=path_params,
            query=checked.query if checked else _loose_query(query),
            body=checked.body if checked else (json.loads(body) if body else None),
            data=data,
            store=fake.store,
            now=now,
            base_url=str(request.base_url).rstrip("/"),
            path=path,
            raw_query=query,
            cursors=fake.cursors,
            timings=fake.timings,
        )
        handler = behaviour.handlers.get(op.id)
        if handler is None:
            generic = documents.generic_handler(ctx, behaviour)
            if generic is None:
                raise ApiError(
                    501, "not_implemented", "Not implemented.", f"{op.id} is not served."
                )
            answer: Answer = await generic(ctx, behaviour)
        else:
            answer = await handler(ctx)
        if op.method != "GET" and 200 <= answer.status < 300:
            fake.counters.writes[op.id] += 1
        if fault is not None and fault.kind == "status":
            raise _server_error(fault.status)
        return op.id, answer, fault


class _Html(Answer):
    """A non-JSON answer, as a proxy in front of the API sends."""

    def __init__(self, status: int) -> None:
        super().__init__(status, None)


def _server_error(status: int) -> ApiError:
    titles = {500: "A server error occurred.", 502: "Bad gateway.", 503: "Service unavailable."}
    return ApiError(status, "error", titles.get(status, "Server error."), "Injected fault.")


def _loose_query(query: list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in query:
        if name.startswith("fields[") or name == "include":
            out[name] = value.split(",")
        elif name == "page[size]":
            out[name] = int(value)
        else:
            out[name] = value
    return out


async def _break_connection(
    scope: Scope, send: Send, status: int, headers: dict[str, str], content: bytes, fault: Fault
) -> None:
    transport = scope.get("extensions", {}).get(TRANSPORT_EXTENSION)
    if fault.kind == "truncate":
        headers = {**headers, "content-length": str(len(content))}
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send(
            {"type": "http.response.body", "body": content[: len(content) // 2], "more_body": True}
        )
    if transport is None:
        raise ConnectionDropped(f"fault injected: {fault.kind}")
    transport.abort()
    for _ in range(3):  # let the server see the connection go before this task returns
        await asyncio.sleep(0)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
