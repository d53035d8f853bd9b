"""The generated package: complete, tolerant, valid on the wire, deterministic, vendorable."""

from __future__ import annotations

import ast
import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from openapi_schema_validator import OAS30Validator

from codegen import fixups
from codegen.generate import RAW_STABLE, TARGET, build
from codegen.spec import load_raw, operations
from klaviyo_campaigns._generated.operations import OPERATIONS, STABLE_REVISION
from klaviyo_campaigns._generated.stable import facade
from klaviyo_campaigns._generated.stable.api.campaigns import get_campaigns
from klaviyo_campaigns._generated.stable.models import (
    CampaignCreateQuery,
    CampaignCreateQueryResourceObject,
    CampaignCreateQueryResourceObjectAttributes,
    CampaignEnum,
    CampaignField,
    CampaignInclude,
    CampaignListDocument,
)

ROOT = Path(__file__).resolve().parent.parent
STABLE = load_raw(RAW_STABLE)


def stable_ids() -> set[str]:
    return {op["operationId"] for _, _, op in operations(STABLE)}


def test_every_stable_operation_is_generated() -> None:
    ids = stable_ids()
    assert len(ids) == 26
    assert set(OPERATIONS[STABLE_REVISION]) == ids
    modules = {p.stem for p in (TARGET / "stable" / "api").rglob("*.py")} - {"__init__"}
    assert modules == ids


def test_every_stable_operation_is_a_facade_method() -> None:
    methods = {name for name in vars(facade.API) if not name.startswith("_")}
    assert methods == stable_ids()
    assert {name for name in vars(facade.RawAPI) if not name.startswith("_")} == methods


def test_operation_table_holds_the_spec_rate_limits_and_filters() -> None:
    op = OPERATIONS[STABLE_REVISION]["get_campaigns"]
    assert (op.method, op.path, op.burst, op.steady) == ("GET", "/api/campaigns", 10, 150)
    assert op.paginated and op.scopes == ("campaigns:read",)
    channel = next(f for f in op.filters if f.name == "messages.channel")
    assert channel.operators == ("equals",) and channel.enum == ("email", "sms", "mobile_push")
    tags = OPERATIONS[STABLE_REVISION]["get_tags_for_campaign"]
    assert (tags.burst, tags.steady, tags.paginated) == (3, 60, False)


def _query(kwargs: dict[str, Any]) -> list[tuple[str, str]]:
    request = httpx.Request(
        kwargs["method"], "https://a.klaviyo.com" + kwargs["url"], params=kwargs["params"]
    )
    return parse_qsl(urlsplit(str(request.url)).query)


def test_array_query_parameters_are_sent_once_comma_joined() -> None:
    kwargs = get_campaigns._get_kwargs(
        filter_="equals(messages.channel,'email')",
        fieldscampaign=[CampaignField.NAME, CampaignField.STATUS],
        include=[CampaignInclude.CAMPAIGN_MESSAGES, CampaignInclude.TAGS],
    )
    assert _query(kwargs) == [
        ("fields[campaign]", "name,status"),
        ("filter", "equals(messages.channel,'email')"),
        ("include", "campaign-messages,tags"),
    ]  # no page[size]: the spec's default is the server's, never filled in by the client


def test_no_operation_takes_a_revision_argument() -> None:
    for module in (TARGET / "stable" / "api").rglob("*.py"):
        assert "revision" not in module.read_text(), module


def _campaign(status: str = "Draft", **extra: Any) -> dict[str, Any]:
    return {
        "type": "campaign",
        "id": "01JXYZ1234ABCDEFGHIJK56789",
        "attributes": {
            "name": "Summer",
            "status": status,
            "archived": False,
            "audiences": {"included": ["L1"], "excluded": []},
            "send_options": {"use_smart_sending": True},
            "tracking_options": None,
            "send_strategy": {"method": "immediate"},
            "created_at": "2026-04-14T12:00:00+00:00",
            "updated_at": "2026-04-14T12:00:00+00:00",
            **extra,
        },
        "relationships": {},
        "links": {"self": "https://a.klaviyo.com/api/campaigns/01JXYZ1234ABCDEFGHIJK56789/"},
    }


def test_unknown_fields_and_enum_values_parse_and_stay_reachable() -> None:
    body = {
        "data": [_campaign(status="Paused By Robot", sparkle_level=11)],
        "links": {"self": "https://a.klaviyo.com/api/campaigns/", "next": None},
        "future_top_level": {"x": 1},
    }
    doc = CampaignListDocument.from_dict(copy.deepcopy(body))
    campaign = doc.data[0]
    assert campaign.attributes.status.value == "Paused By Robot"
    assert campaign.attributes.status.is_known is False
    assert campaign.attributes.additional_properties == {"sparkle_level": 11}
    assert doc.additional_properties == {"future_top_level": {"x": 1}}
    assert doc.to_dict()["data"][0]["attributes"]["status"] == "Paused By Robot"


def test_known_enum_values_stay_known() -> None:
    doc = CampaignListDocument.from_dict(
        {"data": [_campaign()], "links": {"self": "https://a.klaviyo.com/api/campaigns/"}}
    )
    assert doc.data[0].attributes.status.is_known


def _request_schema(spec: dict[str, Any], op_id: str) -> dict[str, Any]:
    for _, _, op in operations(spec):
        if op["operationId"] == op_id:
            schema = op["requestBody"]["content"]["application/vnd.api+json"]["schema"]
            return {**schema, "components": spec["components"]}
    raise LookupError(op_id)


def test_request_bodies_built_from_models_validate_against_the_spec() -> None:
    body = CampaignCreateQuery(
        data=CampaignCreateQueryResourceObject(
            type_=CampaignEnum.CAMPAIGN,
            attributes=CampaignCreateQueryResourceObjectAttributes.from_dict(
                {
                    "name": "Summer Sale",
                    "audiences": {"included": ["Y6nRLr"], "excluded": []},
                    "campaign-messages": {
                        "data": [
                            {
                                "type": "campaign-message",
                                "attributes": {
                                    "definition": {
                                        "channel": "email",
                                        "label": "My message",
                                        "content": {"subject": "Hi", "from_email": "a@b.co"},
                                    }
                                },
                            }
                        ]
                    },
                }
            ),
        )
    ).to_dict()
    OAS30Validator(_request_schema(STABLE, "create_campaign")).validate(
        json.loads(json.dumps(body))
    )


def test_a_body_the_spec_rejects_is_caught_by_the_same_validator() -> None:
    validator = OAS30Validator(_request_schema(STABLE, "create_campaign"))
    assert not validator.is_valid({"data": {"type": "campaign", "attributes": {}}})


def test_generation_is_byte_identical(tmp_path: Path) -> None:
    build(tmp_path / "one")
    build(tmp_path / "two")
    one = {
        p.relative_to(tmp_path / "one"): p.read_bytes()
        for p in (tmp_path / "one").rglob("*")
        if p.is_file()
    }
    two = {
        p.relative_to(tmp_path / "two"): p.read_bytes()
        for p in (tmp_path / "two").rglob("*")
        if p.is_file()
    }
    assert one == two
    assert not [p for p in one if ".ruff_cache" in p.parts]


def test_generated_files_say_they_are_generated() -> None:
    for path in TARGET.rglob("*.py"):
        assert path.read_text().startswith("# Generated by codegen"), path


def test_explode_check_fails_loudly_on_an_exploded_array() -> None:
    spec = copy.deepcopy(STABLE)
    spec["paths"]["/api/campaigns"]["get"]["parameters"][0]["explode"] = True
    with pytest.raises(fixups.FixupError, match="fields\\[campaign-message\\]"):
        fixups.check_query_arrays(spec)


def test_missing_revision_header_fails_loudly() -> None:
    spec = fixups.apply_all(STABLE)
    with pytest.raises(fixups.FixupError, match="revision"):
        fixups.drop_revision_header(spec)


def test_error_envelopes_become_one_schema() -> None:
    spec = fixups.apply_all(STABLE)
    assert "ErrorDocument" in spec["components"]["schemas"]
    models = {p.stem for p in (TARGET / "stable" / "models").glob("*.py")}
    assert not [m for m in models if "response_4xx" in m or "response_5xx" in m]


PACKAGE = ROOT / "klaviyo_campaigns"


def _absolute(path: Path, node: ast.ImportFrom) -> str:
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    if path.name == "__init__.py":
        package = path.relative_to(ROOT).parts[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, *(node.module.split(".") if node.module else [])])


def test_generated_code_imports_nothing_hand_written_but_the_core_module() -> None:
    outside = set()
    for path in TARGET.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                target = _absolute(path, node)
                if not target.startswith("klaviyo_campaigns._generated"):
                    outside.add(target)
    assert outside == {"klaviyo_campaigns._core"}


def test_the_generated_layer_holds_request_builders_models_and_facades_only() -> None:
    for package in ("stable", "pre"):
        root = TARGET / package
        assert not (root / "client.py").exists() and not (root / "errors.py").exists()
        for module in (root / "api").rglob("*.py"):
            if module.name == "__init__.py":
                continue
            tree = ast.parse(module.read_text())
            functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
            assert functions == ["_get_kwargs"], module
            assert not [n for n in tree.body if isinstance(n, ast.AsyncFunctionDef)], module


def test_every_revision_shares_one_sentinel_and_one_response() -> None:
    from klaviyo_campaigns import _core
    from klaviyo_campaigns._generated.pre import types as pre_types
    from klaviyo_campaigns._generated.stable import types as stable_types

    for types in (stable_types, pre_types):
        assert types.UNSET is _core.UNSET and types.Unset is _core.Unset
        assert types.Response is _core.Response
        assert types.MissingFieldError is _core.MissingFieldError


def test_every_import_inside_the_package_is_relative() -> None:
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                assert not (node.module or "").startswith("klaviyo_campaigns"), path
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("klaviyo_campaigns") for a in node.names), path


def test_importing_the_package_has_no_side_effects() -> None:
    script = (
        "import logging, os, socket, sys\n"
        "def no_network(*a, **k): raise AssertionError('network at import')\n"
        "socket.socket.connect = no_network\n"
        "class Env(dict):\n"
        "    def get(self, *a): raise AssertionError('env read at import')\n"
        "    def __getitem__(self, k): raise AssertionError('env read at import')\n"
        "os.environ = Env(os.environ)\n"
        "import klaviyo_campaigns\n"
        "assert not logging.getLogger().handlers\n"
        "assert not logging.getLogger('klaviyo_campaigns').handlers\n"
        "models = [m for m in sys.modules if '.models.' in m]\n"
        "assert len(models) < 20, len(models)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=ROOT)


def test_included_resources_parse_to_the_class_of_their_type() -> None:
    from klaviyo_campaigns._generated.stable.models import (
        CampaignDocument,
        CampaignMessage,
        Tag,
    )

    message = {
        "type": "campaign-message",
        "id": "M1",
        "attributes": {"definition": {"channel": "email", "label": "x"}},
        "relationships": {},
        "links": {"self": "https://a.klaviyo.com/api/campaign-messages/M1/"},
    }
    tag = {
        "type": "tag",
        "id": "T1",
        "attributes": {"name": "summer"},
        "relationships": {},
        "links": {"self": "https://a.klaviyo.com/api/tags/T1/"},
    }
    doc = CampaignDocument.from_dict(
        {
            "data": _campaign(),
            "included": [message, tag],
            "links": {"self": "https://a.klaviyo.com/api/campaigns/C/"},
        }
    )
    assert isinstance(doc.included, list)
    assert [type(item) for item in doc.included] == [
        CampaignMessage,
        Tag,
    ]


def test_a_missing_required_field_names_the_model_and_field() -> None:
    from klaviyo_campaigns._generated.stable.types import MissingFieldError

    query = CampaignCreateQuery.from_dict(
        {"data": {"type": "campaign", "attributes": {"name": "x"}}}
    )
    # Fields parse when first read (or rendered): the nested model's check runs then.
    with pytest.raises(MissingFieldError, match="requires the field 'audiences'") as caught:
        _ = query.data.attributes
    assert isinstance(caught.value, KeyError)
    unread = CampaignCreateQuery.from_dict({"data": {"type": "campaign", "attributes": {}}})
    with pytest.raises(MissingFieldError, match="requires the field 'audiences'"):
        unread.to_dict()  # a request body is rendered before anything is sent


def test_nothing_hand_written_spells_a_revision() -> None:
    """The revisions are data (``REVISIONS``, read from the specs): a bump edits no other file."""
    from klaviyo_campaigns import REVISIONS

    revisions = sorted(REVISIONS, key=len, reverse=True)  # a timestamp is not a revision:
    pattern = re.compile("(?:" + "|".join(map(re.escape, revisions)) + r")(?!T\d)")
    places = ["klaviyo_campaigns", "tests", "docs", "examples", "bench", "codegen"]
    files = [p for place in places for p in (ROOT / place).rglob("*") if p.is_file()]
    files += [ROOT / name for name in ("README.md", "Makefile", "mkdocs.yml", "pyproject.toml")]
    files += list((ROOT / ".github").rglob("*.yml"))
    found = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in files
        if TARGET not in path.parents
        and "__pycache__" not in path.parts
        and path.suffix in ("", ".py", ".md", ".yml", ".yaml", ".toml", ".jinja", ".cfg")
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert found == []
