"""A request sends exactly what the caller set: no spec default is filled in on the client.

For every write operation of both revisions, a body is built from the operation's own request
schema with only the required fields, then with each optional attribute alone; the request the
generated builder makes carries exactly that document (no default added, nothing dropped). Against
the fake, a partial update of each channel's variation changes only the fields it sent.
"""

from __future__ import annotations

import importlib
import json
import typing
from collections.abc import AsyncIterator, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
import pytest_asyncio

from codegen import fixups
from codegen.spec import operations
from klaviyo_campaigns import REVISIONS, Klaviyo
from klaviyo_campaigns._body import request_body
from klaviyo_campaigns._core import UNSET
from klaviyo_campaigns._generated.operations import PRE_OPERATIONS, STABLE_OPERATIONS
from klaviyo_campaigns.models import pre as pre_models
from klaviyo_campaigns.testing import FakeClock, FakeKlaviyo

REPO = Path(__file__).resolve().parents[1]
KEY = "pk_test_models_requests"
WHEN = "2026-06-01T12:00:00+00:00"


@cache
def fixed_spec(package: str) -> dict[str, Any]:
    """The spec the generator was fed for ``package`` (normalized spec plus fix-ups)."""
    raw = json.loads((REPO / "openapi" / f"{package}.json").read_text(encoding="utf-8"))
    return fixups.apply_all(raw)


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def sample(spec: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A value for ``schema`` with only its required fields (first variant of a union)."""
    schema = _resolve(spec, schema)
    for union in ("oneOf", "anyOf"):
        if union in schema:
            variants = [v for v in schema[union] if _resolve(spec, v).get("type") != "null"]
            return sample(spec, variants[0])
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return next(v for v in schema["enum"] if v is not None)
    kind = schema.get("type", "object")
    if kind == "string":
        return WHEN if schema.get("format") == "date-time" else "x1"
    if kind == "integer":
        return 1
    if kind == "number":
        return 1.5
    if kind == "boolean":
        return True
    if kind == "array":
        return [sample(spec, schema["items"])]
    properties = schema.get("properties", {})
    names = list(schema.get("required", []))
    if "data" in properties and "data" not in names:  # a relationship is its linkage
        names.append("data")
    return {name: sample(spec, properties[name]) for name in names}


def write_operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for package in ("stable", "pre"):
        spec = fixed_spec(package)
        for _, _, op in operations(spec):
            body = op.get("requestBody")
            if body is not None:
                yield (
                    package,
                    op["operationId"],
                    body["content"]["application/vnd.api+json"]["schema"],
                )


def documents(package: str, schema: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The required-only document, then one per optional attribute, set alone."""
    spec = fixed_spec(package)
    minimal = sample(spec, schema)
    yield "required only", minimal
    data_schema = _resolve(spec, _resolve(spec, schema)["properties"]["data"])
    attributes = data_schema.get("properties", {}).get("attributes")
    if attributes is None:
        return
    attributes = _resolve(spec, attributes)
    for name, prop in sorted(attributes.get("properties", {}).items()):
        if name in attributes.get("required", []):
            continue
        doc = json.loads(json.dumps(minimal))
        doc["data"].setdefault("attributes", {})[name] = sample(spec, prop)
        yield name, doc


TABLES = {"stable": STABLE_OPERATIONS, "pre": PRE_OPERATIONS}


def rebuild(value: Any) -> Any:
    """``value`` made again through its classes' constructors, passing only the fields it has.

    What a caller writing ``EmailChannelDetails(subject=...)`` gets: a constructor that fills in
    a field the caller did not pass shows up as a key the document does not have.
    """
    if attrs.has(type(value)):
        given = {
            f.name: rebuild(getattr(value, f.name))
            for f in attrs.fields(type(value))
            if f.init and getattr(value, f.name) is not UNSET
        }
        made = type(value)(**given)
        if hasattr(value, "additional_properties"):
            made.additional_properties = dict(value.additional_properties)
        return made
    if isinstance(value, list):
        return [rebuild(item) for item in value]
    return value


def _builder(package: str, op_id: str) -> tuple[Any, type[Any]]:
    operation = TABLES[package][op_id]
    module = importlib.import_module(f"klaviyo_campaigns._generated.{operation.module}")
    hints = typing.get_type_hints(module._get_kwargs, vars(module))
    (model,) = [t for t in typing.get_args(hints["body"]) if attrs.has(t)]
    return module._get_kwargs, model


WRITES = sorted(write_operations(), key=lambda w: (w[0], w[1]))


def test_every_write_operation_is_covered() -> None:
    assert {package for package, _, _ in WRITES} == {"stable", "pre"}
    assert len(WRITES) >= 25  # 10 stable, 17 .pre today


@pytest.mark.parametrize(("package", "op_id", "schema"), WRITES, ids=[w[1] for w in WRITES])
def test_a_body_sends_exactly_what_was_set(
    package: str, op_id: str, schema: dict[str, Any]
) -> None:
    get_kwargs, body_class = _builder(package, op_id)
    paths = [p for p in TABLES[package][op_id].path.split("/") if p.startswith("{")]
    for what, doc in documents(package, schema):
        body = rebuild(body_class.from_dict(doc))
        request = get_kwargs(*["X1"] * len(paths), body=body)
        assert request["json"] == doc, f"{op_id} ({what})"
        # The runtime's check before sending takes it unchanged, as a model and as a dict.
        assert request_body(TABLES[package][op_id], body) == doc, f"{op_id} ({what})"
        assert request_body(TABLES[package][op_id], doc) == doc, f"{op_id} ({what})"


def test_channel_details_built_by_hand_carry_only_what_was_set() -> None:
    details = pre_models.EmailChannelDetails(subject="New subject")
    assert details.to_dict() == {"channel": "email", "subject": "New subject"}
    assert pre_models.SMSChannelDetails(body="Hi").to_dict() == {"channel": "sms", "body": "Hi"}
    assert pre_models.PushChannelDetails(title="T").to_dict() == {"channel": "push", "title": "T"}
    assert pre_models.WhatsappChannelDetails().to_dict() == {"channel": "whatsapp"}


# -- against the fake: a partial update changes exactly the fields sent --------------------------

FULL = {
    "email": {
        "channel": "email",
        "subject": "Hello",
        "from_email": "shop@example.com",
        "from_label": "Shop",
        "preview_text": "Preview",
        "reply_to_email": "help@example.com",
    },
    "sms": {"channel": "sms", "body": "Hello by SMS", "text_message_type": "MMS"},
    "push": {
        "channel": "push",
        "title": "Hello",
        "body": "Push body",
        "badge": True,
        "sound": True,
        "open_action": 2,
    },
    "whatsapp": {"channel": "whatsapp", "shorten_links": False},
}
CHANGE = {
    "email": {"channel": "email", "subject": "New subject"},
    "sms": {"channel": "sms", "body": "New SMS body"},
    "push": {"channel": "push", "title": "New title"},
    "whatsapp": {"channel": "whatsapp", "template_id": "TEMPLATE_2"},
}


@pytest.fixture
def fake() -> FakeKlaviyo:
    return FakeKlaviyo(clock=FakeClock(datetime_start(), ticking=False), rate_limits=False, seed=15)


def datetime_start() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def kl(fake: FakeKlaviyo) -> AsyncIterator[Klaviyo]:
    async with (
        httpx.AsyncClient(transport=fake.transport()) as http,
        Klaviyo(KEY, base_url=fake.base_url, http_client=http, max_retries=0) as client,
    ):
        yield client


def _create_body(channel: str) -> Any:
    return pre_models.CampaignCreateQuery.from_dict(
        {
            "data": {
                "type": "campaign",
                "attributes": {
                    "definition": {"name": f"{channel} campaign", "builder": "wizard"},
                    "audiences": [{"temporary_id": "all", "included": ["L1"], "excluded": []}],
                    "messages": [
                        {
                            "audience_temporary_id": "all",
                            "name": channel,
                            "variations": [{"definition": {"details": FULL[channel]}}],
                        }
                    ],
                },
            }
        }
    )


@pytest.mark.parametrize("channel", sorted(FULL))
async def test_partial_variation_update_changes_only_what_was_sent(
    kl: Klaviyo, fake: FakeKlaviyo, channel: str
) -> None:
    await kl.pre.create_campaign(body=_create_body(channel))
    (variation,) = fake.records(REVISIONS.pre, "campaign-variation")
    before = json.loads(json.dumps(variation.attributes["definition"]["details"]))
    update = rebuild(
        pre_models.VariationPartialUpdateQuery.from_dict(
            {
                "data": {
                    "type": "campaign-variation",
                    "id": variation.id,
                    "attributes": {"definition": {"details": CHANGE[channel]}},
                }
            }
        )
    )
    await kl.pre.update_campaign_variation(variation.id, body=update)
    after = variation.attributes["definition"]["details"]
    assert after == {**before, **CHANGE[channel]}
