"""MkDocs hook: the operation reference, generated at build time from the code.

Every page under ``reference/operations/`` is written here from the generated operation table
(``klaviyo_campaigns._generated.operations.OPERATIONS``) and the generated facades (the Python
signature and summary of each method), so ``make generate`` updates the docs with no hand edit.
Nothing is written to disk: the pages are added to the build as generated files.

``operation_pages()`` is importable on its own; ``tests/test_docs.py`` checks it lists every
operation of every revision.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

from klaviyo_campaigns._generated.operations import (
    OPERATIONS,
    PRE_REVISION,
    STABLE_REVISION,
    FilterField,
    Operation,
)
from klaviyo_campaigns._generated.pre import facade as pre_facade
from klaviyo_campaigns._generated.stable import facade as stable_facade

# revision -> (page file name, attribute of the client, facade module)
REVISIONS: dict[str, tuple[str, str, Any]] = {
    STABLE_REVISION: ("stable.md", "stable", stable_facade),
    PRE_REVISION: ("pre.md", "pre", pre_facade),
}
PAGE_DIR = "reference/operations"


def method_name(operation: Operation) -> str:
    """The facade method of an operation: its operationId without Klaviyo's ``_beta`` suffix."""
    return operation.id.removesuffix("_beta")


def facade_method(revision: str, operation: Operation) -> Callable[..., Any]:
    """The ``API`` method for an operation; a missing one fails the build."""
    module = REVISIONS[revision][2]
    method = getattr(module.API, method_name(operation), None)
    if method is None:
        raise LookupError(f"{revision}: no facade method for {operation.id}")
    return method  # type: ignore[no-any-return]


def signature(name: str, method: Callable[..., Any]) -> str:
    """``async def name(...) -> T`` with one parameter per line, as the facade declares it."""
    sig = inspect.signature(method)
    lines = []
    star = False
    for parameter in list(sig.parameters.values())[1:]:  # without self
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and not star:
            lines.append("    *,")
            star = True
        text = parameter.name
        if parameter.annotation is not inspect.Parameter.empty:
            text += f": {_annotation(parameter.annotation)}"
        if parameter.default is not inspect.Parameter.empty:
            text += f" = {parameter.default!r}"
        lines.append(f"    {text},")
    returns = _annotation(sig.return_annotation)
    if not lines:
        return f"async def {name}() -> {returns}"
    return f"async def {name}(\n" + "\n".join(lines) + f"\n) -> {returns}"


def _annotation(annotation: Any) -> str:
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)


def summary(method: Callable[..., Any]) -> str:
    """The first line of the facade method's docstring."""
    doc = inspect.getdoc(method) or ""
    return doc.splitlines()[0] if doc else ""


def resource_of(operation: Operation) -> str:
    """The group an operation is listed under: the first segment of its path after ``/api/``."""
    return operation.path.removeprefix("/api/").split("/")[0]


def _filters(fields: Iterable[FilterField]) -> list[str]:
    rows = ["| field | operators | with a list of values | value |", "|---|---|---|---|"]
    for field in fields:
        value = field.value_type + (f" ({field.value_format})" if field.value_format else "")
        if field.enum:
            value += ": " + ", ".join(f"`{v}`" for v in field.enum)
        rows.append(
            f"| `{field.name}` | {_codes(field.operators)} | {_codes(field.list_operators)} "
            f"| {value} |"
        )
    return rows


def _codes(values: Iterable[str]) -> str:
    text = ", ".join(f"`{v}`" for v in values)
    return text or "-"


def operation_section(revision: str, operation: Operation) -> list[str]:
    """The reference entry of one operation."""
    attribute = REVISIONS[revision][1]
    name = method_name(operation)
    method = facade_method(revision, operation)
    out = [
        f"### `{name}` {{ #{name} }}",
        "",
        summary(method),
        "",
        "```python",
        signature(name, method),
        "```",
        "",
        "| | |",
        "|---|---|",
        f"| HTTP | `{operation.method} {operation.path}` |",
        f"| operationId | `{operation.id}` |",
        f"| call | `await kl.{attribute}.{name}(...)` |",
        f"| rate limits | {operation.burst}/s burst, {operation.steady}/min steady |",
        f"| scopes | {_codes(operation.scopes)} |",
        f"| paginates | {_paginates(attribute, name, operation)} |",
        f"| sort | {_codes(operation.sort)} |",
        f"| include | {_codes(operation.include)} |",
        f"| filter | {'see below' if operation.filters else '-'} |",
        "",
    ]
    if operation.filters:
        out += ["Filter fields:", "", *_filters(operation.filters), ""]
    return out


def _paginates(attribute: str, name: str, operation: Operation) -> str:
    if not operation.paginated:
        return "no"
    return f"yes: `kl.paginate(kl.{attribute}.{name}, ...)`"


def revision_page(revision: str) -> str:
    """The page listing every operation of one revision, grouped by resource."""
    operations = OPERATIONS[revision]
    attribute = REVISIONS[revision][1]
    groups: dict[str, list[Operation]] = {}
    for operation in operations.values():
        groups.setdefault(resource_of(operation), []).append(operation)
    out = [
        f"# Revision `{revision}`",
        "",
        f"{len(operations)} operations, each a method of `kl.{attribute}` "
        f"(and of `kl.with_raw_response.{attribute}`, which returns status, headers and the "
        "parsed model). Generated from the operation table and the facade: "
        "[how to read an entry](index.md#reading-an-entry).",
        "",
        "| method | HTTP | paginates |",
        "|---|---|---|",
    ]
    for operation in operations.values():
        name = method_name(operation)
        out.append(
            f"| [`{name}`](#{name}) | `{operation.method} {operation.path}` "
            f"| {'yes' if operation.paginated else ''} |"
        )
    out.append("")
    for group, members in groups.items():
        out += [f"## `/api/{group}`", ""]
        for operation in members:
            out += operation_section(revision, operation)
    return "\n".join(out) + "\n"


def index_page() -> str:
    """Both revisions side by side, one row per endpoint (method and path)."""
    endpoints: dict[tuple[str, str], dict[str, str]] = {}
    for revision, operations in OPERATIONS.items():
        for operation in operations.values():
            key = (operation.path, operation.method)
            endpoints.setdefault(key, {})[revision] = method_name(operation)
    total = sum(len(ops) for ops in OPERATIONS.values())
    counts = ", ".join(f"{len(ops)} in `{rev}`" for rev, ops in OPERATIONS.items())
    stable_page, _, _ = REVISIONS[STABLE_REVISION]
    pre_page, _, _ = REVISIONS[PRE_REVISION]
    out = [
        "# All operations",
        "",
        f"The reference lists **{total} operations**: {counts}. Both revisions side by side, one "
        "row per endpoint; a blank cell means the revision has no such endpoint.",
        "",
        "## Reading an entry",
        "",
        "Each operation is an async method: `kl.stable.<name>` for revision "
        f"`{STABLE_REVISION}`, `kl.pre.<name>` for `{PRE_REVISION}` (the name is Klaviyo's "
        "operationId without `_beta`). Its entry gives the Python signature, the HTTP method and "
        "path, the rate limits the client keeps to (burst per second, steady per minute), the API "
        "key scopes it needs, the values `sort` and `include` accept, the fields `filter` accepts "
        "with their operators, and whether it paginates (use `kl.paginate`). Arguments typed as an "
        "enum also take the enum's string value; a value outside the list raises "
        "`ValidationError` before anything is sent.",
        "",
        "## Endpoints",
        "",
        f"| HTTP | `{STABLE_REVISION}` | `{PRE_REVISION}` |",
        "|---|---|---|",
    ]
    for (path, http), names in sorted(endpoints.items()):
        cells = []
        for revision, page in ((STABLE_REVISION, stable_page), (PRE_REVISION, pre_page)):
            name = names.get(revision)
            cells.append(f"[`{name}`]({page}#{name})" if name else "")
        out.append(f"| `{http} {path}` | {cells[0]} | {cells[1]} |")
    return "\n".join(out) + "\n"


def operation_pages() -> dict[str, str]:
    """Every generated page: path under ``docs/`` -> Markdown."""
    pages = {f"{PAGE_DIR}/index.md": index_page()}
    for revision, (page, _, _) in REVISIONS.items():
        pages[f"{PAGE_DIR}/{page}"] = revision_page(revision)
    return pages


def on_files(files: Any, config: Any) -> Any:
    """Add the generated pages to the build."""
    from mkdocs.structure.files import File

    for path, content in operation_pages().items():
        files.append(File.generated(config, path, content=content))
    return files
