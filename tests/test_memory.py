"""Memory while calling and listing: what one call leaves behind is freed at once, without
waiting for Python's cyclic garbage collector (issue 17: listing grew by ~10 KB a page)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from klaviyo_campaigns import Klaviyo
from klaviyo_campaigns.pagination import next_cursor
from klaviyo_campaigns.testing import FakeKlaviyo

KEY = "pk_memory_00000000000000000000000000000"
FILTER = "equals(messages.channel,'email')"


@pytest.fixture
def no_cyclic_gc() -> Iterator[None]:
    """Only reference counting frees objects while the test runs."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class Answers:
    """Weak references to every ``httpx.Response`` the client received."""

    def __init__(self) -> None:
        self.refs: list[weakref.ref[httpx.Response]] = []

    async def hook(self, response: httpx.Response) -> None:
        self.refs.append(weakref.ref(response))

    def alive(self) -> int:
        return sum(ref() is not None for ref in self.refs)


@pytest.mark.usefixtures("no_cyclic_gc")
async def test_pages_are_freed_by_reference_counting_over_loopback(
    fake_klaviyo: FakeKlaviyo, fake_klaviyo_url: str
) -> None:
    fake_klaviyo.seed_campaigns(30)
    answers = Answers()
    async with Klaviyo(KEY, base_url=fake_klaviyo_url, max_retries=0) as kl:
        kl._http.event_hooks["response"].append(answers.hook)
        seen = 0
        pages = kl.paginate(kl.stable.get_campaigns, filter=FILTER, page_size=10).pages()
        async for page in pages:
            seen += len(page.data)
        del page
        assert seen == 30
        assert len(answers.refs) == 3
        assert answers.alive() == 0


@pytest.mark.usefixtures("no_cyclic_gc")
async def test_an_answer_is_freed_by_reference_counting_on_an_injected_client() -> None:
    fake = FakeKlaviyo(rate_limits=False, seed=3)
    fake.seed_campaigns(3)
    answers = Answers()
    async with httpx.AsyncClient(
        transport=fake.transport(), event_hooks={"response": [answers.hook]}
    ) as http:
        kl = Klaviyo(KEY, base_url=fake.base_url, http_client=http, max_retries=0)
        page = await kl.stable.get_campaigns(filter=FILTER)
        raw = await kl.with_raw_response.stable.get_campaigns(filter=FILTER)
        assert len(page.data) == 3
        assert raw.parsed is not None and len(raw.parsed.data) == 3
        assert len(answers.refs) == 2
        assert answers.alive() == 0


def test_reading_a_cursor_leaves_urlsplits_cache_alone() -> None:
    class Links:
        next_ = "https://a.klaviyo.com/api/campaigns?page%5Bsize%5D=10&page[cursor]=bmV4dA#top"

    class Document:
        links = Links()

    urlsplit.cache_clear()  # type: ignore[attr-defined]
    assert next_cursor(Document()) == "bmV4dA"
    assert urlsplit.cache_info().currsize == 0  # type: ignore[attr-defined]
