"""One class per shape: response objects the spec repeats inline become one named schema each.

Klaviyo's spec writes the resource of a create or update response inline in each response
(``PostCampaignResponse.data``), the ``{type, id}`` linkage inline in every relationship, and the
values of ``fields[...]``/``include``/``sort`` inline in every operation; the generator emits one
class per place (``PatchCampaignResponseDataRelationshipsTagsDataItem``). This pass runs on the
generator's input of each revision, after the fix-ups, and never on a request body: only schemas
that 2xx responses reach and request bodies do not are changed, so what a request sends cannot
change. It merges, per JSON:API ``type`` (the ``const`` of the ``type`` property):

- resource objects (``type``, ``id``, ``attributes``) into the response resource component of
  that type, renamed after the type: ``campaign-message`` -> ``CampaignMessage``;
- resource identifier objects (exactly ``type`` and ``id``) into ``<Type>Identifier``;
- relationship objects (``data`` naming identifiers of one type, maybe ``links``) into
  ``<Type>Relationship`` or ``<Type>ListRelationship`` (``data`` is a list);
- documents (``data`` naming one resource or identifier, or a list of them) into
  ``<Target>Document`` or ``<Target>ListDocument``;
- inline enums of query parameters with the same values: ``fields[campaign]`` -> ``CampaignField``,
  ``include``/``sort`` -> ``<Resource>Include``/``<Resource>Sort`` (the operation's resource).

Two shapes merge only when they are compatible: the same ``required`` list, the same schema for
every property both have (recursively for inline objects; ``description``, ``example`` and
``title`` do not count), and any property only one has is optional there. The merged schema has
the union of the properties, so no required field or type is loosened; a field only some
operations' responses list becomes an optional field of the one class. A shape that is not
compatible keeps its own schema and generated name. A nullable use site stays nullable (a
one-variant ``oneOf``, as the ``nullable_everywhere`` fix-up writes it). A name that is already
taken (by a schema, or by a class the generator would derive inside one, ``CampaignAttributes``)
is not given: the schema keeps the name it had, so a schema Klaviyo adds can change which name a
class gets but cannot make generation fail.

It runs in ``generate.build`` on the generator's input only: the normalized specs in ``openapi/``
(which the fake validates against and ``make update-spec`` reports on) keep Klaviyo's schemas
and names. :func:`renames` says which class each of those schemas became.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

from .spec import Spec, operations, referenced_schemas

REF = "#/components/schemas/"
_DOCS = ("description", "example", "title")

Schema = dict[str, Any]


def unify(spec: Spec) -> Spec:
    """Merge the repeated response shapes and query enums of ``spec`` (in place; returned)."""
    _Unifier(spec).run()
    return spec


def renames(spec: Spec) -> dict[str, str]:
    """Which schema each component schema of ``spec`` became (merged or renamed; others kept).

    ``spec`` is what :func:`unify` would be given (the fixed-up spec); it is not changed.
    """
    unifier = _Unifier(copy.deepcopy(spec))
    unifier.run()
    return {
        old: unifier.moved.get(into, into)
        for old, into in {**{n: n for n in spec["components"]["schemas"]}, **unifier.merged}.items()
        if unifier.moved.get(into, into) != old
    }


def pascal(name: str) -> str:
    """``campaign-message`` -> ``CampaignMessage``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9a-zA-Z]+", name))


class _Unifier:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.schemas: dict[str, Schema] = spec["components"]["schemas"]
        responses = referenced_schemas(spec, _bodies(spec, "responses"))
        self.response_only = sorted(responses - referenced_schemas(spec, _bodies(spec, "requests")))
        self.names: dict[str, str] = {}  # canonical schema -> the short name it should get
        self.documents_of: dict[str, tuple[str, bool]] = {}  # document -> (its data, a list)
        self.identifiers_of: dict[str, str] = {}  # identifier schema -> its type
        self.merged: dict[str, str] = {}  # a document merged away -> the one it went into
        self.moved: dict[str, str] = {}  # a schema renamed -> its new name

    def run(self) -> None:
        self.resources()
        self.identifiers()
        self.relationships()
        self.documents()
        self.rename()
        self.query_enums()

    # -- the kinds of shape ----------------------------------------------------------------------

    def resources(self) -> None:
        """Inline resource objects (``data`` of a document) into the resource component."""
        canonical: dict[str, str] = {}
        for name in self.response_only:
            kind = _const_type(self.schemas[name])
            if kind is not None and "attributes" in self.schemas[name].get("properties", {}):
                canonical.setdefault(kind, name)
        for name in self.response_only:
            data = self.schemas[name].get("properties", {}).get("data")
            if not isinstance(data, dict):
                continue
            many = data.get("type") == "array"
            holder, key = (data, "items") if many else (self.schemas[name]["properties"], "data")
            inline = holder.get(key)
            if not isinstance(inline, dict) or "attributes" not in inline.get("properties", {}):
                continue
            kind = _const_type(inline)
            if kind is None:
                continue
            if kind not in canonical:
                canonical[kind] = f"{name}Data"
                self.schemas[canonical[kind]] = copy.deepcopy(inline)
                self.response_only.append(canonical[kind])
            # Attributes the resource does not have make another representation of the type
            # (``assign_template_to_campaign_message`` answers with the older message shape):
            # only relationships and links may add to the resource.
            if set(_attributes(inline)) <= set(_attributes(self.schemas[canonical[kind]])):
                self._merge_into(holder, key, canonical[kind])
        for kind, name in canonical.items():
            self.names[name] = pascal(kind)

    def identifiers(self) -> None:
        """``{type, id}`` objects anywhere in the responses into ``<Type>Identifier``."""
        canonical: dict[str, str] = {}
        for holder, key, node in self._inline_objects():
            if set(node.get("properties", {})) != {"type", "id"}:
                continue
            kind = _const_type(node)
            if kind is None:
                continue
            if kind not in canonical:
                name = f"{pascal(kind)}Identifier"
                if name in self._taken():
                    continue
                canonical[kind] = name
                self.identifiers_of[name] = kind
                self.schemas[name] = _without_nullable(node)
            self._merge_into(holder, key, canonical[kind])

    def relationships(self) -> None:
        """``{data: identifier(s), links}`` objects into ``<Type>[List]Relationship``."""
        canonical: dict[tuple[str, bool], str] = {}
        for holder, key, node in self._inline_objects():
            props = node.get("properties", {})
            if "data" not in props or not set(props) <= {"data", "links"}:
                continue
            target, many = _target(props["data"])
            if target is None or target not in self.identifiers_of:
                continue
            slot = (self.identifiers_of[target], many)
            if slot not in canonical:
                name = f"{pascal(slot[0])}{'List' if many else ''}Relationship"
                if name in self._taken():
                    continue
                canonical[slot] = name
                self.schemas[name] = _without_nullable(node)
            self._merge_into(holder, key, canonical[slot])

    def documents(self) -> None:
        """Response documents naming the same resource (or identifiers) into one document."""
        canonical: dict[tuple[str, bool], str] = {}
        # A document whose data is never null goes first and gets the name: one whose data may
        # be null (a to-one link) is another shape, named only when there is no other.
        ordered = sorted(self.response_only, key=lambda n: (_nullable_data(self.schemas[n]), n))
        for name in ordered:
            schema = self.schemas.get(name)
            if schema is None or "data" not in schema.get("properties", {}):
                continue
            target, many = _target(schema["properties"]["data"])
            if target is None:
                continue
            slot = (target, many)
            if slot not in canonical:
                canonical[slot] = name
                self.documents_of[name] = slot
                continue
            into = canonical[slot]
            if _compatible(schema, self.schemas[into]):
                self.schemas[into] = _merged(self.schemas[into], schema)
                del self.schemas[name]
                self.merged[name] = into
                self._rewrite({REF + name: REF + into})

    def query_enums(self) -> None:
        """Inline enums of query parameters with the same values into one named enum."""
        uses: dict[tuple[str, tuple[str, ...]], list[tuple[Schema, str, str | None]]] = {}
        for _, _, operation in operations(self.spec):
            resource = self._resource_of(operation)
            for param in operation.get("parameters", []):
                schema = param.get("schema", {})
                holder, key = (
                    (schema, "items") if schema.get("type") == "array" else (param, "schema")
                )
                node = holder.get(key, {})
                if param.get("in") != "query" or not isinstance(node.get("enum"), list):
                    continue
                values = tuple(str(v) for v in node["enum"])
                uses.setdefault((param["name"], values), []).append((holder, key, resource))
        # Per parameter name, the value set most operations use gets the name.
        ranked = sorted(uses.items(), key=lambda item: (item[0][0], -len(item[1]), item[0][1]))
        for (param, _), sites in ranked:
            name = _enum_name(param, {resource for _, _, resource in sites})
            if name is None or name in self._taken():
                continue
            self.schemas[name] = copy.deepcopy(sites[0][0][sites[0][1]])
            for holder, key, _ in sites:
                holder[key] = {"$ref": REF + name}

    # -- helpers ---------------------------------------------------------------------------------

    def _merge_into(self, holder: Any, key: Any, name: str) -> None:
        """Point ``holder[key]`` at ``name`` if the shapes are compatible, widening ``name``."""
        node = holder[key]
        target = self.schemas[name]
        if node is target or not _compatible(_without_nullable(node), target):
            return
        self.schemas[name] = _merged(target, _without_nullable(node))
        ref: Schema = {"$ref": REF + name}
        if node.get("nullable") is True:
            ref = {"nullable": True, "oneOf": [ref]}
        holder[key] = ref

    def _inline_objects(self) -> Iterator[tuple[Any, Any, Schema]]:
        """(holder, key, schema) of every inline object schema below the response-only ones."""
        for name in list(self.response_only):
            if name not in self.schemas:
                continue
            stack: list[tuple[Any, Any]] = [(self.schemas, name)]
            while stack:
                holder, key = stack.pop()
                node = holder[key]
                if isinstance(node, dict):
                    if node is not self.schemas[name] and "properties" in node:
                        yield holder, key, node
                        node = holder[key]  # it may have become a $ref
                    if isinstance(node, dict):
                        for child in sorted(node, reverse=True):
                            if child != "enum":
                                stack.append((node, child))
                elif isinstance(node, list):
                    stack += [(node, i) for i in reversed(range(len(node)))]

    def rename(self) -> None:
        """Give each canonical schema its short name, unless that name is taken.

        Taken means a schema's name, or the name the generator would give a class inside one
        (``Campaign`` + ``attributes`` -> ``CampaignAttributes``), for the new name too.
        """
        moves: dict[str, str] = {}
        taken = self._taken()

        def move(old: str, new: str) -> None:
            inside = set(_children(new, self.schemas.get(old)))
            if old in self.schemas and old != new and new not in taken and not inside & taken:
                moves[old] = new
                taken.update({new, *inside})

        for old, new in sorted(self.names.items()):
            move(old, new)
        # A document is named after what its data holds, as that is finally named.
        for old, (target, many) in sorted(self.documents_of.items()):
            move(old, f"{moves.get(target, target)}{'List' if many else ''}Document")
        for old, new in moves.items():
            self.schemas[new] = self.schemas.pop(old)
        self.moved.update(moves)
        self._rewrite({REF + old: REF + new for old, new in moves.items()})
        self.response_only = sorted(moves.get(n, n) for n in self.response_only)

    def _taken(self) -> set[str]:
        """Every schema name, and every class name the generator derives inside a schema."""
        taken = set(self.schemas)
        for name, schema in self.schemas.items():
            taken.update(_children(name, schema))
        return taken

    def _rewrite(self, refs: dict[str, str]) -> None:
        if not refs:
            return
        stack: list[Any] = [self.spec]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str) and ref in refs:
                    node["$ref"] = refs[ref]
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)

    def _resource_of(self, operation: dict[str, Any]) -> str | None:
        """The schema name of the resource an operation's 2xx document holds."""
        for status, response in sorted(operation.get("responses", {}).items()):
            if not status.startswith("2"):
                continue
            for media in response.get("content", {}).values():
                ref = media.get("schema", {}).get("$ref", "")
                document = self.schemas.get(ref.removeprefix(REF), {})
                target, _ = _target(document.get("properties", {}).get("data", {}))
                if target is not None and target not in self.identifiers_of:
                    return target
        return None


# -- shapes ----------------------------------------------------------------------------------------


def _shape(schema: Any) -> Any:
    """A schema less what only documents it, for comparing two schemas."""
    if isinstance(schema, dict):
        found = {
            key: _shape(value) if key != "properties" else {k: _shape(v) for k, v in value.items()}
            for key, value in schema.items()
            if key not in _DOCS or not isinstance(value, str)
        }
        if "const" in found and found.get("default") == found["const"]:
            del found["default"]
        if "required" in found:
            found["required"] = sorted(found["required"])
        return found
    if isinstance(schema, list):
        return [_shape(value) for value in schema]
    return schema


def _is_object(schema: Any) -> bool:
    return isinstance(schema, dict) and "properties" in schema and "$ref" not in schema


def _compatible(a: Schema, b: Schema) -> bool:
    """The same schema, but for optional properties only one of them has (see the docstring)."""
    if not (_is_object(a) and _is_object(b)):
        return bool(_shape(a) == _shape(b))
    rest = ("properties", "required", *_DOCS)
    if {k: v for k, v in _shape(a).items() if k not in rest} != {
        k: v for k, v in _shape(b).items() if k not in rest
    }:
        return False
    if sorted(a.get("required", [])) != sorted(b.get("required", [])):
        return False
    props_a, props_b = a["properties"], b["properties"]
    return all(_compatible(props_a[k], props_b[k]) for k in set(props_a) & set(props_b))


def _merged(into: Schema, other: Schema) -> Schema:
    """``into`` with the properties only ``other`` has (both compatible); ``into``'s docs win."""
    if not (_is_object(into) and _is_object(other)):
        return into
    merged = dict(into)
    properties = dict(into["properties"])
    for key, value in other["properties"].items():
        properties[key] = _merged(properties[key], value) if key in properties else value
    merged["properties"] = dict(sorted(properties.items()))
    return merged


def _children(name: str, schema: Any) -> Iterator[str]:
    """The class names the generator derives from ``name`` for the inline schemas inside it."""
    if not isinstance(schema, dict) or "$ref" in schema:
        return
    for prop, sub in sorted(schema.get("properties", {}).items()):
        if isinstance(sub, dict) and "$ref" not in sub:
            child = name + pascal(prop)
            if "properties" in sub or "enum" in sub or sub.get("type") == "object":
                yield child
            yield from _children(child, sub)
    items = schema.get("items")
    if isinstance(items, dict) and "$ref" not in items:
        if "properties" in items or "enum" in items:
            yield f"{name}Item"
        yield from _children(f"{name}Item", items)
    for key in ("oneOf", "anyOf", "allOf"):
        for i, sub in enumerate(schema.get(key, [])):
            if isinstance(sub, dict) and "$ref" not in sub:
                if "properties" in sub or "enum" in sub:
                    yield f"{name}Type{i}"
                yield from _children(f"{name}Type{i}", sub)


def _attributes(resource: Schema) -> dict[str, Any]:
    attributes = resource.get("properties", {}).get("attributes", {})
    return dict(attributes.get("properties", {})) if isinstance(attributes, dict) else {}


def _without_nullable(schema: Schema) -> Schema:
    return {k: v for k, v in schema.items() if k != "nullable"}


def _nullable_data(schema: Schema) -> bool:
    data = schema.get("properties", {}).get("data")
    return isinstance(data, dict) and data.get("nullable") is True


def _const_type(schema: Schema) -> str | None:
    kind = schema.get("properties", {}).get("type", {})
    const = kind.get("const") if isinstance(kind, dict) else None
    return const if isinstance(const, str) else None


def _target(data: Any) -> tuple[str | None, bool]:
    """(schema name, is a list) of what a ``data`` property names by ``$ref``."""
    if not isinstance(data, dict):
        return None, False
    many = data.get("type") == "array"
    node = data.get("items", {}) if many else data
    variants = node.get("oneOf")
    if isinstance(variants, list) and len(variants) == 1:
        node = variants[0]
    ref = node.get("$ref", "") if isinstance(node, dict) else ""
    return (ref.removeprefix(REF), many) if ref.startswith(REF) else (None, many)


def _enum_name(param: str, resources: set[str | None]) -> str | None:
    found = re.fullmatch(r"fields\[(.+)\]", param)
    if found:
        return f"{pascal(found.group(1))}Field"
    if param in ("include", "sort") and len(resources) == 1:
        (resource,) = resources
        return f"{resource}{pascal(param)}" if resource else None
    return None


# -- reachability ----------------------------------------------------------------------------------


def _bodies(spec: Spec, side: str) -> list[Any]:
    found: list[Any] = []
    for _, _, operation in operations(spec):
        if side == "requests":
            found.append(operation.get("requestBody", {}))
        else:
            found += [r for s, r in operation.get("responses", {}).items() if s.startswith("2")]
    return found
