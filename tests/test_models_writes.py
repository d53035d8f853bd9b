"""Writes without the envelope: attributes by keyword, relationships by id, nested values as
plain dicts (typed by the generated ``TypedDict``s), the resource id as the first argument.

The issue's seven lines run here as written, against the fake.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from klaviyo_campaigns import REVISIONS, Klaviyo, ValidationError
from klaviyo_campaigns.testing import FakeClock, FakeKlaviyo

KEY = "pk_test_models_writes"
START = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> FakeKlaviyo:
    return FakeKlaviyo(clock=FakeClock(START, ticking=False), rate_limits=False, seed=15)


@pytest_asyncio.fixture
async def kl(fake: FakeKlaviyo) -> AsyncIterator[Klaviyo]:
    async with (
        httpx.AsyncClient(transport=fake.transport()) as http,
        Klaviyo(KEY, base_url=fake.base_url, http_client=http, max_retries=0) as client,
    ):
        yield client


def _record(fake: FakeKlaviyo, revision: str, kind: str, id_: str) -> Any:
    (record,) = [r for r in fake.records(revision, kind) if r.id == id_]
    return record


async def test_the_issue_s_seven_lines_run_as_written(kl: Klaviyo, fake: FakeKlaviyo) -> None:
    created = await kl.pre.create_campaign(
        definition={
            "name": "Summer Sale",
            "builder": "wizard",
            "send_settings": {"send_timezone": "America/New_York"},
        },
        audiences=[{"temporary_id": "all", "included": ["LIST_1"], "excluded": []}],
        messages=[
            {
                "audience_temporary_id": "all",
                "name": "Email",
                "variations": [
                    {
                        "definition": {
                            "details": {
                                "channel": "email",
                                "subject": "Hi",
                                "from_email": "shop@example.com",
                                "from_label": "Shop",
                            }
                        }
                    }
                ],
            }
        ],
    )
    campaign_id = created.data.id
    (variation,) = fake.records(REVISIONS.pre, "campaign-variation")
    (message,) = fake.records(REVISIONS.pre, "campaign-message")
    variation_id, message_id = variation.id, message.id
    when = fake.now() + timedelta(hours=2)

    await kl.pre.update_campaign_variation(
        variation_id, definition={"details": {"channel": "email", "subject": "New subject"}}
    )
    details = variation.attributes["definition"]["details"]
    assert details["subject"] == "New subject"
    assert details["from_email"] == "shop@example.com"

    await kl.pre.update_campaign(
        campaign_id,
        definition={"send_settings": {"send_strategy": "STATIC", "throttle_percentage": None}},
    )
    await kl.pre.schedule_campaign_message(message_id, strategy="static", send_time=when)
    assert _record(fake, REVISIONS.pre, "campaign-message", message_id).internal
    await kl.pre.update_campaign_message_schedule(message_id, action="revert")

    (stable_campaign,) = fake.seed_campaigns(1, revision=REVISIONS.stable)
    await kl.stable.send_campaign(stable_campaign)
    clone = await kl.stable.create_campaign_clone(stable_campaign, new_name="Copy")
    assert clone.data.attributes.name == "Copy"
    assert fake.counters.writes["send_campaign"] == 1


async def test_relationships_by_id(kl: Klaviyo, fake: FakeKlaviyo) -> None:
    (campaign,) = fake.seed_campaigns(1, revision=REVISIONS.pre)
    audience = await kl.pre.create_campaign_audience(
        definition={"included": ["LIST_2"], "excluded": []}, campaign_id=campaign
    )
    assert audience.data.id in {r.id for r in fake.records(REVISIONS.pre, "campaign-audience")}


async def test_an_unknown_keyword_key_is_refused_naming_the_allowed_ones(
    kl: Klaviyo, fake: FakeKlaviyo
) -> None:
    with pytest.raises(ValidationError) as raised:
        await kl.pre.update_campaign(
            "C1",
            definition={"sendsettings": {}},  # type: ignore[typeddict-unknown-key]
        )
    message = str(raised.value)
    assert "update_campaign_beta: body.data.attributes.definition.sendsettings" in message
    assert "allowed keys are " in message and "send_settings" in message
    assert sum(fake.counters.requests.values()) == 0


async def test_body_and_keywords_together_are_refused(kl: Klaviyo) -> None:
    from klaviyo_campaigns.models.pre import CampaignPartialUpdateQuery

    body = CampaignPartialUpdateQuery.from_dict(
        {"data": {"type": "campaign", "id": "C1", "attributes": {"definition": {}}}}
    )
    with pytest.raises(ValidationError, match="either body= or the fields"):
        await kl.pre.update_campaign("C1", body=body, definition={"name": "x"})


async def test_a_missing_required_attribute_is_named(kl: Klaviyo) -> None:
    with pytest.raises(ValidationError, match=r"create_campaign: body\.data\.attributes"):
        await kl.stable.create_campaign(name="No audiences")


# -- every write operation, by keyword -------------------------------------------------------


def _write_cases() -> list[Any]:
    from test_models_requests import WRITES

    return [pytest.param(p, o, s, id=f"{p}-{o}") for p, o, s in WRITES]


@pytest.mark.parametrize(("package", "op_id", "schema"), _write_cases())
async def test_every_write_takes_its_fields_by_keyword_and_its_id_first(
    package: str, op_id: str, schema: dict[str, Any]
) -> None:
    """The required-only document of each write, given as keywords, is the document sent."""
    import inspect

    from test_models_requests import TABLES, documents

    from codegen.params import python_name
    from klaviyo_campaigns import _coerce
    from klaviyo_campaigns._generated.pre.facade import API as PreAPI
    from klaviyo_campaigns._generated.stable.facade import API as StableAPI

    sent: list[dict[str, Any]] = []

    async def capture(operation: Any, request: dict[str, Any], parse: Any) -> None:
        sent.append(request)

    api = (StableAPI if package == "stable" else PreAPI)(capture, _coerce)  # type: ignore[arg-type]
    method = getattr(api, op_id.removesuffix("_beta"))
    parameters = list(inspect.signature(method).parameters.values())
    first = (
        parameters[0].name if parameters[0].kind is parameters[0].POSITIONAL_OR_KEYWORD else None
    )
    path_id = "{id}" in TABLES[package][op_id].path
    for what, doc in documents(package, schema):
        data = doc["data"]
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        relationships = dict(data.get("relationships", {}))
        if first == "id":
            args.append(
                data.get("id", "X1")
                if "/relationships/" not in TABLES[package][op_id].path
                else "X1"
            )
        elif first is not None:
            (wire,) = [w for w in relationships if python_name(w) + "_id" == first]
            args.append(relationships.pop(wire)["data"]["id"])
        if "/relationships/" in TABLES[package][op_id].path and "id" in data:
            kwargs[f"{python_name(data['type'])}_id"] = data["id"]
        for wire, value in data.get("attributes", {}).items():
            kwargs[python_name(wire)] = value
        for wire, link in relationships.items():
            ids = link["data"]
            if isinstance(ids, list):
                kwargs[python_name(wire)] = [i["id"] for i in ids]
            else:
                kwargs[python_name(wire) + "_id"] = ids["id"]
        sent.clear()
        await method(*args, **kwargs)
        expected = json.loads(json.dumps(doc))
        if path_id and "id" in data and "/relationships/" not in TABLES[package][op_id].path:
            expected["data"]["id"] = args[0]
        assert sent[0]["json"] == expected, f"{op_id} ({what})"
