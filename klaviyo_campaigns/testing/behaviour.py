"""What a revision's behaviour provides to the generic machinery: rendering, relations, fields.

``Context`` is everything a handler may read about its request; ``Answer`` is what it returns.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from .jsonapi import object_link, relationship_links
from .pagination import Cursors
from .specs import OperationSpec
from .store import Dataset, Json, Record, Store


@dataclass(frozen=True)
class Timings:
    """How long the fake's asynchronous work takes, in fake-clock time."""

    job_queued: timedelta = timedelta(seconds=1)
    """A send or estimation job stays ``queued`` this long, ..."""
    job_processing: timedelta = timedelta(seconds=4)
    """... then ``processing`` this long, then ``complete``."""
    sending: timedelta = timedelta(seconds=60)
    """A message (or stable campaign) is ``SENDING`` this long after its send time, then SENT."""
    revert_cutoff: timedelta = timedelta(minutes=15)
    """A scheduled message can be reverted to draft only this long before its send time."""


@dataclass
class Context:
    """One request, as a handler sees it."""

    op: OperationSpec
    path_params: dict[str, str]
    query: dict[str, Any]
    body: Json | None
    data: Dataset
    store: Store
    now: datetime
    base_url: str
    path: str
    raw_query: list[tuple[str, str]]
    cursors: Cursors
    timings: Timings

    @property
    def id(self) -> str:
        """The ``{id}`` path parameter."""
        return self.path_params["id"]

    @property
    def self_url(self) -> str:
        """The URL of this request, for ``links.self``."""
        return self.url_with(self.raw_query)

    def url_with(self, query: list[tuple[str, str]]) -> str:
        """This request's URL with another query string."""
        text = urlencode(query, safe=",()'$:") if query else ""  # [ ] must be escaped in a URI
        return f"{self.base_url}{quote(self.path)}" + (f"?{text}" if text else "")

    def new_id(self) -> str:
        """A fresh ULID."""
        return self.store.new_id()


@dataclass
class Answer:
    """A handler's result: status and JSON:API document (None for 204/empty)."""

    status: int
    document: Json | None = None


Handler = Callable[[Context], Awaitable[Answer]]


@dataclass(frozen=True)
class Relation:
    """A relationship of a resource type: its target type and whether it holds many."""

    name: str
    target: str
    many: bool
    get: Callable[[Record, Dataset], list[Record]] | None = None
    """Computes the related records; by default they are the ids stored on the record."""
    rendered: bool = True
    """Whether the relationship appears in the resource's ``relationships`` (else it is only
    reachable through its own endpoints and ``include``)."""

    def resolve(self, record: Record, data: Dataset) -> list[Record]:
        """The related records that exist and are visible."""
        if self.get is not None:
            return self.get(record, data)
        found = (data.get(self.target, id_) for id_ in record.ids(self.name))
        return [r for r in found if r is not None]


@dataclass
class ResourceType:
    """How one resource type of one revision renders and filters."""

    name: str
    attributes: Callable[[Record, Context], Json]
    relations: dict[str, Relation] = field(default_factory=dict)
    fields: dict[str, Callable[[Record], Any]] = field(default_factory=dict)
    """Values of filterable / sortable fields, by the name the API uses."""
    data_in_relationships: bool = True
    """Whether rendered relationships carry ``data`` (ids) besides ``links``."""


class Behaviour:
    """A revision's resource types, handlers and time-driven state changes."""

    revision: str = ""
    null_links: bool = False
    """Whether collection ``links.next`` / ``prev`` may be null (else they are left out)."""
    default_sorts: ClassVar[dict[str, str]] = {}
    """The ``sort`` a list operation applies when the request gives none, by operationId
    (otherwise: oldest first)."""

    def __init__(self) -> None:
        self.types: dict[str, ResourceType] = {}
        self.handlers: dict[str, Handler] = {}

    def settle(self, data: Dataset, now: datetime) -> None:
        """Apply what time has done (jobs progress, scheduled messages send)."""

    def seed_campaign(
        self,
        data: Dataset,
        new_id: Callable[[], str],
        when: datetime,
        name: str,
        channel: str,
    ) -> str:
        """Create one draft campaign directly in ``data`` (see ``FakeKlaviyo.seed_campaigns``)."""
        raise NotImplementedError

    def render(self, record: Record, ctx: Context) -> Json:
        """The JSON:API resource object of a record."""
        kind = self.types[record.type]
        resource: Json = {
            "type": record.type,
            "id": record.id,
            "attributes": kind.attributes(record, ctx),
            "links": {"self": object_link(ctx.base_url, record.type, record.id)},
        }
        if kind.relations:
            relationships: Json = {}
            for relation in kind.relations.values():
                if not relation.rendered:
                    continue
                entry: Json = {
                    "links": relationship_links(ctx.base_url, record.type, record.id, relation.name)
                }
                if kind.data_in_relationships:
                    related = relation.resolve(record, ctx.data)
                    refs = [{"type": r.type, "id": r.id} for r in related]
                    if relation.many:
                        entry = {"data": refs, **entry}
                    elif refs:
                        entry = {"data": refs[0], **entry}
                relationships[relation.name] = entry
            resource["relationships"] = relationships
        return resource
