"""pytest fixtures for testing code against the fake Klaviyo.

Enable with ``pytest_plugins = ["klaviyo_campaigns.testing.pytest_plugin"]`` in a conftest.py.

* ``fake_klaviyo``: a fresh ``FakeKlaviyo`` per test (reach it in-process with
  ``fake_klaviyo.transport()``).
* ``fake_klaviyo_url``: the same fake served over loopback HTTP; the base URL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from .fake import FakeKlaviyo


@pytest.fixture
def fake_klaviyo() -> FakeKlaviyo:
    """A fresh fake Klaviyo (its clock ticks; use ``.clock.advance`` / ``.advance`` to jump)."""
    return FakeKlaviyo()


@pytest_asyncio.fixture
async def fake_klaviyo_url(fake_klaviyo: FakeKlaviyo) -> AsyncIterator[str]:
    """``fake_klaviyo`` served over loopback HTTP on a free port: its base URL."""
    async with fake_klaviyo.serve() as url:
        yield url
