"""Compound documents: index by (type, id) and the typed campaign hierarchy of both revisions.

Resources are synthesized from the repo's normalized specs (``openapi/``), so every document here
is one the spec allows and the generated models parse.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from klaviyo_campaigns import Klaviyo
from klaviyo_campaigns._generated.operations import PRE_REVISION, STABLE_REVISION
from klaviyo_campaigns._generated.pre import models as pre_models
from klaviyo_campaigns._generated.stable import models as stable_models
from klaviyo_campaigns.compound import (
    CampaignTree,
    PreCampaignTree,
    Resource,
    campaign_tree,
    campaign_trees,
    model_class,
    pre_campaign_tree,
    pre_campaign_trees,
    resolve,
)
from klaviyo_campaigns.errors import ValidationError
from klaviyo_campaigns.filters import F
from klaviyo_campaigns.testing import FakeKlaviyo

OPENAPI = Path(__file__).resolve().parent.parent / "openapi"
SPEC_FILES = {
    STABLE_REVISION: "stable.json",
    PRE_REVISION: "pre.json",
}
SCHEMAS = {
    STABLE_REVISION: {
        "campaign": "CampaignResponseObjectResource",
        "campaign-message": "CampaignMessageResponseObjectResource",
        "tag": "TagResponseObjectResource",
        "image": "ImageResponseObjectResource",
        "template": "TemplateResponseObjectResource",
    },
    PRE_REVISION: {
        "campaign": "CampaignResponseObjectResource",
        "campaign-audience": "AudienceResponseObjectResource",
        "campaign-message": "MessageResponseObjectResource",
        "campaign-variation": "VariationResponseObjectResource",
        "tag": "TagResponseObjectResource",
        "image": "ImageResponseObjectResource",
        "template": "TemplateResponseObjectResource",
        "translation": "TranslationResponseObjectResource",
    },
}


@functools.cache
def spec(revision: str) -> dict[str, Any]:
    return json.loads((OPENAPI / SPEC_FILES[revision]).read_text())  # type: ignore[no-any-return]


def synthesize(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    """A minimal instance of ``schema``: required properties only, first variant, first enum."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return synthesize(document, document["components"]["schemas"][name])
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            merged.update(synthesize(document, part))
        return merged
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return synthesize(document, schema[key][0])
    for key in ("const", "example", "default"):
        if key in schema:
            return copy.deepcopy(schema[key])
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if kind == "array":
        return [synthesize(document, schema.get("items", {}))]
    if kind == "object":
        required = set(schema.get("required", []))
        return {
            name: synthesize(document, prop)
            for name, prop in schema.get("properties", {}).items()
            if name in required
        }
    if schema.get("format") == "date-time":
        return "2026-04-15T12:00:00+00:00"
    return {"integer": 1, "number": 1.5, "boolean": True}.get(kind, "sample")


def resource(revision: str, kind: str, ident: str, **links: Any) -> dict[str, Any]:
    """A resource object of ``kind``; ``links`` maps a relationship (``_`` for ``-``) to ids.

    A list of ids is a to-many relationship, a single id a to-one.
    """
    schema = {"$ref": f"#/components/schemas/{SCHEMAS[revision][kind]}"}
    body: dict[str, Any] = synthesize(spec(revision), schema)
    body["id"] = ident
    relationships: dict[str, Any] = {}
    for name, target in links.items():
        relationship = name.replace("_", "-")
        related_kind = RELATED_KIND[relationship]
        if isinstance(target, list):
            data: Any = [{"type": related_kind, "id": i} for i in target]
        else:
            data = {"type": related_kind, "id": target}
        relationships[relationship] = {"data": data}
    if relationships:
        body["relationships"] = relationships
    return body


RELATED_KIND = {
    "campaign": "campaign",
    "campaign-messages": "campaign-message",
    "campaign-message": "campaign-message",
    "campaign-audiences": "campaign-audience",
    "campaign-audience": "campaign-audience",
    "campaign-variations": "campaign-variation",
    "tags": "tag",
    "image": "image",
    "template": "template",
    "translation": "translation",
}


def stable(kind: str, ident: str, **links: Any) -> dict[str, Any]:
    return resource(STABLE_REVISION, kind, ident, **links)


def pre(kind: str, ident: str, **links: Any) -> dict[str, Any]:
    return resource(PRE_REVISION, kind, ident, **links)


# The class of each type -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("revision", "kind"),
    [(revision, kind) for revision, kinds in SCHEMAS.items() for kind in kinds],
)
def test_every_resource_type_has_the_class_named_after_it(revision: str, kind: str) -> None:
    cls = model_class(revision, kind)
    assert cls is not None

    model = cls.from_dict(resource(revision, kind, "x"))

    assert model.type_ == kind


def test_a_type_without_a_class_or_a_revision_without_models_has_none() -> None:
    assert model_class(PRE_REVISION, "coupon") is None
    assert model_class("2020-01-01", "campaign") is None


def test_a_class_named_like_a_type_but_not_its_resource_gives_no_model() -> None:
    assert model_class(PRE_REVISION, "send-settings") is pre_models.SendSettings

    index = resolve({"data": {"type": "send-settings", "id": "s1"}}, revision=PRE_REVISION)

    assert index[("send-settings", "s1")].model is None


# Stable: campaign -> messages, tags ---------------------------------------------------------------


def stable_campaign_document() -> dict[str, Any]:
    return {
        "data": stable("campaign", "c1", campaign_messages=["m2", "m1"], tags=["t1"]),
        "included": [
            stable("campaign-message", "m1", campaign="c1"),
            stable("campaign-message", "m2", campaign="c1"),
            stable("tag", "t1"),
        ],
    }


class TestStableTree:
    def test_messages_follow_the_linkage_order_and_tags_come_along(self) -> None:
        tree = campaign_tree(stable_campaign_document())

        assert isinstance(tree, CampaignTree)
        assert isinstance(tree.campaign, stable_models.Campaign)
        assert tree.campaign.id == "c1"
        assert [m.id for m in tree.messages] == ["m2", "m1"]
        assert all(isinstance(m, stable_models.CampaignMessage) for m in tree.messages)
        assert [t.id for t in tree.tags] == ["t1"]
        assert isinstance(tree.tags[0], stable_models.Tag)

    def test_the_generated_model_gives_the_same_tree_with_its_own_objects(self) -> None:
        document = stable_models.CampaignDocument.from_dict(stable_campaign_document())

        tree = campaign_tree(document)

        assert tree.campaign is document.data
        assert isinstance(document.included, list)
        by_id = {item.id: item for item in document.included}
        assert tree.tags[0] is by_id["t1"]
        # The generated union is discriminated on ``type``: each included item is already of
        # its own type's class, and the tree holds those very objects.
        assert [m.id for m in tree.messages] == ["m2", "m1"]
        assert all(message is by_id[message.id] for message in tree.messages)

    def test_a_collection_gives_each_campaign_its_own_messages(self) -> None:
        document = {
            "data": [
                stable("campaign", "c1", campaign_messages=["m1"]),
                stable("campaign", "c2"),  # no linkage: its message only links back
            ],
            "included": [
                stable("campaign-message", "m1", campaign="c1"),
                stable("campaign-message", "m2", campaign="c2"),
            ],
        }
        parsed = stable_models.CampaignListDocument.from_dict(document)

        for source in (document, parsed):
            trees = campaign_trees(source)
            assert [(t.campaign.id, [m.id for m in t.messages]) for t in trees] == [
                ("c1", ["m1"]),
                ("c2", ["m2"]),
            ]

    def test_a_linked_resource_not_included_is_absent_but_still_in_the_linkage(self) -> None:
        document = stable_campaign_document()
        document["included"] = [r for r in document["included"] if r["id"] != "m2"]

        tree = campaign_tree(document)

        assert [m.id for m in tree.messages] == ["m1"]
        campaign = tree.index[("campaign", "c1")]
        assert tree.index.linkage(campaign, "campaign-messages") == (
            ("campaign-message", "m2"),
            ("campaign-message", "m1"),
        )

    def test_a_document_without_included_has_an_empty_hierarchy(self) -> None:
        tree = campaign_tree({"data": stable("campaign", "c1")})

        assert (tree.messages, tree.tags) == ((), ())

    def test_campaign_tree_wants_exactly_one_campaign(self) -> None:
        two = {"data": [stable("campaign", "c1"), stable("campaign", "c2")]}

        with pytest.raises(ValidationError, match="one campaign, got 2"):
            campaign_tree(two)

    def test_a_document_of_something_else_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="not a campaign document: its data holds tag"):
            campaign_tree({"data": stable("tag", "t1")})

    def test_a_campaign_that_does_not_parse_is_refused_naming_it(self) -> None:
        broken = stable("campaign", "c1")
        del broken["attributes"]

        with pytest.raises(ValidationError, match="campaign c1 does not parse"):
            campaign_tree({"data": broken})


# .pre: campaign -> audiences -> messages -> variations ------------------------------------------


def pre_campaign_document() -> dict[str, Any]:
    """Audience a1 links m1 (forward); m2 links a2 only from its own side (backward)."""
    return {
        "data": pre(
            "campaign",
            "c1",
            campaign_audiences=["a1", "a2"],
            campaign_messages=["m1", "m2"],
        ),
        "included": [
            pre("campaign-audience", "a1", campaign="c1", campaign_messages=["m1"]),
            pre("campaign-audience", "a2", campaign="c1"),
            pre("campaign-message", "m1", campaign="c1", campaign_variations=["v1", "v2"]),
            pre("campaign-message", "m2", campaign="c1", campaign_audience="a2"),
            pre("campaign-variation", "v1", campaign_message="m1"),
            pre("campaign-variation", "v2", campaign_message="m1"),
            pre("campaign-variation", "v3", campaign_message="m2"),  # links back only
        ],
    }


class TestPreTree:
    def test_the_whole_hierarchy_from_one_document(self) -> None:
        tree = pre_campaign_tree(pre_campaign_document())

        assert isinstance(tree, PreCampaignTree)
        assert isinstance(tree.campaign, pre_models.Campaign)
        shape = [
            (a.audience.id, [(m.message.id, [v.id for v in m.variations]) for m in a.messages])
            for a in tree.audiences
        ]
        assert shape == [("a1", [("m1", ["v1", "v2"])]), ("a2", [("m2", ["v3"])])]
        assert isinstance(tree.audiences[0].audience, pre_models.CampaignAudience)
        assert isinstance(tree.messages[0].message, pre_models.CampaignMessage)
        assert isinstance(tree.messages[0].variations[0], pre_models.CampaignVariation)

    def test_messages_are_the_same_nodes_under_the_campaign_and_its_audiences(self) -> None:
        tree = pre_campaign_tree(pre_campaign_document())

        assert [m.message.id for m in tree.messages] == ["m1", "m2"]
        assert tree.audiences[0].messages[0] is tree.messages[0]
        assert tree.audiences[1].messages[0] is tree.messages[1]

    def test_the_generated_model_of_the_published_include_list(self) -> None:
        document = pre_campaign_document()
        document["included"] = [
            r for r in document["included"] if r["type"] != "campaign-variation"
        ]
        parsed = pre_models.CampaignDocument.from_dict(document)

        tree = pre_campaign_tree(parsed)

        assert tree.campaign is parsed.data
        assert [(a.audience.id, [m.message.id for m in a.messages]) for a in tree.audiences] == [
            ("a1", ["m1"]),
            ("a2", ["m2"]),
        ]
        assert [m.variations for m in tree.messages] == [(), ()]
        assert tree.index.linkage(("campaign-message", "m1"), "campaign-variations") == (
            ("campaign-variation", "v1"),
            ("campaign-variation", "v2"),
        )

    def test_a_collection_of_pre_campaigns(self) -> None:
        document = {
            "data": [pre("campaign", "c1", campaign_messages=["m1"]), pre("campaign", "c2")],
            "included": [pre("campaign-message", "m1", campaign="c1")],
        }
        parsed = pre_models.CampaignListDocument.from_dict(document)

        trees = pre_campaign_trees(parsed)

        assert [(t.campaign.id, [m.message.id for m in t.messages]) for t in trees] == [
            ("c1", ["m1"]),
            ("c2", []),
        ]

    def test_a_pre_campaign_that_does_not_parse_is_refused_naming_it(self) -> None:
        broken = pre("campaign", "c1")
        broken["attributes"] = "not an object"

        with pytest.raises(ValidationError, match="campaign c1 does not parse"):
            pre_campaign_tree({"data": broken})

    def test_a_message_document_is_not_a_campaign_document(self) -> None:
        with pytest.raises(ValidationError, match="its data holds campaign-message"):
            pre_campaign_tree({"data": pre("campaign-message", "m1")})


# The index ---------------------------------------------------------------------------------------


class TestIndex:
    def test_every_resource_by_type_and_id(self) -> None:
        index = resolve(pre_campaign_document(), revision=PRE_REVISION)

        assert len(index) == 8
        assert [r.id for r in index.primary] == ["c1"]
        assert [r.id for r in index.of_type("campaign-variation")] == ["v1", "v2", "v3"]
        message = index[("campaign-message", "m2")]
        assert isinstance(message, Resource)
        assert message.key == ("campaign-message", "m2")
        assert isinstance(message.model, pre_models.CampaignMessage)
        assert message.raw["relationships"]["campaign-audience"]["data"]["id"] == "a2"
        assert ("campaign", "nope") not in index

    def test_related_and_referring(self) -> None:
        index = resolve(pre_campaign_document(), revision=PRE_REVISION)

        assert [r.id for r in index.related(("campaign", "c1"), "campaign-audiences")] == [
            "a1",
            "a2",
        ]
        assert [r.id for r in index.related(("campaign-message", "m2"), "campaign-audience")] == [
            "a2"
        ]
        assert [
            r.id
            for r in index.referring(
                ("campaign-message", "m2"), "campaign-variation", "campaign-message"
            )
        ] == ["v3"]

    def test_unknown_types_are_kept_as_json(self) -> None:
        document = stable_campaign_document()
        stranger = {"type": "coupon", "id": "k1", "attributes": {"code": "SUMMER"}}
        document["included"].append(stranger)

        index = resolve(document, revision=STABLE_REVISION)

        kept = index[("coupon", "k1")]
        assert kept.model is None
        assert kept.raw == stranger
        assert kept.attributes == {"code": "SUMMER"}
        assert campaign_tree(document).index[("coupon", "k1")] == kept

    def test_a_known_type_whose_json_does_not_parse_is_kept_untyped(self) -> None:
        document = stable_campaign_document()
        del document["included"][0]["attributes"]

        index = resolve(document, revision=STABLE_REVISION)

        assert index[("campaign-message", "m1")].model is None
        with pytest.raises(ValidationError, match="campaign-message m1 does not parse"):
            campaign_tree(document)

    def test_the_revision_comes_from_the_model(self) -> None:
        parsed = pre_models.CampaignDocument.from_dict({"data": pre("campaign", "c1")})

        index = resolve(parsed)

        assert index.revision == PRE_REVISION
        assert index[("campaign", "c1")].model is parsed.data

    def test_json_without_a_revision_is_indexed_untyped(self) -> None:
        index = resolve(stable_campaign_document())

        assert index.revision is None
        assert len(index) == 4
        assert all(r.model is None for r in index.values())

    def test_items_that_are_not_resources_are_skipped(self) -> None:
        index = resolve({"data": [stable("tag", "t1"), {"type": "tag"}, "junk", None]})

        assert list(index) == [("tag", "t1")]

    def test_more_documents_add_resources_but_not_primaries(self) -> None:
        campaign = {"data": pre("campaign", "c1", campaign_messages=["m1"])}
        messages = {
            "data": [pre("campaign-message", "m1", campaign="c1", campaign_variations=["v1"])],
            "included": [pre("campaign-variation", "v1", campaign_message="m1")],
        }

        index = resolve(campaign, messages, revision=PRE_REVISION)

        assert [r.key for r in index.primary] == [("campaign", "c1")]
        assert sorted(index) == [
            ("campaign", "c1"),
            ("campaign-message", "m1"),
            ("campaign-variation", "v1"),
        ]
        assert repr(pre_campaign_tree(campaign, messages)) == (
            "<PreCampaignTree c1 audiences=[] messages=['m1'] tags=[]>"
        )

    def test_tree_reprs_show_the_shape_by_id(self) -> None:
        tree = pre_campaign_tree(pre_campaign_document())

        assert repr(tree.audiences[0]) == (
            "<AudienceNode a1 messages=[<MessageNode m1 variations=['v1', 'v2']>]>"
        )
        assert repr(campaign_tree(stable_campaign_document())) == (
            "<CampaignTree c1 messages=['m2', 'm1'] tags=['t1']>"
        )

    def test_repr_counts_types(self) -> None:
        index = resolve(stable_campaign_document(), revision=STABLE_REVISION)

        assert (
            repr(index)
            == f"<ResourceIndex {STABLE_REVISION} {{campaign: 1, campaign-message: 2, tag: 1}}>"
        )


# Through the client, against the fake Klaviyo ----------------------------------------------------

KEY = "pk_test_compound"


def pre_create_body() -> dict[str, Any]:
    """A .pre atomic create: one audience, an email message and an SMS message."""

    def message(name: str, details: dict[str, Any]) -> dict[str, Any]:
        return {
            "audience_temporary_id": "aud1",
            "name": name,
            "variations": [{"definition": {"name": name, "details": details}}],
        }

    email = {"channel": "email", "subject": "Sale", "from_email": "shop@example.com"}
    return {
        "data": {
            "type": "campaign",
            "attributes": {
                "definition": {
                    "name": "Summer Sale",
                    "builder": "wizard",
                    "send_settings": {"send_timezone": "UTC", "send_strategy": "STATIC"},
                },
                "audiences": [{"temporary_id": "aud1", "included": ["LIST1"], "excluded": []}],
                "messages": [
                    message("Email", email),
                    message("SMS", {"channel": "sms", "body": "Sale!"}),
                ],
            },
        }
    }


@pytest.fixture
def fake() -> FakeKlaviyo:
    return FakeKlaviyo(rate_limits=False, seed=5)


@pytest_asyncio.fixture
async def kl(fake: FakeKlaviyo) -> AsyncIterator[Klaviyo]:
    async with (
        httpx.AsyncClient(transport=fake.transport()) as http,
        Klaviyo(KEY, base_url=fake.base_url, http_client=http) as client,
    ):
        yield client


async def post_campaign(fake: FakeKlaviyo, revision: str, body: dict[str, Any]) -> str:
    headers = {
        "revision": revision,
        "Authorization": f"Klaviyo-API-Key {KEY}",
        "content-type": "application/vnd.api+json",
        "accept": "application/vnd.api+json",
    }
    async with httpx.AsyncClient(transport=fake.transport(), base_url=fake.base_url) as http:
        response = await http.post("/api/campaigns", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def create_pre_campaign(fake: FakeKlaviyo) -> str:
    return await post_campaign(fake, PRE_REVISION, pre_create_body())


async def create_stable_campaign(fake: FakeKlaviyo) -> str:
    definition = {"channel": "email", "content": {"subject": "Hi", "from_email": "a@b.co"}}
    message = {"type": "campaign-message", "attributes": {"definition": definition}}
    body = {
        "data": {
            "type": "campaign",
            "attributes": {
                "name": "Stable",
                "audiences": {"included": ["LIST1"], "excluded": []},
                "campaign-messages": {"data": [message]},
            },
        }
    }
    return await post_campaign(fake, STABLE_REVISION, body)


class TestAgainstTheFake:
    async def test_one_request_gives_campaign_audiences_and_messages(
        self, fake: FakeKlaviyo, kl: Klaviyo
    ) -> None:
        campaign_id = await create_pre_campaign(fake)

        document = await kl.pre.get_campaign(
            campaign_id, include=["campaign-audiences", "campaign-messages"]
        )
        tree = pre_campaign_tree(document)

        assert tree.campaign.id == campaign_id
        assert len(tree.audiences) == 1
        names = [node.message.attributes.name for node in tree.audiences[0].messages]
        assert names == ["Email", "SMS"]
        assert tree.audiences[0].messages == tree.messages
        # Variations are linked but not included: absent from the tree, present in the linkage.
        assert all(node.variations == () for node in tree.messages)
        first = ("campaign-message", tree.messages[0].message.id)
        assert len(tree.index.linkage(first, "campaign-variations")) == 1

    async def test_the_messages_document_fills_in_the_variations(
        self, fake: FakeKlaviyo, kl: Klaviyo
    ) -> None:
        campaign_id = await create_pre_campaign(fake)
        document = await kl.pre.get_campaign(
            campaign_id, include=["campaign-audiences", "campaign-messages"]
        )
        messages = await kl.pre.get_campaign_messages(
            filter=F.equals("campaign_id", campaign_id), include=["campaign-variations"]
        )

        tree = pre_campaign_tree(document, messages)

        channels = [
            [
                v.attributes.definition.details.channel
                for v in node.variations
                if v.attributes.definition and v.attributes.definition.details
            ]
            for node in tree.audiences[0].messages
        ]
        assert channels == [["email"], ["sms"]]
        assert all(
            isinstance(v, pre_models.CampaignVariation)
            for node in tree.messages
            for v in node.variations
        )

    async def test_a_stable_campaign_with_its_messages(
        self, fake: FakeKlaviyo, kl: Klaviyo
    ) -> None:
        campaign_id = await create_stable_campaign(fake)

        document = await kl.stable.get_campaign(campaign_id, include=["campaign-messages", "tags"])
        tree = campaign_tree(document)

        assert tree.campaign.id == campaign_id
        assert [type(m) for m in tree.messages] == [stable_models.CampaignMessage]
        assert tree.tags == ()
