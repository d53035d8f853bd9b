"""What every measurement shares: the SDK client as a benchmark builds it, the raw baseline's
request, and a limiter that admits everything.

``transport`` picks what sends: ``"httpcore"`` (httpx's default transport, on an injected plain
``httpx.AsyncClient``) or ``"aiohttp"`` (the SDK's own client, ``Klaviyo(max_connections=100)``;
for the raw baseline, httpx with ``httpx_aiohttp.AiohttpTransport`` as a user would set it up).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

import httpx
from httpx_aiohttp import AiohttpTransport

from klaviyo_campaigns import REVISIONS, Klaviyo
from klaviyo_campaigns._limits import Bucket, Limiter

API_KEY = "pk_bench_0000000000000000000000000000"
FILTER = "equals(messages.channel,'email')"
STABLE = REVISIONS.stable
HEADERS = {
    "Authorization": f"Klaviyo-API-Key {API_KEY}",
    "Accept": "application/vnd.api+json",
    "revision": STABLE,
}
LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100)
Transport = Literal["httpcore", "aiohttp"]


class AdmitAll:
    """A ``Limiter`` that never waits: where the rate limiter must not be what is measured."""

    async def acquire(self, bucket: Bucket) -> None:
        """Admit at once."""

    def release(self, bucket: Bucket) -> None:
        """Nothing to release."""

    async def pause(self, bucket: Bucket, seconds: float) -> None:
        """Ignore: the benchmark servers never answer 429 where this is used."""


@asynccontextmanager
async def sdk(
    base_url: str,
    *,
    limiter: Limiter | None = None,
    http: httpx.AsyncClient | None = None,
    transport: Transport = "httpcore",
) -> AsyncIterator[Klaviyo]:
    """The SDK client on the same pool as the baseline; no rate limiter unless one is given."""
    if transport == "aiohttp" and http is None:  # the client the SDK builds for itself
        async with Klaviyo(
            API_KEY,
            base_url=base_url,
            timeout=30.0,
            max_connections=LIMITS.max_connections,
            limiter=limiter if limiter is not None else AdmitAll(),
            max_retries=0,
        ) as kl:
            yield kl
        return
    async with http or httpx.AsyncClient(limits=LIMITS, timeout=30.0) as client:
        yield Klaviyo(
            API_KEY,
            base_url=base_url,
            http_client=client,
            limiter=limiter if limiter is not None else AdmitAll(),
            max_retries=0,
        )


def raw(base_url: str, *, transport: Transport = "httpcore") -> httpx.AsyncClient:
    """The baseline: a bare ``httpx.AsyncClient`` with the same pool and headers."""
    on = AiohttpTransport(limits=LIMITS) if transport == "aiohttp" else None
    return httpx.AsyncClient(
        base_url=base_url, headers=HEADERS, limits=LIMITS, timeout=30.0, transport=on
    )
