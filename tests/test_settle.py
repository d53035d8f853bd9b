"""Settling writes that may have been applied, against the fake over loopback HTTP.

Two halves. Where Klaviyo's answer settles it, the SDK does: a guarded write (send, schedule,
cancel / revert) is sent again, and a 409 is then read back (``Decision.CONFIRM``) to tell "an
earlier attempt applied it" from "refused for another reason". For creates and clones, which no
answer settles, ``klaviyo_campaigns.settle`` waits out the server's commit horizon before it
trusts a lookup that found nothing; the fake's ``delay_next`` commits the write after the client
has given up, the race in which a lookup right away found 0 campaigns and a second later 2.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
import pytest_asyncio

from klaviyo_campaigns import (
    REVISIONS,
    ConflictError,
    Klaviyo,
    ServerError,
    TimeoutError,
    ValidationError,
    WriteMayHaveBeenApplied,
)
from klaviyo_campaigns.filters import F
from klaviyo_campaigns.models import pre as pre_models
from klaviyo_campaigns.models import stable
from klaviyo_campaigns.settle import settle, write_once
from klaviyo_campaigns.testing import FakeKlaviyo

KEY = "pk_test_settle_0123456789abcdef"
PRE = REVISIONS.pre
STABLE = REVISIONS.stable
READ_TIMEOUT = 0.15
SLOW = 0.4  # the server commits this long after the request arrived: past READ_TIMEOUT
HORIZON = SLOW + 0.3  # the fake's commit horizon in these tests: no write commits later


@pytest.fixture
def fake() -> FakeKlaviyo:
    return FakeKlaviyo(rate_limits=False, seed=18)


@pytest_asyncio.fixture
async def url(fake: FakeKlaviyo) -> AsyncIterator[str]:
    async with fake.serve() as served:
        yield served


@asynccontextmanager
async def client(url: str, *, max_retries: int = 3) -> AsyncIterator[Klaviyo]:
    timeout = httpx.Timeout(5.0, read=READ_TIMEOUT)
    async with (
        httpx.AsyncClient(timeout=timeout) as http,
        Klaviyo(
            KEY,
            base_url=url,
            http_client=http,
            max_retries=max_retries,
            backoff_base=0.005,
            backoff_cap=0.04,
        ) as kl,
    ):
        yield kl


async def drained(fake: FakeKlaviyo) -> None:
    """Let the handlers the client gave up on finish (the fake holds them SLOW seconds)."""
    await asyncio.sleep(SLOW + 0.1)


def send_body(campaign_id: str) -> stable.CampaignSendJobCreateQuery:
    return stable.CampaignSendJobCreateQuery.from_dict(
        {"data": {"type": "campaign-send-job", "id": campaign_id}}
    )


def cancel_body(campaign_id: str, action: str) -> stable.CampaignSendJobPartialUpdateQuery:
    return stable.CampaignSendJobPartialUpdateQuery.from_dict(
        {"data": {"type": "campaign-send-job", "id": campaign_id, "attributes": {"action": action}}}
    )


def campaign_status(fake: FakeKlaviyo, campaign_id: str) -> str:
    fake.settle()
    return str(fake.stable.require("campaign", campaign_id).internal["status"])


# -- guarded writes: the SDK settles them from Klaviyo's answers ------------------------------


async def test_a_send_whose_first_attempt_applied_returns_its_job(
    fake: FakeKlaviyo, url: str
) -> None:
    """503 after the send was applied; the retry gets 409 (not a draft any more); the job read
    back is queued: applied, and answered with that job."""
    [campaign_id] = fake.seed_campaigns(1)
    fake.faults.fail_next("send_campaign", status=503, after_commit=True)
    async with client(url) as kl:
        job = await kl.stable.send_campaign(body=send_body(campaign_id))
    assert job.data.id == campaign_id
    assert job.data.attributes.status == "queued"
    assert fake.counters.requests["send_campaign"] == 2
    assert fake.counters.statuses[("send_campaign", 409)] == 1
    assert fake.counters.requests["get_campaign_send_job"] == 1
    assert fake.counters.writes["send_campaign"] == 1  # sent once


async def test_a_send_committed_after_the_client_timed_out_is_sent_once(
    fake: FakeKlaviyo, url: str
) -> None:
    """The first attempt times out and commits later; the retry arrives first and sends. The
    late one then finds no draft: one send, reported as a success."""
    [campaign_id] = fake.seed_campaigns(1)
    fake.faults.delay_next("send_campaign", SLOW)
    async with client(url) as kl:
        job = await kl.stable.send_campaign(body=send_body(campaign_id))
    await drained(fake)
    assert job.data.id == campaign_id
    assert fake.counters.requests["send_campaign"] == 2
    assert fake.counters.writes["send_campaign"] == 1
    assert fake.counters.statuses[("send_campaign", 409)] == 1  # the late attempt, refused


async def test_a_send_refused_for_another_reason_stays_uncertain(
    fake: FakeKlaviyo, url: str
) -> None:
    """A 409 alone proves nothing: here the campaign was sent and cancelled before, so the job
    read back is cancelled, not this call's. The caller still hears "may have been applied"."""
    [campaign_id] = fake.seed_campaigns(1)
    async with client(url) as kl:
        await kl.stable.send_campaign(body=send_body(campaign_id))
        await kl.stable.cancel_campaign_send(campaign_id, body=cancel_body(campaign_id, "cancel"))
        fake.faults.fail_next("send_campaign", status=503)  # not applied, but who can tell
        with pytest.raises(WriteMayHaveBeenApplied) as caught:
            await kl.stable.send_campaign(body=send_body(campaign_id))
    assert isinstance(caught.value.__cause__, ConflictError)
    assert fake.counters.writes["send_campaign"] == 1
    assert fake.counters.requests["get_campaign_send_job"] == 1


async def test_a_send_refused_on_its_first_attempt_is_a_plain_conflict(
    fake: FakeKlaviyo, url: str
) -> None:
    [campaign_id] = fake.seed_campaigns(1)
    async with client(url) as kl:
        await kl.stable.send_campaign(body=send_body(campaign_id))
        with pytest.raises(ConflictError):
            await kl.stable.send_campaign(body=send_body(campaign_id))
    assert fake.counters.requests["get_campaign_send_job"] == 0  # nothing to settle


@pytest.mark.parametrize(("action", "status"), [("cancel", "Cancelled"), ("revert", "Draft")])
async def test_a_cancel_or_revert_whose_first_attempt_applied_reports_success(
    fake: FakeKlaviyo, url: str, action: str, status: str
) -> None:
    [campaign_id] = fake.seed_campaigns(1)
    async with client(url) as kl:
        await kl.stable.send_campaign(body=send_body(campaign_id))
        fake.faults.drop_next("cancel_campaign_send", after_commit=True)
        await kl.stable.cancel_campaign_send(campaign_id, body=cancel_body(campaign_id, action))
    assert campaign_status(fake, campaign_id) == status
    assert fake.counters.requests["cancel_campaign_send"] == 2
    assert fake.counters.writes["cancel_campaign_send"] == 1
    assert fake.counters.requests["get_campaign"] == 1


async def test_a_revert_refused_because_the_campaign_is_sending_stays_uncertain(
    fake: FakeKlaviyo, url: str
) -> None:
    [campaign_id] = fake.seed_campaigns(1)
    async with client(url) as kl:
        await kl.stable.send_campaign(body=send_body(campaign_id))
        fake.advance(10)  # sending now: too late to revert
        fake.faults.fail_next("cancel_campaign_send", status=503)
        with pytest.raises(WriteMayHaveBeenApplied) as caught:
            await kl.stable.cancel_campaign_send(
                campaign_id, body=cancel_body(campaign_id, "revert")
            )
    assert isinstance(caught.value.__cause__, ConflictError)
    assert campaign_status(fake, campaign_id) == "Sending"


async def test_a_pre_message_cancel_whose_first_attempt_applied_reports_success(
    fake: FakeKlaviyo, url: str
) -> None:
    [campaign_id] = fake.seed_campaigns(1, revision=PRE)
    [message] = [m for m in fake.records(PRE, "campaign-message")]
    schedule = pre_models.CampaignMessageScheduleQuery.from_dict(
        {
            "data": {
                "type": "campaign-message-schedule",
                "attributes": {"strategy": "static"},
                "relationships": {
                    "campaign-message": {"data": {"type": "campaign-message", "id": message.id}}
                },
            }
        }
    )
    cancel = pre_models.CampaignMessageScheduleUpdateQuery.from_dict(
        {
            "data": {
                "type": "campaign-message-schedule",
                "id": message.id,
                "attributes": {"action": "cancel"},
            }
        }
    )
    async with client(url) as kl:
        fake.faults.fail_next("schedule_campaign_message_beta", status=502)  # before commit
        await kl.pre.schedule_campaign_message(body=schedule)  # retried: guarded
        fake.faults.fail_next(
            "update_campaign_message_schedule_beta", status=502, after_commit=True
        )
        await kl.pre.update_campaign_message_schedule(message.id, body=cancel)
    assert campaign_id
    assert fake.counters.writes["schedule_campaign_message_beta"] == 1
    assert fake.counters.writes["update_campaign_message_schedule_beta"] == 1
    assert fake.counters.requests["get_campaign_message_beta"] == 1
    assert message.internal["status"] == "CANCELLED"


# -- creates: settle waits out the commit horizon ---------------------------------------------


def create_body(name: str) -> pre_models.CampaignCreateQuery:
    return pre_models.CampaignCreateQuery.from_dict(
        {
            "data": {
                "type": "campaign",
                "attributes": {
                    "definition": {"name": name, "builder": "wizard"},
                    "audiences": [{"temporary_id": "all", "included": ["LIST1"], "excluded": []}],
                    "messages": [],
                },
            }
        }
    )


def names(fake: FakeKlaviyo) -> Counter[str]:
    return Counter(str(c.attributes["definition"]["name"]) for c in fake.records(PRE, "campaign"))


async def test_looking_right_away_then_creating_again_makes_two(
    fake: FakeKlaviyo, url: str
) -> None:
    """The race of the issue, reproduced: the lookup runs before the late commit."""
    fake.faults.delay_next("create_campaign_beta", SLOW)
    async with client(url) as kl:
        with pytest.raises(WriteMayHaveBeenApplied) as caught:
            await kl.pre.create_campaign(body=create_body("Launch"))
        assert isinstance(caught.value.__cause__, TimeoutError)
        found = await kl.pre.get_campaigns(filter=F.contains("name", "Launch"))
        assert found.data == []  # "not there": wrong, it is still being committed
        await kl.pre.create_campaign(body=create_body("Launch"))
    await drained(fake)
    assert names(fake) == Counter({"Launch": 2})


async def test_settle_finds_a_create_committed_after_the_client_timed_out(
    fake: FakeKlaviyo, url: str
) -> None:
    marker = uuid.uuid4().hex[:12]
    fake.faults.delay_next("create_campaign_beta", SLOW)
    async with client(url) as kl:

        async def find() -> str | None:
            page = await kl.pre.get_campaigns(filter=F.contains("name", marker))
            return page.data[0].id if page.data else None

        with pytest.raises(WriteMayHaveBeenApplied) as caught:
            await kl.pre.create_campaign(body=create_body(f"Launch [{marker}]"))
        assert caught.value.sent_at is not None
        found = await settle(caught.value, find, horizon=HORIZON, interval=0.05)
    assert found is not None
    assert names(fake) == Counter({f"Launch [{marker}]": 1})
    assert [c.id for c in fake.records(PRE, "campaign")] == [found]


async def test_settle_trusts_not_found_only_after_the_horizon(fake: FakeKlaviyo, url: str) -> None:
    fake.faults.fail_next("create_campaign_beta", status=503)  # refused before the write
    lookups: list[float] = []
    async with client(url) as kl:

        async def find() -> str | None:
            lookups.append(time.monotonic())
            page = await kl.pre.get_campaigns(filter=F.contains("name", "Never"))
            return page.data[0].id if page.data else None

        with pytest.raises(WriteMayHaveBeenApplied) as caught:
            await kl.pre.create_campaign(body=create_body("Never"))
        assert isinstance(caught.value.__cause__, ServerError)
        assert await settle(caught.value, find, horizon=HORIZON, interval=0.1) is None
    sent_at = caught.value.sent_at
    assert sent_at is not None
    assert lookups[-1] >= sent_at + HORIZON  # the "not found" that counted came after it
    assert len(lookups) >= 2


@pytest.mark.parametrize(
    "fault", ["late-commit", "applied-then-503", "refused-503", "dropped-before-commit"]
)
async def test_write_once_creates_exactly_one(fake: FakeKlaviyo, url: str, fault: str) -> None:
    marker = uuid.uuid4().hex[:12]
    if fault == "late-commit":
        fake.faults.delay_next("create_campaign_beta", SLOW)
    elif fault == "applied-then-503":
        fake.faults.fail_next("create_campaign_beta", status=503, after_commit=True)
    elif fault == "refused-503":
        fake.faults.fail_next("create_campaign_beta", status=503)
    else:
        fake.faults.drop_next("create_campaign_beta")
    async with client(url) as kl:

        async def create() -> str:
            return (await kl.pre.create_campaign(body=create_body(f"Launch [{marker}]"))).data.id

        async def find() -> str | None:
            page = await kl.pre.get_campaigns(filter=F.contains("name", marker))
            return page.data[0].id if page.data else None

        campaign_id = await write_once(create, find, horizon=HORIZON, interval=0.05)
    await drained(fake)
    assert names(fake) == Counter({f"Launch [{marker}]": 1})
    assert [c.id for c in fake.records(PRE, "campaign")] == [campaign_id]
    sends = 1 if fault in ("late-commit", "applied-then-503") else 2
    assert fake.counters.requests["create_campaign_beta"] == sends


async def test_write_once_gives_up_with_the_failure_once_each_attempt_was_not_applied(
    fake: FakeKlaviyo, url: str
) -> None:
    fake.faults.fail_next("create_campaign_beta", 2, status=503)
    async with client(url) as kl:

        async def create() -> str:
            return (await kl.pre.create_campaign(body=create_body("Twice"))).data.id

        async def find() -> str | None:
            return None

        with pytest.raises(ServerError) as caught:  # settled: not applied, so a plain 503
            await write_once(create, find, horizon=0.05, interval=0.01, attempts=2)
    assert isinstance(caught.value.__cause__, WriteMayHaveBeenApplied)
    assert fake.counters.requests["create_campaign_beta"] == 2
    assert names(fake) == Counter()


async def test_settle_and_write_once_check_their_arguments() -> None:
    error = WriteMayHaveBeenApplied("x", operation="o", method="POST", path="/p", sent_at=0.0)

    async def find() -> None:
        return None

    sent: list[str] = []

    async def write() -> str:
        sent.append("write")
        return "sent"

    for bad in ({"horizon": -1}, {"horizon": float("nan")}, {"horizon": "60"}):
        with pytest.raises(ValidationError, match="horizon"):
            await settle(error, find, **bad)  # type: ignore[arg-type]
        with pytest.raises(ValidationError, match="horizon"):
            await write_once(write, find, **bad)  # type: ignore[arg-type]
    for bad in ({"interval": 0}, {"interval": True}):
        with pytest.raises(ValidationError, match="interval"):
            await settle(error, find, **bad)  # type: ignore[arg-type]
    for attempts in (0, 1.5, True):
        with pytest.raises(ValidationError, match="attempts"):
            await write_once(write, find, attempts=attempts)  # type: ignore[arg-type]
    assert sent == []  # refused before anything was sent
    assert await write_once(write, find) == "sent"


async def test_under_random_faults_write_once_creates_each_campaign_exactly_once(
    fake: FakeKlaviyo, url: str
) -> None:
    """The issue's fault run, settled: 5xx before and after the write, dropped connections
    before and after it, truncated answers and late commits. A plain create ends "may have
    been applied" under each of these; with ``write_once`` every call ends with its campaign,
    the store holds each one exactly once, and only the ones refused before the write were sent
    again."""
    calls = 60
    rng = random.Random(18)
    kinds = Counter[str]()
    for _ in range(calls):
        kind = rng.choice(["none", "5xx", "5xx-applied", "drop", "drop-applied", "slow", "cut"])
        kinds[kind] += 1
        if kind == "5xx":
            fake.faults.fail_next("create_campaign_beta", status=503)
        elif kind == "5xx-applied":
            fake.faults.fail_next("create_campaign_beta", status=500, after_commit=True)
        elif kind in ("drop", "drop-applied"):
            fake.faults.drop_next("create_campaign_beta", after_commit=kind == "drop-applied")
        elif kind == "slow":
            fake.faults.delay_next("create_campaign_beta", SLOW)
        elif kind == "cut":
            fake.faults.truncate_next("create_campaign_beta")
    fake.validate = False  # spec validation is not under test here, and costs time
    created: dict[str, str] = {}
    async with client(url, max_retries=2) as kl:

        async def one(i: int) -> None:
            name = f"call-{i:02} [{uuid.uuid4().hex[:12]}]"
            marker = name.rpartition("[")[2].rstrip("]")

            async def create() -> str:
                return (await kl.pre.create_campaign(body=create_body(name))).data.id

            async def find() -> str | None:
                page = await kl.pre.get_campaigns(filter=F.contains("name", marker))
                return page.data[0].id if page.data else None

            created[name] = await write_once(create, find, horizon=HORIZON, interval=0.05)

        await asyncio.gather(*(one(i) for i in range(calls)))
    await drained(fake)
    stored = {str(c.attributes["definition"]["name"]): c.id for c in fake.records(PRE, "campaign")}
    assert len(fake.records(PRE, "campaign")) == calls  # nothing twice, nothing lost
    assert stored == created
    assert fake.counters.writes["create_campaign_beta"] == calls
    not_applied = kinds["5xx"] + kinds["drop"]
    assert fake.counters.requests["create_campaign_beta"] == calls + not_applied
    assert not_applied > 0 and calls - kinds["none"] - not_applied > 0
