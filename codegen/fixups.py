"""Documented changes to the generator's input: what openapi-python-client needs beyond the spec.

Each fix-up works on the normalized spec of a revision, never on the committed ``openapi/`` files,
and each one fails loudly when the spec no longer has the shape it expects, so a new spec from
Klaviyo cannot slip past one silently.

1. ``drop_revision_header``: every operation takes a ``revision`` header parameter. The client sets
   it per revision namespace, so callers never pass it (and cannot send the wrong one).
2. ``hoist_error_documents``: the 4XX/5XX responses carry the JSON:API error envelope inline; the
   generator would emit one class per operation and status range (156 duplicates). They all become
   ``$ref`` to one ``ErrorDocument`` schema.
3. ``check_query_arrays``: Klaviyo's array query parameters are ``explode: false``
   (``fields[campaign]=name,status``). The generator ignores ``explode``; our endpoint template
   joins list values with commas, which is right only if every array query parameter is
   ``explode: false``. This check makes that assumption a hard error if it ever stops holding.
4. ``sparse_response_attributes``: with sparse fieldsets (``fields[campaign]=name``) Klaviyo leaves
   out every attribute not asked for, so in a response no attribute is guaranteed. The first level
   of each response resource's ``attributes`` (a component, or written inline as the ``data`` of a
   create or update response) loses its ``required`` list (the structure around it,
   ``data``/``id``/``type``/``links``, stays required). An attributes schema shared with a request
   body keeps it, so requests still cannot be built without their required fields.
5. ``const_resource_types``: a JSON:API resource's ``type`` is a one-value enum (``CampaignEnum``).
   The generator ignores ``discriminator`` and tries union variants in order, and our enums keep
   unknown values, so in an ``included`` list every item would parse as the first variant. Every
   ``type`` property whose schema is a one-value string enum becomes a ``const``, which the
   generated ``from_dict`` checks (and which gives request models the right default).
6. ``server_defaults``: a schema's ``default`` says what Klaviyo does when a field is left out; the
   generator would fill it into every request model built without it (a subject-only variation
   update sent ``from_email: ""`` and wiped the sender). Every ``default`` in a schema is removed
   and said in the field's description instead, so a request sends exactly what the caller set.
   Only a default that is the one value a field can take (a one-value enum or a ``const``) stays.
7. ``nullable_everywhere``: OpenAPI 3.0's ``nullable: true`` is lost by the generator on an enum
   (its values list no ``null``) and beside a ``$ref`` (siblings of a ``$ref`` are ignored), so a
   ``null`` Klaviyo sends failed the whole response. A nullable enum gets ``null`` among its
   values and a nullable ``$ref`` becomes a one-variant ``oneOf``: both generate ``X | None``,
   which parses ``null`` and lets a caller send an explicit ``null`` (distinct from leaving the
   field out, ``UNSET``).
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from .spec import Spec, operations, referenced_schemas

ERROR_SCHEMA = "ErrorDocument"


class FixupError(Exception):
    """The spec does not have the shape a fix-up relies on."""


def apply_all(spec: Spec) -> Spec:
    """Return a copy of ``spec`` with every fix-up applied."""
    fixed = copy.deepcopy(spec)
    drop_revision_header(fixed)
    hoist_error_documents(fixed)
    check_query_arrays(fixed)
    sparse_response_attributes(fixed)
    const_resource_types(fixed)
    server_defaults(fixed)
    nullable_everywhere(fixed)
    return fixed


def drop_revision_header(spec: Spec) -> None:
    """Remove the ``revision`` header parameter from every operation."""
    for method, path, operation in operations(spec):
        params = operation.get("parameters", [])
        kept = [p for p in params if not (p.get("in") == "header" and p.get("name") == "revision")]
        if len(kept) == len(params):
            raise FixupError(f"{method} {path}: expected a 'revision' header parameter")
        operation["parameters"] = kept


def _error_envelope(schema: dict[str, Any]) -> bool:
    props = schema.get("properties", {})
    return schema.get("type") == "object" and set(props) == {"errors"}


def hoist_error_documents(spec: Spec) -> None:
    """Point every error response at one shared ``ErrorDocument`` schema."""
    schemas = spec["components"].setdefault("schemas", {})
    responses = spec["components"].get("responses", {})
    envelope: dict[str, Any] | None = None
    for name, response in responses.items():
        for media in response.get("content", {}).values():
            schema = media.get("schema", {})
            if "$ref" in schema:
                continue
            if not _error_envelope(schema):
                raise FixupError(f"components.responses.{name} is not a JSON:API error envelope")
            if envelope is None:
                envelope = copy.deepcopy(schema)
                envelope["description"] = (
                    "A JSON:API error document: the `errors` Klaviyo returned."
                )
            elif {k: v for k, v in schema.items() if k != "description"} != {
                k: v for k, v in envelope.items() if k != "description"
            }:
                raise FixupError(f"components.responses.{name}: error envelopes differ")
            media["schema"] = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
    if envelope is None:
        raise FixupError("no error envelope found under components.responses")
    schemas[ERROR_SCHEMA] = envelope
    for method, path, operation in operations(spec):
        for status, response in operation.get("responses", {}).items():
            if status.startswith(("4", "5")) and "$ref" not in response:
                raise FixupError(f"{method} {path} {status}: inline error response, expected $ref")


def check_query_arrays(spec: Spec) -> None:
    """Fail unless every array-valued query parameter is ``explode: false``."""
    for method, path, operation in operations(spec):
        for param in operation.get("parameters", []):
            is_array = param.get("schema", {}).get("type") == "array"
            if param.get("in") == "query" and is_array and param.get("explode") is not False:
                raise FixupError(
                    f"{method} {path} query parameter {param['name']!r} is an array without "
                    "'explode: false'; the endpoint template joins arrays with commas"
                )


def sparse_response_attributes(spec: Spec) -> None:
    """Drop ``required`` from the first level of every response resource's ``attributes``."""
    schemas = spec["components"]["schemas"]
    requests, responses = [], []
    for _, _, operation in operations(spec):
        requests.append(operation.get("requestBody", {}))
        responses += [r for status, r in operation["responses"].items() if status.startswith("2")]
    in_requests = referenced_schemas(spec, requests)
    for name in sorted(referenced_schemas(spec, responses) - in_requests):
        # The resource is the schema itself, or written inline as a document's ``data`` (a
        # create or update response): every such operation takes ``fields[<type>]`` too.
        data = schemas[name].get("properties", {}).get("data", {})
        for resource in (schemas[name], data, data.get("items", {})):
            attributes = resource.get("properties", {}).get("attributes")
            if not isinstance(attributes, dict):
                continue
            target = attributes.get("$ref", "").rsplit("/", 1)[-1] if "$ref" in attributes else None
            if target is None:
                attributes.pop("required", None)
            elif target not in in_requests:
                schemas[target].pop("required", None)


def _one_value_enum(spec: Spec, schema: dict[str, Any]) -> str | None:
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    enum = schema.get("enum")
    if schema.get("type") == "string" and isinstance(enum, list) and len(enum) == 1:
        return str(enum[0])
    return None


def const_resource_types(spec: Spec) -> None:
    """Turn every one-value-enum ``type`` property into a ``const`` (see the module docstring)."""
    stack: list[Any] = [spec["components"]["schemas"], spec["paths"]]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            properties = node.get("properties")
            if isinstance(properties, dict) and isinstance(properties.get("type"), dict):
                value = _one_value_enum(spec, properties["type"])
                if value is not None:
                    properties["type"] = {"type": "string", "const": value}
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _only_value(schema: dict[str, Any]) -> bool:
    enum = schema.get("enum")
    const = "const" in schema and schema["const"] == schema["default"]
    return const or (isinstance(enum, list) and enum == [schema["default"]])


def server_defaults(spec: Spec) -> None:
    """Move every schema ``default`` into its description (see the module docstring)."""
    stack: list[Any] = [spec["components"]["schemas"]]
    for _, _, operation in operations(spec):
        stack.append(operation.get("requestBody", {}))
        stack.append(operation.get("responses", {}))
        stack += [p.get("schema", {}) for p in operation.get("parameters", [])]
    # A ``properties`` mapping is not a schema: a property may be named ``default``.
    pending: list[tuple[Any, bool]] = [(node, False) for node in stack]
    while pending:
        node, is_properties = pending.pop()
        if isinstance(node, dict):
            if not is_properties and "default" in node and not _only_value(node):
                default = node.pop("default")
                said = f"Klaviyo's default when left out: `{json.dumps(default)}`."
                described = node.get("description", "").rstrip()
                node["description"] = f"{described}\n\n{said}" if described else said
            pending += [(v, k == "properties" and not is_properties) for k, v in node.items()]
        elif isinstance(node, list):
            pending += [(v, False) for v in node]


def _pascal(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9a-zA-Z]+", name))


def nullable_everywhere(spec: Spec) -> None:
    """Make ``nullable`` hold on enums and ``$ref`` fields too (see the module docstring)."""
    schemas = spec["components"]["schemas"]
    # A nullable enum declared on a component's property becomes a component of its own, under
    # the name the generator gives it today (``SendSettingsSendStrategy``), referenced nullably.
    for owner in sorted(schemas):
        for prop, node in sorted(schemas[owner].get("properties", {}).items()):
            if node.get("nullable") is True and isinstance(node.get("enum"), list):
                name = owner + _pascal(prop)
                if name in schemas:
                    raise FixupError(f"{owner}.{prop}: cannot hoist its enum, {name} exists")
                hoisted = {k: v for k, v in node.items() if k not in ("nullable", "description")}
                hoisted["enum"] = [v for v in hoisted["enum"] if v is not None]
                schemas[name] = hoisted
                kept = {k: node[k] for k in ("description",) if k in node}
                node.clear()
                node.update(kept, nullable=True, oneOf=[{"$ref": f"#/components/schemas/{name}"}])
    pending: list[tuple[Any, bool]] = [(schemas, False), (spec["paths"], False)]
    while pending:
        node, is_properties = pending.pop()
        if isinstance(node, dict):
            if not is_properties and node.get("nullable") is True:
                enum = node.get("enum")
                if isinstance(enum, list):
                    # ``null`` as a value, not ``nullable`` too: the generator would union the
                    # enum with itself once per way of saying it.
                    node["enum"] = [*(v for v in enum if v is not None), None]
                    del node["nullable"]
                if "$ref" in node:
                    node["oneOf"] = [{"$ref": node.pop("$ref")}]
            pending += [(v, k == "properties" and not is_properties) for k, v in node.items()]
        elif isinstance(node, list):
            pending += [(v, False) for v in node]
