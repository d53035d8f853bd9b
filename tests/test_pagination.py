"""Cursor pagination through the client against the fake: every item once and in order,
one page fetched ahead and never more, and nothing left running when the caller stops."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio

from klaviyo_campaigns import REVISIONS, Klaviyo, ValidationError
from klaviyo_campaigns._generated.stable.types import UNSET
from klaviyo_campaigns._limits import WindowLimiter
from klaviyo_campaigns.pagination import Paginator
from klaviyo_campaigns.testing import FakeKlaviyo

KEY = "pk_test_pages_0123456789abcdef"
CHANNEL = "equals(messages.channel,'email')"
PRE = REVISIONS.pre
PAGE = 100  # the fake's (and Klaviyo's) default page size for campaigns


def unlimited() -> WindowLimiter:
    """Limits shrunk to nothing: these tests are about paging, not pacing."""
    return WindowLimiter(burst_window=0.001, steady_window=0.001, margin=0)


def others() -> set[asyncio.Task[object]]:
    """The client side's tasks but the running one (the loopback server's are not ours)."""
    return {
        task
        for task in asyncio.all_tasks() - {asyncio.current_task()}
        if "uvicorn" not in task.get_coro().cr_code.co_filename  # type: ignore[union-attr]
    }


async def quiet() -> None:
    """Let cancelled tasks run to their end (a cancellation takes effect at the next tick)."""
    for _ in range(5):
        await asyncio.sleep(0)


def busy_connections(kl: Klaviyo) -> list[object]:
    pool = kl._http._transport._pool  # type: ignore[attr-defined]
    return [c for c in pool.connections if not (c.is_idle() or c.is_closed())]


@pytest.fixture
def fake() -> FakeKlaviyo:
    return FakeKlaviyo(rate_limits=False, seed=9)


@pytest_asyncio.fixture
async def kl(fake: FakeKlaviyo) -> AsyncIterator[Klaviyo]:
    """A client reaching the fake in-process."""
    async with (
        httpx.AsyncClient(transport=fake.transport()) as http,
        Klaviyo(KEY, base_url=fake.base_url, http_client=http, limiter=unlimited()) as client,
    ):
        yield client


@pytest_asyncio.fixture
async def kl_loopback(fake: FakeKlaviyo) -> AsyncIterator[Klaviyo]:
    """A client reaching the fake over loopback HTTP."""
    async with (
        fake.serve() as url,
        httpx.AsyncClient() as http,
        Klaviyo(KEY, base_url=url, http_client=http, limiter=unlimited()) as client,
    ):
        yield client


# -- complete, in order, no duplicates --------------------------------------------------------


async def test_2500_campaigns_arrive_complete_and_in_order_as_items(
    fake: FakeKlaviyo, kl_loopback: Klaviyo
) -> None:
    ids = fake.seed_campaigns(2500)
    listed = [
        c.id async for c in kl_loopback.paginate(kl_loopback.stable.get_campaigns, filter=CHANNEL)
    ]
    assert listed == ids
    assert fake.counters.requests["get_campaigns"] == 25


async def test_2500_campaigns_arrive_complete_and_in_order_as_pages(
    fake: FakeKlaviyo, kl: Klaviyo
) -> None:
    ids = fake.seed_campaigns(2500)
    pages = [page async for page in kl.paginate(kl.stable.get_campaigns, filter=CHANNEL).pages()]
    assert [len(page.data) for page in pages] == [PAGE] * 25
    assert [c.id for page in pages for c in page.data] == ids


async def test_pre_campaigns_page_the_same_way(fake: FakeKlaviyo, kl: Klaviyo) -> None:
    ids = fake.seed_campaigns(250, revision=PRE)
    listed = [c.id async for c in kl.paginate(kl.pre.get_campaigns)]
    assert sorted(listed) == sorted(ids)
    assert len(set(listed)) == 250


async def test_the_arguments_go_to_every_page(fake: FakeKlaviyo, kl: Klaviyo) -> None:
    fake.seed_campaigns(250)
    pages = kl.paginate(kl.stable.get_campaigns, filter=CHANNEL, fields_campaign=["name"])
    async for campaign in pages:
        assert campaign.attributes.name
        assert campaign.attributes.status is UNSET  # sparse: only the name was asked for


async def test_a_failed_page_is_retried_like_any_call(fake: FakeKlaviyo, kl: Klaviyo) -> None:
    ids = fake.seed_campaigns(250)
    kl._sender._backoff_base = 0.001  # the fixture's client; Klaviyo(backoff_base=) otherwise
    fake.faults.fail_next("get_campaigns", status=503)
    assert [c.id async for c in kl.paginate(kl.stable.get_campaigns, filter=CHANNEL)] == ids
    assert fake.counters.requests["get_campaigns"] == 4


# -- limit= -----------------------------------------------------------------------------------


async def test_items_limit_stops_after_that_many(fake: FakeKlaviyo, kl: Klaviyo) -> None:
    ids = fake.seed_campaigns(500)
    listed = [
        c.id async for c in kl.paginate(kl.stable.get_campaigns, filter=CHANNEL).items(limit=150)
    ]
    assert listed == ids[:150]
    assert fake.counters.requests["get_campaigns"] <= 3  # two pages and at most one ahead
    await quiet()
    assert others() == set()


async def test_items_limit_zero_fetches_nothing(fake: FakeKlaviyo, kl: Klaviyo) -> None:
    fake.seed_campaigns(10)
    assert [
        c async for c in kl.paginate(kl.stable.get_campaigns, filter=CHANNEL).items(limit=0)
    ] == []
    assert fake.counters.requests["get_campaigns"] == 0


async def test_a_negative_limit_is_a_validation_error(kl: Klaviyo) -> None:
    with pytest.raises(ValidationError):
        kl.paginate(kl.stable.get_campaigns, filter=CHANNEL).items(limit=-1)


# -- stopping early ---------------------------------------------------------------------------


async def test_breaking_out_leaves_no_pending_task_or_busy_connection(
    fake: FakeKlaviyo, kl_loopback: Klaviyo
) -> None:
    fake.seed_campaigns(500)
    fake.faults.delay_next("get_campaigns", 0.3, times=5)  # the prefetch is in flight
    async for _ in kl_loopback.paginate(kl_loopback.stable.get_campaigns, filter=CHANNEL):
        break
    await quiet()
    assert others() == set()
    assert busy_connections(kl_loopback) == []


async def test_aclose_cancels_the_prefetch_and_releases_its_connection(
    fake: FakeKlaviyo, kl_loopback: Klaviyo
) -> None:
    fake.seed_campaigns(500)
    fake.faults.delay_next("get_campaigns", 0.3, times=5)
    items = kl_loopback.paginate(kl_loopback.stable.get_campaigns, filter=CHANNEL).items()
    await items.__anext__()
    assert len(others()) == 1  # the next page, being fetched
    await items.aclose()
    assert others() == set()  # aclose waits for the cancellation itself
    assert busy_connections(kl_loopback) == []


async def test_cancelling_the_consumer_cancels_the_prefetch(
    fake: FakeKlaviyo, kl_loopback: Klaviyo
) -> None:
    fake.seed_campaigns(500)
    fake.faults.delay_next("get_campaigns", 0.3, times=5)
    first_page = asyncio.Event()

    async def consume() -> None:
        async for _ in kl_loopback.paginate(
            kl_loopback.stable.get_campaigns, filter=CHANNEL
        ).pages():
            first_page.set()
            await asyncio.Event().wait()  # works on the page forever

    consumer = asyncio.create_task(consume())
    await first_page.wait()
    assert len(others()) == 2  # the consumer and its prefetch
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    await quiet()
    assert others() == set()
    assert busy_connections(kl_loopback) == []


async def test_cancelling_the_consumer_while_it_waits_for_a_page(
    fake: FakeKlaviyo, kl_loopback: Klaviyo
) -> None:
    fake.seed_campaigns(500)
    fake.faults.delay_next("get_campaigns", 0.5, times=5)

    async def consume() -> None:
        async for _ in kl_loopback.paginate(kl_loopback.stable.get_campaigns, filter=CHANNEL):
            pass

    consumer = asyncio.create_task(consume())
    await asyncio.sleep(0.05)  # the first page is in flight
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    await quiet()
    assert others() == set()
    assert busy_connections(kl_loopback) == []


# -- one page ahead ---------------------------------------------------------------------------


async def test_never_more_than_one_page_ahead(fake: FakeKlaviyo, kl: Klaviyo) -> None:
    fake.seed_campaigns(1000)
    seen = 0
    async for _ in kl.paginate(kl.stable.get_campaigns, filter=CHANNEL).pages():
        seen += 1
        await asyncio.sleep(0.01)  # the caller works on the page; the next one arrives
        assert fake.counters.requests["get_campaigns"] <= seen + 1
    assert seen == 10


async def test_the_next_page_is_fetched_while_the_caller_works_on_this_one() -> None:
    """Ordering, not wall time: page k+1's fetch starts before the caller is done with page k,
    and finishes while the caller still holds page k (the work overlaps)."""
    events: list[str] = []

    async def fetch(cursor: str | None) -> Any:
        k = 0 if cursor is None else int(cursor)
        events.append(f"fetch {k} start")
        await asyncio.sleep(0)  # the server's time: a real suspension point
        events.append(f"fetch {k} done")
        return _Page([f"item {k}"], None if k == 3 else f"https://x/?page%5Bcursor%5D={k + 1}")

    async for page in Paginator(fetch).pages():
        k = int(page.data[0].split()[1])
        events.append(f"work {k} start")
        for _ in range(3):
            await asyncio.sleep(0)  # the caller's time
        events.append(f"work {k} done")
    for k in range(3):
        assert events.index(f"fetch {k + 1} start") < events.index(f"work {k} done")
        assert events.index(f"fetch {k + 1} done") < events.index(f"work {k} done")
    assert events.index("fetch 2 start") > events.index("work 0 start")  # one ahead, no more


# -- what can be paginated ----------------------------------------------------------------------


async def test_a_method_that_is_not_paginated_is_a_validation_error(kl: Klaviyo) -> None:
    with pytest.raises(ValidationError, match="not cursor-paginated"):
        kl.paginate(kl.stable.get_campaign, "ID")  # type: ignore[arg-type]  # mypy knows too


async def test_a_page_cursor_of_ones_own_is_a_validation_error(kl: Klaviyo) -> None:
    with pytest.raises(ValidationError, match="page_cursor"):
        kl.paginate(kl.stable.get_campaigns, filter=CHANNEL, page_cursor="abc")


@dataclass
class _Links:
    next_: str | None


class _Page:
    """A collection document reduced to what the paginator reads."""

    def __init__(self, data: list[str], next_url: str | None) -> None:
        self.data = data
        self.links = _Links(next_url)


async def test_async_with_cancels_the_prefetch_on_leaving_the_block() -> None:
    started = asyncio.Event()
    cancelled = asyncio.Event()

    async def fetch(cursor: str | None) -> Any:
        if cursor is None:
            return _Page(["a", "b"], "https://x/?page%5Bcursor%5D=next")
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        raise AssertionError("not reached")

    async with Paginator(fetch).items() as items:
        async for item in items:
            await started.wait()
            assert item == "a"
            break
    assert cancelled.is_set()
