"""Waiting for send jobs, estimation jobs and ``.pre`` messages, against the fake on a frozen
clock: time passes only when a concurrent task advances it, never by real sleeps of the
fake's length (the waiter's own poll interval is a few real milliseconds)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
import pytest_asyncio

from klaviyo_campaigns import REVISIONS, Klaviyo, ValidationError
from klaviyo_campaigns._generated.pre import models as pre
from klaviyo_campaigns._generated.stable import models as stable
from klaviyo_campaigns._limits import WindowLimiter
from klaviyo_campaigns.errors import TerminalStateError, WaitTimeoutError
from klaviyo_campaigns.polling import JobStatus, MessageStatus, job_status, message_status
from klaviyo_campaigns.testing import FakeClock, FakeKlaviyo

KEY = "pk_test_polling_0123456789abcdef"
PRE = REVISIONS.pre
START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
T = TypeVar("T")
POLL = 0.005  # seconds between polls: often, and a broken test fails within its timeout


@pytest.fixture
def fake() -> FakeKlaviyo:
    return FakeKlaviyo(clock=FakeClock(START, ticking=False), rate_limits=False, seed=4)


@pytest_asyncio.fixture
async def kl(fake: FakeKlaviyo) -> AsyncIterator[Klaviyo]:
    limiter = WindowLimiter(burst_window=0.001, steady_window=0.001, margin=0)
    async with (
        httpx.AsyncClient(transport=fake.transport()) as http,
        Klaviyo(KEY, base_url=fake.base_url, http_client=http, limiter=limiter) as client,
    ):
        yield client


async def while_time_passes(fake: FakeKlaviyo, wait: Awaitable[T], step: float = 2.0) -> T:
    """Await ``wait`` while another task moves the fake's clock ``step`` seconds per tick."""
    stop = asyncio.Event()

    async def tick() -> None:
        while not stop.is_set():
            await asyncio.sleep(0.002)
            fake.advance(step)

    ticker = asyncio.create_task(tick())
    try:
        return await wait
    finally:
        stop.set()
        await ticker


def send_job_body(campaign_id: str) -> Any:
    return stable.CampaignSendJobCreateQuery.from_dict(
        {"data": {"type": "campaign-send-job", "id": campaign_id}}
    )


async def stable_send(kl: Klaviyo, fake: FakeKlaviyo) -> str:
    [campaign_id] = fake.seed_campaigns(1)
    await kl.stable.send_campaign(body=send_job_body(campaign_id))
    return campaign_id  # a campaign's send job has the campaign's id


async def pre_send(kl: Klaviyo, fake: FakeKlaviyo) -> str:
    """Send a seeded .pre campaign; its message's id."""
    [campaign_id] = fake.seed_campaigns(1, revision=PRE)
    message_id = (await kl.pre.get_message_ids_for_campaign(campaign_id)).data[0].id
    await kl.pre.send_campaign(
        body=pre.CampaignSendJobCreateQuery.from_dict(
            {"data": {"type": "campaign-send-job", "id": campaign_id}}
        )
    )
    return message_id


def cancel_body(models: Any, job_id: str) -> Any:
    return models.CampaignSendJobPartialUpdateQuery.from_dict(
        {"data": {"type": "campaign-send-job", "id": job_id, "attributes": {"action": "cancel"}}}
    )


# -- send jobs --------------------------------------------------------------------------------


async def test_a_send_job_is_awaited_until_complete(kl: Klaviyo, fake: FakeKlaviyo) -> None:
    job_id = await stable_send(kl, fake)
    job = await while_time_passes(fake, kl.wait_for_send_job(job_id, interval=POLL, timeout=5))
    assert job.data.id == job_id
    assert job_status(job) is JobStatus.COMPLETE
    assert fake.counters.requests["get_campaign_send_job"] >= 2  # it polled, it did not guess


async def test_a_cancelled_send_job_raises_with_its_status(kl: Klaviyo, fake: FakeKlaviyo) -> None:
    job_id = await stable_send(kl, fake)
    await kl.stable.cancel_campaign_send(job_id, body=cancel_body(stable, job_id))
    with pytest.raises(TerminalStateError) as caught:
        await kl.wait_for_send_job(job_id, interval=POLL, timeout=5)
    assert caught.value.status == "cancelled"
    assert caught.value.resource.data.id == job_id


async def test_a_send_job_that_stays_queued_times_out(kl: Klaviyo, fake: FakeKlaviyo) -> None:
    job_id = await stable_send(kl, fake)
    with pytest.raises(WaitTimeoutError) as caught:
        await kl.wait_for_send_job(job_id, interval=0.005, timeout=0.05)
    assert caught.value.status == "queued"
    assert caught.value.timeout == 0.05


# -- recipient-estimation jobs ------------------------------------------------------------------


async def start_estimation(kl: Klaviyo, fake: FakeKlaviyo) -> str:
    [campaign_id] = fake.seed_campaigns(1)
    await kl.stable.refresh_campaign_recipient_estimation(
        body=stable.CampaignRecipientEstimationJobCreateQuery.from_dict(
            {"data": {"type": "campaign-recipient-estimation-job", "id": campaign_id}}
        )
    )
    return campaign_id


async def test_an_estimation_job_is_awaited_until_complete(kl: Klaviyo, fake: FakeKlaviyo) -> None:
    job_id = await start_estimation(kl, fake)
    job = await while_time_passes(
        fake, kl.wait_for_estimation_job(job_id, interval=POLL, timeout=5)
    )
    assert job_status(job) is JobStatus.COMPLETE
    estimate = await kl.stable.get_campaign_recipient_estimation(job_id)
    assert estimate.data.attributes.estimated_recipient_count != 0


async def test_a_cancelled_estimation_job_raises_with_its_status(
    kl: Klaviyo, fake: FakeKlaviyo
) -> None:
    job_id = await start_estimation(kl, fake)
    # No endpoint cancels an estimation; Klaviyo can. Reach into the fake's state to do it.
    fake.stable.require("campaign-recipient-estimation-job", job_id).internal["cancelled"] = True
    with pytest.raises(TerminalStateError) as caught:
        await kl.wait_for_estimation_job(job_id, interval=POLL, timeout=5)
    assert caught.value.status == "cancelled"


async def test_an_estimation_job_that_stays_queued_times_out(
    kl: Klaviyo, fake: FakeKlaviyo
) -> None:
    job_id = await start_estimation(kl, fake)
    with pytest.raises(WaitTimeoutError) as caught:
        await kl.wait_for_estimation_job(job_id, interval=0.005, timeout=0.05)
    assert caught.value.status == "queued"


# -- .pre campaign messages -----------------------------------------------------------------


async def test_a_message_is_awaited_until_sent(kl: Klaviyo, fake: FakeKlaviyo) -> None:
    message_id = await pre_send(kl, fake)
    message = await while_time_passes(
        fake, kl.wait_for_message(message_id, interval=POLL, timeout=5)
    )
    assert message.data.id == message_id
    assert message_status(message) is MessageStatus.SENT


async def test_a_message_is_awaited_until_scheduled(kl: Klaviyo, fake: FakeKlaviyo) -> None:
    message_id = await pre_send(kl, fake)
    message = await kl.wait_for_message(message_id, "SCHEDULED", interval=POLL, timeout=5)
    assert message_status(message) is MessageStatus.SCHEDULED


async def test_a_cancelled_message_raises_with_its_status(kl: Klaviyo, fake: FakeKlaviyo) -> None:
    [campaign_id] = fake.seed_campaigns(1, revision=PRE)
    message_id = (await kl.pre.get_message_ids_for_campaign(campaign_id)).data[0].id
    await kl.pre.send_campaign(
        body=pre.CampaignSendJobCreateQuery.from_dict(
            {"data": {"type": "campaign-send-job", "id": campaign_id}}
        )
    )
    await kl.pre.cancel_campaign_send(campaign_id, body=cancel_body(pre, campaign_id))
    with pytest.raises(TerminalStateError) as caught:
        await kl.wait_for_message(message_id, interval=POLL, timeout=5)
    assert caught.value.status == "cancelled"


async def test_a_message_past_its_target_raises(kl: Klaviyo, fake: FakeKlaviyo) -> None:
    message_id = await pre_send(kl, fake)
    fake.advance(3600)  # sent long ago: it can never be "scheduled" again
    with pytest.raises(TerminalStateError) as caught:
        await kl.wait_for_message(message_id, MessageStatus.SCHEDULED, interval=POLL, timeout=5)
    assert caught.value.status == "sent"


async def test_a_draft_message_times_out(kl: Klaviyo, fake: FakeKlaviyo) -> None:
    [campaign_id] = fake.seed_campaigns(1, revision=PRE)
    message_id = (await kl.pre.get_message_ids_for_campaign(campaign_id)).data[0].id
    with pytest.raises(WaitTimeoutError) as caught:
        await kl.wait_for_message(message_id, interval=0.005, timeout=0.05)
    assert caught.value.status == "draft"


async def test_an_unknown_target_is_a_validation_error(kl: Klaviyo) -> None:
    with pytest.raises(ValidationError, match="delivered"):
        await kl.wait_for_message("ID", "delivered")


@pytest.mark.parametrize(
    "attributes",
    [{"status": "SENT"}, {"definition": {"status": "sent"}}],
    ids=["overview", "published"],
)
def test_message_status_reads_either_place_and_case(attributes: dict[str, Any]) -> None:
    assert message_status({"data": {"attributes": attributes}}) is MessageStatus.SENT


@pytest.mark.parametrize(
    "attributes",
    [
        {"status": "SENT"},
        {"definition": {"status": "sent"}},
        {"definition": None, "status": "SENT"},
    ],
    ids=["overview", "published", "null definition"],
)
def test_message_status_reads_a_model_either_place(attributes: dict[str, Any]) -> None:
    from klaviyo_campaigns.models.pre import CampaignMessageDocument

    links = {"self": "https://a.klaviyo.com/api/campaign-messages/M1/"}
    message = {"type": "campaign-message", "id": "M1", "attributes": attributes, "links": links}
    document = CampaignMessageDocument.from_dict({"data": message, "links": links})
    assert message_status(document) is MessageStatus.SENT


# -- how it polls ---------------------------------------------------------------------------


async def test_the_poll_interval_backs_off(fake: FakeKlaviyo) -> None:
    # The wait between an answer and the next poll is the backoff itself: measuring it from the
    # answer (not from the previous request) keeps each request's own time, which varies under
    # load, out of the comparison.
    sent: list[float] = []
    answered: list[float] = []

    async def on_request(request: httpx.Request) -> None:
        sent.append(time.monotonic())

    async def on_response(response: httpx.Response) -> None:
        answered.append(time.monotonic())

    job_id = None
    hooks = {"request": [on_request], "response": [on_response]}
    async with (
        httpx.AsyncClient(transport=fake.transport(), event_hooks=hooks) as h,
        Klaviyo(KEY, base_url=fake.base_url, http_client=h) as kl,
    ):
        job_id = await stable_send(kl, fake)
        sent.clear()
        answered.clear()
        with pytest.raises(WaitTimeoutError):
            await kl.wait_for_send_job(job_id, interval=0.04, timeout=0.6, factor=2.0)
    waits = [after - before for before, after in zip(answered, sent[1:], strict=False)]
    assert len(waits) >= 3
    assert all(later > earlier * 1.5 for earlier, later in itertools.pairwise(waits))


async def test_cancelling_the_waiter_stops_polling_at_once(kl: Klaviyo, fake: FakeKlaviyo) -> None:
    job_id = await stable_send(kl, fake)

    def polls() -> int:
        return fake.counters.requests["get_campaign_send_job"]

    waiter = asyncio.create_task(kl.wait_for_send_job(job_id, interval=0.005, timeout=60))
    while polls() < 3:  # noqa: ASYNC110 - the fake's counter has no event to wait on
        await asyncio.sleep(0.001)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(waiter, 0.1)  # promptly, not after a poll interval or timeout
    after_cancel = polls()
    await asyncio.sleep(0.05)  # ten poll intervals
    assert polls() == after_cancel
