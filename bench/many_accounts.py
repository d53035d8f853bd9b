"""7. Many accounts in one process: 200 clients, one per API key, each listing campaigns from
the fake (in its own process, enforcing every key's limits: 10/s burst, 150/min steady for
``GET /api/campaigns``, at the fake's ``SPEEDUP``, which the SDK's ``WindowLimiter`` is given too).

Each account walks the listing (``CAMPAIGNS`` campaigns in pages of ``PAGE_SIZE``) ``walks``
times, all accounts at once, and reads ``id``, ``name`` and ``status`` of every campaign: the SDK
through ``kl.paginate(...)`` and the typed models, one ``Klaviyo(key)`` per account as a
platform would hold them (each with its own aiohttp pool); raw through one
``httpx.AsyncClient`` per account on the same aiohttp transport, following ``links.next`` and
reading the dicts from ``json.loads``. Each side uses its own keys, so neither spends the
other's quota. The figure is requests per CPU second of this process (``time.process_time``):
what one core sustains, whatever share of a core the shared machine gave it. The ratio is raw's
rate over the SDK's: how many times the CPU per request the SDK costs.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import httpx

from klaviyo_campaigns import Klaviyo, WindowLimiter

from . import progress
from .clients import FILTER, raw
from .table import Row, summarize

ACCOUNTS = 200
CAMPAIGNS = 50
PAGE_SIZE = 10
PAGES = CAMPAIGNS // PAGE_SIZE
WALKS = 3  # per account and run: about a minute for the whole row on 2 shared cores
SPEEDUP = 1.0  # the spec's own windows: 150 requests per key per minute at most


def key(side: str, account: int) -> str:
    """A distinct well-formed private key per side and account (the fake keys limits by it)."""
    return f"pk_{side}_{account:04d}".ljust(38, "0")


@dataclass(frozen=True)
class Side:
    """One side's run: requests sent, CPU seconds and wall seconds of this process."""

    requests: int
    cpu: float
    wall: float

    @property
    def per_cpu_second(self) -> float:
        """Requests per CPU second: what one core sustains."""
        return self.requests / self.cpu


async def sdk_side(base_url: str, walks: int, accounts: int) -> Side:
    """Every account walks the listing ``walks`` times through its own ``Klaviyo``."""
    clients = [
        Klaviyo(
            key("sdk", n),
            base_url=base_url,
            max_retries=0,
            limiter=WindowLimiter(burst_window=1.0 / SPEEDUP, steady_window=60.0 / SPEEDUP),
        )
        for n in range(accounts)
    ]
    read = 0

    async def account(kl: Klaviyo) -> int:
        nonlocal read
        requests = 0
        for _ in range(walks):
            pages = kl.paginate(kl.stable.get_campaigns, filter=FILTER, page_size=PAGE_SIZE)
            async for page in pages.pages():
                requests += 1
                for campaign in page.data:
                    attributes = campaign.attributes
                    values = (campaign.id, attributes.name, attributes.status)
                    read += sum(isinstance(value, str) for value in values)
        return requests

    try:
        wall, cpu = time.perf_counter(), time.process_time()
        counts = await asyncio.gather(*(account(kl) for kl in clients))
        side = Side(sum(counts), time.process_time() - cpu, time.perf_counter() - wall)
    finally:
        await asyncio.gather(*(kl.aclose() for kl in clients))
    _check(side, read, walks, accounts)
    return side


async def raw_side(base_url: str, walks: int, accounts: int) -> Side:
    """The same walks with bare httpx (aiohttp transport) + ``json.loads``, one client per key."""
    clients = [raw(base_url, transport="aiohttp") for _ in range(accounts)]
    read = 0

    async def account(n: int, http: httpx.AsyncClient) -> int:
        nonlocal read
        requests = 0
        headers = {"Authorization": f"Klaviyo-API-Key {key('raw', n)}"}
        for _ in range(walks):
            url: str | None = "/api/campaigns"
            params: dict[str, str] | None = {"filter": FILTER, "page[size]": str(PAGE_SIZE)}
            while url:
                response = await http.get(url, params=params, headers=headers)
                response.raise_for_status()
                document = json.loads(response.content)
                requests += 1
                for campaign in document["data"]:
                    attributes = campaign["attributes"]
                    values = (campaign["id"], attributes["name"], attributes["status"])
                    read += sum(isinstance(value, str) for value in values)
                url, params = document["links"].get("next"), None
        return requests

    try:
        wall, cpu = time.perf_counter(), time.process_time()
        counts = await asyncio.gather(*(account(n, http) for n, http in enumerate(clients)))
        side = Side(sum(counts), time.process_time() - cpu, time.perf_counter() - wall)
    finally:
        await asyncio.gather(*(http.aclose() for http in clients))
    _check(side, read, walks, accounts)
    return side


def _check(side: Side, read: int, walks: int, accounts: int) -> None:
    if side.requests != accounts * walks * PAGES or read != side.requests * PAGE_SIZE * 3:
        raise RuntimeError(f"expected {accounts * walks * PAGES} requests, sent {side.requests}")


async def measure(
    base_url: str, *, repeats: int, walks: int, accounts: int = ACCOUNTS
) -> list[Row]:
    """Raw/SDK requests per CPU second over ``repeats`` runs of each side, order alternating."""
    sdk_runs: list[Side] = []
    raw_runs: list[Side] = []
    for repeat in range(repeats):
        sides = [("sdk", sdk_side, sdk_runs), ("raw", raw_side, raw_runs)]
        for name, run, into in sides if repeat % 2 == 0 else reversed(sides):
            progress.note(f"repeat {repeat + 1}/{repeats}, {name}")
            into.append(await run(base_url, walks, accounts))
    ratio = summarize(
        [r.per_cpu_second / s.per_cpu_second for s, r in zip(sdk_runs, raw_runs, strict=True)]
    )
    sdk_rate = summarize([s.per_cpu_second for s in sdk_runs])
    raw_rate = summarize([r.per_cpu_second for r in raw_runs])
    wall = summarize([s.requests / s.wall for s in sdk_runs])
    requests = sdk_runs[0].requests
    return [
        Row(
            f"7. {accounts} accounts in one process, CPU per request: SDK / raw httpx+json.loads",
            f"{ratio.median:.2f}x",
            ratio.spread(),
            detail=f"{sdk_rate.median:.0f} vs {raw_rate.median:.0f} requests per CPU second; "
            f"{requests} requests of {PAGE_SIZE} campaigns per run",
        ),
        Row(
            "   SDK requests per CPU second (one core), and per wall second on this machine",
            f"{sdk_rate.median:.0f}/s",
            sdk_rate.spread("{:.0f}"),
            detail=f"{wall.median:.0f}/s wall (the fake and the machine's load share the cores)",
        ),
    ]
