"""codegen.shapes: one schema per response shape, one enum per value set, short names by rule."""

from __future__ import annotations

import copy
import importlib
import inspect
import json
from pathlib import Path
from typing import Any

import pytest

from codegen import fixups, shapes
from klaviyo_campaigns import Klaviyo
from klaviyo_campaigns._generated.pre import models as pre_models
from klaviyo_campaigns.testing import FakeKlaviyo

OPENAPI = Path(__file__).resolve().parent.parent / "openapi"
REF = "#/components/schemas/"


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF + name}


def resource(kind: str, attributes: dict[str, Any], **more: Any) -> dict[str, Any]:
    """A response resource object of ``kind`` (``type`` as the fix-ups leave it: a const)."""
    return {
        "type": "object",
        "properties": {
            "type": {"type": "string", "const": kind},
            "id": {"type": "string", "description": "The ID"},
            "attributes": {"type": "object", "properties": copy.deepcopy(attributes)},
            "links": ref("ObjectLinks"),
            **more,
        },
        "required": ["type", "id", "attributes", "links"],
    }


def relationship(kind: str, many: bool = False) -> dict[str, Any]:
    identifier = {
        "type": "object",
        "properties": {"type": {"type": "string", "const": kind}, "id": {"type": "string"}},
        "required": ["type", "id"],
    }
    data = {"type": "array", "items": identifier} if many else identifier
    return {"type": "object", "properties": {"data": data, "links": ref("RelationshipLinks")}}


def document(data: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"data": data, "links": ref("ObjectLinks"), **more},
        "required": ["data"],
    }


def spec(
    schemas: dict[str, Any],
    responses: dict[str, str],
    request: str | None = None,
    params: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A spec with one operation per response schema (``operationId`` -> schema)."""
    paths: dict[str, Any] = {}
    for i, (op_id, schema) in enumerate(sorted(responses.items())):
        operation: dict[str, Any] = {
            "operationId": op_id,
            "parameters": copy.deepcopy(params or []),
            "responses": {"200": {"content": {"application/json": {"schema": ref(schema)}}}},
        }
        if request and i == 0:
            content = {"application/json": {"schema": ref(request)}}
            operation["requestBody"] = {"content": content}
        paths[f"/p{i}"] = {"get" if not request else "post": operation}
    base = {
        "ObjectLinks": {"type": "object", "properties": {"self": {"type": "string"}}},
        "RelationshipLinks": {"type": "object", "properties": {"self": {"type": "string"}}},
    }
    return {"openapi": "3.0.2", "paths": paths, "components": {"schemas": {**base, **schemas}}}


NAME = {"name": {"type": "string"}}


def test_an_inline_resource_of_the_same_shape_becomes_the_named_resource() -> None:
    inline = resource("campaign-message", NAME)
    inline["properties"]["id"]["description"] = "The message ID to be retrieved"  # docs only
    fixed = shapes.unify(
        spec(
            {
                "MessageResponseObjectResource": resource("campaign-message", NAME),
                "GetMessageResponse": document(ref("MessageResponseObjectResource")),
                "PatchMessageResponse": document(inline),
            },
            {"get": "GetMessageResponse", "patch": "PatchMessageResponse"},
        )
    )

    schemas = fixed["components"]["schemas"]
    assert "CampaignMessage" in schemas
    assert "MessageResponseObjectResource" not in schemas
    # Both documents are one, named after the resource, and both operations answer with it.
    assert "CampaignMessageDocument" in schemas
    assert {"GetMessageResponse", "PatchMessageResponse"}.isdisjoint(schemas)
    assert schemas["CampaignMessageDocument"]["properties"]["data"] == ref("CampaignMessage")
    answers = {
        op["operationId"]: op["responses"]["200"]["content"]["application/json"]["schema"]
        for item in fixed["paths"].values()
        for op in item.values()
    }
    assert answers == {
        "get": ref("CampaignMessageDocument"),
        "patch": ref("CampaignMessageDocument"),
    }


def test_optional_relationships_only_one_shape_has_are_merged_into_the_one_class() -> None:
    full = resource("campaign-variation", NAME, relationships={"type": "object", "properties": {}})
    full["properties"]["relationships"]["properties"]["image"] = relationship("image")
    inline = resource(
        "campaign-variation", NAME, relationships={"type": "object", "properties": {}}
    )
    inline["properties"]["relationships"]["properties"]["translation"] = relationship("translation")
    fixed = shapes.unify(
        spec(
            {
                "VariationResponseObjectResource": full,
                "GetVariationResponse": document(ref("VariationResponseObjectResource")),
                "PostVariationResponse": document(inline),
            },
            {"get": "GetVariationResponse", "post": "PostVariationResponse"},
        )
    )

    schemas = fixed["components"]["schemas"]
    relationships = schemas["CampaignVariation"]["properties"]["relationships"]["properties"]
    assert relationships == {
        "image": ref("ImageRelationship"),
        "translation": ref("TranslationRelationship"),
    }
    assert schemas["ImageRelationship"]["properties"]["data"] == ref("ImageIdentifier")
    assert set(schemas["ImageIdentifier"]["required"]) == {"type", "id"}


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: r["required"].remove("links"), id="a required field differs"),
        pytest.param(
            lambda r: r["properties"]["attributes"]["properties"].update(name={"type": "integer"}),
            id="a field's type differs",
        ),
        pytest.param(
            lambda r: r["properties"]["attributes"]["properties"].update(label={"type": "string"}),
            id="an attribute the resource lacks",
        ),
    ],
)
def test_a_shape_that_is_not_compatible_keeps_its_own_schema(change: Any) -> None:
    inline = resource("campaign", NAME)
    change(inline)
    fixed = shapes.unify(
        spec(
            {
                "CampaignResponseObjectResource": resource("campaign", NAME),
                "GetCampaignResponse": document(ref("CampaignResponseObjectResource")),
                "PostCampaignResponse": document(inline),
            },
            {"get": "GetCampaignResponse", "post": "PostCampaignResponse"},
        )
    )

    schemas = fixed["components"]["schemas"]
    assert schemas["Campaign"] == resource("campaign", NAME)
    assert schemas["PostCampaignResponse"]["properties"]["data"] == inline


def test_renames_say_which_class_each_schema_became() -> None:
    before = spec(
        {
            "MessageResponseObjectResource": resource("campaign-message", NAME),
            "GetMessageResponse": document(ref("MessageResponseObjectResource")),
            "PatchMessageResponse": document(resource("campaign-message", NAME)),
        },
        {"get": "GetMessageResponse", "patch": "PatchMessageResponse"},
    )
    kept = copy.deepcopy(before)

    assert shapes.renames(before) == {
        "MessageResponseObjectResource": "CampaignMessage",
        "GetMessageResponse": "CampaignMessageDocument",
        "PatchMessageResponse": "CampaignMessageDocument",
    }
    assert before == kept


def test_a_nullable_use_stays_nullable() -> None:
    linkage = relationship("campaign")["properties"]["data"]
    fixed = shapes.unify(
        spec(
            {
                "GetRelationshipResponse": document({**linkage, "nullable": True}),
                "GetListResponse": document({"type": "array", "items": linkage}),
            },
            {"one": "GetRelationshipResponse", "many": "GetListResponse"},
        )
    )

    schemas = fixed["components"]["schemas"]
    one = schemas["CampaignIdentifierDocument"]["properties"]["data"]
    assert one == {"nullable": True, "oneOf": [ref("CampaignIdentifier")]}
    many = schemas["CampaignIdentifierListDocument"]["properties"]["data"]
    assert many == {"type": "array", "items": ref("CampaignIdentifier")}
    assert "nullable" not in schemas["CampaignIdentifier"]


def test_a_document_whose_data_may_be_null_does_not_take_the_name() -> None:
    nullable = {"nullable": True, "oneOf": [ref("CampaignResponseObjectResource")]}
    fixed = shapes.unify(
        spec(
            {
                "CampaignResponseObjectResource": resource("campaign", NAME),
                "AGetRelatedCampaignResponse": document(nullable),  # first by name
                "GetCampaignResponse": document(ref("CampaignResponseObjectResource")),
            },
            {"related": "AGetRelatedCampaignResponse", "get": "GetCampaignResponse"},
        )
    )

    schemas = fixed["components"]["schemas"]
    assert schemas["CampaignDocument"]["properties"]["data"] == ref("Campaign")
    related = schemas["AGetRelatedCampaignResponse"]["properties"]["data"]
    assert related == {"nullable": True, "oneOf": [ref("Campaign")]}


def test_a_schema_a_request_reaches_is_never_changed() -> None:
    shared = resource("campaign", NAME)
    before = spec(
        {"CampaignQuery": document(shared), "PostCampaignResponse": document(shared)},
        {"post": "PostCampaignResponse"},
        request="CampaignQuery",
    )
    fixed = shapes.unify(copy.deepcopy(before))

    schemas = fixed["components"]["schemas"]
    assert schemas["CampaignQuery"] == before["components"]["schemas"]["CampaignQuery"]


def test_a_name_already_taken_is_not_given() -> None:
    fixed = shapes.unify(
        spec(
            {
                "Campaign": {"type": "object", "properties": {"x": {"type": "string"}}},
                "CampaignResponseObjectResource": resource("campaign", NAME),
                "GetCampaignResponse": document(ref("CampaignResponseObjectResource")),
            },
            {"get": "GetCampaignResponse"},
        )
    )

    schemas = fixed["components"]["schemas"]
    assert schemas["Campaign"] == {"type": "object", "properties": {"x": {"type": "string"}}}
    # The resource keeps the name it had, and its document is named after that.
    assert "CampaignResponseObjectResource" in schemas
    assert "CampaignResponseObjectResourceDocument" in schemas


def test_a_name_whose_inner_classes_would_clash_is_not_given() -> None:
    """``Campaign``'s inline attributes would become a class ``CampaignAttributes``."""
    taken = {"type": "object", "properties": {"x": {"type": "string"}}}
    fixed = shapes.unify(
        spec(
            {
                "CampaignAttributes": taken,
                "CampaignResponseObjectResource": resource("campaign", NAME),
                "GetCampaignResponse": document(ref("CampaignResponseObjectResource")),
            },
            {"get": "GetCampaignResponse"},
        )
    )

    schemas = fixed["components"]["schemas"]
    assert "Campaign" not in schemas
    assert schemas["CampaignAttributes"] == taken
    assert "CampaignResponseObjectResource" in schemas


def test_query_enums_with_the_same_values_become_one_enum() -> None:
    def fields(values: list[str]) -> dict[str, Any]:
        items = {"type": "string", "enum": values}
        schema = {"type": "array", "items": items}
        return {"name": "fields[campaign]", "in": "query", "schema": schema, "explode": False}

    base = spec(
        {
            "CampaignResponseObjectResource": resource("campaign", NAME),
            "GetCampaignResponse": document(ref("CampaignResponseObjectResource")),
        },
        {"a": "GetCampaignResponse", "b": "GetCampaignResponse", "c": "GetCampaignResponse"},
    )
    operations = [op for item in base["paths"].values() for op in item.values()]
    operations[0]["parameters"] = [fields(["name", "status"])]
    operations[1]["parameters"] = [fields(["name", "status"])]
    operations[2]["parameters"] = [fields(["name"])]  # another value set: stays inline

    shapes.unify(base)

    assert base["components"]["schemas"]["CampaignField"] == {
        "type": "string",
        "enum": ["name", "status"],
    }
    items = [op["parameters"][0]["schema"]["items"] for op in operations]
    assert items == [
        ref("CampaignField"),
        ref("CampaignField"),
        {"type": "string", "enum": ["name"]},
    ]


@pytest.mark.parametrize("package", ["stable", "pre"])
def test_unify_on_the_real_specs_is_deterministic_and_leaves_requests_alone(package: str) -> None:
    raw = json.loads((OPENAPI / f"{package}.json").read_text())
    once = shapes.unify(fixups.apply_all(raw))
    twice = shapes.unify(fixups.apply_all(raw))

    assert json.dumps(once, sort_keys=True) == json.dumps(twice, sort_keys=True)
    fixed = fixups.apply_all(raw)
    for path, item in fixed["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "requestBody" in operation:
                assert once["paths"][path][method]["requestBody"] == operation["requestBody"]


PUBLIC = {
    "stable": [
        "Campaign", "CampaignMessage", "Tag", "Image", "Template", "CampaignSendJob",
        "CampaignRecipientEstimationJob", "CampaignDocument", "CampaignListDocument",
        "CampaignMessageDocument", "CampaignMessageListDocument", "TagListDocument",
        "TagIdentifier", "CampaignField", "CampaignInclude", "CampaignSort",
    ],
    "pre": [
        "Campaign", "CampaignAudience", "CampaignMessage", "CampaignVariation", "Tag", "Image",
        "Template", "Translation", "CampaignMessageSchedule", "EmailChannelDetails",
        "SMSChannelDetails", "PushChannelDetails", "WhatsappChannelDetails", "CampaignDocument",
        "CampaignListDocument", "CampaignVariationDocument", "CampaignVariationListDocument",
        "CampaignAudienceDocument", "CampaignVariationField", "CampaignMessageSort",
    ],
}  # fmt: skip


@pytest.mark.parametrize(("revision", "name"), [(r, n) for r, ns in PUBLIC.items() for n in ns])
def test_short_names_are_importable_from_the_public_models(revision: str, name: str) -> None:
    module = importlib.import_module(f"klaviyo_campaigns.models.{revision}")

    cls = getattr(module, name)

    assert cls.__name__ == name


@pytest.mark.parametrize("revision", ["stable", "pre"])
def test_create_get_and_update_answer_with_the_same_document_class(revision: str) -> None:
    api = importlib.import_module(f"klaviyo_campaigns._generated.{revision}.facade").API
    answers = {
        inspect.signature(getattr(api, name)).return_annotation
        for name in ("create_campaign", "get_campaign", "update_campaign")
    }

    assert answers == {"CampaignDocument"}


async def test_a_create_with_a_sparse_fieldset_parses() -> None:
    """Create and update answers take ``fields[campaign]`` too: their attributes are optional."""
    fake = FakeKlaviyo(rate_limits=False)
    async with fake.serve() as base_url, Klaviyo("pk_shapes", base_url=base_url) as kl:
        created = await kl.pre.create_campaign(
            definition={"name": "Sparse", "builder": "wizard"},
            audiences=[{"temporary_id": "a", "included": ["L"], "excluded": []}],
            messages=[],
            fields_campaign=["created_at"],
        )
        fetched = await kl.pre.get_campaign(created.data.id)
        updated = await kl.pre.update_campaign(
            created.data.id, definition={"name": "Sparser"}, fields_campaign=["updated_at"]
        )

    assert type(created) is type(fetched) is type(updated) is pre_models.CampaignDocument
    assert type(created.data) is pre_models.Campaign
    assert not created.data.attributes.definition  # left out: not asked for
    assert created.data.attributes.created_at
    assert fetched.data.attributes.definition
