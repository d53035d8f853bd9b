"""Request bodies and per-call options: built and checked before anything is sent.

A write operation takes its JSON:API document either as a model (``body=``) or as attributes by
keyword and relationships by id, which this module wraps in the envelope (``data.type``,
``data.id``, ``data.relationships``). Either way the document is checked against the operation's
request schema in the revision's spec (the normalized spec the code was generated from): a
missing field, a wrong type, a key the spec does not know or a value outside an enum raises
``ValidationError`` naming the operation and the field's path, before a request is built.
``extra_body`` is merged in after the check: it is how a caller knowingly sends what the spec
does not list. ``extras`` applies ``extra_query``, ``extra_headers`` and ``timeout`` to any call.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import TYPE_CHECKING, Any

import httpx

from . import _specs
from ._core import Unset
from .errors import ValidationError

if TYPE_CHECKING:
    from ._core import Operation

Json = Any
_MEDIA = "application/vnd.api+json"


@cache
def _spec(revision: str) -> Json:
    """The spec ``revision`` was generated from, read on first use (not at import)."""
    return _specs.read(revision)


@cache
def _request_schema(revision: str, method: str, path: str) -> Json:
    spec = _spec(revision)
    operation = spec["paths"][path][method.lower()]
    return operation["requestBody"]["content"][_MEDIA]["schema"]


def _fail(operation: Operation, where: str, problem: str) -> ValidationError:
    return ValidationError(f"{operation.id}: {where}: {problem}")


def request_body(
    operation: Operation,
    body: Any,
    *,
    resource_type: str | None = None,
    id: Any = None,
    attributes: Mapping[str, Any] | None = None,
    relationships: Mapping[str, tuple[str, Any]] | None = None,
    extra_body: Mapping[str, Any] | None = None,
) -> dict[str, Json]:
    """The checked JSON document of one write: from ``body`` or from the keyword arguments.

    ``body`` is ``UNSET`` when not given (then the document is built from the keywords);
    ``None`` is refused.
    ``relationships`` maps a relationship name to (resource type, id or ids); ``UNSET`` values
    (attributes or relationships) were not given. ``id`` is ``data.id`` when the schema has one.
    """
    given = {k: v for k, v in (attributes or {}).items() if not isinstance(v, Unset)}
    linked = {k: v for k, v in (relationships or {}).items() if not isinstance(v[1], Unset)}
    if body is None:
        raise _fail(operation, "body", "None is not a request body (leave body= out instead)")
    if not isinstance(body, Unset):
        if given or linked:
            names = ", ".join(sorted([*given, *linked]))
            raise _fail(operation, "body", f"give either body= or the fields ({names}), not both")
        document = _from_model(operation, body)
    else:
        data: dict[str, Json] = {"type": resource_type}
        if id is not None and not isinstance(id, Unset):
            data["id"] = id
        if given or _requires_attributes(operation):  # all optional, none given: ``{}``
            data["attributes"] = dict(given)
        if linked:
            data["relationships"] = {
                name: {"data": _linkage(operation, name, kind, ids)}
                for name, (kind, ids) in linked.items()
            }
        document = {"data": data}
    schema = _request_schema(operation.revision, operation.method, operation.path)
    document = _Checker(operation, _spec(operation.revision)).check(schema, document, "body")
    if extra_body:
        document = _merge(document, _plain(dict(extra_body)))
    return document  # type: ignore[no-any-return]


def _requires_attributes(operation: Operation) -> bool:
    schemas = _spec(operation.revision)["components"]["schemas"]

    def resolve(schema: Json) -> Json:
        while "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    document = resolve(_request_schema(operation.revision, operation.method, operation.path))
    data = resolve(document.get("properties", {}).get("data", {}))
    return "attributes" in data.get("required", [])


def _from_model(operation: Operation, body: Any) -> Json:
    if isinstance(body, Mapping):
        return _plain(dict(body))
    to_dict = getattr(body, "to_dict", None)
    if to_dict is None:
        raise _fail(operation, "body", f"expected a request model or a dict, got {type(body)!r}")
    try:
        return to_dict()
    except (AttributeError, TypeError, ValueError) as exc:
        raise _fail(operation, "body", f"cannot be serialized: {exc}") from exc


def _linkage(operation: Operation, name: str, kind: str, ids: Any) -> Json:
    if isinstance(ids, str):
        return {"type": kind, "id": ids}
    if isinstance(ids, (list, tuple)) and all(isinstance(i, str) for i in ids):
        return [{"type": kind, "id": i} for i in ids]
    raise _fail(operation, name, f"expected an id (or a list of ids), got {ids!r}")


def _plain(value: Any) -> Json:
    """``value`` as JSON: datetimes as ISO 8601 text, enum members as their values."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _merge(base: Json, extra: Json) -> Json:
    if isinstance(base, dict) and isinstance(extra, dict):
        return {**base, **{k: _merge(base.get(k), v) if k in base else v for k, v in extra.items()}}
    return extra


_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list, tuple),
    "object": (Mapping,),
}


class _Checker:
    """A request document against an OpenAPI 3.0 schema, returning it as plain JSON."""

    def __init__(self, operation: Operation, spec: Json) -> None:
        self._op = operation
        self._schemas = spec["components"]["schemas"]

    def _resolve(self, schema: Json) -> Json:
        while "$ref" in schema:
            extra = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**self._schemas[schema["$ref"].rsplit("/", 1)[1]], **extra}
        return schema

    def check(self, schema: Json, value: Any, where: str) -> Json:
        schema = self._resolve(schema)
        if value is None:
            if schema.get("nullable") or None in schema.get("enum", ()):
                return None
            raise _fail(self._op, where, "may not be null")
        value = _plain(value)
        if "allOf" in schema:
            merged: dict[str, Json] = {"properties": {}, "required": []}
            for part in (self._resolve(p) for p in schema["allOf"]):
                merged["properties"].update(part.get("properties", {}))
                merged["required"] += part.get("required", [])
                merged.setdefault("type", part.get("type"))
            return self.check({**merged, **{"nullable": schema.get("nullable")}}, value, where)
        for union in ("oneOf", "anyOf"):
            if union in schema:
                return self._union(schema[union], value, where)
        if "enum" in schema:
            allowed = [v for v in schema["enum"] if v is not None]
            if value not in allowed or isinstance(value, bool) != isinstance(allowed[0], bool):
                shown = ", ".join(json.dumps(v) for v in allowed)
                raise _fail(self._op, where, f"{json.dumps(value)} is not one of: {shown}")
            return value
        kind = schema.get("type", "object" if "properties" in schema else None)
        if kind is None:
            return value
        expected = _TYPES[kind]
        if not isinstance(value, expected) or (kind != "boolean" and isinstance(value, bool)):
            raise _fail(self._op, where, f"expected {kind}, got {type(value).__name__} {value!r}")
        checked: Any = value
        if kind == "array":
            items = schema.get("items", {})
            return [self.check(items, v, f"{where}[{i}]") for i, v in enumerate(checked)]
        if kind == "object":
            return self._object(schema, checked, where)
        return value

    def _object(self, schema: Json, value: Mapping[str, Any], where: str) -> Json:
        properties: dict[str, Json] = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        missing = [name for name in schema.get("required", []) if name not in value]
        if missing:
            raise _fail(self._op, f"{where}.{missing[0]}", "required, and missing")
        out = {}
        for key, item in value.items():
            if key in properties:
                out[key] = self.check(properties[key], item, f"{where}.{key}")
            elif extra is True or isinstance(extra, dict) or (not properties and extra is None):
                out[key] = (
                    self.check(extra, item, f"{where}.{key}") if isinstance(extra, dict) else item
                )
            else:
                allowed = ", ".join(sorted(properties))
                raise _fail(
                    self._op, f"{where}.{key}", f"unknown key; the allowed keys are {allowed}"
                )
        return out

    def _union(self, variants: list[Json], value: Any, where: str) -> Json:
        resolved = [self._resolve(v) for v in variants]
        if isinstance(value, Mapping):
            # A discriminated union (``channel`` of variation details, ``type`` of resources):
            # the variant whose one-value enum the document names, so errors point inside it.
            for key in ("channel", "type"):
                if key in value:
                    for variant in resolved:
                        tag = self._resolve(variant.get("properties", {}).get(key, {}))
                        if tag.get("enum") == [value[key]] or tag.get("const") == value[key]:
                            return self.check(variant, value, where)
        errors = []
        for variant in resolved:
            try:
                return self.check(variant, value, where)
            except ValidationError as exc:
                errors.append(str(exc))
        raise _fail(self._op, where, "matches none of the allowed forms: " + " | ".join(errors))


def extras(
    request: dict[str, Any],
    *,
    extra_query: Mapping[str, Any] | None,
    extra_headers: Mapping[str, str] | None,
    extra_body: Mapping[str, Any] | None,
    timeout: float | httpx.Timeout | None,
) -> dict[str, Any]:
    """Apply the per-call escape hatches to a built request (query, headers, body, timeout)."""
    if extra_query:
        request["params"] = {**request.get("params", {}), **_plain(dict(extra_query))}
    if extra_headers:
        request["headers"] = {**request.get("headers", {}), **dict(extra_headers)}
    if extra_body and "json" not in request:
        request["json"] = _plain(dict(extra_body))
    if timeout is not None:
        request["timeout"] = (
            timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        )
    return request
