"""Every bad input gets a typed ``klaviyo_campaigns`` error naming the argument, before anything
is sent: ``ValidationError`` for a call's arguments (and a model's ``from_dict``),
``ConfigurationError`` for the constructor's. The table is the one in issue 18, point 2.

Requests are counted by an httpx event hook on a real client reaching the fake, and by the
fake's own counters: a refused call must reach neither.
"""

from __future__ import annotations

import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio

from klaviyo_campaigns import REVISIONS, ConfigurationError, Klaviyo, KlaviyoError, ValidationError
from klaviyo_campaigns._generated.operations import OPERATIONS
from klaviyo_campaigns.models import pre, stable
from klaviyo_campaigns.testing import FakeKlaviyo

KEY = "pk_test_bad_input_0123456789abcdef"
CHANNEL = "equals(messages.channel,'email')"


def create_body(name: object = "Spring sale") -> stable.CampaignCreateQuery:
    """A stable create-campaign body; ``name`` as given, even where JSON cannot carry it."""
    body = stable.CampaignCreateQuery.from_dict(
        {
            "data": {
                "type": "campaign",
                "attributes": {
                    "name": "placeholder",
                    "audiences": {"included": ["LIST1"], "excluded": []},
                    "campaign-messages": {
                        "data": [
                            {
                                "type": "campaign-message",
                                "attributes": {
                                    "definition": {
                                        "channel": "email",
                                        "content": {"subject": "Hi"},
                                    }
                                },
                            }
                        ]
                    },
                },
            }
        }
    )
    body.data.attributes.name = name  # type: ignore[assignment]
    return body


def pre_create_body() -> pre.CampaignCreateQuery:
    return pre.CampaignCreateQuery.from_dict(
        {
            "data": {
                "type": "campaign",
                "attributes": {
                    "definition": {"name": "Launch", "builder": "wizard"},
                    "audiences": [
                        {"temporary_id": "all", "included": ["LIST_ALL"], "excluded": []}
                    ],
                    "messages": [],
                },
            }
        }
    )


Call = Callable[[Klaviyo], Awaitable[Any]]
BAD_PAGE_SIZES: list[Any] = [0, -1, 101, 10**9, True, 1.5, "10"]


def page_size(size: Any) -> Call:
    return lambda kl: kl.stable.get_campaigns(filter=CHANNEL, page_size=size)


# (what, the call, the argument its error must name)
CALLS: list[tuple[str, Call, str]] = [
    ("body=None", lambda kl: kl.stable.create_campaign(body=None), "body"),  # type: ignore[arg-type]
    ("body=dict", lambda kl: kl.stable.create_campaign(body={"data": {}}), "body"),  # type: ignore[arg-type]
    ("body=str", lambda kl: kl.stable.create_campaign(body='{"data": {}}'), "body"),  # type: ignore[arg-type]
    (
        "body of another revision",
        lambda kl: kl.stable.create_campaign(body=pre_create_body()),  # type: ignore[arg-type]
        "body",
    ),
    ("include=[None]", lambda kl: kl.stable.get_campaign("C1", include=[None]), "include"),  # type: ignore[list-item]
    ("include=5", lambda kl: kl.stable.get_campaign("C1", include=5), "include"),  # type: ignore[arg-type]
    ("NaN in a body", lambda kl: kl.stable.create_campaign(body=create_body(math.nan)), "body"),
    ("inf in a body", lambda kl: kl.stable.create_campaign(body=create_body(math.inf)), "body"),
    (
        "lone surrogate in a body",
        lambda kl: kl.stable.create_campaign(body=create_body("Sale \ud800")),
        "body",
    ),
    *((f"page_size={size!r}", page_size(size), "page_size") for size in BAD_PAGE_SIZES),
    (
        "page_size=101 (.pre messages)",
        lambda kl: kl.pre.get_campaign_messages(filter="equals(campaign_id,'C1')", page_size=101),
        "page_size",
    ),
    (
        "page_cursor=123",
        lambda kl: kl.stable.get_campaigns(filter=CHANNEL, page_cursor=123),  # type: ignore[arg-type]
        "page_cursor",
    ),
    (
        "page_cursor=''",
        lambda kl: kl.pre.get_campaigns(page_cursor=""),
        "page_cursor",
    ),
    (
        "fields_campaign=[]",
        lambda kl: kl.stable.get_campaign("C1", fields_campaign=[]),
        "fields[campaign]",
    ),
    (
        "paginate(...).items(limit='5')",
        lambda kl: kl.paginate(kl.pre.get_campaigns).items(limit="5").__anext__(),  # type: ignore[arg-type]
        "limit",
    ),
    (
        "page_cursor=b'abc'",
        lambda kl: kl.pre.get_campaigns(page_cursor=b"abc"),  # type: ignore[arg-type]
        "page_cursor",
    ),
]

# (what, Klaviyo's keyword arguments beyond the key, the argument its error must name)
SETTINGS: list[tuple[str, dict[str, Any], str]] = [
    ("api_key=123", {"api_key": 123}, "api_key"),
    ("api_key=b'pk'", {"api_key": b"pk"}, "api_key"),
    ("max_retries='3'", {"max_retries": "3"}, "max_retries"),
    ("max_retries=True", {"max_retries": True}, "max_retries"),
    ("max_retries=-1", {"max_retries": -1}, "max_retries"),
    ("base_url port 99999", {"base_url": "http://127.0.0.1:99999"}, "base_url"),
    ("base_url 'http://[::1'", {"base_url": "http://[::1"}, "base_url"),
    ("base_url without host", {"base_url": "https://"}, "base_url"),
    ("base_url=5", {"base_url": 5}, "base_url"),
    ("retry_deadline=-5", {"retry_deadline": -5}, "retry_deadline"),
    ("retry_deadline=nan", {"retry_deadline": math.nan}, "retry_deadline"),
    ("timeout=-1", {"timeout": -1}, "timeout"),
    ("timeout='30'", {"timeout": "30"}, "timeout"),
    ("timeout=Timeout(read=-1)", {"timeout": httpx.Timeout(5.0, read=-1)}, "timeout.read"),
    ("limiter='redis'", {"limiter": "redis"}, "limiter"),
    ("http_client=object()", {"http_client": object()}, "http_client"),
    ("backoff_base=inf", {"backoff_base": math.inf}, "backoff_base"),
]


@pytest.fixture
def fake() -> FakeKlaviyo:
    return FakeKlaviyo(rate_limits=False, seed=5)


@pytest_asyncio.fixture
async def sent(fake: FakeKlaviyo) -> AsyncIterator[tuple[Klaviyo, list[httpx.Request]]]:
    requests: list[httpx.Request] = []

    async def on_request(request: httpx.Request) -> None:
        requests.append(request)

    async with (
        httpx.AsyncClient(transport=fake.transport(), event_hooks={"request": [on_request]}) as h,
        Klaviyo(KEY, base_url=fake.base_url, http_client=h, max_retries=0) as kl,
    ):
        yield kl, requests


@pytest.mark.parametrize(("what", "call", "argument"), CALLS, ids=[row[0] for row in CALLS])
async def test_a_bad_argument_is_a_validation_error_before_sending(
    what: str,
    call: Call,
    argument: str,
    sent: tuple[Klaviyo, list[httpx.Request]],
    fake: FakeKlaviyo,
) -> None:
    kl, requests = sent
    with pytest.raises(ValidationError) as caught:
        await call(kl)
    # "<argument>: ..." or, for a body checked against its schema, "<operation>: body...: ..."
    assert re.match(rf"(\w+: )?{re.escape(argument)}[:.]", str(caught.value)), str(caught.value)
    assert requests == []
    assert sum(fake.counters.requests.values()) == 0


@pytest.mark.parametrize(
    ("what", "options", "argument"), SETTINGS, ids=[row[0] for row in SETTINGS]
)
def test_a_bad_setting_is_a_configuration_error(
    what: str, options: dict[str, Any], argument: str
) -> None:
    options = {"api_key": KEY, **options}
    with pytest.raises(ConfigurationError) as caught:
        Klaviyo(**options)
    assert str(caught.value).startswith(argument), str(caught.value)


@pytest.mark.parametrize("document", [{}, None, [], "data", {"data": None}, {"data": 5}])
def test_from_dict_of_a_non_document_is_a_validation_error(document: Any) -> None:
    # A nested value is parsed when first read or rendered: to_dict(), as before sending.
    with pytest.raises(ValidationError) as caught:
        stable.CampaignCreateQuery.from_dict(document).to_dict()
    assert "CampaignCreateQuery" in str(caught.value)  # the model, or the one inside it
    with pytest.raises(ValidationError):
        pre.CampaignCreateQuery.from_dict(document).to_dict()


def test_a_missing_field_is_still_a_key_error_naming_model_and_field() -> None:
    with pytest.raises(KeyError) as caught:
        stable.CampaignCreateQuery.from_dict({})
    assert isinstance(caught.value, ValidationError)
    assert str(caught.value) == "CampaignCreateQuery requires the field 'data', which is missing"


def test_page_size_bounds_come_from_each_operation_of_the_spec() -> None:
    bounds = {
        (revision, op.id): op.page_size
        for revision, table in OPERATIONS.items()
        for op in table.values()
        if op.page_size is not None
    }
    assert bounds == {
        (REVISIONS.stable, "get_campaigns"): (1, 100),
        (REVISIONS.pre, "get_campaigns_beta"): (1, 100),
        (REVISIONS.pre, "get_campaign_messages_beta"): (1, 100),
    }


@pytest.mark.parametrize("size", [1, 100])
async def test_page_sizes_within_the_bounds_are_sent(
    size: int, sent: tuple[Klaviyo, list[httpx.Request]], fake: FakeKlaviyo
) -> None:
    kl, requests = sent
    fake.seed_campaigns(2)
    page = await kl.stable.get_campaigns(filter=CHANNEL, page_size=size)
    assert len(page.data) == min(size, 2)
    assert requests[0].url.params["page[size]"] == str(size)


async def test_every_bad_input_error_is_a_klaviyo_error(
    sent: tuple[Klaviyo, list[httpx.Request]],
) -> None:
    kl, _ = sent
    for _, call, _ in CALLS:
        with pytest.raises(KlaviyoError):
            await call(kl)
