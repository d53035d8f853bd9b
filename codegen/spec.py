"""Loading Klaviyo's published specs and writing them back in one stable, strict form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

Spec = dict[str, Any]


def load_raw(path: Path) -> Spec:
    """Read a spec exactly as Klaviyo publishes it.

    Its JSON strings hold raw newlines and tabs, which strict JSON forbids, so the parser runs
    with ``strict=False``; nothing else about the text is tolerated.
    """
    document = json.loads(path.read_text(encoding="utf-8"), strict=False)
    if not isinstance(document, dict) or "openapi" not in document or "paths" not in document:
        raise ValueError(f"{path} is not an OpenAPI document (no 'openapi'/'paths' at the top)")
    return document


def dumps(spec: Spec) -> str:
    """The normalized text of a spec: strict JSON, sorted keys, indent 2, final newline."""
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def dumps_compact(spec: Spec) -> str:
    """The same document in its smallest strict form (package data for the fake server)."""
    return json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def operations(spec: Spec) -> list[tuple[str, str, dict[str, Any]]]:
    """Every operation of a spec as (METHOD, path, operation), in path then method order."""
    found = []
    for path, item in sorted(spec["paths"].items()):
        for method, operation in sorted(item.items()):
            if isinstance(operation, dict) and "operationId" in operation:
                found.append((method.upper(), path, operation))
    return found


def unused_schemas(spec: Spec) -> set[str]:
    """Component schemas that nothing reaches from the operations (or other components).

    Reachability starts at everything outside ``components.schemas`` and follows ``$ref``s, so a
    schema only another unused schema refers to is unused too. A ``$ref`` to a schema that does
    not exist is not followed here; :func:`dangling_refs` reports those.
    """
    schemas = spec.get("components", {}).get("schemas", {})
    roots = {key: value for key, value in spec.items() if key != "components"}
    roots["components"] = {
        section: entries
        for section, entries in spec.get("components", {}).items()
        if section != "schemas"
    }
    return set(schemas) - referenced_schemas(spec, [roots])


def referenced(components: dict[str, Any], roots: Any) -> set[tuple[str, str]]:
    """``(section, name)`` of every component ``roots`` reach through ``$ref``s, transitively.

    ``components`` maps a section (``schemas``, ``parameters``, ...) to its entries. A ``$ref``
    to an entry that does not exist is returned but not followed (:func:`dangling_refs` and the
    callers report those).
    """
    seen: set[tuple[str, str]] = set()
    stack: list[Any] = [roots]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(_COMPONENT_REF):
                section, _, name = ref[len(_COMPONENT_REF) :].partition("/")
                if (section, name) not in seen:
                    seen.add((section, name))
                    target = components.get(section, {}).get(name)
                    if target is not None:
                        stack.append(target)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return seen


def referenced_schemas(spec: Spec, roots: Any) -> set[str]:
    """Names of the existing component schemas ``roots`` reach through ``$ref``s."""
    components = spec.get("components", {})
    schemas = components.get("schemas", {})
    return {
        name
        for section, name in referenced(components, roots)
        if section == "schemas" and name in schemas
    }


def without_unused_schemas(spec: Spec) -> Spec:
    """``spec`` less its :func:`unused_schemas` (a shallow copy; the input is not changed)."""
    unused = unused_schemas(spec)
    if not unused:
        return spec
    components = dict(spec["components"])
    components["schemas"] = {
        name: schema for name, schema in components["schemas"].items() if name not in unused
    }
    return {**spec, "components": components}


def dangling_refs(spec: Spec) -> list[tuple[str, str]]:
    """Every local ``$ref`` that points at nothing: (its JSON Pointer, the ref), in order."""
    found: list[tuple[str, str]] = []
    stack: list[tuple[str, Any]] = [("", spec)]
    while stack:
        where, node = stack.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/") and not _resolves(spec, ref):
                found.append((where or "/", ref))
            stack += [(f"{where}/{_escape(key)}", value) for key, value in reversed(node.items())]
        elif isinstance(node, list):
            stack += [(f"{where}/{i}", value) for i, value in reversed(list(enumerate(node)))]
    return found


def _escape(key: str) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _resolves(spec: Spec, ref: str) -> bool:
    node: Any = spec
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


_COMPONENT_REF = "#/components/"
