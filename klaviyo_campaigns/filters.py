"""Klaviyo filter expressions: build them in Python, render them as Klaviyo reads them, validate.

Build with ``F`` and combine with ``&``, ``|`` and ``~`` (or ``F.and_``, ``F.or_``, ``F.not_``)::

    F.equals("messages.channel", "email") & F.greater_than("created_at", since)
    # and(equals(messages.channel,'email'),greater-than(created_at,2024-01-01T00:00:00+00:00))

Rendering follows Klaviyo's filter syntax: strings in single quotes (double quotes when the text
holds a single quote and no double quote), with ``\\`` before a backslash or the quote character;
datetimes bare in ISO 8601 (quoted datetimes are rejected by Klaviyo); ``true`` / ``false``;
numbers plain; ``null``; lists as ``['a','b']``.

Before a request is sent, ``render_filter`` checks a filter against the operation's allowed
fields, operators and values (the ``x-klaviyo-filters`` of the spec, in the operation table) and
raises ``FilterError`` naming the allowed choices.

Choices made here:

- A naive ``datetime`` is refused when building (``F.greater_than("created_at", datetime(2024,
  1, 1))`` raises): Klaviyo would read it as UTC, which is rarely what local code meant. Pass an
  aware one (``tzinfo=UTC``). In a filter *string* a bare datetime without offset is accepted, as
  Klaviyo accepts it.
- A plain string is parsed and validated like a built filter and then sent exactly as written.
  Text this module cannot parse is refused with the position of the problem: the grammar is
  small, and text outside it is far likelier a typo than syntax Klaviyo added. For the rare case
  where you must send something unchecked, wrap it: ``F.raw("...")`` is sent verbatim.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, NoReturn, TypeAlias

import attrs

from .errors import FilterError

if TYPE_CHECKING:
    from ._core import FilterField, Operation

__all__ = [
    "And",
    "Comparison",
    "F",
    "Filter",
    "Not",
    "Or",
    "RawFilter",
    "Scalar",
    "parse_filter",
    "render_filter",
    "validate_filter",
]

Scalar: TypeAlias = str | bool | int | float | datetime | None
"""One filter value: text, boolean, number, datetime or ``None`` (rendered ``null``)."""

#: Comparison operators taking one value (or, for ``equals``, a list where the spec allows it).
SINGLE_OPERATORS = (
    "equals",
    "contains",
    "starts-with",
    "ends-with",
    "greater-than",
    "greater-or-equal",
    "less-than",
    "less-or-equal",
)
#: Comparison operators taking a list of values.
LIST_OPERATORS = ("any", "contains-any", "contains-all")
COMPARISON_OPERATORS = SINGLE_OPERATORS + LIST_OPERATORS
LOGICAL_OPERATORS = ("and", "or", "not")


class Filter:
    """A filter expression; combine with ``&`` (and), ``|`` (or) and ``~`` (not)."""

    __slots__ = ()

    def render(self) -> str:
        """The expression as Klaviyo's ``filter`` query parameter reads it (not yet URL-encoded)."""
        raise NotImplementedError

    def __str__(self) -> str:
        return self.render()

    def __and__(self, other: Filter) -> Filter:
        if not isinstance(other, Filter):
            return NotImplemented
        return F.and_(self, other)

    def __or__(self, other: Filter) -> Filter:
        if not isinstance(other, Filter):
            return NotImplemented
        return F.or_(self, other)

    def __invert__(self) -> Filter:
        return F.not_(self)


@attrs.frozen(repr=False)
class Comparison(Filter):
    """``operator(field,value)``: one field compared with a value or a list of values."""

    operator: str
    field: str
    value: Scalar | tuple[Scalar, ...]

    def render(self) -> str:
        return f"{self.operator}({self.field},{_render_value(self.value)})"

    def __repr__(self) -> str:
        return f"<Comparison {self.render()}>"


@attrs.frozen(repr=False)
class And(Filter):
    """``and(a,b,...)``: every part matches."""

    parts: tuple[Filter, ...]

    def render(self) -> str:
        return "and(" + ",".join(part.render() for part in self.parts) + ")"

    def __repr__(self) -> str:
        return f"<And {self.render()}>"


@attrs.frozen(repr=False)
class Or(Filter):
    """``or(a,b,...)``: at least one part matches."""

    parts: tuple[Filter, ...]

    def render(self) -> str:
        return "or(" + ",".join(part.render() for part in self.parts) + ")"

    def __repr__(self) -> str:
        return f"<Or {self.render()}>"


@attrs.frozen(repr=False)
class Not(Filter):
    """``not(a)``: the part does not match."""

    part: Filter

    def render(self) -> str:
        return f"not({self.part.render()})"

    def __repr__(self) -> str:
        return f"<Not {self.render()}>"


@attrs.frozen(repr=False)
class RawFilter(Filter):
    """Filter text sent exactly as given, with no parsing and no validation (see ``F.raw``)."""

    text: str

    def render(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"<RawFilter {self.text}>"


class F:
    """Builders for filter expressions, one per Klaviyo operator.

    Field names are Klaviyo's (``"messages.channel"``, ``"created_at"``); which fields and
    operators an operation takes is checked when the filter is used, not when it is built.
    """

    @staticmethod
    def equals(field: str, value: Scalar | Sequence[Scalar]) -> Comparison:
        """``equals(field,value)``; a list value only where the spec allows it (e.g. ``status``)."""
        return _comparison("equals", field, value)

    @staticmethod
    def contains(field: str, value: str) -> Comparison:
        """``contains(field,'text')``: the field holds the text."""
        return _comparison("contains", field, value)

    @staticmethod
    def starts_with(field: str, value: str) -> Comparison:
        """``starts-with(field,'text')``."""
        return _comparison("starts-with", field, value)

    @staticmethod
    def ends_with(field: str, value: str) -> Comparison:
        """``ends-with(field,'text')``."""
        return _comparison("ends-with", field, value)

    @staticmethod
    def greater_than(field: str, value: datetime | int | float) -> Comparison:
        """``greater-than(field,value)`` for a datetime (timezone-aware) or a number."""
        return _comparison("greater-than", field, value)

    @staticmethod
    def greater_or_equal(field: str, value: datetime | int | float) -> Comparison:
        """``greater-or-equal(field,value)`` for a datetime (timezone-aware) or a number."""
        return _comparison("greater-or-equal", field, value)

    @staticmethod
    def less_than(field: str, value: datetime | int | float) -> Comparison:
        """``less-than(field,value)`` for a datetime (timezone-aware) or a number."""
        return _comparison("less-than", field, value)

    @staticmethod
    def less_or_equal(field: str, value: datetime | int | float) -> Comparison:
        """``less-or-equal(field,value)`` for a datetime (timezone-aware) or a number."""
        return _comparison("less-or-equal", field, value)

    @staticmethod
    def any(field: str, values: Iterable[Scalar]) -> Comparison:
        """``any(field,['a','b'])``: the field equals one of the values."""
        return _comparison("any", field, _as_list("any", values))

    @staticmethod
    def contains_any(field: str, values: Iterable[Scalar]) -> Comparison:
        """``contains-any(field,['a','b'])``: the (list) field holds at least one of the values."""
        return _comparison("contains-any", field, _as_list("contains-any", values))

    @staticmethod
    def contains_all(field: str, values: Iterable[Scalar]) -> Comparison:
        """``contains-all(field,['a','b'])``: the (list) field holds every one of the values."""
        return _comparison("contains-all", field, _as_list("contains-all", values))

    @staticmethod
    def and_(*parts: Filter) -> Filter:
        """``and(a,b,...)``; nested ``and`` parts are flattened, a single part is returned as is."""
        return _join(And, "and", parts)

    @staticmethod
    def or_(*parts: Filter) -> Filter:
        """``or(a,b,...)``; nested ``or`` parts are flattened, a single part is returned as is."""
        return _join(Or, "or", parts)

    @staticmethod
    def not_(part: Filter) -> Not:
        """``not(a)``."""
        if not isinstance(part, Filter):
            raise FilterError(f"not: expected a filter, got {part!r}")
        return Not(part)

    @staticmethod
    def raw(text: str) -> RawFilter:
        """Filter text sent verbatim: no parsing, no validation. Prefer a built filter."""
        return RawFilter(text)


# Building ---------------------------------------------------------------------------------------


def _comparison(operator: str, field: str, value: Scalar | Iterable[Scalar]) -> Comparison:
    if not isinstance(field, str) or not _FIELD.fullmatch(field):
        raise FilterError(f"{operator}: {field!r} is not a field name")
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        return Comparison(operator, field, _check_scalar(operator, value))
    return Comparison(operator, field, _as_list(operator, value))


def _as_list(operator: str, values: Iterable[Scalar]) -> tuple[Scalar, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise FilterError(f"{operator}: expected a list of values, got {values!r}")
    return tuple(_check_scalar(operator, value) for value in values)


def _check_scalar(operator: str, value: object) -> Scalar:
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise FilterError(
                f"{operator}: naive datetime {value.isoformat()} is ambiguous; "
                "give it a timezone (e.g. tzinfo=datetime.UTC)"
            )
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise FilterError(f"{operator}: {value!r} cannot be sent in a filter")
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise FilterError(
        f"{operator}: cannot use {type(value).__name__} {value!r} as a filter value "
        "(use str, bool, int, float, datetime or None)"
    )


def _join(kind: type[And] | type[Or], name: str, parts: Sequence[Filter]) -> Filter:
    flat: list[Filter] = []
    for part in parts:
        if not isinstance(part, Filter):
            raise FilterError(f"{name}: expected filters, got {part!r}")
        flat.extend(part.parts if isinstance(part, kind) else (part,))
    if not flat:
        raise FilterError(f"{name}: needs at least one filter")
    return flat[0] if len(flat) == 1 else kind(tuple(flat))


# Rendering --------------------------------------------------------------------------------------


def _render_value(value: Scalar | tuple[Scalar, ...]) -> str:
    if isinstance(value, tuple):
        return "[" + ",".join(_render_scalar(item) for item in value) + "]"
    return _render_scalar(value)


def _render_scalar(value: Scalar) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, int | float):
        return repr(value)
    return _quote(value)


def _quote(text: str) -> str:
    quote = '"' if "'" in text and '"' not in text else "'"
    escaped = text.replace("\\", "\\\\").replace(quote, "\\" + quote)
    return quote + escaped + quote


# Parsing ----------------------------------------------------------------------------------------

_NAME = re.compile(r"[a-z][a-z-]*")
_FIELD = re.compile(r"[A-Za-z_$][A-Za-z0-9_$.\-]*")
_BARE = re.compile(r"[A-Za-z0-9_.:+\-]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:T.*)?")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def parse_filter(text: str) -> Filter:
    """Parse Klaviyo filter text into a ``Filter``; ``FilterError`` names the position of a fault.

    Several comma-separated top-level expressions become one ``And``, as Klaviyo reads them.
    """
    parser = _Parser(text)
    parts = parser.expressions()
    parser.skip_spaces()
    if parser.pos != len(text):
        parser.fail("expected ',' or the end of the filter")
    return F.and_(*parts)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str, pos: int | None = None, *, found: bool = True) -> NoReturn:
        at = self.pos if pos is None else pos
        if found:
            what += ", found " + (repr(self.text[at]) if at < len(self.text) else "the end")
        raise FilterError(
            f"cannot parse filter at position {at}: {what}\n  {self.text}\n  {' ' * at}^",
            position=at,
        )

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def match(self, pattern: re.Pattern[str], what: str) -> str:
        self.skip_spaces()
        found = pattern.match(self.text, self.pos)
        if found is None:
            self.fail(f"expected {what}")
        self.pos = found.end()
        return found.group()

    def expect(self, char: str) -> None:
        self.skip_spaces()
        if not self.text.startswith(char, self.pos):
            self.fail(f"expected {char!r}")
        self.pos += 1

    def peek(self) -> str:
        self.skip_spaces()
        return self.text[self.pos : self.pos + 1]

    def expressions(self) -> list[Filter]:
        parts = [self.expression()]
        while self.peek() == ",":
            self.pos += 1
            parts.append(self.expression())
        return parts

    def expression(self) -> Filter:
        self.skip_spaces()
        start = self.pos
        name = self.match(_NAME, "an operator such as equals, any, and")
        known = LOGICAL_OPERATORS + COMPARISON_OPERATORS
        if name not in known:
            self.fail(f"unknown operator {name!r} (known: {', '.join(known)})", start, found=False)
        self.expect("(")
        if name in LOGICAL_OPERATORS:
            parts = self.expressions()
            self.expect(")")
            if name == "not":
                if len(parts) != 1:
                    self.fail("not() takes exactly one expression", start, found=False)
                return Not(parts[0])
            return F.and_(*parts) if name == "and" else F.or_(*parts)
        field = self.match(_FIELD, "a field name")
        self.expect(",")
        value = self.value()
        self.expect(")")
        return Comparison(name, field, value)

    def value(self) -> Scalar | tuple[Scalar, ...]:
        if self.peek() != "[":
            return self.scalar()
        self.pos += 1
        items: list[Scalar] = []
        if self.peek() == "]":
            self.pos += 1
            return ()
        while True:
            items.append(self.scalar())
            if self.peek() == ",":
                self.pos += 1
                continue
            self.expect("]")
            return tuple(items)

    def scalar(self) -> Scalar:
        char = self.peek()
        if char in ("'", '"'):
            return self.string(char)
        start = self.pos
        token = self.match(_BARE, "a value (a quoted string, datetime, number, true/false/null)")
        if token in ("true", "false"):
            return token == "true"
        if token == "null":
            return None
        if _NUMBER.fullmatch(token):
            return float(token) if any(c in token for c in ".eE") else int(token)
        moment = _parse_datetime(token)
        if moment is None:
            self.fail(
                f"{token!r} is not a datetime, number, true/false or null", start, found=False
            )
        return moment

    def string(self, quote: str) -> str:
        start = self.pos
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            self.pos += 1
            if char == quote:
                return "".join(out)
            if char == "\\" and self.pos < len(self.text):
                char = self.text[self.pos]
                self.pos += 1
            out.append(char)
        self.fail("unterminated string", start)


def _parse_datetime(token: str) -> datetime | None:
    """A bare ISO 8601 datetime or date; keeps a missing timezone missing."""
    if not _DATE.fullmatch(token):
        return None
    try:
        return datetime.fromisoformat(token)
    except ValueError:
        return None


# Validation -------------------------------------------------------------------------------------


def render_filter(operation: Operation, value: Filter | str) -> str:
    """The ``filter`` text for ``operation``, after checking it against the operation's filters.

    A ``Filter`` is validated and rendered; a string is parsed, validated and returned unchanged;
    a ``RawFilter`` (``F.raw``) is returned unchanged without checks. Raises ``FilterError``
    (a ``ValidationError``) naming the allowed fields, operators or values.
    """
    if isinstance(value, RawFilter):
        return value.text
    if isinstance(value, str):
        if not value.strip():
            raise FilterError(f"{_where(operation)}: the filter is empty")
        validate_filter(operation, parse_filter(value))
        return value
    if not isinstance(value, Filter):
        raise FilterError(
            f"{_where(operation)}: filter must be a Filter (see F) or a string, "
            f"got {type(value).__name__}"
        )
    validate_filter(operation, value)
    return value.render()


def validate_filter(operation: Operation, value: Filter) -> None:
    """Raise ``FilterError`` unless every comparison in ``value`` is one ``operation`` allows."""
    if not operation.filters:
        raise FilterError(f"{_where(operation)} does not take a filter")
    if isinstance(value, RawFilter):
        return
    if isinstance(value, And | Or):
        for part in value.parts:
            validate_filter(operation, part)
        return
    if isinstance(value, Not):
        validate_filter(operation, value.part)
        return
    if not isinstance(value, Comparison):
        raise FilterError(f"{_where(operation)}: not a filter: {value!r}")
    _validate_comparison(operation, value)


def _validate_comparison(operation: Operation, comparison: Comparison) -> None:
    fields = {field.name: field for field in operation.filters}
    field = fields.get(comparison.field)
    where = _where(operation)
    if field is None:
        raise FilterError(
            f"{where}: cannot filter on {comparison.field!r}; fields: {', '.join(sorted(fields))}"
        )
    is_list = isinstance(comparison.value, tuple)
    allowed = field.list_operators if is_list else field.operators
    if comparison.operator not in allowed:
        raise FilterError(
            f"{where}: {comparison.operator}({field.name},...) "
            f"{'with a list ' if is_list else ''}is not allowed; "
            f"{field.name} takes: {_describe_operators(field)}"
        )
    if isinstance(comparison.value, tuple):
        if not comparison.value:
            raise FilterError(f"{where}: {comparison.operator}({field.name},[]) needs a value")
        for item in comparison.value:
            _validate_value(where, comparison.operator, field, item)
    else:
        _validate_value(where, comparison.operator, field, comparison.value)


def _validate_value(where: str, operator: str, field: FilterField, value: Scalar) -> None:
    prefix = f"{where}: {operator}({field.name},...)"
    if value is None:
        raise FilterError(f"{prefix} does not take null; it takes {_describe_value(field)}")
    if field.value_format == "date-time":
        if isinstance(value, str) and _parse_datetime(value) is not None:
            raise FilterError(
                f"{prefix}: datetimes are not quoted in Klaviyo filters; "
                f"write {value} (or pass a datetime), not {_quote(value)}"
            )
        if not isinstance(value, datetime):
            raise FilterError(f"{prefix} takes {_describe_value(field)}, got {value!r}")
        return
    if field.value_type == "boolean":
        ok = isinstance(value, bool)
    elif field.value_type == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif field.value_type == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str)
    if not ok:
        raise FilterError(f"{prefix} takes {_describe_value(field)}, got {_render_scalar(value)}")
    if field.enum is not None and value not in field.enum:
        raise FilterError(
            f"{prefix}: {value!r} is not allowed; values: {', '.join(repr(v) for v in field.enum)}"
        )


def _describe_operators(field: FilterField) -> str:
    described = [*field.operators, *(f"{op} (with a list)" for op in field.list_operators)]
    return ", ".join(described) or "nothing"


def _describe_value(field: FilterField) -> str:
    if field.value_format == "date-time":
        return "a datetime (bare ISO 8601, e.g. 2024-01-01T00:00:00+00:00)"
    if field.enum is not None:
        return "one of " + ", ".join(repr(v) for v in field.enum)
    return {
        "boolean": "true or false",
        "integer": "an integer",
        "number": "a number",
    }.get(field.value_type, "a quoted string")


def _where(operation: Operation) -> str:
    return f"{operation.id} ({operation.revision})"
