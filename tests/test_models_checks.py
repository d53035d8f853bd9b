"""Building a request: every error is a ``ValidationError`` naming the operation and the field's
path, raised before anything is sent; and the per-call escape hatches (``extra_query``,
``extra_headers``, ``extra_body``, ``timeout``) on every operation, against the fake.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from klaviyo_campaigns import REVISIONS, Klaviyo, ValidationError
from klaviyo_campaigns._generated.pre.facade import API as PreAPI
from klaviyo_campaigns._generated.stable.facade import API as StableAPI
from klaviyo_campaigns.models import pre as pre_models
from klaviyo_campaigns.testing import FakeClock, FakeKlaviyo

KEY = "pk_test_models_checks"


@pytest.fixture
def fake() -> FakeKlaviyo:
    start = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
    return FakeKlaviyo(clock=FakeClock(start, ticking=False), rate_limits=False, seed=15)


@pytest_asyncio.fixture
async def kl(fake: FakeKlaviyo) -> AsyncIterator[Klaviyo]:
    async with (
        httpx.AsyncClient(transport=fake.transport()) as http,
        Klaviyo(KEY, base_url=fake.base_url, http_client=http, max_retries=0) as client,
    ):
        yield client


def _update(attributes: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"type": "campaign", "id": "C1", "attributes": attributes}}


CASES = [
    # (what, body, the path and the words the message names)
    ("body=None", None, "body", "None is not a request body"),
    ("missing field", {"data": {"type": "campaign", "id": "C1"}}, "data.attributes", "missing"),
    (
        "wrong type",
        _update({"definition": {"name": 7}}),
        "data.attributes.definition.name",
        "expected string",
    ),
    (
        "unknown key",
        _update({"definition": {"sendsettings": {}}}),
        "data.attributes.definition.sendsettings",
        "allowed keys are ",
    ),
    (
        "bad enum value",
        _update({"definition": {"send_settings": {"send_strategy": "SOMETIMES"}}}),
        "data.attributes.definition.send_settings.send_strategy",
        '"STATIC", "LOCAL_TIMEZONE", "THROTTLED"',
    ),
    (
        "wrong resource type",
        {"data": {"type": "campaigns", "id": "C1", "attributes": {}}},
        "data.type",
        '"campaign"',
    ),
]


@pytest.mark.parametrize(("what", "body", "path", "words"), CASES, ids=[c[0] for c in CASES])
async def test_a_bad_body_is_refused_before_sending(
    kl: Klaviyo, fake: FakeKlaviyo, what: str, body: Any, path: str, words: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        await kl.pre.update_campaign("C1", body=body)

    message = str(raised.value)
    assert message.startswith("update_campaign_beta: "), message
    assert f"body.{path}" in message or path == "body", message
    assert words in message, message
    assert sum(fake.counters.requests.values()) == 0


async def test_a_misspelt_key_in_a_model_is_refused_not_forwarded(kl: Klaviyo) -> None:
    # from_dict keeps keys it does not know in additional_properties; they are never sent.
    body = pre_models.CampaignPartialUpdateQuery.from_dict(
        _update({"definition": {"name": "x", "includd": ["L1"]}})
    )
    with pytest.raises(ValidationError, match=r"definition\.includd: unknown key"):
        await kl.pre.update_campaign("C1", body=body)


async def test_an_enum_value_the_spec_does_not_list_is_refused_in_a_model(kl: Klaviyo) -> None:
    # Parsing keeps values Klaviyo adds later; sending one the spec does not list is refused.
    body = pre_models.CampaignPartialUpdateQuery.from_dict(
        _update({"definition": {"send_settings": {"send_strategy": "SMART_SEND_TIME"}}})
    )
    with pytest.raises(ValidationError, match=r"send_strategy: \"SMART_SEND_TIME\" is not one"):
        await kl.pre.update_campaign("C1", body=body)


async def test_a_model_holding_a_wrong_python_type_is_a_validation_error(kl: Klaviyo) -> None:
    details = pre_models.EmailChannelDetails(subject=5)  # type: ignore[arg-type]
    body = pre_models.VariationPartialUpdateQuery(
        data=pre_models.VariationPartialUpdateQueryResourceObject(
            type_="campaign-variation",
            id="V1",
            attributes=pre_models.VariationPartialUpdateQueryResourceObjectAttributes(
                definition=pre_models.VariationDefinition(details=details)
            ),
        )
    )
    with pytest.raises(ValidationError, match=r"details\.subject: expected string"):
        await kl.pre.update_campaign_variation("V1", body=body)


# -- escape hatches ------------------------------------------------------------------------------


@pytest.mark.parametrize("api", [StableAPI, PreAPI])
def test_every_operation_takes_the_escape_hatches(api: type) -> None:
    methods = [m for n, m in inspect.getmembers(api, inspect.iscoroutinefunction) if n[0] != "_"]
    assert len(methods) >= 26
    for method in methods:
        parameters = inspect.signature(method).parameters
        for name in ("extra_query", "extra_headers", "extra_body", "timeout"):
            assert parameters[name].kind is inspect.Parameter.KEYWORD_ONLY, (method, name)


async def test_extra_query_and_headers_reach_the_wire(fake: FakeKlaviyo) -> None:
    seen: list[httpx.Request] = []
    fake.seed_campaigns(1, revision=REVISIONS.pre)

    async def record(request: httpx.Request) -> None:
        seen.append(request)

    hooks = {"request": [record]}
    async with (
        httpx.AsyncClient(transport=fake.transport(), event_hooks=hooks) as http,
        Klaviyo(KEY, base_url=fake.base_url, http_client=http, max_retries=0) as kl,
    ):
        await kl.pre.get_campaigns(
            extra_query={"page[size]": 5}, extra_headers={"X-Trace": "t-1"}, timeout=7.5
        )
    (request,) = seen
    assert request.url.params["page[size]"] == "5"
    assert request.headers["X-Trace"] == "t-1"
    assert request.extensions["timeout"]["read"] == 7.5


async def test_extra_body_is_merged_into_the_document(kl: Klaviyo, fake: FakeKlaviyo) -> None:
    (campaign,) = fake.seed_campaigns(1, revision=REVISIONS.pre)
    body = pre_models.CampaignPartialUpdateQuery.from_dict(
        {"data": {"type": "campaign", "id": campaign, "attributes": {"definition": {}}}}
    )
    updated = await kl.pre.update_campaign(
        campaign, body=body, extra_body={"data": {"attributes": {"definition": {"name": "Via"}}}}
    )
    assert updated.data.attributes.definition.name == "Via"


async def test_the_overview_s_includes_and_message_filter_work_through_the_escape_hatch(
    kl: Klaviyo, fake: FakeKlaviyo
) -> None:
    (campaign,) = fake.seed_campaigns(1, revision=REVISIONS.pre)
    fake.tag_campaign(campaign, "summer", revision=REVISIONS.pre)
    with pytest.raises(ValidationError):  # not in the published spec: refused by default
        await kl.pre.get_campaign(campaign, include=["campaign-variations"])

    got = await kl.pre.get_campaign(campaign, extra_query={"include": "campaign-variations,tags"})
    types = sorted({item.type_ for item in got.included or []})
    assert types == ["campaign-variation", "tag"]

    messages = await kl.pre.get_campaign_messages(
        extra_query={"filter": f"equals(campaign.id,'{campaign}')"}
    )
    assert messages.data
