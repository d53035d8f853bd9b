"""Rate limits per operation per key, scripted faults and write counters, in-process and over
loopback HTTP (where a dropped connection or a truncated body is a real transport event)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fake_helpers import START, email_campaign, headers

from klaviyo_campaigns.testing import FakeClock, FakeKlaviyo


@pytest_asyncio.fixture
async def limited() -> AsyncIterator[tuple[FakeKlaviyo, httpx.AsyncClient]]:
    fake = FakeKlaviyo(clock=FakeClock(START, ticking=False))
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url=fake.base_url, headers=headers()
    ) as c:
        yield fake, c


async def test_burst_limit_is_per_second(limited: tuple[FakeKlaviyo, httpx.AsyncClient]) -> None:
    fake, client = limited
    statuses = [(await client.get("/api/campaigns/X")).status_code for _ in range(11)]
    assert statuses == [404] * 10 + [429]  # get_campaign: 10/s
    throttled = await client.get("/api/campaigns/X")
    assert throttled.headers["retry-after"] == "1"
    assert throttled.json()["errors"][0]["code"] == "throttled"
    fake.advance(1)
    assert (await client.get("/api/campaigns/X")).status_code == 404


async def test_steady_limit_is_per_minute(limited: tuple[FakeKlaviyo, httpx.AsyncClient]) -> None:
    fake, client = limited
    for _ in range(20):  # get_tags_for_campaign: 3/s, 60/m
        for _ in range(3):
            assert (await client.get("/api/campaigns/X/tags")).status_code == 404
        fake.advance(1)
    blocked = await client.get("/api/campaigns/X/tags")
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) == 40
    fake.advance(40)
    assert (await client.get("/api/campaigns/X/tags")).status_code == 404


async def test_limits_are_per_operation_and_per_key(
    limited: tuple[FakeKlaviyo, httpx.AsyncClient],
) -> None:
    _, client = limited
    for _ in range(10):
        await client.get("/api/campaigns/X")
    assert (await client.get("/api/campaigns/X")).status_code == 429
    assert (await client.get("/api/campaign-messages/X")).status_code == 404
    other = await client.get("/api/campaigns/X", headers=headers(key="pk_other"))
    assert other.status_code == 404


async def test_answers_but_429s_report_the_steady_window_across_every_client_of_a_key(
    limited: tuple[FakeKlaviyo, httpx.AsyncClient],
) -> None:
    fake, client = limited
    first = await client.get("/api/campaigns/X/tags")  # get_tags_for_campaign: 3/s, 60/m
    assert first.status_code == 404  # any answer but a 429 reports, errors included
    assert first.headers["ratelimit-limit"] == "60"
    assert first.headers["ratelimit-remaining"] == "59"
    assert first.headers["ratelimit-reset"] == "60"  # whole seconds, as Klaviyo sends them
    fake.advance(15.5)
    async with httpx.AsyncClient(  # a second client on the same key: the same count
        transport=fake.transport(), base_url=fake.base_url, headers=headers()
    ) as second:
        answer = await second.get("/api/campaigns/X/tags")
    assert answer.headers["ratelimit-remaining"] == "58"
    assert answer.headers["ratelimit-reset"] == "45"  # 44.5, rounded up
    other_key = await client.get("/api/campaigns/X/tags", headers=headers(key="pk_other"))
    assert other_key.headers["ratelimit-remaining"] == "59"  # another account
    for _ in range(2):
        await client.get("/api/campaigns/X/tags")
    throttled = await client.get("/api/campaigns/X/tags")  # the burst window is full
    assert throttled.status_code == 429
    assert "ratelimit-remaining" not in throttled.headers
    fake.advance(45)  # a new steady window
    assert (await client.get("/api/campaigns/X/tags")).headers["ratelimit-remaining"] == "59"


async def test_sped_up_reports_give_the_reset_to_the_millisecond() -> None:
    fake = FakeKlaviyo(clock=FakeClock(START, ticking=False), speedup=60)
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url=fake.base_url, headers=headers()
    ) as client:
        fake.advance(0.25)
        answer = await client.get("/api/campaigns/X")
    assert answer.headers["ratelimit-reset"] == "0.750"
    assert answer.headers["ratelimit-limit"] == "150"


async def test_speedup_shrinks_the_windows() -> None:
    fake = FakeKlaviyo(clock=FakeClock(START, ticking=False), speedup=100)
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url=fake.base_url, headers=headers()
    ) as client:
        for _ in range(10):
            await client.get("/api/campaigns/X")
        blocked = await client.get("/api/campaigns/X")
        assert blocked.status_code == 429
        assert float(blocked.headers["retry-after"]) == pytest.approx(0.01)
        fake.advance(0.01)
        assert (await client.get("/api/campaigns/X")).status_code == 404


async def test_fail_next_then_recover(fake: FakeKlaviyo, client: httpx.AsyncClient) -> None:
    fake.faults.fail_next("create_campaign", 2, status=503)
    statuses = [
        (await client.post("/api/campaigns", json=email_campaign())).status_code for _ in range(3)
    ]
    assert statuses == [503, 503, 201]
    assert fake.counters.writes["create_campaign"] == 1
    assert fake.counters.requests["create_campaign"] == 3


async def test_failure_after_commit_still_counts_the_write(
    fake: FakeKlaviyo, client: httpx.AsyncClient
) -> None:
    fake.faults.fail_next("create_campaign", status=502, after_commit=True)
    response = await client.post("/api/campaigns", json=email_campaign())
    assert response.status_code == 502
    assert fake.counters.writes["create_campaign"] == 1
    assert len(fake.stable.all("campaign")) == 1  # the client cannot tell; the counter can


async def test_throttle_storm(fake: FakeKlaviyo, client: httpx.AsyncClient) -> None:
    fake.faults.throttle_next("get_campaign", 3, retry_after=2)
    responses = [await client.get("/api/campaigns/X") for _ in range(4)]
    assert [r.status_code for r in responses] == [429, 429, 429, 404]
    assert responses[0].headers["retry-after"] == "2"


async def test_non_json_answer(fake: FakeKlaviyo, client: httpx.AsyncClient) -> None:
    fake.faults.non_json_next("get_campaign", status=502)
    response = await client.get("/api/campaigns/X")
    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html")
    with pytest.raises(ValueError):
        response.json()


async def test_delay_holds_the_answer(fake_klaviyo: FakeKlaviyo, fake_klaviyo_url: str) -> None:
    fake_klaviyo.faults.delay_next("get_campaign", 0.3)
    async with httpx.AsyncClient(base_url=fake_klaviyo_url, headers=headers()) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/api/campaigns/X", timeout=0.05)
        assert (await client.get("/api/campaigns/X")).status_code == 404


async def test_any_operation_fault(fake: FakeKlaviyo, client: httpx.AsyncClient) -> None:
    fake.faults.fail_next("*", status=500)
    assert (await client.get("/api/campaign-messages/X")).status_code == 500
    assert fake.faults.pending() == 0


async def test_in_process_drop_and_truncate_are_transport_errors(
    fake: FakeKlaviyo, client: httpx.AsyncClient
) -> None:
    fake.faults.drop_next("create_campaign", after_commit=True)
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/api/campaigns", json=email_campaign())
    assert fake.counters.writes["create_campaign"] == 1
    fake.faults.truncate_next("create_campaign")
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/api/campaigns", json=email_campaign())
    assert fake.counters.writes["create_campaign"] == 2


async def test_loopback_dropped_connection(
    fake_klaviyo: FakeKlaviyo, fake_klaviyo_url: str
) -> None:
    fake_klaviyo.faults.drop_next("create_campaign")
    fake_klaviyo.faults.drop_next("create_campaign", after_commit=True)
    async with httpx.AsyncClient(base_url=fake_klaviyo_url, headers=headers()) as client:
        for _ in range(2):
            with pytest.raises(httpx.RemoteProtocolError):
                await client.post("/api/campaigns", json=email_campaign())
        ok = await client.post("/api/campaigns", json=email_campaign())
    assert ok.status_code == 201
    assert fake_klaviyo.counters.writes["create_campaign"] == 2  # the second drop came after it


async def test_loopback_truncated_body(fake_klaviyo: FakeKlaviyo, fake_klaviyo_url: str) -> None:
    fake_klaviyo.faults.truncate_next("create_campaign")
    async with httpx.AsyncClient(base_url=fake_klaviyo_url, headers=headers()) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/api/campaigns", json=email_campaign())
        again = await client.post("/api/campaigns", json=email_campaign())
    assert again.status_code == 201
    assert fake_klaviyo.counters.writes["create_campaign"] == 2


async def test_loopback_links_use_the_served_address(fake_klaviyo_url: str) -> None:
    async with httpx.AsyncClient(base_url=fake_klaviyo_url, headers=headers()) as client:
        created = await client.post("/api/campaigns", json=email_campaign())
    assert created.json()["data"]["links"]["self"].startswith(f"{fake_klaviyo_url}/api/campaigns/")


def test_the_ticking_clock_follows_real_time() -> None:
    clock = FakeClock(START)
    before = clock.seconds()
    time.sleep(0.01)
    clock.advance(60)
    assert clock.seconds() - before >= 60.01
    assert FakeClock(START, ticking=False).now() == START
