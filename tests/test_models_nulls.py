"""Null and not-set differ, both ways.

Every field the spec or an overlay makes nullable parses ``null``, whatever its type (enum,
``$ref``, union): checked on the overview's own example documents with each nullable field set to
``null`` in turn, and with all of them at once. A caller can send an explicit ``null`` (``None``),
distinct from leaving a field out (``UNSET``): a THROTTLED campaign goes back to STATIC against
the fake by clearing its ``throttle_percentage``.
"""

from __future__ import annotations

import copy
import json
import pickle
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from klaviyo_campaigns import REVISIONS, UNSET, Klaviyo, Unset
from klaviyo_campaigns.models import pre as pre_models
from klaviyo_campaigns.models import stable as stable_models
from klaviyo_campaigns.testing import FakeClock, FakeKlaviyo

REPO = Path(__file__).resolve().parents[1]
OVERVIEW = next(
    (REPO.parent / "shared" / "spec").glob("campaigns-api-*.pre-overview.md"), Path("absent")
)
KEY = "pk_test_models_nulls"

Path_ = tuple[str | int, ...]


@cache
def spec() -> dict[str, Any]:
    """The normalized ``.pre`` spec: the stable spec plus overlays, before codegen's fix-ups."""
    return json.loads((REPO / "openapi" / "pre.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _variant(schema: dict[str, Any], value: dict[str, Any]) -> dict[str, Any] | None:
    """The variant of a union ``value`` is an instance of, by its ``type`` or ``channel``."""
    for option in schema.get("oneOf", []) + schema.get("anyOf", []):
        option = _resolve(option)
        props = option.get("properties", {})
        keys = [k for k in ("type", "channel") if k in props and k in value]
        if keys and all(value[k] in _resolve(props[k]).get("enum", [value[k]]) for k in keys):
            return option
    return None


def nullable_paths(schema: dict[str, Any], value: Any, at: Path_ = ()) -> Iterator[Path_]:
    """Every place in ``value`` where ``schema`` allows ``null`` (present or not)."""
    schema = _resolve(schema)
    for part in schema.get("allOf", []):
        yield from nullable_paths(part, value, at)
    if isinstance(value, dict):
        variant = _variant(schema, value)
        if variant is not None:
            yield from nullable_paths(variant, value, at)
        for name, prop in schema.get("properties", {}).items():
            if prop.get("nullable"):
                yield (*at, name)
            if name in value and value[name] is not None:
                yield from nullable_paths(prop, value[name], (*at, name))
    elif isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            yield from nullable_paths(schema["items"], item, (*at, index))


def _set(document: Any, path: Path_, value: Any) -> Any:
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return document


def _get(document: Any, path: Path_) -> Any:
    """The value at ``path``; ``None`` as soon as a step on the way is ``null``."""
    for key in path:
        if document is None:
            return None
        document = document[key]
    return document


def overview_responses() -> list[tuple[str, dict[str, Any]]]:
    if not OVERVIEW.exists():
        return []
    from test_pre_overlays import OVERVIEW_BODY_SCHEMAS, overview_bodies

    return [
        (schema, body)
        for (kind, schema), (_, body) in zip(OVERVIEW_BODY_SCHEMAS, overview_bodies(), strict=True)
        if kind == "response"
    ]


RESPONSES = overview_responses()


def test_the_overview_has_response_documents() -> None:
    if not OVERVIEW.exists():
        pytest.skip("the overview lives beside the repository, not in it")
    assert len(RESPONSES) >= 5


@pytest.mark.parametrize(
    ("schema", "body"), RESPONSES, ids=[f"{i}-{s}" for i, (s, _) in enumerate(RESPONSES)]
)
def test_each_nullable_field_of_the_overview_s_documents_parses_null(
    schema: str, body: dict[str, Any]
) -> None:
    from test_pre_overlays import model

    cls = model(pre_models, schema)
    root = {"$ref": f"#/components/schemas/{schema}"}
    paths = sorted(set(nullable_paths(root, body)), key=repr)
    assert paths, schema
    for path in paths:
        document = _set(copy.deepcopy(body), path, None)
        parsed = cls.from_dict(document)
        assert _get(parsed.to_dict(), path) is None, path
    # All at once: the deepest first, so each one set is still reachable.
    everything = copy.deepcopy(body)
    for path in sorted(paths, key=len, reverse=True):
        _set(everything, path, None)
    out = cls.from_dict(everything).to_dict()
    assert [path for path in paths if _get(out, path) is not None] == []
    assert cls.from_dict(out).to_dict() == out  # (timestamps come back in one format)


def test_a_list_page_with_a_null_send_strategy_parses() -> None:
    campaign = {
        "type": "campaign",
        "id": "01J0000000000000000000000A",
        "attributes": {"definition": {"send_settings": {"send_strategy": None}}},
        "links": {"self": "https://a.klaviyo.com/api/campaigns/01J0000000000000000000000A/"},
    }
    page = pre_models.CampaignListDocument.from_dict(
        {"data": [campaign], "links": {"self": "https://a.klaviyo.com/api/campaigns/"}}
    )
    definition = page.data[0].attributes.definition
    assert definition.send_settings.send_strategy is None
    assert page.to_dict()["data"][0] == campaign


def test_a_message_definition_with_a_null_status_stays_typed() -> None:
    definition = pre_models.MessageDefinition.from_dict({"name": "Email", "status": None})
    assert isinstance(definition, pre_models.MessageDefinition)
    assert definition.status is None and definition.name == "Email"


def test_none_is_sent_as_null_and_unset_is_left_out() -> None:
    cleared = pre_models.SendSettings(send_strategy=None, throttle_percentage=None)
    assert cleared.to_dict() == {"send_strategy": None, "throttle_percentage": None}
    assert pre_models.SendSettings().to_dict() == {}
    static = stable_models.CampaignPartialUpdateQuery.from_dict(
        {"data": {"type": "campaign", "id": "C1", "attributes": {"name": "x"}}}
    )
    assert static.to_dict()["data"]["attributes"] == {"name": "x"}


# -- against the fake --------------------------------------------------------------------------


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


def _update(campaign_id: str, send_settings: Any) -> Any:
    return pre_models.CampaignPartialUpdateQuery(
        data=pre_models.CampaignPartialUpdateQueryResourceObject(
            type_="campaign",
            id=campaign_id,
            attributes=pre_models.CampaignPartialUpdateQueryResourceObjectAttributes(
                definition=pre_models.CampaignDefinition(send_settings=send_settings)
            ),
        )
    )


async def test_a_throttled_campaign_goes_back_to_static_by_clearing_its_percentage(
    kl: Klaviyo, fake: FakeKlaviyo
) -> None:
    (campaign,) = fake.seed_campaigns(1, revision=REVISIONS.pre)
    throttled = pre_models.SendSettings(
        send_strategy=pre_models.SendSettingsSendStrategy.THROTTLED,
        throttle_percentage=pre_models.SendSettingsThrottlePercentage.VALUE_25,
    )
    await kl.pre.update_campaign(campaign, body=_update(campaign, throttled))
    static = pre_models.SendSettings(
        send_strategy=pre_models.SendSettingsSendStrategy.STATIC, throttle_percentage=None
    )
    updated = await kl.pre.update_campaign(campaign, body=_update(campaign, static))

    settings = updated.data.attributes.definition.send_settings
    assert settings.send_strategy == "STATIC"
    assert not settings.throttle_percentage  # the fake leaves the cleared field out
    (record,) = fake.records(REVISIONS.pre, "campaign")
    assert "throttle_percentage" not in record.attributes["definition"]["send_settings"]


# --- UNSET is one value, whatever copies a model ---------------------------------------------


def test_unset_survives_copy_deepcopy_and_pickle() -> None:
    assert Unset() is UNSET
    assert copy.copy(UNSET) is UNSET
    assert copy.deepcopy(UNSET) is UNSET
    assert pickle.loads(pickle.dumps(UNSET)) is UNSET


def test_a_copied_model_equals_and_serializes_as_its_original() -> None:
    document = {
        "type": "campaign",
        "id": "C1",
        "attributes": {"definition": {"name": "Sale"}, "created_at": "2026-01-01T00:00:00+00:00"},
        "links": {"self": "https://a.klaviyo.com/api/campaigns/C1"},
    }
    for read_first in (False, True):
        campaign = pre_models.Campaign.from_dict(copy.deepcopy(document))
        if read_first:  # fields already parsed (some UNSET) before the copy
            assert campaign.attributes.definition
            assert campaign.attributes.definition.name == "Sale"
        for twin in (
            copy.copy(campaign),
            copy.deepcopy(campaign),
            pickle.loads(pickle.dumps(campaign)),
        ):
            assert twin == campaign
            assert twin.to_dict() == campaign.to_dict() == document


def test_a_misspelt_attribute_is_refused_on_parsed_and_built_models() -> None:
    parsed = pre_models.Campaign.from_dict(
        {"type": "campaign", "id": "C1", "attributes": {}, "links": {"self": "https://x"}}
    )
    built = pre_models.EmailChannelDetails(subject="Hi")
    for model, typo in ((parsed, "idd"), (built, "subjct")):
        with pytest.raises(AttributeError, match=repr(typo)):
            setattr(model, typo, "x")
        assert typo not in model.to_dict()
    built.subject = "Hello"  # a real field is still assigned
    parsed.id = "C2"
    assert built.to_dict()["subject"] == "Hello"
    assert parsed.to_dict()["id"] == "C2"
