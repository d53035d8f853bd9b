"""The specs the fake serves: one normalized OpenAPI document per revision, read as package data.

Each revision's spec is ``<package>/_generated/<stable|pre>/openapi.json`` (written by codegen),
found by its ``info.version``.
The package is found relative to this module, so a vendored copy under another name works.
The fake reads operations, limits, filters, sort and include values from these documents
directly, so it stays independent of the SDK's generated code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .. import _specs

Json = dict[str, Any]

_HTTP_METHODS = ("get", "post", "patch", "put", "delete")


@dataclass(frozen=True)
class FilterSpec:
    """One filterable field of an operation (from ``x-klaviyo-filters``)."""

    name: str
    operators: tuple[str, ...]
    list_operators: tuple[str, ...]
    value_type: str
    value_format: str | None
    enum: tuple[Any, ...] | None


@dataclass(frozen=True)
class OperationSpec:
    """What the fake needs to know about one operation of one revision."""

    id: str
    revision: str
    method: str
    path: str
    burst: int
    steady: int
    scopes: tuple[str, ...]
    paginated: bool
    page_size_default: int
    page_size_max: int
    filters: Mapping[str, FilterSpec]
    filter_required: bool
    sort: tuple[str, ...]
    include: tuple[str, ...]
    success_status: int
    has_body: bool


@dataclass
class RevisionSpec:
    """One revision's spec document and its operations, with a path router."""

    revision: str
    document: Json
    operations: dict[str, OperationSpec] = field(default_factory=dict)
    _routes: list[tuple[re.Pattern[str], str, dict[str, OperationSpec]]] = field(
        default_factory=list
    )

    def match(self, path: str) -> tuple[str, dict[str, OperationSpec], dict[str, str]] | None:
        """The path template, its operations by method, and the path parameters; or None."""
        for pattern, template, by_method in self._routes:
            found = pattern.fullmatch(path)
            if found:
                return template, by_method, found.groupdict()
        return None


@lru_cache(maxsize=8)
def load_document(revision: str) -> Json:
    """Read the normalized spec of ``revision`` from the package data (once; do not mutate)."""
    try:
        document: Json = _specs.read(revision)
    except LookupError:
        raise FileNotFoundError(
            f"no spec for revision {revision!r} under _generated/; run `make generate` first"
        ) from None
    return _overview_accepts(document)


#: What Klaviyo's prose overview of the ``.pre`` Campaigns API shows in its requests but the
#: published ``.pre`` spec (and so the SDK's typed arguments) lacks: the fake accepts these too,
#: as real Klaviyo may, so a caller can send them through ``extra_query``. overlays/README.md,
#: rows 14 and 15, records each one and its source.
OVERVIEW_INCLUDES = {
    "get_campaigns_beta": ("campaign-variations", "tags"),
    "get_campaign_beta": ("campaign-variations", "tags"),
}
OVERVIEW_FILTERS = {"get_campaign_messages_beta": {"campaign.id": "campaign_id"}}


def _overview_accepts(document: Json) -> Json:
    for item in document["paths"].values():
        for method in _HTTP_METHODS:
            raw = item.get(method)
            if raw is None:
                continue
            for value in OVERVIEW_INCLUDES.get(raw["operationId"], ()):
                for param in raw.get("parameters", []):
                    enum = param.get("schema", {}).get("items", {}).get("enum")
                    if param.get("name") == "include" and enum and value not in enum:
                        enum.append(value)
            for name, like in OVERVIEW_FILTERS.get(raw["operationId"], {}).items():
                filters = raw.get("x-klaviyo-filters") or {}
                if like in filters and name not in filters:
                    filters[name] = filters[like]
    return document


def available_revisions() -> list[str]:
    """Every revision whose spec is present in the package data."""
    return sorted(_specs.revisions())


def index(document: Json) -> RevisionSpec:
    """Build the operation index and router of one spec document."""
    revision = str(document["info"]["version"])
    spec = RevisionSpec(revision=revision, document=document)
    templates = sorted(document["paths"], key=lambda p: (p.count("{"), p))
    for template in templates:
        item = document["paths"][template]
        by_method: dict[str, OperationSpec] = {}
        for method in _HTTP_METHODS:
            if method in item:
                op = _operation(revision, method.upper(), template, item[method], document)
                by_method[op.method] = op
                spec.operations[op.id] = op
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        spec._routes.append((re.compile(regex), template, by_method))
    return spec


def _rate(text: str, unit: str) -> int:
    number, _, got = text.partition("/")
    if got != unit:
        raise ValueError(f"unexpected rate limit {text!r}")
    return int(number)


def _operation(revision: str, method: str, path: str, raw: Json, document: Json) -> OperationSpec:
    params = {p["name"]: p for p in (resolve(document, p) for p in raw.get("parameters", []))}
    limit = raw.get("x-klaviyo-ratelimit", {"burst": "10/s", "steady": "150/m"})
    size_schema = params.get("page[size]", {}).get("schema", {})
    filters = {
        name: FilterSpec(
            name=name,
            operators=tuple(info.get("operators", {}).get("single", ())),
            list_operators=tuple(info.get("operators", {}).get("list", ())),
            value_type=str(info.get("value", {}).get("type", "string")),
            value_format=info.get("value", {}).get("format"),
            enum=tuple(info["value"]["enum"]) if "enum" in info.get("value", {}) else None,
        )
        for name, info in (raw.get("x-klaviyo-filters") or {}).items()
    }
    success = min(int(code) for code in raw["responses"] if code.isdigit() and code[0] == "2")
    return OperationSpec(
        id=raw["operationId"],
        revision=revision,
        method=method,
        path=path,
        burst=_rate(limit["burst"], "s"),
        steady=_rate(limit["steady"], "m"),
        scopes=tuple(raw.get("x-klaviyo-scopes", ())),
        paginated="page[cursor]" in params,
        page_size_default=int(size_schema.get("default", 20)),
        page_size_max=int(size_schema.get("maximum", 100)),
        filters=filters,
        filter_required=bool(params.get("filter", {}).get("required", False)),
        sort=tuple(params.get("sort", {}).get("schema", {}).get("enum", ())),
        include=tuple(params.get("include", {}).get("schema", {}).get("items", {}).get("enum", ())),
        success_status=success,
        has_body="requestBody" in raw,
    )


def resolve(document: Json, node: Json) -> Json:
    """Follow a local ``$ref`` (once per level) to the node it names."""
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node
