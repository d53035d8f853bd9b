"""Closing the client over loopback: calls in flight end with a typed error, never a bare
``RuntimeError``; nothing is sent or retried after ``aclose()``; a write that was on the wire
says it may have been applied. And a listing abandoned after its prefetch failed logs nothing
and leaves no task behind.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from stable_bodies import campaign_body

from klaviyo_campaigns import (
    REVISIONS,
    ClientClosedError,
    Klaviyo,
    KlaviyoError,
    WriteMayHaveBeenApplied,
)
from klaviyo_campaigns._generated.operations import STABLE_OPERATIONS
from klaviyo_campaigns.testing import FakeKlaviyo

KEY = "pk_test_closing_0123456789abcdef"
HELD = 1.5  # the fake holds answers back this long: longer than any test waits for them


class Sent:
    """httpx request hook: every attempt the client started."""

    def __init__(self) -> None:
        self.count = 0

    async def __call__(self, request: httpx.Request) -> None:
        self.count += 1


@pytest.fixture
def fake() -> FakeKlaviyo:
    return FakeKlaviyo(rate_limits=False, seed=7)


@pytest_asyncio.fixture
async def url(fake: FakeKlaviyo) -> AsyncIterator[str]:
    async with fake.serve() as served:
        yield served


async def arrived(fake: FakeKlaviyo, operation: str, count: int) -> None:
    """Wait until ``count`` requests of ``operation`` reached the fake."""
    async with asyncio.timeout(10):
        while fake.counters.requests[operation] < count:  # noqa: ASYNC110 - counters, no event
            await asyncio.sleep(0.005)


def own_client(url: str, sent: Sent, **options: Any) -> Klaviyo:
    """A client that builds and owns its httpx client (as users have it), hooks added."""
    kl = Klaviyo(KEY, base_url=url, max_retries=3, backoff_base=0.001, **options)
    kl._http.event_hooks["request"].append(sent)
    return kl


async def test_closing_ends_every_call_in_flight_with_client_closed_error(
    fake: FakeKlaviyo, url: str
) -> None:
    # 50 reads: 10 on the wire (get_campaign's burst), 40 waiting for the limiter.
    [campaign_id] = fake.seed_campaigns(1)
    fake.faults.delay_next("get_campaign", HELD, times=50)
    sent = Sent()
    kl = own_client(url, sent)
    calls = [asyncio.ensure_future(kl.stable.get_campaign(campaign_id)) for _ in range(50)]
    await arrived(fake, "get_campaign", STABLE_OPERATIONS["get_campaign"].burst)
    await kl.aclose()
    assert all(call.done() for call in calls)  # aclose() returns once they are over
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert {type(result) for result in results} == {ClientClosedError}
    assert all(r.operation == "get_campaign" for r in results if isinstance(r, KlaviyoError))
    before = sent.count
    await asyncio.sleep(0.2)  # long enough for a retry's backoff (1 ms) or a limiter's wake-up
    assert sent.count == before == 10  # nothing sent, nothing retried after closing
    assert fake.counters.requests["get_campaign"] == 10


async def test_a_write_on_the_wire_may_have_been_applied_and_one_still_waiting_was_not(
    fake: FakeKlaviyo, url: str
) -> None:
    burst = STABLE_OPERATIONS["create_campaign"].burst
    fake.faults.delay_next("create_campaign", HELD, times=burst + 1)
    sent = Sent()
    kl = own_client(url, sent)
    calls = [
        asyncio.ensure_future(kl.stable.create_campaign(body=campaign_body(f"C{i}")))
        for i in range(burst + 1)
    ]
    await arrived(fake, "create_campaign", burst)
    await kl.aclose()
    results = await asyncio.gather(*calls, return_exceptions=True)
    on_the_wire = [r for r in results if isinstance(r, WriteMayHaveBeenApplied)]
    waiting = [r for r in results if type(r) is ClientClosedError]
    assert (len(on_the_wire), len(waiting)) == (burst, 1)
    assert all(isinstance(r.__cause__, ClientClosedError) for r in on_the_wire), [
        (r, r.__cause__) for r in on_the_wire
    ]
    assert sent.count == burst  # the last one was never sent, so never applied


async def test_a_call_after_closing_is_refused_without_sending(fake: FakeKlaviyo, url: str) -> None:
    sent = Sent()
    kl = own_client(url, sent)
    await kl.aclose()
    with pytest.raises(ClientClosedError):
        await kl.pre.get_campaigns()
    with pytest.raises(ClientClosedError):
        await kl.stable.create_campaign(body=campaign_body("Late"))
    assert sent.count == 0
    await kl.aclose()  # closing twice is harmless


async def test_closing_ends_calls_on_a_client_it_was_given_and_leaves_that_client_open(
    fake: FakeKlaviyo, url: str
) -> None:
    [campaign_id] = fake.seed_campaigns(1)
    fake.faults.delay_next("get_campaign", HELD)
    async with httpx.AsyncClient() as http:
        kl = Klaviyo(KEY, base_url=url, http_client=http)
        call = asyncio.ensure_future(kl.stable.get_campaign(campaign_id))
        await arrived(fake, "get_campaign", 1)
        await kl.aclose()
        with pytest.raises(ClientClosedError):
            await call
        assert not http.is_closed
        assert (await http.get(f"{url}/api/campaigns/{campaign_id}")).status_code != 0


async def test_a_given_client_closed_under_the_sdk_is_a_client_closed_error(
    fake: FakeKlaviyo, url: str
) -> None:
    [campaign_id] = fake.seed_campaigns(1)
    http = httpx.AsyncClient()
    kl = Klaviyo(KEY, base_url=url, http_client=http)
    await http.aclose()
    with pytest.raises(ClientClosedError):  # not httpx's bare RuntimeError
        await kl.stable.get_campaign(campaign_id)
    with pytest.raises(ClientClosedError) as caught:  # httpx refused it: nothing was sent
        await kl.stable.create_campaign(body=campaign_body("Closed"))
    assert not isinstance(caught.value, WriteMayHaveBeenApplied)
    assert sum(fake.counters.requests.values()) == 0


async def test_an_outside_cancellation_is_still_a_cancellation(fake: FakeKlaviyo, url: str) -> None:
    [campaign_id] = fake.seed_campaigns(1)
    fake.faults.delay_next("get_campaign", HELD)
    async with Klaviyo(KEY, base_url=url) as kl:
        call = asyncio.ensure_future(kl.stable.get_campaign(campaign_id))
        await arrived(fake, "get_campaign", 1)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call


async def test_an_abandoned_listing_whose_prefetch_failed_logs_nothing_and_leaks_no_task(
    fake: FakeKlaviyo, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="asyncio")
    fake.seed_campaigns(120, revision=REVISIONS.pre)  # two pages of 100
    async with Klaviyo(KEY, base_url=url, max_retries=0) as kl:
        before = asyncio.all_tasks()  # the test's own and the fake server's
        pages = kl.paginate(kl.pre.get_campaigns).pages()
        first = await pages.__anext__()
        # The second page's fetch has started but sent nothing yet: it meets this fault.
        fake.faults.fail_next("get_campaigns_beta", status=500)
        assert len(first.data) == 100
        prefetch = pages._ahead
        assert prefetch is not None
        await asyncio.wait([prefetch])
        assert isinstance(prefetch.exception(), KlaviyoError)
        del pages, prefetch  # abandoned: no async with, no aclose()
        gc.collect()
        await asyncio.sleep(0.05)
        assert asyncio.all_tasks() <= before
    gc.collect()
    assert "never retrieved" not in caplog.text
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []
