"""Emit the operation table: every operation's method, path, limits, scopes, filters and paging."""

from __future__ import annotations

import re
from typing import Any

from .spec import Spec, operations

_RATE = re.compile(r"^(\d+)/([sm])$")

HEADER = '''"""The operation table of every generated revision.

One ``Operation`` per operationId: method, path template, rate limits (burst per second, steady
per minute, from ``x-klaviyo-ratelimit``), scopes, whether it is cursor-paginated, its allowed
filters (``x-klaviyo-filters``), sort values, include values and the bounds of ``page[size]``.
The runtime reads this table; nothing about operations is typed in by hand. ``Operation`` and
``FilterField`` are the SDK's own (``_core``), shared with the runtime.
"""

from .._core import FilterField as FilterField
from .._core import Operation as Operation


'''


def rate_limits(operation: dict[str, Any], where: str) -> tuple[int, int]:
    """(burst per second, steady per minute) from ``x-klaviyo-ratelimit``; fails if absent."""
    limits = operation.get("x-klaviyo-ratelimit")
    if not isinstance(limits, dict):
        raise ValueError(f"{where}: no x-klaviyo-ratelimit")
    burst, steady = _RATE.match(limits.get("burst", "")), _RATE.match(limits.get("steady", ""))
    if not burst or burst.group(2) != "s" or not steady or steady.group(2) != "m":
        raise ValueError(
            f"{where}: x-klaviyo-ratelimit must be 'N/s' burst, 'N/m' steady: {limits}"
        )
    return int(burst.group(1)), int(steady.group(1))


def _query_enum(operation: dict[str, Any], name: str, spec: Spec) -> tuple[str, ...]:
    for param in operation.get("parameters", []):
        if param.get("in") == "query" and param.get("name") == name:
            schema = param.get("schema", {})
            schema = schema.get("items", schema)
            if "$ref" in schema:  # an enum named once for every operation (codegen.shapes)
                schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
            return tuple(schema.get("enum", ()))
    return ()


def _page_size(operation: dict[str, Any], where: str) -> tuple[int, int] | None:
    for param in operation.get("parameters", []):
        if param.get("in") == "query" and param.get("name") == "page[size]":
            schema = param.get("schema", {})
            if "minimum" not in schema or "maximum" not in schema:
                raise ValueError(f"{where}: page[size] without minimum and maximum")
            return int(schema["minimum"]), int(schema["maximum"])
    return None


def _filters(operation: dict[str, Any]) -> list[str]:
    rows = []
    for name, spec in sorted(operation.get("x-klaviyo-filters", {}).items()):
        ops = spec.get("operators", {})
        value = spec.get("value", {})
        enum = value.get("enum")
        rows.append(
            "FilterField("
            f"{name!r}, {tuple(ops.get('single', ()))!r}, {tuple(ops.get('list', ()))!r}, "
            f"{value.get('type', 'string')!r}, {value.get('format')!r}, "
            f"{tuple(enum) if enum is not None else None!r})"
        )
    return rows


def emit(revisions: list[tuple[str, str, Spec]]) -> str:
    """Python source of ``operations.py`` for ``(revision, package, fixed spec)`` triples."""
    out = [HEADER]
    names = []
    for revision, package, spec in revisions:
        const = f"{package.upper()}_OPERATIONS"
        names.append((revision, const))
        out.append(f"{const}: dict[str, Operation] = {{\n")
        for method, path, op in operations(spec):
            op_id = op["operationId"]
            burst, steady = rate_limits(op, f"{revision} {op_id}")
            params = {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}
            filters = _filters(op)
            tag = _module_tag(op)
            out.append(
                f"    {op_id!r}: Operation(\n"
                f"        id={op_id!r},\n"
                f"        revision={revision!r},\n"
                f"        method={method!r},\n"
                f"        path={path!r},\n"
                f"        burst={burst},\n"
                f"        steady={steady},\n"
                f"        scopes={tuple(op.get('x-klaviyo-scopes', ()))!r},\n"
                f"        paginated={'page[cursor]' in params},\n"
                f"        filters=({''.join(f + ', ' for f in filters)}),\n"
                f"        sort={_query_enum(op, 'sort', spec)!r},\n"
                f"        include={_query_enum(op, 'include', spec)!r},\n"
                f"        module={package + '.api.' + tag + '.' + _snake(op_id)!r},\n"
                f"        page_size={_page_size(op, f'{revision} {op_id}')!r},\n"
                "    ),\n"
            )
        out.append("}\n\n")
    out.append("OPERATIONS: dict[str, dict[str, Operation]] = {\n")
    out.extend(f"    {rev!r}: {const},\n" for rev, const in names)
    out.append("}\n")
    return "".join(out)


def _snake(name: str) -> str:
    """The generator's module name for an operationId (they are already snake_case here)."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"operationId {name!r} is not snake_case; module naming would differ")
    return name


def _module_tag(operation: dict[str, Any]) -> str:
    tags = operation.get("tags") or ["default"]
    return re.sub(r"[^a-z0-9]+", "_", tags[0].lower()).strip("_")
