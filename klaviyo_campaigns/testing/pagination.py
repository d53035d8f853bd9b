"""Cursor pagination: opaque cursors that name a position, so they stay valid as items are added.

A cursor holds the sort key of the item it points after (``next``) or before (``prev``), signed
so a cursor that was edited, truncated or made up is answered with a 400 rather than a guess.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .jsonapi import invalid

T = TypeVar("T")
SortKey = list[Any]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of items and the cursors of its neighbours (None at either end)."""

    items: list[T]
    next_cursor: str | None
    prev_cursor: str | None


class Cursors:
    """Encodes and decodes signed cursors with a per-server secret."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def encode(self, direction: str, key: SortKey, sort: str) -> str:
        """A cursor for the position just ``after`` / ``before`` ``key`` under ``sort``."""
        payload = json.dumps({"d": direction, "k": key, "s": sort}, separators=(",", ":"))
        raw = payload.encode()
        mac = hmac.new(self._secret, raw, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(mac + raw).decode().rstrip("=")

    def decode(self, cursor: str, sort: str) -> tuple[str, SortKey]:
        """The direction and key of a cursor; 400 if it is not one this server issued."""
        try:
            blob = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            mac, raw = blob[:12], blob[12:]
            expected = hmac.new(self._secret, raw, hashlib.sha256).digest()[:12]
            if not hmac.compare_digest(mac, expected):
                raise ValueError("bad signature")
            payload = json.loads(raw)
            direction, key, cursor_sort = payload["d"], payload["k"], payload["s"]
        except (ValueError, KeyError, TypeError):
            raise invalid("Invalid page cursor.", parameter="page[cursor]") from None
        if direction not in ("after", "before") or not isinstance(key, list):
            raise invalid("Invalid page cursor.", parameter="page[cursor]")
        if cursor_sort != sort:
            raise invalid(
                "The page cursor was issued for a different sort.", parameter="page[cursor]"
            )
        return direction, key


def paginate(
    items: Sequence[T],
    keys: Sequence[SortKey],
    size: int,
    cursor: str | None,
    sort: str,
    cursors: Cursors,
) -> Page[T]:
    """Cut one page out of ``items``, already sorted (ascending or descending) by their
    ``keys``; the cursor's position is found by bisection."""
    descending = sort.startswith("-")

    def before(a: SortKey, b: SortKey) -> bool:  # a comes before b in this order
        return a > b if descending else a < b

    start = 0
    if cursor is not None:
        direction, position = cursors.decode(cursor, sort)
        if direction == "after":
            start = _first_index(len(keys), lambda i: before(position, keys[i]))
        else:
            end = _first_index(len(keys), lambda i: not before(keys[i], position))
            start = max(0, end - size)
            if end - start < size:  # near the front: show a full first page
                start = 0
    chosen = list(items[start : start + size])
    next_cursor = prev_cursor = None
    if start + size < len(items):
        next_cursor = cursors.encode("after", keys[start + size - 1], sort)
    if start > 0:
        prev_cursor = cursors.encode("before", keys[start], sort)
    return Page(chosen, next_cursor, prev_cursor)


def _first_index(n: int, holds: Callable[[int], bool]) -> int:
    """The first index in ``range(n)`` where ``holds`` is true (``n`` if none), for a
    ``holds`` that is false up to some index and true from there on."""
    return bisect.bisect_left(range(n), True, key=holds)


def sortable(value: Any) -> Any:
    """A JSON-friendly, totally ordered form of one sort field (None sorts first)."""
    if value is None:
        return [0, ""]
    if isinstance(value, bool):
        return [1, int(value)]
    if isinstance(value, int | float):
        return [1, value]
    return [2, str(value)]
