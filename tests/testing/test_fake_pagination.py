"""The fake's cursor pages: every item once, in order, both ways, at every page size."""

from __future__ import annotations

import pytest

from klaviyo_campaigns.testing.jsonapi import ApiError
from klaviyo_campaigns.testing.pagination import Cursors, paginate, sortable

CURSORS = Cursors(b"secret")


def walk(keys: list[list[object]], size: int, sort: str) -> list[list[str]]:
    """Every page from the first, following ``next``; each ``prev`` leads to the page before."""
    items = [str(key[1]) for key in keys]
    pages: list[list[str]] = []
    cursor = None
    while True:
        page = paginate(items, keys, size, cursor, sort, CURSORS)
        if pages:
            assert page.prev_cursor is not None
            back = paginate(items, keys, size, page.prev_cursor, sort, CURSORS)
            assert back.items == pages[-1]
        else:
            assert page.prev_cursor is None
        pages.append(page.items)
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


@pytest.mark.parametrize("sort", ["created_at", "-created_at"])
@pytest.mark.parametrize("count", [0, 1, 5, 10])
@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_every_item_once_in_order_and_prev_goes_back(sort: str, count: int, size: int) -> None:
    keys = [[sortable(f"2026-01-0{i // 2 + 1}"), f"id{i:02}"] for i in range(count)]
    keys.sort(reverse=sort.startswith("-"))
    pages = walk(keys, size, sort)
    assert [item for page in pages for item in page] == [str(key[1]) for key in keys]
    assert all(len(page) == size for page in pages[:-1])


def test_a_cursor_past_items_that_are_gone_lands_on_the_next_one() -> None:
    keys = [[sortable(n), f"id{n}"] for n in range(6)]
    items = [str(key[1]) for key in keys]
    first = paginate(items, keys, 2, None, "n", CURSORS)
    assert first.next_cursor is not None
    del items[2], keys[2]  # the first item of page two is deleted meanwhile
    assert paginate(items, keys, 2, first.next_cursor, "n", CURSORS).items == ["id3", "id4"]


def test_a_cursor_of_another_sort_is_refused() -> None:
    keys = [[sortable(n), f"id{n}"] for n in range(4)]
    first = paginate([str(k[1]) for k in keys], keys, 2, None, "n", CURSORS)
    assert first.next_cursor is not None
    with pytest.raises(ApiError, match="different sort"):
        paginate([], [], 2, first.next_cursor, "-n", CURSORS)
