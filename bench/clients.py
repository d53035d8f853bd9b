"""What every measurement shares: the SDK client as a benchmark builds it, the raw baseline's
request, and a limiter that admits everything."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

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
    base_url: str, *, limiter: Limiter | None = None, http: httpx.AsyncClient | None = None
) -> AsyncIterator[Klaviyo]:
    """The SDK client on the same pool as the baseline; no rate limiter unless one is given."""
    async with http or httpx.AsyncClient(limits=LIMITS, timeout=30.0) as client:
        yield Klaviyo(
            API_KEY,
            base_url=base_url,
            http_client=client,
            limiter=limiter if limiter is not None else AdmitAll(),
            max_retries=0,
        )


def raw(base_url: str) -> httpx.AsyncClient:
    """The baseline: a bare ``httpx.AsyncClient`` with the same pool and headers."""
    return httpx.AsyncClient(base_url=base_url, headers=HEADERS, limits=LIMITS, timeout=30.0)
