"""Klaviyo's ``filter`` query parameter: parse, check against an operation's fields, evaluate.

Grammar: ``op(field,value)`` for comparisons, ``and(...)``, ``or(...)``, ``not(expr)`` for logic,
and several top-level expressions separated by commas (an implicit ``and``). Values are strings
in single or double quotes with backslash escapes, bare ISO 8601 datetimes or dates, ``true`` /
``false``, ``null``, numbers, and lists ``['a','b']``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar, Union

from .jsonapi import ApiError, invalid
from .specs import FilterSpec

LOGICAL = ("and", "or", "not")
COMPARISONS = (
    "equals",
    "contains",
    "contains-any",
    "contains-all",
    "any",
    "has",
    "starts-with",
    "ends-with",
    "greater-than",
    "greater-or-equal",
    "less-than",
    "less-or-equal",
)

R = TypeVar("R")
Scalar = str | bool | int | float | datetime | None
Value = Scalar | list[Scalar]


@dataclass(frozen=True)
class Comparison:
    """``op(field, value)``."""

    op: str
    field: str
    value: Value


@dataclass(frozen=True)
class Logical:
    """``and(...)``, ``or(...)`` or ``not(x)``."""

    op: str
    children: tuple[Node, ...]


Node = Union[Comparison, Logical]  # noqa: UP007 (a forward reference; `|` cannot hold it)


def _error(detail: str) -> ApiError:
    return invalid(f"Invalid filter provided: {detail}", parameter="filter")


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_spaces(self) -> None:
        while self.peek().isspace() and self.peek() != "":
            self.pos += 1

    def expect(self, char: str) -> None:
        self.skip_spaces()
        if self.peek() != char:
            found = repr(self.peek()) if self.peek() else "end of input"
            raise _error(f"expected {char!r} at position {self.pos}, found {found}")
        self.pos += 1

    def word(self) -> str:
        self.skip_spaces()
        start = self.pos
        while self.peek() and (self.peek().isalnum() or self.peek() in "-_.$:+"):
            self.pos += 1
        if start == self.pos:
            raise _error(f"expected a name at position {self.pos}")
        return self.text[start : self.pos]

    def expressions(self) -> list[Node]:
        nodes = [self.expression()]
        self.skip_spaces()
        while self.peek() == ",":
            self.pos += 1
            nodes.append(self.expression())
            self.skip_spaces()
        return nodes

    def expression(self) -> Node:
        op = self.word()
        self.expect("(")
        if op in LOGICAL:
            children = tuple(self.expressions())
            self.expect(")")
            if op == "not" and len(children) != 1:
                raise _error("not() takes exactly one expression")
            if op != "not" and len(children) < 1:
                raise _error(f"{op}() needs at least one expression")
            return Logical(op, children)
        if op not in COMPARISONS:
            raise _error(f"unknown operator {op!r}")
        field = self.word()
        self.expect(",")
        value = self.value()
        self.expect(")")
        return Comparison(op, field, value)

    def value(self) -> Value:
        self.skip_spaces()
        char = self.peek()
        if char == "[":
            self.pos += 1
            items: list[Scalar] = []
            self.skip_spaces()
            if self.peek() == "]":
                self.pos += 1
                return items
            while True:
                item = self.value()
                if isinstance(item, list):
                    raise _error("lists cannot be nested")
                items.append(item)
                self.skip_spaces()
                if self.peek() == ",":
                    self.pos += 1
                    continue
                self.expect("]")
                return items
        if char in ("'", '"'):
            return self.string(char)
        return self.bare(self.word())

    def string(self, quote: str) -> str:
        self.pos += 1
        out: list[str] = []
        while True:
            char = self.peek()
            if char == "":
                raise _error("unterminated string")
            self.pos += 1
            if char == "\\":
                escaped = self.peek()
                if escaped == "":
                    raise _error("unterminated string")
                self.pos += 1
                out.append(escaped)
            elif char == quote:
                return "".join(out)
            else:
                out.append(char)

    def bare(self, token: str) -> Scalar:
        if token == "true":
            return True
        if token == "false":
            return False
        if token == "null":
            return None
        moment = parse_datetime(token)
        if moment is not None:
            return moment
        try:
            return int(token)
        except ValueError:
            pass
        try:
            return float(token)
        except ValueError:
            raise _error(f"unquoted value {token!r} is not a datetime, number or boolean") from None


def parse_datetime(token: str) -> datetime | None:
    """A bare ISO 8601 datetime (or date, taken as midnight UTC); None if it is not one."""
    text = token[:-1] + "+00:00" if token.endswith("Z") else token
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            return None
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse(text: str) -> Node:
    """Parse a ``filter`` value; raises a 400 ``ApiError`` naming the problem."""
    parser = _Parser(text)
    nodes = parser.expressions()
    parser.skip_spaces()
    if parser.peek() != "":
        raise _error(f"unexpected {parser.peek()!r} at position {parser.pos}")
    return nodes[0] if len(nodes) == 1 else Logical("and", tuple(nodes))


def check(node: Node, allowed: Mapping[str, FilterSpec]) -> None:
    """Reject fields, operators and values the operation does not allow (400)."""
    if isinstance(node, Logical):
        for child in node.children:
            check(child, allowed)
        return
    spec = allowed.get(node.field)
    if spec is None:
        names = ", ".join(sorted(allowed)) or "none"
        raise _error(f"'{node.field}' is not a valid field for this resource (allowed: {names})")
    if isinstance(node.value, list):
        if node.op not in spec.list_operators:
            raise _error(f"operator '{node.op}' with a list is not allowed for '{node.field}'")
        for item in node.value:
            _check_value(spec, item)
    else:
        if node.op not in spec.operators:
            raise _error(f"operator '{node.op}' is not allowed for '{node.field}'")
        _check_value(spec, node.value)


def _check_value(spec: FilterSpec, value: Scalar) -> None:
    name = spec.name
    if spec.value_format == "date-time":
        if not isinstance(value, datetime):
            raise _error(f"'{name}' takes a datetime, e.g. 2024-01-01T00:00:00+00:00")
        return
    if spec.value_type == "boolean" and not isinstance(value, bool):
        raise _error(f"'{name}' takes true or false")
    if spec.value_type == "string" and not isinstance(value, str):
        raise _error(f"'{name}' takes a quoted string")
    if spec.value_type in ("integer", "number") and (
        isinstance(value, bool) or not isinstance(value, int | float)
    ):
        raise _error(f"'{name}' takes a number")
    if spec.enum is not None and value not in spec.enum:
        raise _error(f"{value!r} is not a valid value for '{name}'")


def matcher(node: Node, fields: Mapping[str, Callable[[R], Any]]) -> Callable[[R], bool]:
    """Whether a resource matches ``node``, as a function built once per request; ``fields``
    reads a resource's value of each field (one the type lacks reads as None)."""
    if isinstance(node, Logical):
        children = [matcher(child, fields) for child in node.children]
        if node.op == "and":
            return lambda item: all(child(item) for child in children)
        if node.op == "or":
            return lambda item: any(child(item) for child in children)
        first = children[0]
        return lambda item: not first(item)
    read = fields.get(node.field, _absent)
    op, wanted = node.op, node.value

    def matches(item: R) -> bool:
        actual = read(item)
        if isinstance(actual, list | tuple | set):
            return any(_compare(op, one, wanted) for one in actual)
        return _compare(op, actual, wanted)

    return matches


def _absent(item: object) -> None:
    return None


def _compare(op: str, actual: Any, wanted: Value) -> bool:
    if op in ("equals", "any") and isinstance(wanted, list):
        return actual in wanted
    if op == "equals":
        return bool(actual == wanted)
    if op == "has":
        return actual is not None
    if isinstance(actual, str) and isinstance(wanted, str):
        lower, needle = actual.lower(), wanted.lower()
        if op == "contains":
            return needle in lower
        if op == "starts-with":
            return lower.startswith(needle)
        if op == "ends-with":
            return lower.endswith(needle)
    if op in ("contains-any", "contains-all") and isinstance(wanted, list):
        pool = actual if isinstance(actual, list) else [actual]
        hits = [w in pool for w in wanted]
        return any(hits) if op == "contains-any" else all(hits)
    if actual is None or wanted is None or isinstance(wanted, list):
        return False
    try:
        if op == "greater-than":
            return bool(actual > wanted)
        if op == "greater-or-equal":
            return bool(actual >= wanted)
        if op == "less-than":
            return bool(actual < wanted)
        if op == "less-or-equal":
            return bool(actual <= wanted)
    except TypeError:
        return False
    return False
