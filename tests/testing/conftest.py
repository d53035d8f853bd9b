"""Fixtures for the fake Klaviyo's own tests (the plugin's fixtures plus a client and a clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from klaviyo_campaigns.testing import FakeClock, FakeKlaviyo
from klaviyo_campaigns.testing.pytest_plugin import fake_klaviyo, fake_klaviyo_url

__all__ = ["fake_klaviyo", "fake_klaviyo_url"]

from fake_helpers import START, headers


@pytest.fixture
def fake() -> FakeKlaviyo:
    """A fake on a frozen clock (time moves only when a test advances it)."""
    return FakeKlaviyo(clock=FakeClock(START, ticking=False), rate_limits=False, seed=7)


@pytest_asyncio.fixture
async def client(fake: FakeKlaviyo) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client reaching ``fake`` in-process, with stable-revision headers."""
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url=fake.base_url, headers=headers()
    ) as c:
        yield c
