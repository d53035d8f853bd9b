"""Models parse a document's fields when first read, and behave as if parsed at once.

``from_dict`` checks a document's shape at its own level (a mapping, required keys, consts) and
keeps it; each field that needs parsing (a nested model, list, enum, date, union) is parsed the
first time it is read and kept. ``to_dict()`` renders what was not read straight from the
document. These tests pin that this is invisible: ``to_dict()`` gives byte for byte what the
eager models gave (sha256 of its JSON recorded from them, commit 2a78902), whichever fields were
read or set first; unknown fields and enum values and nulls are kept; equality and repr are those
of a model built field by field; and a parsed answer is freed by reference counting.
"""

from __future__ import annotations

import copy
import gc
import hashlib
import json
import weakref
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from test_models_nulls import RESPONSES, _set, nullable_paths

from bench import bodies
from klaviyo_campaigns import UNSET
from klaviyo_campaigns._core import Lazy, checked
from klaviyo_campaigns.models import pre as pre_models
from klaviyo_campaigns.models import stable as stable_models

# sha256 (first 16 hex digits) of json.dumps(Model.from_dict(document).to_dict()) as the eager
# models gave it (commit 2a78902).
EAGER = {
    "stable/page": "33c54b8368b4dde6",
    "stable/single": "4486dbdeb7603f10",
    "stable/odd": "74360b154d112367",
    "pre/0-GetCampaignResponseCompoundDocument": "0afe69c028662168",
    "pre/0-GetCampaignResponseCompoundDocument-nulls": "bc010ed1d5807224",
    "pre/1-GetAudienceResponseCompoundDocument": "d09e3df8da32be4b",
    "pre/1-GetAudienceResponseCompoundDocument-nulls": "d1bb2e8f2b900323",
    "pre/2-GetMessageResponseCompoundDocument": "629cacba091bade8",
    "pre/2-GetMessageResponseCompoundDocument-nulls": "9096770ed12008fd",
    "pre/3-GetVariationResponseCompoundDocument": "99f886c37feb0ab6",
    "pre/3-GetVariationResponseCompoundDocument-nulls": "24e09344789d84df",
    "pre/4-PostCampaignResponse": "82a53b69cdb70975",
    "pre/4-PostCampaignResponse-nulls": "bc010ed1d5807224",
    "pre/5-PostCampaignResponse": "609fc647d4ba34a9",
    "pre/5-PostCampaignResponse-nulls": "24d319e72a9521fb",
    "pre/6-GetCampaignResponseCollectionCompoundDocument": "947d575d04704be9",
    "pre/6-GetCampaignResponseCollectionCompoundDocument-nulls": "f24e9188cf89f923",
}


def odd_single() -> dict[str, Any]:
    """The one-campaign document with what the models must tolerate: unknown fields at three
    levels, an enum value Klaviyo added later, nulls, a time in another format."""
    document = json.loads(bodies.single())
    document["meta"] = {"cursor": None}
    campaign = document["data"]
    campaign["shiny"] = [1, {"two": 2}]
    attributes = campaign["attributes"]
    attributes["status"] = "Paused Forever"
    attributes["scheduled_at"] = None
    attributes["send_time"] = "2026-03-08T15:00:00Z"
    attributes["created_at"] = "2026-02-08T09:07:00.000000+00:00"
    attributes["tracking_options"]["custom_tracking_params"][0]["extra"] = True
    attributes["send_strategy"] = {"method": "brand-new", "whatever": 1}
    del attributes["archived"]
    return document


def corpus() -> Iterator[tuple[str, type[Any], dict[str, Any]]]:
    """(name, model, document): the bench's page and campaign, the odd campaign, and the .pre
    overview's example answers, as they are and with every nullable field null."""
    page = stable_models.CampaignListDocument
    single = stable_models.CampaignDocument
    yield "stable/page", page, json.loads(bodies.page())
    yield "stable/single", single, json.loads(bodies.single())
    yield "stable/odd", single, odd_single()
    from test_pre_overlays import model

    for index, (schema, body) in enumerate(RESPONSES):
        cls = model(pre_models, schema)
        yield f"pre/{index}-{schema}", cls, body
        nulled = copy.deepcopy(body)
        root = {"$ref": f"#/components/schemas/{schema}"}
        for path in sorted(set(nullable_paths(root, body)), key=len, reverse=True):
            _set(nulled, path, None)
        yield f"pre/{index}-{schema}-nulls", cls, nulled


CORPUS = list(corpus())


def digest(value: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(value).encode()).hexdigest()[:16]


def touch(value: Any, depth: int = 0) -> None:
    """Read some fields and not others, at every level: every other one, odd depths first."""
    if isinstance(value, Lazy):
        names = [n for n in type(value)._lazy_fields if n != "additional_properties"]
        for name in names[depth % 2 :: 2]:
            touch(getattr(value, name), depth + 1)
    elif isinstance(value, list):
        for item in value[depth % 2 :: 2]:
            touch(item, depth + 1)


@pytest.mark.parametrize(("name", "cls", "document"), CORPUS, ids=[c[0] for c in CORPUS])
def test_to_dict_is_the_same_whatever_was_read_first(
    name: str, cls: type[Any], document: dict[str, Any]
) -> None:
    untouched = cls.from_dict(copy.deepcopy(document)).to_dict()
    partly = cls.from_dict(copy.deepcopy(document))
    touch(partly)
    whole = checked(cls.from_dict(copy.deepcopy(document)))
    assert json.dumps(partly.to_dict()) == json.dumps(untouched)
    assert json.dumps(whole.to_dict()) == json.dumps(untouched)
    assert digest(untouched) == EAGER[name]


def test_the_corpus_covers_the_pre_overview_when_it_is_there() -> None:
    assert len(CORPUS) == 3 + 2 * len(RESPONSES)


def test_unknown_fields_enum_values_and_nulls_are_kept() -> None:
    parsed = stable_models.CampaignDocument.from_dict(odd_single())
    campaign = parsed.data
    assert parsed.additional_properties == {"meta": {"cursor": None}}
    assert campaign["shiny"] == [1, {"two": 2}]
    attributes = campaign.attributes
    assert attributes.status == "Paused Forever" and not attributes.status.is_known
    assert attributes.scheduled_at is None
    assert attributes.archived is UNSET
    assert attributes.send_time == datetime.fromisoformat("2026-03-08T15:00:00+00:00")
    strategy = attributes.send_strategy
    assert isinstance(strategy, stable_models.ImmediateSendStrategy)  # as the eager models did
    assert strategy.additional_properties == {"whatever": 1}


def test_a_field_set_before_it_was_read_is_what_to_dict_gives() -> None:
    parsed = stable_models.CampaignDocument.from_dict(json.loads(bodies.single()))
    attributes = parsed.data.attributes
    status = stable_models.CampaignAttributesStatus.CANCELLED
    attributes.status = status
    attributes.audiences = UNSET
    parsed.data.additional_properties = {"added": 1}
    out = parsed.to_dict()
    assert out["data"]["attributes"]["status"] == "Cancelled"
    assert "audiences" not in out["data"]["attributes"]
    assert out["data"]["added"] == 1 and "shiny" not in out["data"]


def test_equality_and_repr_are_those_of_the_model_built_field_by_field() -> None:
    document = json.loads(bodies.single())
    parsed = stable_models.CampaignDocument.from_dict(document)
    attributes = stable_models.CampaignAttributes.from_dict(document["data"]["attributes"])
    built = stable_models.CampaignAttributes(
        name=attributes.name,
        status=attributes.status,
        archived=attributes.archived,
        audiences=attributes.audiences,
        send_options=attributes.send_options,
        tracking_options=attributes.tracking_options,
        send_strategy=attributes.send_strategy,
        created_at=attributes.created_at,
        scheduled_at=attributes.scheduled_at,
        updated_at=attributes.updated_at,
        send_time=attributes.send_time,
    )
    assert parsed.data.attributes == built
    assert repr(parsed.data.attributes) == repr(built)
    assert parsed == stable_models.CampaignDocument.from_dict(document)


def test_a_parsed_answer_is_freed_by_reference_counting() -> None:
    page = stable_models.CampaignListDocument.from_dict(json.loads(bodies.page()))
    touch(page)
    item = weakref.ref(page.data[3].attributes)
    gc.disable()
    try:
        del page
        assert item() is None  # no cycle: freed at once, not by the cyclic collector
    finally:
        gc.enable()


def test_an_attribute_that_does_not_exist_is_still_an_attribute_error() -> None:
    parsed = stable_models.CampaignDocument.from_dict(json.loads(bodies.single()))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = parsed.data.nope  # type: ignore[attr-defined]
    assert not hasattr(parsed, "nope")
    built = stable_models.RelationshipLinks(self_="a", related="b")
    assert built.to_dict() == {"related": "b", "self": "a"}
