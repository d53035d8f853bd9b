"""Retries against the fake over loopback HTTP, where dropped connections, truncated bodies,
timeouts and refused connections are real transport events. Every test runs on both
transports: aiohttp (what the SDK builds for itself) and httpcore (a plain injected client).

The rule under test: a read is retried through any transient failure; a write is re-sent only
where the server provably did not process it (429, a refused connection), and where the SDK
cannot know, it says so with ``WriteMayHaveBeenApplied``. The fake's write counters and store
show what the server really did, so each test compares that with what the caller was told.
"""

from __future__ import annotations

import asyncio
import random
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pool_helpers import TRANSPORTS, busy_connections, http_client
from stable_bodies import campaign_body

from klaviyo_campaigns import (
    REVISIONS,
    ConflictError,
    ConnectError,
    Klaviyo,
    KlaviyoError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TimeoutError,
    TransportError,
    WriteMayHaveBeenApplied,
)
from klaviyo_campaigns._generated.stable.models import (
    CampaignPartialUpdateQuery,
)
from klaviyo_campaigns._limits import Bucket, WindowLimiter
from klaviyo_campaigns.models import pre as pre_models
from klaviyo_campaigns.testing import FakeKlaviyo

KEY = "pk_test_retries_0123456789abcdef"
READ_TIMEOUT = 0.15
SLOW = 0.4  # a server delay that trips READ_TIMEOUT
TRANSPORT = "aiohttp"  # set per test by the `transport` fixture


@pytest.fixture(autouse=True, params=TRANSPORTS)
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Which transport ``client`` sends through, for this run of the test."""
    monkeypatch.setattr(sys.modules[__name__], "TRANSPORT", request.param)
    return str(request.param)


class Attempts:
    """httpx event hook recording when each attempt was sent and which responses came back."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, str]] = []
        self.statuses: list[int] = []
        self.changed = asyncio.Event()

    async def on_request(self, request: httpx.Request) -> None:
        self.sent.append((time.monotonic(), request.url.path))
        self.changed.set()

    async def on_response(self, response: httpx.Response) -> None:
        self.statuses.append(response.status_code)
        self.changed.set()

    def hooks(self) -> dict[str, list[Callable[[Any], Awaitable[None]]]]:
        return {"request": [self.on_request], "response": [self.on_response]}

    async def wait_for(self, condition: Callable[[], bool]) -> None:
        while not condition():
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 5)


class Balance:
    """The client's limiter, counting acquires and releases: every request the limiter let go
    must be released once, whether answered, failed or cancelled, or its slot is lost."""

    def __init__(self) -> None:
        self.inner = WindowLimiter(burst_window=0.001, steady_window=0.001, margin=0)
        self.acquired = self.released = 0

    async def acquire(self, bucket: Bucket) -> None:
        await self.inner.acquire(bucket)
        self.acquired += 1

    def release(self, bucket: Bucket) -> None:
        self.inner.release(bucket)
        self.released += 1

    async def pause(self, bucket: Bucket, seconds: float) -> None:
        await self.inner.pause(bucket, seconds)


@asynccontextmanager
async def client(
    url: str,
    *,
    max_retries: int = 3,
    attempts: Attempts | None = None,
    limits: httpx.Limits | None = None,
    pool_timeout: float = 5.0,
    balance: Balance | None = None,
) -> AsyncIterator[Klaviyo]:
    timeout = httpx.Timeout(5.0, read=READ_TIMEOUT, pool=pool_timeout)
    async with http_client(
        TRANSPORT,
        timeout=timeout,
        event_hooks=attempts.hooks() if attempts else None,
        limits=limits or httpx.Limits(max_connections=500),
    ) as http:
        limiter = balance or Balance()
        async with Klaviyo(
            KEY,
            base_url=url,
            http_client=http,
            max_retries=max_retries,
            limiter=limiter,
            # The backoff (0.5 s doubling to 8 s) shrunk to milliseconds: the same policy,
            # without waiting real seconds.
            backoff_base=0.005,
            backoff_cap=0.04,
        ) as kl:
            yield kl


async def settled(fake: FakeKlaviyo) -> None:
    """Let the handlers the client gave up on (held back SLOW seconds) finish their writes.

    A real wait: the server's delay is real time. (Comparing the fake's request and status
    counters would be exact, but the fake counts no status for error answers.)"""
    await asyncio.sleep(SLOW + 0.05)


@pytest.fixture
def fake() -> FakeKlaviyo:
    return FakeKlaviyo(rate_limits=False, seed=11)


@pytest_asyncio.fixture
async def url(fake: FakeKlaviyo) -> AsyncIterator[str]:
    async with fake.serve() as served:
        yield served


def names_stored(fake: FakeKlaviyo) -> Counter[str]:
    return Counter(str(c.attributes["name"]) for c in fake.records(REVISIONS.stable, "campaign"))


# -- reads: retried through every transient failure ------------------------------------------


async def test_a_get_is_retried_after_5xx_bursts(fake: FakeKlaviyo, url: str) -> None:
    [campaign_id] = fake.seed_campaigns(1)
    fake.faults.fail_next("get_campaign", 2, status=503)
    fake.faults.fail_next("get_campaign", status=500)
    async with client(url) as kl:
        campaign = await kl.stable.get_campaign(campaign_id)
    assert campaign.data.id == campaign_id
    assert fake.counters.requests["get_campaign"] == 4


async def test_a_get_is_retried_after_a_dropped_connection(fake: FakeKlaviyo, url: str) -> None:
    [campaign_id] = fake.seed_campaigns(1)
    fake.faults.drop_next("get_campaign")
    async with client(url) as kl:
        assert (await kl.stable.get_campaign(campaign_id)).data.id == campaign_id
    assert fake.counters.requests["get_campaign"] == 2


async def test_a_get_is_retried_after_a_truncated_body(fake: FakeKlaviyo, url: str) -> None:
    [campaign_id] = fake.seed_campaigns(1)
    fake.faults.truncate_next("get_campaign")
    async with client(url) as kl:
        assert (await kl.stable.get_campaign(campaign_id)).data.id == campaign_id
    assert fake.counters.requests["get_campaign"] == 2


async def test_a_get_is_retried_after_a_read_timeout(fake: FakeKlaviyo, url: str) -> None:
    [campaign_id] = fake.seed_campaigns(1)
    fake.faults.delay_next("get_campaign", SLOW)
    async with client(url) as kl:
        assert (await kl.stable.get_campaign(campaign_id)).data.id == campaign_id
    await settled(fake)
    assert fake.counters.requests["get_campaign"] == 2


async def test_a_get_gives_up_after_max_retries(fake: FakeKlaviyo, url: str) -> None:
    fake.faults.fail_next("get_campaign", 5, status=502)
    async with client(url, max_retries=2) as kl:
        with pytest.raises(ServerError) as caught:
            await kl.stable.get_campaign("ANY")
    assert caught.value.status == 502
    assert fake.counters.requests["get_campaign"] == 3


async def test_a_get_that_keeps_timing_out_is_a_timeout_error(fake: FakeKlaviyo, url: str) -> None:
    fake.faults.delay_next("get_campaign", SLOW, times=2)
    async with client(url, max_retries=1) as kl:
        with pytest.raises(TimeoutError) as caught:
            await kl.stable.get_campaign("ANY")
    assert caught.value.operation == "get_campaign"
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    assert fake.counters.requests["get_campaign"] == 2


async def test_the_retry_deadline_stops_retrying(fake: FakeKlaviyo, url: str) -> None:
    fake.faults.fail_next("get_campaign", 3, status=503)
    async with client(url) as kl:
        kl._sender._retry_deadline = 0.0
        with pytest.raises(ServerError):
            await kl.stable.get_campaign("ANY")
    assert fake.counters.requests["get_campaign"] == 1


# -- 429: Retry-After, for every waiter ----------------------------------------------------


async def test_429_waits_what_retry_after_says(fake: FakeKlaviyo, url: str) -> None:
    fake.faults.throttle_next("get_campaign", retry_after=0.25)
    attempts = Attempts()
    async with client(url, attempts=attempts) as kl:
        with pytest.raises(NotFoundError):
            await kl.stable.get_campaign("ANY")
    assert attempts.statuses == [429, 404]
    (first, _), (second, _) = attempts.sent
    assert second - first >= 0.25


async def test_429_pauses_the_bucket_for_every_waiter(fake: FakeKlaviyo, url: str) -> None:
    fake.faults.throttle_next("get_campaign", retry_after=0.3)
    attempts = Attempts()
    async with client(url, attempts=attempts) as kl:
        first = asyncio.create_task(kl.stable.get_campaign("FIRST"))
        await attempts.wait_for(lambda: attempts.statuses == [429])
        throttled_at = time.monotonic()
        others = [asyncio.create_task(kl.stable.get_campaign(f"OTHER{i}")) for i in range(5)]
        results = await asyncio.gather(first, *others, return_exceptions=True)
    assert all(isinstance(r, NotFoundError) for r in results)
    later = [at for at, _ in attempts.sent[1:]]
    assert len(later) == 6
    assert min(later) >= throttled_at + 0.3 - 0.05  # the 429's own wait started just before


async def test_a_429_storm_on_a_write_is_retried_and_applied_once(
    fake: FakeKlaviyo, url: str
) -> None:
    fake.faults.throttle_next("create_campaign", 3, retry_after=0.02)
    async with client(url) as kl:
        created = await kl.stable.create_campaign(body=campaign_body("Storm"))
    assert fake.counters.requests["create_campaign"] == 4
    assert fake.counters.writes["create_campaign"] == 1
    assert names_stored(fake) == Counter({"Storm": 1})
    assert created.data.attributes.name == "Storm"


async def test_a_429_storm_longer_than_the_retries_is_a_rate_limit_error_not_applied(
    fake: FakeKlaviyo, url: str
) -> None:
    fake.faults.throttle_next("create_campaign", 5, retry_after=0.01)
    async with client(url, max_retries=2) as kl:
        with pytest.raises(RateLimitError):
            await kl.stable.create_campaign(body=campaign_body("Storm"))
    assert fake.counters.writes["create_campaign"] == 0


# -- POST: never re-sent where the server may have processed it -----------------------------


@pytest.mark.parametrize("after_commit", [False, True], ids=["before-commit", "after-commit"])
async def test_a_post_meeting_a_5xx_may_have_been_applied(
    fake: FakeKlaviyo, url: str, after_commit: bool
) -> None:
    fake.faults.fail_next("create_campaign", status=503, after_commit=after_commit)
    async with client(url) as kl:
        with pytest.raises(WriteMayHaveBeenApplied) as caught:
            await kl.stable.create_campaign(body=campaign_body("Five"))
    assert isinstance(caught.value.__cause__, ServerError)
    assert caught.value.__cause__.status == 503
    assert fake.counters.requests["create_campaign"] == 1  # not re-sent
    assert fake.counters.writes["create_campaign"] == int(after_commit)


@pytest.mark.parametrize("after_commit", [False, True], ids=["before-commit", "after-commit"])
async def test_a_post_whose_connection_drops_may_have_been_applied(
    fake: FakeKlaviyo, url: str, after_commit: bool
) -> None:
    fake.faults.drop_next("create_campaign", after_commit=after_commit)
    async with client(url) as kl:
        with pytest.raises(WriteMayHaveBeenApplied, match="may have been applied") as caught:
            await kl.stable.create_campaign(body=campaign_body("Dropped"))
    assert isinstance(caught.value.__cause__, TransportError)
    assert fake.counters.requests["create_campaign"] == 1
    assert fake.counters.writes["create_campaign"] == int(after_commit)


async def test_a_post_with_a_truncated_answer_may_have_been_applied(
    fake: FakeKlaviyo, url: str
) -> None:
    fake.faults.truncate_next("create_campaign")
    async with client(url) as kl:
        with pytest.raises(WriteMayHaveBeenApplied):
            await kl.stable.create_campaign(body=campaign_body("Truncated"))
    assert fake.counters.writes["create_campaign"] == 1
    assert names_stored(fake) == Counter({"Truncated": 1})


async def test_a_post_that_times_out_may_have_been_applied(fake: FakeKlaviyo, url: str) -> None:
    fake.faults.delay_next("create_campaign", SLOW)
    async with client(url) as kl:
        with pytest.raises(WriteMayHaveBeenApplied) as caught:
            await kl.stable.create_campaign(body=campaign_body("Slow"))
    assert isinstance(caught.value.__cause__, TimeoutError)
    await settled(fake)
    # The server finished the write after the client stopped waiting: hence "may have".
    assert fake.counters.requests["create_campaign"] == 1
    assert names_stored(fake) == Counter({"Slow": 1})


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_refused_connection_is_retried_once_the_server_is_up(fake: FakeKlaviyo) -> None:
    port = closed_port()
    attempts = Attempts()
    async with client(f"http://127.0.0.1:{port}", max_retries=50, attempts=attempts) as kl:
        call = asyncio.create_task(kl.stable.create_campaign(body=campaign_body("Refused")))
        # The request hook runs before the connection is opened: a third attempt means two were
        # refused. (Waiting for only two left it to the loop's scheduling whether the second
        # attempt connected before or after the server below was up: on 3.12 it was after.)
        await attempts.wait_for(lambda: len(attempts.sent) >= 3)
        assert not call.done()
        async with fake.serve(port=port):
            created = await call
    assert len(attempts.sent) >= 3
    assert created.data.attributes.name == "Refused"
    assert fake.counters.requests["create_campaign"] == 1  # the refused ones never arrived
    assert names_stored(fake) == Counter({"Refused": 1})


async def test_a_refused_connection_after_the_retries_is_a_connect_error() -> None:
    async with client(f"http://127.0.0.1:{closed_port()}", max_retries=2) as kl:
        with pytest.raises(ConnectError) as caught:
            await kl.stable.create_campaign(body=campaign_body("Nobody home"))
    assert not isinstance(caught.value, WriteMayHaveBeenApplied)
    assert caught.value.operation == "create_campaign"


# -- PATCH and DELETE, per _retry's documented semantics -----------------------------------


async def test_a_value_patch_is_retried_after_a_5xx(fake: FakeKlaviyo, url: str) -> None:
    [campaign_id] = fake.seed_campaigns(1)
    fake.faults.fail_next("update_campaign", status=503, after_commit=True)
    body = CampaignPartialUpdateQuery.from_dict(
        {"data": {"type": "campaign", "id": campaign_id, "attributes": {"name": "Renamed"}}}
    )
    async with client(url) as kl:
        updated = await kl.stable.update_campaign(campaign_id, body=body)
    assert updated.data.attributes.name == "Renamed"
    assert fake.counters.requests["update_campaign"] == 2  # setting a value twice is harmless
    assert names_stored(fake) == Counter({"Renamed": 1})


async def test_an_action_patch_that_no_read_can_settle_may_have_been_applied(
    fake: FakeKlaviyo, url: str
) -> None:
    """A cancel is guarded (a second one is refused), so it is sent again; in .pre a campaign
    has no status to read back, so its 409 settles nothing: "may have been applied". (In the
    stable revision the SDK reads the campaign and settles it: tests/test_settle.py.)"""
    [campaign_id] = fake.seed_campaigns(1, revision=REVISIONS.pre)
    fake.faults.fail_next("cancel_campaign_send", status=502, after_commit=True)
    async with client(url) as kl:
        await kl.pre.send_campaign(
            body=pre_models.CampaignSendJobCreateQuery.from_dict(
                {"data": {"type": "campaign-send-job", "id": campaign_id}}
            )
        )
        cancel = pre_models.CampaignSendJobPartialUpdateQuery.from_dict(
            {
                "data": {
                    "type": "campaign-send-job",
                    "id": campaign_id,
                    "attributes": {"action": "cancel"},
                }
            }
        )
        with pytest.raises(WriteMayHaveBeenApplied) as caught:
            await kl.pre.cancel_campaign_send(campaign_id, body=cancel)
    assert isinstance(caught.value.__cause__, ConflictError)  # the retry's refusal
    assert fake.counters.requests["cancel_campaign_send"] == 2
    assert fake.counters.writes["cancel_campaign_send"] == 1


async def test_a_delete_is_retried_after_a_5xx(fake: FakeKlaviyo, url: str) -> None:
    [campaign_id] = fake.seed_campaigns(1)
    fake.faults.fail_next("delete_campaign", status=503)
    async with client(url) as kl:
        await kl.stable.delete_campaign(campaign_id)
    assert fake.counters.writes["delete_campaign"] == 1
    assert names_stored(fake) == Counter()


async def test_a_delete_whose_first_attempt_applied_reports_success(
    fake: FakeKlaviyo, url: str
) -> None:
    [campaign_id] = fake.seed_campaigns(1)
    fake.faults.drop_next("delete_campaign", after_commit=True)
    async with client(url) as kl:
        await kl.stable.delete_campaign(campaign_id)  # its retry met a 404: no error
    assert fake.counters.requests["delete_campaign"] == 2
    assert fake.counters.writes["delete_campaign"] == 1


async def test_deleting_what_never_existed_is_still_a_not_found_error(
    fake: FakeKlaviyo, url: str
) -> None:
    async with client(url) as kl:
        with pytest.raises(NotFoundError):
            await kl.stable.delete_campaign("NEVER")


# -- cancellation -----------------------------------------------------------------------------


async def test_cancelling_a_call_mid_request_releases_its_connection(
    fake: FakeKlaviyo, url: str
) -> None:
    [campaign_id] = fake.seed_campaigns(1)
    fake.faults.delay_next("get_campaign", SLOW)
    attempts = Attempts()
    one_connection = httpx.Limits(max_connections=1)
    balance = Balance()
    async with client(
        url, attempts=attempts, limits=one_connection, pool_timeout=0.1, balance=balance
    ) as kl:
        call = asyncio.create_task(kl.stable.get_campaign(campaign_id))
        await attempts.wait_for(lambda: len(attempts.sent) == 1)
        await asyncio.sleep(0.02)  # the request is on the wire, the server is holding it
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert busy_connections(kl._http) == 0
        # The pool's only connection is free again: a PoolTimeout (0.1 s) would say otherwise.
        assert (await kl.stable.get_campaign(campaign_id)).data.id == campaign_id
    assert balance.acquired == balance.released == 2  # the cancelled request released its slot
    await settled(fake)


# -- the fault run -------------------------------------------------------------------------


async def test_under_random_faults_every_write_is_reported_exactly(fake: FakeKlaviyo) -> None:
    """200 concurrent creates under 429 storms, 5xx bursts (before and after the write),
    dropped connections, truncated answers, timeouts and cancellations. The fake's store then
    holds exactly: every reported success once, no reported failure, at most one of each
    "may have been applied" or cancelled call, and nothing twice."""
    calls = 200
    rng = random.Random(20260415)
    for _ in range(calls):
        kind = rng.choices(
            ["none", "5xx", "5xx-applied", "drop", "drop-applied", "429", "slow", "truncate"],
            weights=[50, 6, 6, 6, 6, 16, 5, 5],
        )[0]
        if kind == "5xx":
            fake.faults.fail_next("create_campaign", rng.randint(1, 3), status=503)
        elif kind == "5xx-applied":
            fake.faults.fail_next("create_campaign", status=500, after_commit=True)
        elif kind in ("drop", "drop-applied"):
            fake.faults.drop_next("create_campaign", after_commit=kind == "drop-applied")
        elif kind == "429":
            fake.faults.throttle_next("create_campaign", rng.randint(1, 8), retry_after=0.01)
        elif kind == "slow":
            fake.faults.delay_next("create_campaign", SLOW)
        elif kind == "truncate":
            fake.faults.truncate_next("create_campaign")
    cancel_after = {i: rng.uniform(0, 0.1) for i in rng.sample(range(calls), 20)}

    outcome: dict[str, str] = {}
    created_ids: dict[str, str] = {}

    invalid = set(rng.sample(range(calls), 15))  # refused with a 400: a typed failure

    async def create(kl: Klaviyo, name: str, valid: bool) -> None:
        try:
            created = await kl.stable.create_campaign(body=campaign_body(name, valid=valid))
        except WriteMayHaveBeenApplied:
            outcome[name] = "may have been applied"
        except KlaviyoError as error:
            outcome[name] = f"failed: {type(error).__name__}"
        except asyncio.CancelledError:
            outcome[name] = "cancelled"
            raise
        else:
            outcome[name] = "succeeded"
            created_ids[name] = created.data.id

    async def cancel_later(task: asyncio.Task[None], delay: float) -> None:
        await asyncio.sleep(delay)
        task.cancel()

    fake.validate = False  # spec validation costs the fake ~30 ms a request; not tested here
    # 30 connections: httpcore's pool scans every connection for every queued request, so
    # hundreds of connections cost more than they bring on one event loop (same on both sides).
    connections = httpx.Limits(max_connections=30)
    balance = Balance()
    async with (
        fake.serve() as url,
        client(url, max_retries=2, limits=connections, balance=balance) as kl,
    ):
        started = time.monotonic()
        tasks = [
            asyncio.create_task(create(kl, f"call-{i:03}", i not in invalid)) for i in range(calls)
        ]
        cancellers = [
            asyncio.create_task(cancel_later(tasks[i], delay)) for i, delay in cancel_after.items()
        ]
        await asyncio.gather(*tasks, *cancellers, return_exceptions=True)
        elapsed = time.monotonic() - started
        await settled(fake)

    stored = names_stored(fake)
    tally = Counter(outcome.values())
    assert sum(tally.values()) == calls
    assert max(stored.values()) == 1, "a write was applied twice"
    for name, said in outcome.items():
        if said == "succeeded":
            assert stored[name] == 1, f"{name}: reported created, not in the store"
        elif said.startswith("failed"):
            assert stored[name] == 0, f"{name}: reported failed ({said}), but applied"
    campaigns = {
        str(c.attributes["name"]): c.id for c in fake.records(REVISIONS.stable, "campaign")
    }
    assert all(campaigns[name] == id_ for name, id_ in created_ids.items())
    assert fake.counters.writes["create_campaign"] == sum(stored.values())
    assert set(stored) <= set(outcome)
    assert balance.acquired == balance.released >= calls  # no slot lost to a fault or a cancel
    uncertain_applied = sum(stored[n] for n, s in outcome.items() if s == "may have been applied")
    cancelled_applied = sum(stored[n] for n, s in outcome.items() if s == "cancelled")
    assert tally["succeeded"] > calls // 3
    assert tally["may have been applied"] > 0
    assert sum(n for said, n in tally.items() if said.startswith("failed")) > 0
    print(
        f"\nfault run ({TRANSPORT}): {calls} creates in {elapsed:.2f} s, "
        f"{sum(fake.counters.requests.values())} requests reached the fake; "
        f"outcomes {dict(tally)}; "
        f"'may have been applied' applied {uncertain_applied}/{tally['may have been applied']}, "
        f"cancelled applied {cancelled_applied}/{tally['cancelled']}; "
        f"writes {fake.counters.writes['create_campaign']} == stored {sum(stored.values())}"
    )
