"""Writes without the JSON:API envelope: keyword arguments and ``TypedDict``s from the spec.

For each write operation, ``write_shape`` reads its request schema: the resource ``type`` the
envelope carries, whether ``data.id`` is the resource id, each attribute (a keyword argument) and
each relationship (a keyword argument taking an id, or a list of ids). ``Params`` turns the
schemas of the attributes into ``TypedDict`` classes (``params.py`` of each revision), so that a
nested value is a plain dict that ``mypy --strict`` checks: a misspelt key or an enum value the
spec does not list is a type error. The runtime checks the same document against the same spec
before sending (``klaviyo_campaigns/_body.py``), for callers without a type checker.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from typing import Any

from .spec import Spec

REF = "#/components/schemas/"
#: Facade keywords an attribute or relationship may not take (renamed with a trailing ``_``).
RESERVED = {"body", "id", "self", "extra_query", "extra_headers", "extra_body", "timeout"}


def python_name(wire: str) -> str:
    name = re.sub(r"[^0-9a-zA-Z]+", "_", wire).strip("_").lower()
    return f"{name}_" if keyword.iskeyword(name) or name in RESERVED else name


def pascal(wire: str) -> str:
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^0-9a-zA-Z]+", wire) if p)


@dataclass
class Field:
    """One keyword argument of a write: an attribute or a relationship."""

    name: str  # Python keyword
    wire: str  # attribute or relationship name in the document
    annotation: str  # without ``| Unset``
    required: bool
    relationship: str | None = None  # the related resource type, for relationships


@dataclass
class WriteShape:
    """What the facade needs to build a write's document from keyword arguments."""

    resource_type: str
    id_from: str | None  # "path" (the path id), "positional" (the body's own id) or None
    id_keyword: str | None  # the data.id of a relationship endpoint, by keyword
    positional_relationship: Field | None  # the one relationship named by the first argument
    fields: list[Field] = field(default_factory=list)


class Params:
    """The ``TypedDict`` classes of one revision, built on demand from its schemas."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.schemas: dict[str, Any] = spec["components"]["schemas"]
        self.classes: dict[str, list[str]] = {}  # name -> source lines
        self._names: dict[int, str] = {}

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].removeprefix(REF)]
        return schema

    def _merged(self, schema: dict[str, Any]) -> dict[str, Any]:
        """An ``allOf`` as one object schema (properties and required lists merged)."""
        if "allOf" not in schema:
            return schema
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in (self._merged(self.resolve(p)) for p in schema["allOf"]):
            if "properties" not in part:
                return part if len(schema["allOf"]) == 1 else schema
            merged["properties"].update(part["properties"])
            merged["required"] += part.get("required", [])
        return merged

    def annotation(self, schema: dict[str, Any], hint: str) -> str:
        """The Python type a caller writes for ``schema`` (``hint`` names an inline object)."""
        nullable = bool(schema.get("nullable"))
        if "$ref" in schema:
            name = schema["$ref"].removeprefix(REF)
            text = self.annotation(self.schemas[name], name)
            return f"{text} | None" if nullable and "None" not in text.split(" | ") else text
        schema = self._merged(schema)
        text = self._annotation(schema, hint)
        return f"{text} | None" if nullable and "None" not in text.split(" | ") else text

    def _annotation(self, schema: dict[str, Any], hint: str) -> str:
        for union in ("oneOf", "anyOf"):
            if union in schema:
                parts: list[str] = []
                for i, variant in enumerate(schema[union]):
                    for part in self.annotation(variant, f"{hint}{i + 1}").split(" | "):
                        if part not in parts:
                            parts.append(part)
                return " | ".join(parts)
        if "const" in schema:
            return f"Literal[{schema['const']!r}]"
        if "enum" in schema:
            values = [v for v in schema["enum"] if v is not None]
            text = "Literal[" + ", ".join(repr(v) for v in values) + "]"
            return text + (" | None" if None in schema["enum"] else "")
        kind = schema.get("type", "object" if "properties" in schema else None)
        if kind == "string":
            return "str | datetime" if schema.get("format") == "date-time" else "str"
        if kind in ("integer", "number", "boolean"):
            return {"integer": "int", "number": "float", "boolean": "bool"}[kind]
        if kind == "array":
            return f"Sequence[{self.annotation(schema.get('items', {}), hint + 'Item')}]"
        if kind == "object" and schema.get("properties"):
            return self.typed_dict(schema, hint)
        if kind == "object":
            return "Mapping[str, Any]"
        return "Any"

    def typed_dict(self, schema: dict[str, Any], hint: str) -> str:
        key = id(schema)
        if key in self._names:
            return self._names[key]
        name = f"{hint}Param"
        while name in self.classes:
            name = f"{hint}{len(self.classes)}Param"
        self._names[key] = name
        self.classes[name] = []  # reserved before recursing (a schema may refer to itself)
        required = set(schema.get("required", []))
        lines = [f"class {name}(TypedDict, total=False):"]
        description = (schema.get("description") or "").strip().split("\n")[0]
        lines.append(f'    """{_doc(description) or hint + "."}"""')
        lines.append("")
        for wire, prop in sorted(schema["properties"].items()):
            if not wire.isidentifier() or keyword.iskeyword(wire):
                return self._functional(name, schema, hint)
            text = self.annotation(prop, hint + pascal(wire))
            lines.append(f"    {wire}: {f'Required[{text}]' if wire in required else text}")
        self.classes[name] = lines
        return name

    def _functional(self, name: str, schema: dict[str, Any], hint: str) -> str:
        """The functional ``TypedDict`` form, for keys that are not identifiers."""
        required = set(schema.get("required", []))
        items = []
        for wire, prop in sorted(schema["properties"].items()):
            text = self.annotation(prop, hint + pascal(wire))
            items.append(f"        {wire!r}: {f'Required[{text}]' if wire in required else text},")
        self.classes[name] = [f"{name} = TypedDict(", f"    {name!r},", "    {", *items]
        self.classes[name] += ["    },", "    total=False,", ")"]
        return name

    def module(self) -> str:
        """Python source of ``params.py``."""
        body = "\n\n\n".join("\n".join(lines) for _, lines in sorted(self.classes.items()))
        return (
            '"""The shapes of request values as ``TypedDict``s: plain dicts that type-check.\n\n'
            "Generated from the spec's request schemas; every key is optional unless marked\n"
            "``Required``. Enum values are ``Literal`` strings.\n"
            '"""\n\n'
            "from __future__ import annotations\n\n"
            "from collections.abc import Mapping, Sequence\n"
            "from datetime import datetime\n"
            "from typing import Any, Literal, Required, TypedDict\n\n\n"
            f"{body}\n\n\n__all__ = {sorted(self.classes)!r}\n"
        )

    def write_shape(self, op_id: str, path: str, body_schema: dict[str, Any]) -> WriteShape:
        """The keyword form of one write operation (see the module docstring)."""
        document = self._merged(self.resolve(body_schema))
        data = self._merged(self.resolve(document["properties"]["data"]))
        props = data.get("properties", {})
        resource_type = _const(self.resolve(props["type"]))
        if resource_type is None:
            raise ValueError(f"{op_id}: data.type is not a one-value enum or const")
        has_path_id = "{id}" in path
        relationship_path = "/relationships/" in path
        id_from = id_keyword = None
        if "id" in props:
            if relationship_path:
                id_keyword = f"{python_name(resource_type)}_id"
            else:
                id_from = "path" if has_path_id else "positional"
        shape = WriteShape(resource_type, id_from, id_keyword, None)
        hint = pascal(op_id.removesuffix("_beta"))
        if "attributes" in props:
            attributes = self._merged(self.resolve(props["attributes"]))
            required = set(attributes.get("required", []))
            for wire, prop in sorted(attributes.get("properties", {}).items()):
                text = self.annotation(prop, hint + pascal(wire))
                shape.fields.append(Field(python_name(wire), wire, text, wire in required))
        if "relationships" in props:
            relationships = self._merged(self.resolve(props["relationships"]))
            required = set(relationships.get("required", []))
            for wire, prop in sorted(relationships.get("properties", {}).items()):
                linkage = self._merged(
                    self.resolve(self._merged(self.resolve(prop))["properties"]["data"])
                )
                many = linkage.get("type") == "array"
                target = self._merged(self.resolve(linkage["items"])) if many else linkage
                kind = _const(self.resolve(target["properties"]["type"]))
                if kind is None:
                    raise ValueError(f"{op_id}: relationship {wire} has no one-value type")
                text = "Sequence[str]" if many else "str"
                name = python_name(wire) if many else f"{python_name(wire)}_id"
                shape.fields.append(Field(name, wire, text, wire in required, kind))
        linked = [
            f for f in shape.fields if f.relationship and f.required and f.annotation == "str"
        ]
        if id_from is None and not has_path_id and len(linked) == 1:
            shape.positional_relationship = linked[0]
            shape.fields.remove(linked[0])
        return shape


def _const(schema: dict[str, Any]) -> str | None:
    if "const" in schema:
        return str(schema["const"])
    enum = schema.get("enum")
    return str(enum[0]) if isinstance(enum, list) and len(enum) == 1 else None


def _doc(text: str) -> str:
    text = text.replace("\\", "\\\\").replace('"""', "'''").strip()
    return (text[:95] + "...") if len(text) > 98 else text
