"""The fake's state: resources kept as plain records, one data set per revision.

The two revisions model a campaign differently (stable: a campaign with channel messages;
``.pre``: campaign -> audiences -> messages -> variations), so each revision has its own data
set, as if each were a separate Klaviyo account.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ._ulid import new_ulid
from .jsonapi import not_found

Json = dict[str, Any]
Link = str | list[str] | None


@dataclass
class Record:
    """One resource: JSON:API attributes and relationships, plus state the API does not show."""

    type: str
    id: str
    attributes: Json
    relationships: dict[str, Link] = field(default_factory=dict)
    created: datetime | None = None
    updated: datetime | None = None
    deleted: bool = False
    """Soft-deleted: kept (for inspection) but no longer visible through the API."""
    archived: bool = False
    """Of a soft-deleted record: still readable (GET by id, lists) as Klaviyo shows an archived
    resource, while writes find it gone (404)."""
    internal: Json = field(default_factory=dict)

    def ids(self, name: str) -> list[str]:
        """The ids a relationship points at (empty if unset)."""
        value = self.relationships.get(name)
        if value is None:
            return []
        return [value] if isinstance(value, str) else list(value)


class Dataset:
    """Every resource of one revision, by type then id, in insertion order."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, Record]] = {}

    def add(self, record: Record) -> Record:
        """Store ``record`` (replacing one with the same type and id)."""
        self.tables.setdefault(record.type, {})[record.id] = record
        return record

    def get(
        self, type_: str, id_: str, *, deleted: bool = False, archived: bool = False
    ) -> Record | None:
        """The record, or None (soft-deleted records only if ``deleted``, or if ``archived``
        and the record is archived)."""
        record = self.tables.get(type_, {}).get(id_)
        if record is None or not _shown(record, deleted, archived):
            return None
        return record

    def require(self, type_: str, id_: str) -> Record:
        """The record, or a 404 ``ApiError``."""
        record = self.get(type_, id_)
        if record is None:
            raise not_found(f"A {type_} with id {id_!r} does not exist.")
        return record

    def all(self, type_: str, *, deleted: bool = False, archived: bool = False) -> list[Record]:
        """Every record of a type (visible ones, plus archived ones if ``archived``, plus every
        soft-deleted one if ``deleted``)."""
        return [r for r in self.tables.get(type_, {}).values() if _shown(r, deleted, archived)]

    def remove(self, type_: str, id_: str) -> None:
        """Forget a record entirely (a hard delete)."""
        self.tables.get(type_, {}).pop(id_, None)

    def __iter__(self) -> Iterator[Record]:
        for table in self.tables.values():
            yield from table.values()


def _shown(record: Record, deleted: bool, archived: bool) -> bool:
    return not record.deleted or deleted or (archived and record.archived)


class Store:
    """The data sets of every revision, and the id generator."""

    def __init__(self, revisions: list[str], clock_ms: Callable[[], int], seed: int | None) -> None:
        self.datasets = {revision: Dataset() for revision in revisions}
        self._clock_ms = clock_ms
        self._random = random.Random(seed)

    def new_id(self) -> str:
        """A fresh 26-character ULID stamped with the fake clock's time."""
        return new_ulid(self._clock_ms(), self._random.randbytes(10))

    def __getitem__(self, revision: str) -> Dataset:
        return self.datasets[revision]
