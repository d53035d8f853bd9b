"""The filter builder: rendering, parsing, and validation against the real operation table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any

import httpx
import pytest
import pytest_asyncio

from klaviyo_campaigns import Klaviyo
from klaviyo_campaigns._generated.operations import OPERATIONS, PRE_REVISION, STABLE_REVISION
from klaviyo_campaigns.errors import FilterError, ValidationError
from klaviyo_campaigns.filters import (
    And,
    Comparison,
    F,
    Filter,
    Not,
    Or,
    parse_filter,
    render_filter,
)
from klaviyo_campaigns.testing import FakeKlaviyo

CAMPAIGNS = OPERATIONS[STABLE_REVISION]["get_campaigns"]
PRE_CAMPAIGNS = OPERATIONS[PRE_REVISION]["get_campaigns_beta"]
PRE_MESSAGES = OPERATIONS[PRE_REVISION]["get_campaign_messages_beta"]
GET_CAMPAIGN = OPERATIONS[STABLE_REVISION]["get_campaign"]

JAN_1 = datetime(2024, 1, 1, tzinfo=UTC)


def rejected(operation: object, value: Filter | str) -> str:
    """The message of the FilterError ``render_filter`` raises."""
    with pytest.raises(FilterError) as caught:
        render_filter(operation, value)  # type: ignore[arg-type]
    return str(caught.value)


# Rendering ---------------------------------------------------------------------------------------


class TestRendering:
    def test_string_values_are_single_quoted(self) -> None:
        assert F.equals("messages.channel", "email").render() == "equals(messages.channel,'email')"

    def test_a_single_quote_switches_to_double_quotes(self) -> None:
        assert F.contains("name", "It's").render() == 'contains(name,"It\'s")'

    def test_both_quotes_escape_the_single_one(self) -> None:
        assert F.contains("name", 'It\'s "x"').render() == "contains(name,'It\\'s \"x\"')"

    def test_backslashes_are_escaped(self) -> None:
        assert F.contains("name", "a\\b").render() == "contains(name,'a\\\\b')"

    def test_commas_and_parentheses_stay_inside_the_quotes(self) -> None:
        assert F.contains("name", "a,b)").render() == "contains(name,'a,b)')"

    def test_aware_datetimes_are_bare_iso_8601(self) -> None:
        east = timezone(timedelta(hours=3))
        rendered = F.greater_than("created_at", datetime(2024, 5, 6, 7, 8, 9, tzinfo=east)).render()
        assert rendered == "greater-than(created_at,2024-05-06T07:08:09+03:00)"

    def test_microseconds_are_kept(self) -> None:
        moment = datetime(2024, 1, 1, 0, 0, 0, 123000, tzinfo=UTC)
        assert F.less_than("created_at", moment).render() == (
            "less-than(created_at,2024-01-01T00:00:00.123000+00:00)"
        )

    def test_naive_datetimes_are_refused(self) -> None:
        with pytest.raises(FilterError, match=r"naive datetime .* timezone"):
            F.greater_than("created_at", datetime(2024, 1, 1))

    def test_booleans(self) -> None:
        assert F.equals("archived", True).render() == "equals(archived,true)"
        assert F.equals("archived", False).render() == "equals(archived,false)"

    def test_numbers_are_plain(self) -> None:
        assert F.greater_or_equal("count", 3).render() == "greater-or-equal(count,3)"
        assert F.less_or_equal("percentage", 33.33).render() == "less-or-equal(percentage,33.33)"

    def test_nan_is_refused(self) -> None:
        with pytest.raises(FilterError):
            F.less_than("percentage", float("nan"))

    def test_none_is_null(self) -> None:
        assert F.equals("scheduled_at", None).render() == "equals(scheduled_at,null)"

    def test_lists(self) -> None:
        assert F.any("id", ["a", "b"]).render() == "any(id,['a','b'])"
        assert F.equals("status", ("Sent", "Draft")).render() == "equals(status,['Sent','Draft'])"

    def test_list_operators_refuse_a_bare_string(self) -> None:
        with pytest.raises(FilterError, match="expected a list"):
            F.any("id", "abc")

    def test_enum_members_render_as_their_value(self) -> None:
        class Channel(str, Enum):  # noqa: UP042 - a str mixin whose str() is not its value
            EMAIL = "email"

        assert str(Channel.EMAIL) == "Channel.EMAIL"
        assert F.equals("messages.channel", Channel.EMAIL).render() == (
            "equals(messages.channel,'email')"
        )

    def test_other_value_types_are_refused(self) -> None:
        with pytest.raises(FilterError, match="cannot use bytes"):
            F.equals("name", b"x")

    @pytest.mark.parametrize(
        ("built", "text"),
        [
            (F.contains("name", "x"), "contains(name,'x')"),
            (F.starts_with("name", "x"), "starts-with(name,'x')"),
            (F.ends_with("name", "x"), "ends-with(name,'x')"),
            (F.greater_than("n", 1), "greater-than(n,1)"),
            (F.greater_or_equal("n", 1), "greater-or-equal(n,1)"),
            (F.less_than("n", 1), "less-than(n,1)"),
            (F.less_or_equal("n", 1), "less-or-equal(n,1)"),
            (F.any("n", [1, 2]), "any(n,[1,2])"),
            (F.contains_any("tags", ["a"]), "contains-any(tags,['a'])"),
            (F.contains_all("tags", ["a", "b"]), "contains-all(tags,['a','b'])"),
        ],
    )
    def test_every_operator_has_its_klaviyo_name(self, built: Filter, text: str) -> None:
        assert built.render() == text
        assert str(built) == text

    def test_a_field_name_must_look_like_one(self) -> None:
        with pytest.raises(FilterError, match="not a field name"):
            F.equals("name,x", "y")


class TestCombining:
    a = F.equals("archived", False)
    b = F.contains("name", "Sale")
    c = F.any("id", ["1"])

    def test_and(self) -> None:
        assert (self.a & self.b).render() == "and(equals(archived,false),contains(name,'Sale'))"

    def test_or(self) -> None:
        assert (self.a | self.b).render() == "or(equals(archived,false),contains(name,'Sale'))"

    def test_not(self) -> None:
        assert (~self.a).render() == "not(equals(archived,false))"

    def test_chains_flatten(self) -> None:
        assert self.a & self.b & self.c == And((self.a, self.b, self.c))
        assert self.a | self.b | self.c == Or((self.a, self.b, self.c))

    def test_nesting_keeps_grouping(self) -> None:
        combined = (self.a | self.b) & ~self.c
        assert combined.render() == (
            "and(or(equals(archived,false),contains(name,'Sale')),not(any(id,['1'])))"
        )

    def test_function_forms_equal_the_operators(self) -> None:
        assert F.and_(self.a, self.b) == self.a & self.b
        assert F.or_(self.a, self.b) == self.a | self.b
        assert F.not_(self.a) == ~self.a == Not(self.a)

    def test_one_part_is_itself(self) -> None:
        assert F.and_(self.a) is self.a

    def test_no_parts_is_an_error(self) -> None:
        with pytest.raises(FilterError, match="at least one"):
            F.or_()

    def test_combining_with_a_non_filter_is_a_type_error(self) -> None:
        with pytest.raises(TypeError):
            _ = self.a & "equals(x,1)"  # type: ignore[operator]


# Parsing -----------------------------------------------------------------------------------------

ROUND_TRIPS = [
    F.equals("messages.channel", "email"),
    F.contains("name", 'it\'s a "quote" and a \\ backslash'),
    F.greater_than(
        "created_at", datetime(2024, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=-7)))
    ),
    F.equals("archived", True),
    F.less_than("n", -2.5),
    F.equals("scheduled_at", None),
    F.any("id", ["a", "b", "c"]),
    F.equals("archived", False) & (F.contains("name", "x") | ~F.any("id", ["1", "2"])),
]


class TestParsing:
    @pytest.mark.parametrize("built", ROUND_TRIPS, ids=str)
    def test_rendering_round_trips(self, built: Filter) -> None:
        assert parse_filter(built.render()) == built

    def test_double_quoted_strings(self) -> None:
        assert parse_filter('equals(email,"a@b.c")') == F.equals("email", "a@b.c")

    def test_whitespace_between_tokens(self) -> None:
        assert parse_filter(" and( equals(a , 'x') , any(b, [1, 2]) ) ") == (
            F.equals("a", "x") & F.any("b", [1, 2])
        )

    def test_top_level_commas_are_an_implicit_and(self) -> None:
        assert parse_filter("equals(a,1),equals(b,2)") == F.equals("a", 1) & F.equals("b", 2)

    def test_z_and_naive_datetimes(self) -> None:
        parsed = parse_filter("greater-than(created_at,2024-01-01T00:00:00Z)")
        assert parsed == Comparison("greater-than", "created_at", JAN_1)
        naive = parse_filter("greater-than(created_at,2024-01-01T00:00:00)")
        assert naive == Comparison("greater-than", "created_at", datetime(2024, 1, 1))

    def test_an_empty_list(self) -> None:
        assert parse_filter("any(id,[])") == Comparison("any", "id", ())

    @pytest.mark.parametrize(
        ("text", "position", "what"),
        [
            ("equals(archived,true", 20, "expected ')'"),
            ("equals(name,'x", 12, "unterminated string"),
            ("equals(name,x)", 12, "'x' is not a datetime"),
            ("frobnicate(name,'x')", 0, "unknown operator 'frobnicate'"),
            ("equals(name 'x')", 12, "expected ','"),
            ("equals(a,1) equals(b,2)", 12, "expected ',' or the end"),
            ("not(equals(a,1),equals(b,2))", 0, "not() takes exactly one"),
            ("", 0, "expected an operator"),
            ("equals(,1)", 7, "expected a field name"),
        ],
    )
    def test_errors_name_the_position(self, text: str, position: int, what: str) -> None:
        with pytest.raises(FilterError) as caught:
            parse_filter(text)
        assert caught.value.position == position
        assert f"position {position}: {what}" in str(caught.value)
        # The caret line points at the position under the echoed text.
        echoed, caret = str(caught.value).splitlines()[1:3]
        assert echoed == f"  {text}"
        assert caret.index("^") == 2 + position


# Validation against the operation table -----------------------------------------------------------


class TestValidation:
    def test_a_valid_filter_renders(self) -> None:
        built = F.equals("messages.channel", "email") & F.greater_or_equal("updated_at", JAN_1)
        assert render_filter(CAMPAIGNS, built) == built.render()

    @pytest.mark.parametrize(
        "built",
        [
            F.equals("messages.channel", "sms"),
            F.contains("name", "Sale"),
            F.any("id", ["01J", "01K"]),
            F.equals("status", "Sent"),
            F.any("status", ["Sent", "Cancelled: Smart Sending"]),
            F.equals("status", ["Sent", "Draft"]),
            F.equals("archived", True),
            F.greater_than("created_at", JAN_1),
            F.greater_or_equal("scheduled_at", JAN_1),
            F.less_than("updated_at", JAN_1),
            F.less_or_equal("created_at", JAN_1),
        ],
        ids=str,
    )
    def test_every_allowed_operator_and_value_type_passes(self, built: Filter) -> None:
        assert render_filter(CAMPAIGNS, built) == built.render()

    def test_an_unknown_field_names_the_fields(self) -> None:
        message = rejected(CAMPAIGNS, F.equals("channel", "email"))
        assert "cannot filter on 'channel'" in message
        assert (
            "archived, created_at, id, messages.channel, name, scheduled_at, status, updated_at"
            in message
        )
        assert f"get_campaigns ({STABLE_REVISION})" in message

    def test_an_operator_the_field_lacks_names_its_operators(self) -> None:
        message = rejected(CAMPAIGNS, F.contains("messages.channel", "mail"))
        assert "contains(messages.channel,...) is not allowed" in message
        assert "messages.channel takes: equals" in message

    def test_a_single_value_for_a_list_only_field(self) -> None:
        message = rejected(CAMPAIGNS, F.equals("id", "01J"))
        assert "id takes: any (with a list)" in message

    def test_a_list_where_only_single_values_go(self) -> None:
        message = rejected(CAMPAIGNS, F.equals("archived", [True]))
        assert "with a list is not allowed" in message
        assert "archived takes: equals" in message

    def test_list_equals_is_allowed_only_where_the_spec_says(self) -> None:
        assert render_filter(PRE_MESSAGES, F.equals("id", ["a", "b"])) == "equals(id,['a','b'])"
        rejected(PRE_CAMPAIGNS, F.equals("id", ["a", "b"]))

    def test_an_enum_value_outside_the_enum_names_the_values(self) -> None:
        message = rejected(CAMPAIGNS, F.equals("messages.channel", "fax"))
        assert "'fax' is not allowed; values: 'email', 'sms', 'mobile_push'" in message

    def test_every_list_item_is_checked_against_the_enum(self) -> None:
        message = rejected(CAMPAIGNS, F.any("status", ["Sent", "sent"]))
        assert "'sent' is not allowed" in message
        assert "'Scheduled', 'Sent', 'Draft'" in message

    def test_a_string_for_a_boolean(self) -> None:
        message = rejected(CAMPAIGNS, F.equals("archived", "true"))
        assert "takes true or false, got 'true'" in message

    def test_a_number_for_a_string(self) -> None:
        assert "takes a quoted string, got 5" in rejected(PRE_CAMPAIGNS, F.equals("builder", 5))

    def test_a_boolean_for_a_string(self) -> None:
        assert "got true" in rejected(PRE_MESSAGES, F.equals("status", True))

    def test_a_number_for_a_datetime(self) -> None:
        message = rejected(CAMPAIGNS, F.greater_than("created_at", 1704067200))
        assert "takes a datetime (bare ISO 8601" in message

    def test_a_quoted_datetime_says_to_drop_the_quotes(self) -> None:
        message = rejected(CAMPAIGNS, "greater-or-equal(created_at,'2024-08-01T00:00:00-07:00')")
        assert "datetimes are not quoted" in message
        assert "write 2024-08-01T00:00:00-07:00" in message

    def test_null_is_refused(self) -> None:
        assert "does not take null" in rejected(CAMPAIGNS, F.equals("archived", None))

    def test_an_empty_list_is_refused(self) -> None:
        assert "needs a value" in rejected(CAMPAIGNS, F.any("id", []))

    def test_nested_parts_are_all_checked(self) -> None:
        deep = F.equals("archived", False) & ~(F.contains("name", "x") | F.equals("nope", 1))
        assert "cannot filter on 'nope'" in rejected(CAMPAIGNS, deep)

    def test_an_operation_without_filters_rejects_any_filter(self) -> None:
        message = rejected(GET_CAMPAIGN, F.equals("id", "x"))
        assert message == f"get_campaign ({STABLE_REVISION}) does not take a filter"

    def test_pre_revision_fields_differ_from_stable(self) -> None:
        assert render_filter(PRE_CAMPAIGNS, F.equals("builder", "wizard")) == (
            "equals(builder,'wizard')"
        )
        assert "builder" in rejected(CAMPAIGNS, F.equals("builder", "wizard"))
        assert "fields: archived, builder, created_at, id, name, updated_at" in rejected(
            PRE_CAMPAIGNS, F.equals("messages.channel", "email")
        )

    def test_filter_error_is_a_validation_error(self) -> None:
        assert issubclass(FilterError, ValidationError)
        assert issubclass(FilterError, ValueError)

    def test_something_else_entirely_is_refused(self) -> None:
        assert "must be a Filter" in rejected(CAMPAIGNS, 42)  # type: ignore[arg-type]


class TestStrings:
    def test_a_valid_string_is_sent_exactly_as_written(self) -> None:
        text = (
            'and( equals(messages.channel,"email"), greater-than(created_at,2024-01-01T00:00:00Z))'
        )
        assert render_filter(CAMPAIGNS, text) is text

    def test_a_comma_separated_string_is_validated_part_by_part(self) -> None:
        assert render_filter(CAMPAIGNS, "equals(archived,false),any(id,['a'])")
        assert "cannot filter on 'x'" in rejected(CAMPAIGNS, "equals(archived,false),equals(x,1)")

    def test_a_string_is_validated_like_a_filter(self) -> None:
        assert "'fax' is not allowed" in rejected(CAMPAIGNS, "equals(messages.channel,'fax')")

    def test_an_unparseable_string_is_refused_with_its_position(self) -> None:
        message = rejected(CAMPAIGNS, "equals(messages.channel,'email'")
        assert "position 31" in message

    def test_an_empty_string_is_refused(self) -> None:
        assert "the filter is empty" in rejected(CAMPAIGNS, "  ")

    def test_raw_filters_skip_every_check(self) -> None:
        raw = F.raw("some-future-op(field,'x')")
        assert render_filter(CAMPAIGNS, raw) == "some-future-op(field,'x')"
        assert render_filter(GET_CAMPAIGN, raw) == "some-future-op(field,'x')"


# Through the client, against the fake Klaviyo ----------------------------------------------------


@pytest.fixture
def fake() -> FakeKlaviyo:
    return FakeKlaviyo(rate_limits=False, seed=11)


@pytest_asyncio.fixture
async def kl(fake: FakeKlaviyo) -> AsyncIterator[Klaviyo]:
    async with (
        httpx.AsyncClient(transport=fake.transport()) as http,
        Klaviyo("pk_test_filters", base_url=fake.base_url, http_client=http) as client,
    ):
        yield client


async def create_campaign(fake: FakeKlaviyo, name: str, channel: str) -> None:
    content: dict[str, Any] = (
        {"subject": "Hi", "from_email": "shop@example.com"}
        if channel == "email"
        else {"body": "Hi"}
    )
    body = {
        "data": {
            "type": "campaign",
            "attributes": {
                "name": name,
                "audiences": {"included": ["LIST1"], "excluded": []},
                "campaign-messages": {
                    "data": [
                        {
                            "type": "campaign-message",
                            "attributes": {"definition": {"channel": channel, "content": content}},
                        }
                    ]
                },
            },
        }
    }
    headers = {
        "revision": STABLE_REVISION,
        "Authorization": "Klaviyo-API-Key pk_test_filters",
        "content-type": "application/vnd.api+json",
        "accept": "application/vnd.api+json",
    }
    async with httpx.AsyncClient(transport=fake.transport(), base_url=fake.base_url) as http:
        response = await http.post("/api/campaigns", json=body, headers=headers)
    assert response.status_code == 201, response.text


class TestAgainstTheFake:
    async def test_a_built_filter_selects_what_it_says(
        self, fake: FakeKlaviyo, kl: Klaviyo
    ) -> None:
        await create_campaign(fake, "Summer Sale", "email")
        await create_campaign(fake, 'It\'s a "Sale"', "email")
        await create_campaign(fake, "Winter news", "email")
        await create_campaign(fake, "SMS Sale", "sms")

        page = await kl.stable.get_campaigns(
            filter=F.equals("messages.channel", "email") & F.contains("name", "Sale")
        )

        assert sorted(str(c.attributes.name) for c in page.data) == [
            'It\'s a "Sale"',
            "Summer Sale",
        ]

    async def test_quotes_and_backslashes_survive_the_trip(
        self, fake: FakeKlaviyo, kl: Klaviyo
    ) -> None:
        await create_campaign(fake, "back\\slash 'and' \"quotes\"", "email")
        await create_campaign(fake, "plain", "email")

        for needle in ("\\slash", "'and'", '"quotes"', "'and' \"quotes"):
            page = await kl.stable.get_campaigns(
                filter=F.equals("messages.channel", "email") & F.contains("name", needle)
            )
            assert [c.attributes.name for c in page.data] == ["back\\slash 'and' \"quotes\""], (
                needle
            )

    async def test_a_plain_string_is_sent_as_written(self, fake: FakeKlaviyo, kl: Klaviyo) -> None:
        await create_campaign(fake, "Text", "sms")

        page = await kl.stable.get_campaigns(filter="equals(messages.channel,'sms')")

        assert [c.attributes.name for c in page.data] == ["Text"]

    async def test_an_invalid_filter_never_reaches_the_server(
        self, fake: FakeKlaviyo, kl: Klaviyo
    ) -> None:
        with pytest.raises(FilterError, match="'fax' is not allowed"):
            await kl.stable.get_campaigns(filter=F.equals("messages.channel", "fax"))
        with pytest.raises(FilterError, match="position"):
            await kl.stable.get_campaigns(filter="equals(messages.channel,'sms'")

        assert sum(fake.counters.requests.values()) == 0


@pytest.mark.parametrize("built", ROUND_TRIPS, ids=str)
def test_the_fake_s_own_parser_reads_what_we_render(built: Filter) -> None:
    """Two independent readers of the grammar agree (the fake parses without our code)."""
    from klaviyo_campaigns.testing import filters as fake_filters

    def ours(node: Any) -> Filter:
        if isinstance(node, fake_filters.Logical):
            parts = [ours(child) for child in node.children]
            return {"and": F.and_, "or": F.or_}[node.op](*parts) if node.op != "not" else ~parts[0]
        value = tuple(node.value) if isinstance(node.value, list) else node.value
        return Comparison(node.op, node.field, value)

    assert ours(fake_filters.parse(built.render())) == built
