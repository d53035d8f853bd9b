"""The change report: what moved between two versions of a spec, operation by operation.

Each operation is reduced to flat facts, with every ``$ref`` resolved so that a field renamed
inside a shared schema shows up under each operation that uses it:

- ``rate limit``: ``burst`` / ``steady`` from ``x-klaviyo-ratelimit``; ``scopes``;
- ``parameter <in> <name>``: required, type, enum, ...;
- ``filter <field>``: the operators and value type of ``x-klaviyo-filters``;
- ``request body`` / ``response <status>``: one entry per field path (``data.attributes.name``,
  ``data[].id``, ``included[]<TagResponseObject>.type``) with its type, enum, required, ...

Two versions of a spec are compared fact by fact; the result renders as Markdown for a reviewer.
Descriptions and examples are left out: they are prose, not contract.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .spec import Spec, operations

#: Schema keywords that are part of the contract (what a field accepts or holds).
_KEYWORDS = (
    "type",
    "format",
    "enum",
    "const",
    "nullable",
    "default",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "pattern",
)

#: ``{fact: {attribute: value}}`` for one section of one operation.
Facts = dict[str, dict[str, Any]]


@dataclass(frozen=True)
class OperationFacts:
    """One operation reduced to comparable facts, grouped by section."""

    id: str
    method: str
    path: str
    sections: dict[str, Facts]

    @property
    def title(self) -> str:
        return f"`{self.id}`: {self.method} {self.path}"


def operation_facts(spec: Spec) -> dict[str, OperationFacts]:
    """Every operation of ``spec`` by operationId, as facts."""
    found = {}
    for method, path, op in operations(spec):
        sections: dict[str, Facts] = {}
        limits = op.get("x-klaviyo-ratelimit") or {}
        sections["rate limit"] = {k: {"value": v} for k, v in sorted(limits.items())}
        sections["scopes"] = {s: {"value": "granted"} for s in op.get("x-klaviyo-scopes", ())}
        for param in op.get("parameters", []):
            param = _deref(spec, param)
            if _is_revision_header(param):
                continue  # the client sets it per namespace: the report's header line says it
            facts = _schema_facts(spec, param.get("schema", {}))
            attributes = facts.pop("", {})
            attributes["required"] = bool(param.get("required", False))
            if "explode" in param:
                attributes["explode"] = param["explode"]
            sections[f"parameter {param.get('in')} `{param.get('name')}`"] = {"": attributes}
            for sub, value in facts.items():  # an object-valued parameter's own fields
                sections[f"parameter {param.get('in')} `{param.get('name')}`"][sub] = value
        filters = op.get("x-klaviyo-filters") or {}
        sections["filters"] = {name: _filter(spec_) for name, spec_ in sorted(filters.items())}
        body = _deref(spec, op.get("requestBody", {}))
        for media, content in sorted(body.get("content", {}).items()):
            sections[_media_section("request body", media)] = _schema_facts(
                spec, content.get("schema", {})
            )
        for status, response in sorted(op.get("responses", {}).items()):
            response = _deref(spec, response)
            for media, content in sorted(response.get("content", {}).items()):
                sections[_media_section(f"response {status}", media)] = _schema_facts(
                    spec, content.get("schema", {})
                )
        found[op["operationId"]] = OperationFacts(op["operationId"], method, path, sections)
    return found


def _is_revision_header(param: Any) -> bool:
    where = (param.get("in"), param.get("name")) if isinstance(param, dict) else None
    return where == ("header", "revision")


def _media_section(name: str, media: str) -> str:
    return name if media in ("application/vnd.api+json", "application/json") else f"{name} {media}"


def _filter(spec: dict[str, Any]) -> dict[str, Any]:
    operators = spec.get("operators", {})
    value = spec.get("value", {})
    return {
        "operators": tuple(operators.get("single", ())),
        "list operators": tuple(operators.get("list", ())),
        "value type": value.get("type"),
        "value format": value.get("format"),
        "enum": tuple(value["enum"]) if "enum" in value else None,
    }


def _deref(spec: Spec, node: Any) -> Any:
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if ref in seen or not ref.startswith("#/"):
            break
        seen.add(ref)
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def _ref_name(node: Any) -> str | None:
    if isinstance(node, dict) and isinstance(node.get("$ref"), str):
        return str(node["$ref"]).rsplit("/", 1)[-1]
    return None


def _schema_facts(spec: Spec, schema: Any) -> Facts:
    """Flatten a schema into ``{field path: attributes}``; the root's path is ``""``."""
    facts: Facts = {}
    _walk(spec, schema, "", facts, required=None, stack=())
    return facts


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _walk(
    spec: Spec,
    schema: Any,
    path: str,
    facts: Facts,
    required: bool | None,
    stack: tuple[str, ...],
) -> None:
    name = _ref_name(schema)
    if name is not None:
        if name in stack:
            facts.setdefault(path, {})["type"] = f"recursive {name}"
            return
        stack = (*stack, name)
    schema = _deref(spec, schema)
    if not isinstance(schema, dict):
        return
    attributes = facts.setdefault(path, {})
    if required is not None:
        attributes["required"] = required
    for keyword in _KEYWORDS:
        if keyword in schema:
            value = schema[keyword]
            attributes[keyword] = tuple(value) if isinstance(value, list) else value
    for part in schema.get("allOf", []):
        _walk(spec, part, path, facts, None, stack)
    for keyword in ("oneOf", "anyOf"):
        variants = schema.get(keyword, [])
        if variants:
            labels = [_ref_name(v) or str(i) for i, v in enumerate(variants)]
            attributes[keyword] = tuple(labels)
            for label, variant in zip(labels, variants, strict=True):
                _walk(spec, variant, f"{path}<{label}>", facts, None, stack)
    needed = set(schema.get("required", ()))
    for prop, sub in schema.get("properties", {}).items():
        _walk(spec, sub, _join(path, prop), facts, prop in needed, stack)
    if "items" in schema:
        _walk(spec, schema["items"], f"{path}[]", facts, None, stack)
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        _walk(spec, extra, f"{path}{{*}}", facts, None, stack)


# -- comparing ---------------------------------------------------------------------------------


@dataclass
class RevisionChanges:
    """What changed in one revision: its header, operations added, removed, renamed, changed."""

    revision: str
    namespace: str = ""
    previous_revision: str | None = None
    title: str = ""  # the section heading; the revision when empty
    note: str = ""  # a paragraph under the heading
    added: list[OperationFacts] = field(default_factory=list)
    removed: list[OperationFacts] = field(default_factory=list)
    renamed: list[tuple[OperationFacts, OperationFacts, list[str]]] = field(default_factory=list)
    changed: list[tuple[OperationFacts, list[str]]] = field(default_factory=list)
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.renamed or self.changed)


def compare(revision: str, old: Spec | None, new: Spec, namespace: str = "") -> RevisionChanges:
    """The operations of ``new`` against those of ``old`` (``None``: everything is new).

    ``namespace`` (``kl.stable``) names who sends the revision header, in the rendered report.
    A changed operationId on the same method and path is a rename, not a removal and an addition.
    """
    before = operation_facts(old) if old is not None else {}
    after = operation_facts(new)
    previous = str(old.get("info", {}).get("version")) if old is not None else None
    changes = RevisionChanges(revision, namespace, previous)
    added = {i: after[i] for i in sorted(after.keys() - before.keys())}
    removed = {i: before[i] for i in sorted(before.keys() - after.keys())}
    by_place = {(op.method, op.path): op for op in added.values()}
    for gone in list(removed.values()):
        came = by_place.get((gone.method, gone.path))
        if came is not None:
            changes.renamed.append((gone, came, _operation_lines(gone, came)))
            del removed[gone.id], added[came.id]
    changes.added, changes.removed = list(added.values()), list(removed.values())
    for op_id in sorted(before.keys() & after.keys()):
        lines = _operation_lines(before[op_id], after[op_id])
        if lines:
            changes.changed.append((after[op_id], lines))
        else:
            changes.unchanged += 1
    return changes


def _operation_lines(old: OperationFacts, new: OperationFacts) -> list[str]:
    lines = []
    if (old.method, old.path) != (new.method, new.path):
        lines.append(f"moved: {old.method} {old.path} → {new.method} {new.path}")
    for section in _ordered(old.sections, new.sections):
        before, after = old.sections.get(section), new.sections.get(section)
        if before is None:
            lines.append(f"{section}: added{_describe((after or {}).get('', {}))}")
            lines += [f"{section} `{p}`: added{d}" for p, d in _nested(after or {}, "")]
        elif after is None:
            lines.append(f"{section}: removed")
        else:
            for path, text in _section_lines(before, after):
                lines.append(f"{section} `{path}`: {text}" if path else f"{section}: {text}")
    return lines


def _ordered(*dicts: dict[str, Any]) -> list[str]:
    keys: list[str] = []
    for d in dicts:
        keys += [k for k in d if k not in keys]
    return keys


def _section_lines(old: Facts, new: Facts) -> list[tuple[str, str]]:
    """(field path, what happened to it) for every difference between two sections."""
    removed = sorted(old.keys() - new.keys())
    added = sorted(new.keys() - old.keys())
    renames = _renames(old, new, removed, added)
    gone = {path for pair in renames for path in _subtree(pair[0], removed)}
    came = {path for pair in renames for path in _subtree(pair[1], added)}
    # Renames are between siblings: the new name alone says it.
    lines = [(a, f"renamed to `{b[len(_parent(b)) :].lstrip('.')}`") for a, b in renames]
    lines += [(p, "removed") for p in _tops(removed) if p not in gone]
    for top in _tops(added):
        if top not in came:
            lines.append((top, f"added{_describe(new[top])}"))
            lines += [(p, f"added{d}") for p, d in _nested(new, top)]
    for path in sorted(old.keys() & new.keys()):
        lines += [(path, text) for text in _attribute_lines(old[path], new[path])]
    return lines


def _attribute_lines(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    lines = []
    for key in _ordered(old, new):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        label = "" if key == "value" else f"{key} "
        if isinstance(before, tuple) and isinstance(after, tuple):
            plus = [f"+ `{v}`" for v in after if v not in before]
            minus = [f"- `{v}`" for v in before if v not in after]
            lines.append(f"{label}{', '.join(plus + minus) or 'reordered'}")
        else:
            lines.append(f"{label}{_value(before)} → {_value(after)}")
    return lines


def _value(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, tuple):
        return "`" + ", ".join(map(str, value)) + "`"
    return f"`{value}`"


def _describe(attributes: dict[str, Any]) -> str:
    parts = [f"{k} {_value(attributes[k])}" for k in ("type", "format", "enum") if k in attributes]
    parts += [k for k in ("required", "nullable") if attributes.get(k) is True]
    return f" ({', '.join(parts)})" if parts else ""


#: At most this many nested fields are listed under one added field.
NESTED_LIMIT = 25


def _nested(facts: Facts, root: str) -> list[tuple[str, str]]:
    """The fields inside an added field (or section, ``root`` ``""``), each with its type."""
    inside = [p for p in sorted(_subtree(root, list(facts)) if root else facts) if p and p != root]
    lines = [(p, _describe(facts[p])) for p in inside[:NESTED_LIMIT]]
    if len(inside) > NESTED_LIMIT:
        lines.append((f"{root}…", f"and {len(inside) - NESTED_LIMIT} more fields"))
    return lines


def _parent(path: str) -> str:
    cut = max(path.rfind(c) for c in ".[<{")
    return path[:cut] if cut > 0 else ""


def _subtree(root: str, paths: list[str]) -> list[str]:
    starts = tuple(root + c for c in ".[<{")
    return [p for p in paths if p == root or p.startswith(starts)]


def _tops(paths: list[str]) -> list[str]:
    """The paths whose parent is not in the list too: the roots of what was added or removed."""
    chosen = set(paths)
    return [p for p in paths if not _has_ancestor(p, chosen)]


def _has_ancestor(path: str, chosen: set[str]) -> bool:
    parent = _parent(path)
    while parent:
        if parent in chosen:
            return True
        parent = _parent(parent)
    return False


def _renames(old: Facts, new: Facts, removed: list[str], added: list[str]) -> list[tuple[str, str]]:
    """Pairs (old, new) of sibling fields that differ only in name: reported as renames."""

    def shape(facts: Facts, root: str, paths: list[str]) -> tuple[Any, ...]:
        return tuple(
            (p[len(root) :], tuple(sorted(facts[p].items(), key=lambda kv: kv[0])))
            for p in sorted(_subtree(root, paths))
        )

    candidates = _tops(added)
    pairs = []
    for gone in _tops(removed):
        matches = [
            came
            for came in candidates
            if _parent(came) == _parent(gone)
            and shape(old, gone, removed) == shape(new, came, added)
        ]
        if len(matches) == 1:
            pairs.append((gone, matches[0]))
            candidates.remove(matches[0])
    return pairs


# -- rendering ---------------------------------------------------------------------------------


def render(changes: list[RevisionChanges], inputs: list[str]) -> str:
    """The Markdown report for ``changes`` (one per revision); ``inputs``: lines on the sources."""
    out = ["# Spec change report", ""]
    out += [
        "Written by `make update-spec` (`python -m codegen.update`): the operations of each",
        "revision before and after the update, compared from the normalized specs in `openapi/`.",
        "`$ref`s are resolved, so a change inside a shared schema is listed under every",
        "operation that uses it. Descriptions and examples are not compared.",
        "",
    ]
    out += [f"- {line}" for line in inputs]
    out.append("")
    for revision in changes:
        out += [f"## {revision.title or revision.revision}", ""]
        if revision.note:
            out += [revision.note, ""]
        who = f" (what `{revision.namespace}` sends)" if revision.namespace else ""
        if revision.previous_revision in (None, revision.revision):
            out += [f"Revision header{who}: `{revision.revision}`, unchanged.", ""]
        else:
            out += [
                f"Revision header{who}: `{revision.previous_revision}` → `{revision.revision}`.",
                "",
            ]
        counts = (
            f"Operations: {len(revision.added)} added, {len(revision.removed)} removed, "
            f"{len(revision.renamed)} renamed, {len(revision.changed)} changed, "
            f"{revision.unchanged} unchanged."
        )
        out += [counts, ""]
        if revision.empty:
            out += ["No operation changed.", ""]
            continue
        if revision.added:
            out += ["### Added", ""]
            out += [f"- {op.title}" for op in revision.added]
            out.append("")
        if revision.removed:
            out += ["### Removed", ""]
            out += [f"- {op.title}" for op in revision.removed]
            out.append("")
        if revision.renamed:
            out += ["### Renamed", ""]
            for old_op, new_op, lines in revision.renamed:
                out.append(f"- `{old_op.id}` → `{new_op.id}`: {new_op.method} {new_op.path}")
                out += [f"  - {line}" for line in lines]
            out.append("")
        if revision.changed:
            out += ["### Changed", ""]
            for op, lines in revision.changed:
                out += [f"#### {op.title}", ""]
                out += [f"- {line}" for line in lines]
                out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
