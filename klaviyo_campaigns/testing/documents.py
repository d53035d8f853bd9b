"""Generic reads: one resource, a filtered / sorted / paginated list, related resources and
relationship ids, each answered as a JSON:API document with ``links`` and ``included``.
"""

from __future__ import annotations

from typing import Any

from . import filters
from .behaviour import Answer, Behaviour, Context
from .jsonapi import apply_sparse_fields, invalid, not_found
from .pagination import paginate, sortable
from .store import Json, Record


def resource(ctx: Context, behaviour: Behaviour, record: Record) -> Json:
    """A record rendered with the request's sparse fieldset for its type."""
    rendered = behaviour.render(record, ctx)
    fields = ctx.query.get(f"fields[{record.type}]")
    return apply_sparse_fields(rendered, list(fields) if fields is not None else None)


def included(ctx: Context, behaviour: Behaviour, records: list[Record]) -> list[Json] | None:
    """The ``included`` array for the request's ``include`` values (None if none asked)."""
    names = ctx.query.get("include")
    if not names:
        return None
    seen: set[tuple[str, str]] = {(r.type, r.id) for r in records}
    out: list[Json] = []
    for record in records:
        relations = behaviour.types[record.type].relations
        for name in names:
            relation = relations.get(name)
            if relation is None:
                continue
            for other in relation.resolve(record, ctx.data):
                if (other.type, other.id) not in seen:
                    seen.add((other.type, other.id))
                    out.append(resource(ctx, behaviour, other))
    return out


def single(ctx: Context, behaviour: Behaviour, record: Record, status: int = 200) -> Answer:
    """A document holding one resource (and what it includes)."""
    document: Json = {"data": resource(ctx, behaviour, record), "links": {"self": ctx.self_url}}
    extra = included(ctx, behaviour, [record])
    if extra is not None:
        document["included"] = extra
    return Answer(status, document)


def collection(
    ctx: Context, behaviour: Behaviour, type_: str, records: list[Record], *, ids_only: bool = False
) -> Answer:
    """A filtered, sorted, paginated list of ``records`` (all of ``type_``)."""
    kind = behaviour.types[type_]
    text = ctx.query.get("filter")
    if text:
        node = filters.parse(text)
        filters.check(node, ctx.op.filters)
        matches = filters.matcher(node, kind.fields)
        records = [r for r in records if matches(r)]
    sort = str(ctx.query.get("sort") or behaviour.default_sorts.get(ctx.op.id, ""))
    field_name = sort.lstrip("-")
    if field_name and field_name != "id" and field_name not in kind.fields:
        raise invalid(f"Cannot sort by {field_name!r}.", parameter="sort")

    def key(record: Record) -> list[Any]:
        if not field_name:
            return [sortable(record.created.isoformat() if record.created else None), record.id]
        if field_name == "id":
            return [sortable(record.id), record.id]
        return [sortable(_plain(kind.fields[field_name](record))), record.id]

    # Each key once per request (ids make every key unique, so the order is total).
    keyed = sorted(((key(r), r) for r in records), key=_first, reverse=sort.startswith("-"))
    records = [record for _, record in keyed]
    size = int(ctx.query.get("page[size]") or ctx.op.page_size_default)
    cursor = ctx.query.get("page[cursor]")
    if ctx.op.paginated:
        keys = [k for k, _ in keyed]
        page = paginate(records, keys, size, cursor, sort, ctx.cursors)
        chosen, next_cursor, prev_cursor = page.items, page.next_cursor, page.prev_cursor
    else:
        chosen, next_cursor, prev_cursor = records, None, None
    links: Json = {"self": ctx.self_url}
    for name, value in (("next", next_cursor), ("prev", prev_cursor)):
        if value is not None:
            query = [(k, v) for k, v in ctx.raw_query if k != "page[cursor]"]
            links[name] = ctx.url_with([*query, ("page[cursor]", value)])
        elif behaviour.null_links:
            links[name] = None
    if ids_only:
        return Answer(200, {"data": [{"type": r.type, "id": r.id} for r in chosen], "links": links})
    document: Json = {"data": [resource(ctx, behaviour, r) for r in chosen], "links": links}
    extra = included(ctx, behaviour, chosen)
    if extra is not None:
        document["included"] = extra
    return Answer(200, document)


def _first(pair: tuple[list[Any], Record]) -> list[Any]:
    return pair[0]


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _path_parts(ctx: Context) -> list[str]:
    return ctx.op.path.strip("/").split("/")  # ["api", "campaigns", "{id}", ...]


def type_of_path(segment: str) -> str:
    """``campaigns`` -> ``campaign`` (the resource type a collection path holds)."""
    return segment[:-1] if segment.endswith("s") else segment


async def get_one(ctx: Context, behaviour: Behaviour) -> Answer:
    """``GET /api/{type}s/{id}``."""
    type_ = type_of_path(_path_parts(ctx)[1])
    record = ctx.data.get(type_, ctx.id, archived=True)  # an archived resource is still read
    if record is None:
        raise not_found(f"A {type_} with id {ctx.id!r} does not exist.")
    return single(ctx, behaviour, record)


async def list_all(ctx: Context, behaviour: Behaviour) -> Answer:
    """``GET /api/{type}s``."""
    type_ = type_of_path(_path_parts(ctx)[1])
    return collection(ctx, behaviour, type_, ctx.data.all(type_, archived=True))


async def related_or_ids(ctx: Context, behaviour: Behaviour) -> Answer:
    """``GET /api/{type}s/{id}/{relation}`` and ``.../relationships/{relation}``."""
    parts = _path_parts(ctx)
    ids_only = parts[3] == "relationships"
    name = parts[-1]
    source = ctx.data.get(type_of_path(parts[1]), ctx.id, archived=True)
    if source is None:
        raise not_found(f"A {type_of_path(parts[1])} with id {ctx.id!r} does not exist.")
    relation = behaviour.types[source.type].relations.get(name)
    if relation is None:
        raise not_found(f"{source.type} has no relationship {name!r}.")
    records = relation.resolve(source, ctx.data)
    if relation.many:
        return collection(ctx, behaviour, relation.target, records, ids_only=ids_only)
    if ids_only:
        ref = {"type": records[0].type, "id": records[0].id} if records else None
        return Answer(200, {"data": ref, "links": {"self": ctx.self_url}})
    if not records:
        raise not_found(f"{source.type} {source.id} has no {name}.")
    return single(ctx, behaviour, records[0])


def generic_handler(ctx: Context, behaviour: Behaviour) -> Any:
    """The generic read that serves an operation by the shape of its path, or None."""
    parts = _path_parts(ctx)
    if ctx.op.method != "GET" or parts[0] != "api":
        return None
    if len(parts) == 2:
        return list_all
    if len(parts) == 3:
        return get_one
    return related_or_ids
