"""The .pre revision: Klaviyo's published .pre file, the stable operations it does not define,
and overlays/ (what the published file lacks: the overview's additions, parsing fixes, our words).

Checked against Klaviyo's two sources in ../shared/spec (absent in a user's clone: those
tests skip): the published .pre reference spec and the prose overview. The reference decides
what we send (request schemas, parameters); what we parse accepts the reference and the
overview alike (response schemas). Validation uses jsonschema, independent of the generator.
"""

from __future__ import annotations

import copy
import importlib
import itertools
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from codegen import fixups, shapes
from codegen.generate import _run_generator, derive_pre
from codegen.overlay import apply_overlays, load_overlay
from codegen.pre import normalize_published, with_kept_stable
from codegen.spec import load_raw
from klaviyo_campaigns._generated.operations import PRE_REVISION

REPO = Path(__file__).resolve().parents[1]
STABLE_RAW = REPO / "openapi" / "stable.raw.json"
PRE_RAW = REPO / "openapi" / "pre.raw.json"
OVERLAYS = REPO / "overlays"
SHARED_SPEC = REPO.parent / "shared" / "spec"
# Outside the repository, named by Klaviyo's revision: found by pattern, not by date.
REFERENCE = next(
    (SHARED_SPEC / "reference").glob("klaviyo-*.pre.campaigns.json"), SHARED_SPEC / "absent"
)
OVERVIEW = next(SHARED_SPEC.glob("campaigns-api-*.pre-overview.md"), SHARED_SPEC / "absent")
MEDIA = "application/vnd.api+json"

# Operations only the overview describes (method, path, operationId).
OVERVIEW_ONLY_OPERATIONS = {
    ("GET", "/api/campaign-audiences", "get_campaign_audiences_beta"),
    ("GET", "/api/campaign-variations", "get_campaign_variations_beta"),
}
# Stable operations the reference does not replace: they stay in .pre unchanged.
KEPT_STABLE_OPERATIONS = {
    "get_campaign_send_job",
    "cancel_campaign_send",
    "send_campaign",
    "get_campaign_recipient_estimation_job",
    "get_campaign_recipient_estimation",
    "refresh_campaign_recipient_estimation",
    "assign_template_to_campaign_message",
    "get_template_for_campaign_message",
    "get_template_id_for_campaign_message",
    "get_image_for_campaign_message",
    "get_image_id_for_campaign_message",
    "update_image_for_campaign_message",
    "get_tags_for_campaign",
    "get_tag_ids_for_campaign",
}


def _needs(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"{path} is not here (Klaviyo's sources live beside the repo, not in it)")
    return path


@cache
def stable() -> dict[str, Any]:
    return json.loads(STABLE_RAW.read_text(encoding="utf-8"), strict=False)  # type: ignore[no-any-return]


@cache
def pre() -> dict[str, Any]:
    return derive_pre(stable(), OVERLAYS)


@cache
def _reference() -> dict[str, Any]:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture
def reference() -> dict[str, Any]:
    _needs(REFERENCE)
    return _reference()


def operations(spec: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        op["operationId"]: (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if isinstance(op, dict) and "operationId" in op
    }


def _absent(path: Path, arity: int) -> list[Any]:
    """One skipped case standing for a parametrized test whose source file is absent."""
    reason = f"{path} is not here (Klaviyo's sources live beside the repo, not in it)"
    values = (None,) * arity if arity > 1 else (None,)
    return [pytest.param(*values, marks=pytest.mark.skip(reason=reason))]


def reference_operation_ids() -> list[Any]:
    return sorted(operations(_reference())) if REFERENCE.exists() else _absent(REFERENCE, 1)


# --- JSON Schema from OpenAPI 3.0 schemas ---------------------------------------------------


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    # OpenAPI 3.0 `nullable` is not JSON Schema: spell it as "or null".
    if "type" in schema and "$ref" not in schema:
        schema = dict(schema, type=[schema["type"], "null"])
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
        return schema
    return {"anyOf": [schema, {"type": "null"}]}


def to_json_schema(schema: Any) -> Any:
    """Convert one OpenAPI 3.0 schema (and the schemas inside it) to JSON Schema."""
    if not isinstance(schema, dict):
        return schema
    out = {k: v for k, v in schema.items() if k not in ("nullable", "example", "discriminator")}
    if "properties" in out:
        out["properties"] = {k: to_json_schema(v) for k, v in out["properties"].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(out.get(key), dict):
            out[key] = to_json_schema(out[key])
    for key in ("allOf", "oneOf", "anyOf"):
        if key in out:
            out[key] = [to_json_schema(s) for s in out[key]]
    return _nullable(out) if schema.get("nullable") is True else out


def validator(spec: dict[str, Any], schema_name: str) -> jsonschema.Draft7Validator:
    components = {
        name: to_json_schema(schema) for name, schema in spec["components"]["schemas"].items()
    }
    root = {"allOf": [{"$ref": f"#/components/schemas/{schema_name}"}]}
    return jsonschema.Draft7Validator({**root, "components": {"schemas": components}})


def errors(spec: dict[str, Any], schema_name: str, instance: Any) -> list[str]:
    found = validator(spec, schema_name).iter_errors(instance)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found]


# --- Instances synthesized from a spec's own schemas and examples ---------------------------


_SAMPLES: dict[str, Any] = {
    "string": "sample",
    "integer": 1,
    "number": 1.5,
    "boolean": True,
    "date-time": "2026-04-15T12:00:00+00:00",
    "date": "2026-01-02",
    "uri": "https://a.klaviyo.com/api/sample/",
}


def synthesize(spec: dict[str, Any], schema: dict[str, Any], *, full: bool, pick: int) -> Any:
    """An instance of ``schema`` built from the spec's examples, enums, consts and defaults.

    ``full`` fills every property (else only required ones); ``pick`` chooses the variant of
    every oneOf/anyOf (clamped), so pick=0..3 walks the four channels of a variation.
    """
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return synthesize(spec, spec["components"]["schemas"][name], full=full, pick=pick)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = synthesize(spec, part, full=full, pick=pick)
            merged.update(value if isinstance(value, dict) else {})
        return merged
    for key in ("oneOf", "anyOf"):
        if key in schema:
            variants = schema[key]
            return synthesize(spec, variants[min(pick, len(variants) - 1)], full=full, pick=pick)
    for key in ("const", "example", "default"):
        if key in schema:
            return copy.deepcopy(schema[key])
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object" if "properties" in schema else None)
    if kind == "array":
        return [synthesize(spec, schema.get("items", {}), full=full, pick=pick)]
    if kind == "object":
        required = set(schema.get("required", []))
        return {
            name: synthesize(spec, prop, full=full, pick=pick)
            for name, prop in schema.get("properties", {}).items()
            if full or name in required
        }
    if kind is None:
        return "sample"
    return _SAMPLES.get(schema.get("format", ""), _SAMPLES[kind])


def request_schema(op: dict[str, Any]) -> str | None:
    body = op.get("requestBody")
    if body is None:
        return None
    return str(body["content"][MEDIA]["schema"]["$ref"].rsplit("/", 1)[-1])


def response_schemas(op: dict[str, Any]) -> list[str]:
    return [
        response["content"][MEDIA]["schema"]["$ref"].rsplit("/", 1)[-1]
        for status, response in op["responses"].items()
        if status.startswith("2") and "content" in response
    ]


def samples(spec: dict[str, Any], schema_name: str) -> Iterator[tuple[str, Any]]:
    schema = {"$ref": f"#/components/schemas/{schema_name}"}
    for full, pick in itertools.product((True, False), range(4)):
        yield (
            f"{'full' if full else 'required-only'}/variant {pick}",
            synthesize(spec, schema, full=full, pick=pick),
        )


# --- The overlay documents themselves ---------------------------------------------------------


def overlay_files() -> list[Path]:
    return sorted(OVERLAYS.glob("*.yaml"))


@pytest.mark.parametrize("path", overlay_files(), ids=lambda p: p.name)
def test_every_overlay_is_a_valid_overlay_1_0_document(path: Path) -> None:
    document = load_overlay(path)

    assert document["overlay"] == "1.0.0"


@pytest.mark.parametrize("path", overlay_files(), ids=lambda p: p.name)
def test_every_action_says_what_it_does(path: Path) -> None:
    for action in load_overlay(path)["actions"]:
        assert action.get("description"), action["target"]


def test_overview_only_additions_are_marked_in_their_action_description() -> None:
    marked = [
        a
        for path in overlay_files()
        for a in load_overlay(path)["actions"]
        if a["description"].startswith("overview only:")
    ]
    text = json.dumps(marked)

    for extra in (
        "/api/campaign-audiences",
        "/api/campaign-variations",
        "throttle_percentage",
        "send_strategy",
        "tracking_params",
        "scheduling_info",
        "MessageLifecycleStatus",
        "InlineMessageOverviewDefinition",
    ):
        assert extra in text, f"{extra} is not in an 'overview only' action"


def test_the_result_is_the_pre_revision() -> None:
    spec = pre()

    assert spec["info"]["version"] == PRE_REVISION
    for method, path, op in operations(spec).values():
        headers = [p for p in op["parameters"] if p["in"] == "header" and p["name"] == "revision"]
        assert [h["schema"]["default"] for h in headers] == [PRE_REVISION], (method, path)


def test_deriving_pre_changes_neither_spec_it_is_given() -> None:
    published = load_raw(PRE_RAW)
    before = (copy.deepcopy(stable()), copy.deepcopy(published))

    derive_pre(stable(), OVERLAYS, published)
    apply_overlays(with_kept_stable(normalize_published(published, stable()), stable()), OVERLAYS)

    assert (stable(), published) == before


def test_every_ref_resolves() -> None:
    spec = pre()
    text = json.dumps(spec)

    for ref in set(re.findall(r'"\$ref": "#/components/(\w+)/(\w+)"', text)):
        assert ref[1] in spec["components"][ref[0]], ref


def test_no_schema_is_left_unused() -> None:
    spec = pre()
    text = json.dumps({"paths": spec["paths"], "components": spec["components"]})
    for name in spec["components"]["schemas"]:
        assert f'"#/components/schemas/{name}"' in text, name


# --- The published file is the source: its changes need no overlay edit ----------------------


def test_a_field_klaviyo_adds_to_a_pre_response_reaches_the_generated_models(
    tmp_path: Path,
) -> None:
    published = load_raw(PRE_RAW)
    attributes = published["components"]["schemas"]["CampaignResponseObjectResource"]["properties"][
        "attributes"
    ]
    assert "sdk_test_added_field" not in attributes["properties"]
    attributes["properties"]["sdk_test_added_field"] = {"type": "integer", "nullable": True}

    spec = derive_pre(stable(), OVERLAYS, published)
    generated = _run_generator(shapes.unify(fixups.apply_all(spec)), "pre", tmp_path)

    added = spec["components"]["schemas"]["CampaignResponseObjectResource"]["properties"]
    assert "sdk_test_added_field" in added["attributes"]["properties"]
    model = generated.path / "models" / "campaign_attributes.py"
    assert "sdk_test_added_field: int | None | Unset" in model.read_text(encoding="utf-8")


def test_a_pre_operation_klaviyo_adds_replaces_the_stable_one() -> None:
    published = load_raw(PRE_RAW)
    tags = stable()["paths"]["/api/campaigns/{id}/tags"]["get"]
    published["paths"]["/api/campaigns/{id}/tags"] = {
        "get": {**copy.deepcopy(tags), "operationId": "get_tags_for_campaign_beta"}
    }

    ops = operations(derive_pre(stable(), OVERLAYS, published))

    assert ops["get_tags_for_campaign_beta"][:2] == ("GET", "/api/campaigns/{id}/tags")
    assert "get_tags_for_campaign" not in ops


def test_a_stable_operation_the_published_file_stops_defining_is_kept() -> None:
    published = load_raw(PRE_RAW)
    del published["paths"]["/api/campaign-clone"]

    ops = operations(with_kept_stable(normalize_published(published, stable()), stable()))

    assert "clone_campaign_beta" not in ops
    assert ops["create_campaign_clone"][:2] == ("POST", "/api/campaign-clone")
    assert ops["create_campaign_clone"][2]["tags"] == ["Campaigns"]


# --- Operations -------------------------------------------------------------------------------


def test_covers_every_reference_operation(reference: dict[str, Any]) -> None:
    ours = {(m, p, i) for i, (m, p, _) in operations(pre()).items()}
    theirs = {(m, p, i) for i, (m, p, _) in operations(reference).items()}

    assert len(theirs) == 47
    assert theirs <= ours


def test_adds_the_overview_only_operations() -> None:
    ours = {(m, p, i) for i, (m, p, _) in operations(pre()).items()}

    assert ours >= OVERVIEW_ONLY_OPERATIONS


def test_keeps_the_stable_operations_the_reference_does_not_replace() -> None:
    stable_ops = operations(stable())

    for op_id in KEPT_STABLE_OPERATIONS:
        method, path, op = operations(pre())[op_id]
        assert (method, path) == stable_ops[op_id][:2]
        without_header = {k: v for k, v in op.items() if k != "parameters"}
        stable_without = {k: v for k, v in stable_ops[op_id][2].items() if k != "parameters"}
        assert without_header == stable_without


def test_has_nothing_but_reference_kept_stable_and_overview_only_operations(
    reference: dict[str, Any],
) -> None:
    expected = (
        set(operations(reference))
        | KEPT_STABLE_OPERATIONS
        | {op_id for _, _, op_id in OVERVIEW_ONLY_OPERATIONS}
    )

    assert set(operations(pre())) == expected


def _strip_descriptions(node: Any, parent: str | None = None) -> Any:
    if isinstance(node, dict):
        return {
            k: _strip_descriptions(v, k)
            for k, v in node.items()
            if not (k == "description" and parent != "properties")
        }
    if isinstance(node, list):
        return [_strip_descriptions(v) for v in node]
    return node


def _without_revision_header(op: dict[str, Any]) -> dict[str, Any]:
    """The operation less its ``revision`` header: its default is the revision, which is data
    (``openapi/pre.raw.json``), not a fact of the operation the reference pins."""
    params = [p for p in op["parameters"] if (p["in"], p["name"]) != ("header", "revision")]
    return {**op, "parameters": params}


_OPERATION_FACTS = (
    "parameters",
    "responses",
    "x-klaviyo-ratelimit",
    "x-klaviyo-scopes",
    "x-klaviyo-filters",
)


@pytest.mark.parametrize("op_id", reference_operation_ids())
def test_operation_matches_the_reference_apart_from_prose(
    reference: dict[str, Any], op_id: str
) -> None:
    ours = _strip_descriptions(_without_revision_header(operations(pre())[op_id][2]))
    theirs = _strip_descriptions(_without_revision_header(operations(reference)[op_id][2]))

    for fact in _OPERATION_FACTS:
        assert ours.get(fact) == theirs.get(fact), fact
    assert ours.get("requestBody") == theirs.get("requestBody")


@pytest.mark.parametrize("op_id", reference_operation_ids())
def test_operation_descriptions_are_our_own_words(reference: dict[str, Any], op_id: str) -> None:
    ours = operations(pre())[op_id][2]
    theirs = operations(reference)[op_id][2]

    assert ours["description"] not in theirs["description"]
    for mine, published in zip(ours["parameters"], theirs["parameters"], strict=True):
        assert mine.get("description") != published.get("description") or not mine.get(
            "description"
        )


def test_every_new_operation_has_rate_limits_scopes_and_filters_where_it_lists() -> None:
    stable_ids = set(operations(stable()))
    for op_id, (_, _, op) in operations(pre()).items():
        if op_id in stable_ids:
            continue
        assert op["x-klaviyo-ratelimit"] == {"burst": "10/s", "steady": "150/m"}, op_id
        assert op["x-klaviyo-scopes"], op_id
        if any(p["name"] == "filter" for p in op["parameters"]):
            for field, spec in op["x-klaviyo-filters"].items():
                assert set(spec["operators"]) <= {"single", "list"}, (op_id, field)
                assert spec["value"]["type"] in {"string", "boolean", "integer", "number"}


def test_list_endpoints_sort_by_the_overview_s_fields() -> None:
    ops = operations(pre())

    campaigns = _param(ops["get_campaigns_beta"][2], "sort")["schema"]["enum"]
    messages = _param(ops["get_campaign_messages_beta"][2], "sort")["schema"]["enum"]

    for field in ("id", "name", "created_at", "updated_at"):
        assert {field, f"-{field}"} <= set(campaigns)
    for field in ("id", "name", "created", "updated"):
        assert {field, f"-{field}"} <= set(messages)


def test_listing_campaigns_needs_no_channel_filter() -> None:
    filter_param = _param(operations(pre())["get_campaigns_beta"][2], "filter")

    assert not filter_param.get("required", False)


def _param(op: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in op["parameters"] if p["name"] == name)


# --- Request bodies: the reference decides what we send ------------------------------------


def _request_cases() -> list[Any]:
    if not REFERENCE.exists():
        return _absent(REFERENCE, 2)
    return sorted(
        (op_id, name)
        for op_id, (_, _, op) in operations(_reference()).items()
        if (name := request_schema(op)) is not None
    )


@pytest.mark.parametrize(("op_id", "schema"), _request_cases())
def test_our_request_schema_accepts_the_reference_s_own_examples(
    reference: dict[str, Any], op_id: str, schema: str
) -> None:
    assert request_schema(operations(pre())[op_id][2]) == schema
    for label, instance in samples(reference, schema):
        if errors(reference, schema, instance):
            continue  # not a valid reference body either (e.g. an ambiguous oneOf)
        assert errors(pre(), schema, with_overview_send_strategy(instance)) == [], label


def with_overview_send_strategy(instance: Any) -> Any:
    """The one place we send less than the reference allows: send_settings.send_strategy.

    The reference types it as a free string; we list the overview's values (recorded in
    overlays/README.md), so a synthesized free string is swapped for one of them.
    """
    if isinstance(instance, list):
        return [with_overview_send_strategy(v) for v in instance]
    if not isinstance(instance, dict):
        return instance
    out = {k: with_overview_send_strategy(v) for k, v in instance.items()}
    if "send_passed_rltz_immediately" in out and "send_strategy" in out:
        out["send_strategy"] = "STATIC"
    return out


@pytest.mark.parametrize(("op_id", "schema"), _request_cases())
def test_what_our_request_schema_allows_the_reference_accepts(
    reference: dict[str, Any], op_id: str, schema: str
) -> None:
    for label, instance in samples(pre(), schema):
        assert errors(reference, schema, instance) == [], label


def test_each_variation_channel_matches_exactly_one_details_variant() -> None:
    spec = pre()
    for channel in ("email", "sms", "push", "whatsapp"):
        body = {"name": "v", "details": {"channel": channel}}
        assert errors(spec, "VariationDefinition", body) == [], channel
    assert errors(spec, "VariationDefinition", {"details": {"channel": "fax"}})
    assert errors(spec, "VariationDefinition", {"details": {"subject": "no channel"}})


# --- Responses: we parse both sources ------------------------------------------------------


def _response_cases() -> list[Any]:
    if not REFERENCE.exists():
        return _absent(REFERENCE, 1)
    return sorted(
        {name for _, _, op in operations(_reference()).values() for name in response_schemas(op)}
    )


@pytest.mark.parametrize("schema", _response_cases())
def test_our_response_schema_accepts_the_reference_s_own_examples(
    reference: dict[str, Any], schema: str
) -> None:
    for label, instance in samples(reference, schema):
        if errors(reference, schema, instance):
            continue
        assert errors(pre(), schema, with_overview_send_strategy(instance)) == [], label


# --- The overview's JSON bodies ----------------------------------------------------------------


def overview_bodies() -> list[tuple[int, Any]]:
    """Every JSON object of the overview, by position; trailing commas are forgiven (one has)."""
    text = _needs(OVERVIEW).read_text(encoding="utf-8")
    lines = text.splitlines()
    found: list[tuple[int, Any]] = []
    start = None
    depth = 0
    for number, line in enumerate(lines):
        if start is None and line.strip() == "{":
            start, depth = number, 0
        if start is not None:
            depth += line.count("{") - line.count("}")
            if depth == 0:
                block = "\n".join(lines[start : number + 1])
                found.append((start + 1, json.loads(re.sub(r",(\s*[}\]])", r"\1", block))))
                start = None
    return found


# Which schema each overview body is an instance of, in the order the overview shows them.
# "request" bodies are what a client sends, "response" ones what it parses.
OVERVIEW_BODY_SCHEMAS: list[tuple[str, str]] = [
    ("response", "GetCampaignResponseCompoundDocument"),  # campaign data model
    ("response", "GetAudienceResponseCompoundDocument"),  # audience data model
    ("response", "GetMessageResponseCompoundDocument"),  # message data model
    ("response", "GetVariationResponseCompoundDocument"),  # variation data model
    ("request", "CampaignCreateQuery"),  # atomic create (the copy with a trailing comma)
    ("request", "CampaignCreateQuery"),  # atomic create, curl
    ("response", "PostCampaignResponse"),
    ("request", "AudienceCreateQuery"),
    ("request", "MessageCreateQuery"),
    ("request", "VariationCreateQuery"),
    ("request", "CampaignPartialUpdateQuery"),
    ("request", "AudienceUpdateQuery"),
    ("request", "CampaignCloneQuery"),
    ("response", "PostCampaignResponse"),  # clone result
    ("request", "CampaignMessageScheduleQuery"),
    ("request", "CampaignMessageScheduleUpdateQuery"),
    ("fragment", "SendSettings"),  # STATIC
    ("fragment", "SendSettings"),  # LOCAL_TIMEZONE
    ("fragment", "SendSettings"),  # THROTTLED
    ("fragment", "tracking_params"),
    ("response", "GetCampaignResponseCollectionCompoundDocument"),
]
# Overview request bodies the reference rejects (recorded in overlays/README.md): we send the
# reference's shape, so our request schemas reject them too.
OVERVIEW_REQUESTS_THE_REFERENCE_REJECTS = {
    "AudienceCreateQuery": "the overview puts included/excluded flat in attributes, "
    "the reference requires attributes.definition",
    "CampaignCloneQuery": "the overview sends no attributes, the reference requires them",
}


def test_the_overview_bodies_are_the_ones_this_file_maps() -> None:
    bodies = overview_bodies()

    assert len(bodies) == len(OVERVIEW_BODY_SCHEMAS)


def _overview_cases() -> list[Any]:
    if not OVERVIEW.exists():
        return _absent(OVERVIEW, 3)
    return [(index, kind, schema) for index, (kind, schema) in enumerate(OVERVIEW_BODY_SCHEMAS)]


def _instance(index: int, kind: str, schema: str) -> tuple[str, Any]:
    body = overview_bodies()[index][1]
    if schema == "tracking_params":
        return "MessageTrackingParam", body["tracking_params"]
    return schema, body


@pytest.mark.parametrize(("index", "kind", "schema"), _overview_cases())
def test_our_spec_accepts_each_overview_body(index: int, kind: str, schema: str) -> None:
    name, body = _instance(index, kind, schema)
    instances = body if isinstance(body, list) else [body]
    if kind == "request" and schema in OVERVIEW_REQUESTS_THE_REFERENCE_REJECTS:
        assert errors(pre(), name, body), "expected our request schema to follow the reference"
        return
    for instance in instances:
        assert errors(pre(), name, instance) == []


@pytest.mark.parametrize("schema", sorted(OVERVIEW_REQUESTS_THE_REFERENCE_REJECTS))
def test_recorded_request_disagreements_still_hold(reference: dict[str, Any], schema: str) -> None:
    index = [s for _, s in OVERVIEW_BODY_SCHEMAS].index(schema)
    body = overview_bodies()[index][1]

    assert errors(reference, schema, body), (
        f"the reference now accepts the overview's {schema}: update overlays/README.md"
    )


def test_the_overview_s_upper_case_message_status_is_accepted_when_parsing() -> None:
    index = [s for _, s in OVERVIEW_BODY_SCHEMAS].index("GetMessageResponseCompoundDocument")
    body = overview_bodies()[index][1]

    assert body["data"]["attributes"]["status"] == "DRAFT"
    assert errors(pre(), "GetMessageResponseCompoundDocument", body) == []
    body["data"]["attributes"]["status"] = "draft"
    assert errors(pre(), "GetMessageResponseCompoundDocument", body)


# --- The generated models (klaviyo_campaigns._generated.pre) ----------------------

GENERATED_MODELS = "klaviyo_campaigns._generated.pre.models"


@pytest.fixture
def models() -> Any:
    try:
        return importlib.import_module(GENERATED_MODELS)
    except ModuleNotFoundError:
        pytest.skip(f"{GENERATED_MODELS} is not generated yet: run `make generate`")


@cache
def _class_names() -> dict[str, str]:
    """The generated class of each schema ``codegen.shapes`` merged or renamed."""
    return shapes.renames(fixups.apply_all(pre()))


def model(models: Any, schema: str) -> Any:
    found = getattr(models, _class_names().get(schema, schema), None)
    assert found is not None, f"no generated model for schema {schema}"
    return found


@pytest.mark.parametrize(("index", "kind", "schema"), _overview_cases())
def test_each_overview_body_parses_into_the_generated_models(
    models: Any, index: int, kind: str, schema: str
) -> None:
    name, body = _instance(index, kind, schema)
    cls = model(models, name)
    if kind == "request" and schema in OVERVIEW_REQUESTS_THE_REFERENCE_REJECTS:
        with pytest.raises(KeyError):  # nested fields parse when read or rendered
            cls.from_dict(body).to_dict()
        return
    for instance in body if isinstance(body, list) else [body]:
        parsed = cls.from_dict(instance)
        assert parsed.to_dict() is not None


def _model_schemas() -> list[Any]:
    if not REFERENCE.exists():
        return _absent(REFERENCE, 1)
    return sorted({*_response_cases(), *(schema for _, schema in _request_cases())})


@pytest.mark.parametrize("schema", _model_schemas())
def test_the_reference_s_examples_parse_into_the_generated_models(
    models: Any, reference: dict[str, Any], schema: str
) -> None:
    cls = model(models, schema)
    for label, instance in samples(reference, schema):
        if errors(reference, schema, instance):
            continue  # not a body the reference allows either
        parsed = cls.from_dict(instance)
        assert errors(reference, schema, parsed.to_dict()) == [], label  # nothing lost or bent


@pytest.mark.parametrize(
    ("channel", "schema"),
    [
        ("email", "EmailChannelDetails"),
        ("sms", "SMSChannelDetails"),
        ("push", "PushChannelDetails"),
        ("whatsapp", "WhatsappChannelDetails"),
    ],
)
def test_each_variation_channel_parses_to_its_own_class(
    models: Any, channel: str, schema: str
) -> None:
    parsed = models.VariationDefinition.from_dict({"name": "v", "details": {"channel": channel}})

    assert type(parsed.details) is model(models, schema)
    assert parsed.to_dict()["details"]["channel"] == channel


def test_details_of_an_unknown_channel_stay_a_plain_mapping(models: Any) -> None:
    details = {"channel": "fax", "subject": "s"}

    parsed = models.VariationDefinition.from_dict({"details": details})

    assert parsed.details == details  # not passed off as one of the four known channels


def _resource(kind: str, attributes: dict[str, Any]) -> dict[str, Any]:
    link = {"self": f"https://a.klaviyo.com/api/{kind}s/1/"}
    return {"type": kind, "id": "1", "attributes": attributes, "links": link}


def test_included_resources_parse_to_the_class_of_their_type(models: Any) -> None:
    stamp = {"created": "2026-04-14T00:00:00+00:00", "updated": "2026-04-14T00:00:00+00:00"}
    document = {
        "data": _resource("campaign-message", {**stamp, "definition": None}),
        "included": [
            _resource("campaign-variation", {**stamp, "definition": {"details": None}}),
            _resource("campaign", {"definition": {"name": "c"}}),
        ],
    }

    parsed = models.CampaignMessageDocument.from_dict(document)

    assert [type(r).__name__ for r in parsed.included] == [
        "CampaignVariation",
        "Campaign",
    ]


def test_a_send_strategy_outside_the_overview_s_list_still_parses(models: Any) -> None:
    parsed = models.SendSettings.from_dict({"send_strategy": "static"})

    assert parsed.to_dict()["send_strategy"] == "static"


@pytest.mark.parametrize(("op_id", "schema"), _request_cases())
def test_request_bodies_built_with_the_models_validate_against_the_reference(
    models: Any, reference: dict[str, Any], op_id: str, schema: str
) -> None:
    cls = model(models, schema)
    for label, instance in samples(pre(), schema):
        body = cls.from_dict(instance).to_dict()
        assert errors(reference, schema, body) == [], label


def test_an_atomic_create_built_from_model_classes_validates_against_the_reference(
    models: Any, reference: dict[str, Any]
) -> None:
    m = models
    details = m.EmailChannelDetails(subject="Summer", from_email="shop@example.com")
    message = m.MessageInlineCreate(
        audience_temporary_id="aud-1",
        name="Summer email",
        variations=[m.VariationInlineCreate(definition=m.VariationDefinition(details=details))],
    )
    attributes = m.CampaignCreateQueryResourceObjectAttributes(
        definition=m.CampaignDefinition(name="Summer", builder="wizard"),
        audiences=[m.AudienceInlineCreate(temporary_id="aud-1", included=["LIST_1"])],
        messages=[message],
    )
    body = m.CampaignCreateQuery(
        data=m.CampaignCreateQueryResourceObject(
            type_=m.CampaignEnum.CAMPAIGN, attributes=attributes
        )
    ).to_dict()

    assert errors(reference, "CampaignCreateQuery", body) == []
    variation = body["data"]["attributes"]["messages"][0]["variations"][0]
    assert variation["definition"]["details"]["channel"] == "email"
