"""Cursor pagination: ``async for`` over every item, or page by page, one page fetched ahead.

    async for campaign in kl.paginate(kl.pre.get_campaigns, filter=...):
        ...
    async for page in kl.paginate(kl.stable.get_campaigns, filter=...).pages():
        ...

Each page comes from one ordinary call of the facade method (so through the same limiter and
retries as any other call), with ``page_cursor`` taken from the previous page's ``links.next``.
While the caller works on one page the next is already being fetched: never more than one
ahead, so memory stays flat however many pages there are. Leaving the loop early, or cancelling
the task, cancels that prefetch (at once in CPython, when the dropped iterator is collected). To
make it explicit, hold the iterator in ``async with``::

    async with kl.paginate(kl.pre.get_campaigns).items() as campaigns:
        async for campaign in campaigns:
            if done(campaign):
                break          # the prefetch is cancelled and awaited on leaving the block
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, Generic, ParamSpec, Protocol, TypeVar
from urllib.parse import parse_qs

from .errors import ValidationError

__all__ = ["ItemIterator", "Page", "PageIterator", "Paginator", "next_cursor", "paginate"]

I = TypeVar("I")  # noqa: E741 - the item type
I_co = TypeVar("I_co", covariant=True)
P = ParamSpec("P")


class Page(Protocol[I_co]):
    """A JSON:API collection document: ``data`` items and ``links``."""

    @property
    def data(self) -> Sequence[I_co]: ...


def next_cursor(page: object) -> str | None:
    """The ``page[cursor]`` of a document's ``links.next``; None on the last page."""
    links = getattr(page, "links", None)
    url = getattr(links, "next_", None)
    if not isinstance(url, str) or not url:
        return None
    # Not ``urlsplit``: it caches its last 128 URLs, and every page's URL is new (that cache
    # held a few hundred bytes per page until it filled).
    query = url.partition("#")[0].partition("?")[2]
    cursors = parse_qs(query).get("page[cursor]")
    return cursors[0] if cursors else None


class Paginator(Generic[I]):
    """Items (``async for``) or pages (``.pages()``) of one cursor-paginated operation."""

    def __init__(self, fetch: Callable[[str | None], Awaitable[Page[I]]]) -> None:
        self._fetch = fetch

    def pages(self) -> PageIterator[I]:
        """Iterate page by page (each a parsed collection document)."""
        return PageIterator(self._fetch)

    def items(self, limit: int | None = None) -> ItemIterator[I]:
        """Iterate item by item, stopping after ``limit`` items when given."""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
            raise ValidationError(f"limit: expected an int, got {type(limit).__name__}")
        if limit is not None and limit < 0:
            raise ValidationError("limit must be 0 or more")
        return ItemIterator(self.pages(), limit)

    def __aiter__(self) -> ItemIterator[I]:
        return self.items()


class PageIterator(Generic[I]):
    """The pages of one listing, with the next page fetched while the caller holds this one."""

    def __init__(self, fetch: Callable[[str | None], Awaitable[Page[I]]]) -> None:
        self._fetch = fetch
        self._ahead: asyncio.Future[Page[I]] | None = None
        self._started = False

    def __aiter__(self) -> PageIterator[I]:
        return self

    async def __anext__(self) -> Page[I]:
        if not self._started:
            self._started = True
            self._ahead = asyncio.ensure_future(self._fetch(None))
        if self._ahead is None:
            raise StopAsyncIteration
        try:
            page = await self._ahead
        except BaseException:
            self._cancel()
            raise
        cursor = next_cursor(page)
        self._ahead = self._prefetch(cursor) if cursor else None
        return page

    def _prefetch(self, cursor: str) -> asyncio.Future[Page[I]]:
        ahead = asyncio.ensure_future(self._fetch(cursor))
        # A listing abandoned without ``aclose`` never awaits this: its failure is nobody's to
        # report, so asyncio must not log "Task exception was never retrieved" for it. Awaiting
        # it still raises.
        ahead.add_done_callback(_retrieve)
        return ahead

    async def __aenter__(self) -> PageIterator[I]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop early: cancel the prefetch and wait until its connection is released."""
        ahead, self._ahead = self._ahead, None
        self._started = True
        if ahead is not None and not ahead.done():
            ahead.cancel()
            await asyncio.gather(ahead, return_exceptions=True)
        elif ahead is not None and not ahead.cancelled():
            ahead.exception()  # consumed: no "exception was never retrieved" warning

    def _cancel(self) -> None:
        if self._ahead is not None:
            self._ahead.cancel()
            self._ahead = None

    def __del__(self) -> None:
        # An iterator dropped mid-listing (``break``) cancels its prefetch at once.
        if self._ahead is not None and not self._ahead.done():
            self._ahead.cancel()


def _retrieve(ahead: asyncio.Future[Any]) -> None:
    if not ahead.cancelled():
        ahead.exception()


class ItemIterator(Generic[I]):
    """The items of one listing, page after page, optionally stopping after ``limit`` items."""

    def __init__(self, pages: PageIterator[I], limit: int | None) -> None:
        self._pages = pages
        self._items: Iterator[I] = iter(())
        self._left = limit

    def __aiter__(self) -> ItemIterator[I]:
        return self

    async def __anext__(self) -> I:
        while True:
            if self._left == 0:
                await self._pages.aclose()
                raise StopAsyncIteration
            for item in self._items:
                if self._left is not None:
                    self._left -= 1
                return item
            self._items = iter((await self._pages.__anext__()).data)

    async def __aenter__(self) -> ItemIterator[I]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop early: cancel the prefetch and wait until its connection is released."""
        await self._pages.aclose()


def paginate(
    method: Callable[P, Awaitable[Page[I]]],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> Paginator[I]:
    """Walk a cursor-paginated facade method: ``paginate(kl.pre.get_campaigns, filter=...)``.

    The arguments are those of the method itself, checked by the type checker; the paginator
    supplies ``page_cursor``. ``.items(limit=N)`` stops after N items.
    """
    return _paginator(method, args, kwargs)


def _paginator(
    method: Callable[..., Awaitable[Page[I]]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Paginator[I]:
    name = getattr(method, "__name__", repr(method))
    if "page_cursor" not in inspect.signature(method).parameters:
        raise ValidationError(f"{name} is not cursor-paginated (it takes no page_cursor)")
    if "page_cursor" in kwargs:
        raise ValidationError("pass no page_cursor: the paginator follows links.next itself")

    def fetch(cursor: str | None) -> Awaitable[Page[I]]:
        return method(*args, **kwargs, page_cursor=cursor)

    return Paginator(fetch)
