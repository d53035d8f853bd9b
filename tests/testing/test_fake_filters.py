"""The filter grammar: parsing, checking against an operation's fields, evaluating."""

from __future__ import annotations

from datetime import UTC, datetime
from operator import itemgetter

import pytest

from klaviyo_campaigns.testing import filters
from klaviyo_campaigns.testing.filters import Comparison, Logical
from klaviyo_campaigns.testing.jsonapi import ApiError
from klaviyo_campaigns.testing.specs import FilterSpec

FIELDS = {
    "name": FilterSpec("name", ("contains", "equals"), (), "string", None, None),
    "status": FilterSpec("status", ("equals",), ("any",), "string", None, ("Draft", "Sent")),
    "archived": FilterSpec("archived", ("equals",), (), "boolean", None, None),
    "created_at": FilterSpec(
        "created_at", ("greater-than", "less-than"), (), "string", "date-time", None
    ),
}


def test_single_comparison() -> None:
    assert filters.parse("equals(messages.channel,'email')") == Comparison(
        "equals", "messages.channel", "email"
    )


def test_quoted_strings_keep_escapes_and_commas() -> None:
    node = filters.parse(r"contains(name,'it\'s, (really) \\ fine')")
    assert node == Comparison("contains", "name", "it's, (really) \\ fine")
    assert filters.parse('equals(name,"say \\"hi\\"")') == Comparison("equals", "name", 'say "hi"')


def test_datetimes_booleans_numbers_lists() -> None:
    node = filters.parse(
        "and(greater-than(created_at,2024-01-01T00:00:00+00:00),equals(archived,false),"
        "any(status,['Draft','Sent']),equals(size,3),less-than(updated_at,2024-02-01T00:00:00Z))"
    )
    assert isinstance(node, Logical)
    assert node.children == (
        Comparison("greater-than", "created_at", datetime(2024, 1, 1, tzinfo=UTC)),
        Comparison("equals", "archived", False),
        Comparison("any", "status", ["Draft", "Sent"]),
        Comparison("equals", "size", 3),
        Comparison("less-than", "updated_at", datetime(2024, 2, 1, tzinfo=UTC)),
    )


def test_top_level_commas_are_an_implicit_and() -> None:
    node = filters.parse("equals(archived,true),contains(name,'x')")
    assert node == Logical(
        "and", (Comparison("equals", "archived", True), Comparison("contains", "name", "x"))
    )


def test_or_and_not_nest() -> None:
    node = filters.parse(
        "or(not(equals(archived,true)),and(contains(name,'a'),contains(name,'b')))"
    )
    assert isinstance(node, Logical) and node.op == "or"
    assert node.children[0] == Logical("not", (Comparison("equals", "archived", True),))


@pytest.mark.parametrize(
    "text",
    [
        "equals(name,'x'",
        "equals(name 'x')",
        "equals(name,'unterminated)",
        "frobnicate(name,'x')",
        "equals(name,bareword)",
        "not(equals(a,1),equals(b,2))",
        "equals(name,'x'))",
        "any(status,[['a']])",
        "",
    ],
)
def test_malformed_filters_are_400(text: str) -> None:
    with pytest.raises(ApiError) as caught:
        filters.parse(text)
    assert caught.value.status == 400
    assert caught.value.errors[0]["source"] == {"parameter": "filter"}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("equals(colour,'red')", "not a valid field"),
        ("greater-than(name,'x')", "not allowed"),
        ("any(name,['x'])", "with a list"),
        ("equals(status,'Exploded')", "not a valid value"),
        ("equals(archived,'yes')", "true or false"),
        ("greater-than(created_at,'2024-01-01')", "datetime"),
        ("equals(name,3)", "quoted string"),
    ],
)
def test_check_rejects_what_the_operation_does_not_allow(text: str, problem: str) -> None:
    with pytest.raises(ApiError) as caught:
        filters.check(filters.parse(text), FIELDS)
    assert problem in caught.value.errors[0]["detail"]


def test_check_accepts_allowed_filters() -> None:
    filters.check(
        filters.parse(
            "and(contains(name,'x'),any(status,['Draft']),greater-than(created_at,2024-01-01))"
        ),
        FIELDS,
    )


def test_matcher() -> None:
    record = {
        "name": "Summer Sale",
        "status": "Draft",
        "archived": False,
        "created_at": datetime(2024, 6, 1, tzinfo=UTC),
        "channels": ["email", "sms"],
    }

    fields = {name: itemgetter(name) for name in record}

    def matches(text: str) -> bool:
        return filters.matcher(filters.parse(text), fields)(record)

    assert matches("contains(name,'sale')")  # case-insensitive, as Klaviyo's overview shows
    assert matches("and(equals(archived,false),any(status,['Draft','Sent']))")
    assert not matches("not(equals(status,'Draft'))")
    assert matches("greater-than(created_at,2024-01-01T00:00:00+00:00)")
    assert not matches("less-than(created_at,2024-01-01T00:00:00+00:00)")
    assert matches("equals(channels,'sms')")  # a many-valued field matches any of its values
    assert matches("or(equals(status,'Sent'),starts-with(name,'summer'))")
    assert matches("not(equals(subject,'x'))")  # a field the type lacks reads as null
    assert not matches("equals(subject,'x')")
