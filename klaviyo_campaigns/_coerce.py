"""Argument conversion for the generated facade: readable inputs in, generator inputs out.

The facade accepts enum members or their string values, ``None`` for "not given", and filter
objects or strings. Anything outside an enum raises ``ValidationError`` naming the allowed values,
before a request is built. "Not given" stays ``None`` here; the facade turns it into ``UNSET``.
The module itself is what the generated facades take as their ``_core.Arguments``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from ._body import extras as extras  # request bodies and per-call options (issue 15)
from ._body import request_body as request_body
from .errors import ValidationError

if TYPE_CHECKING:
    from ._core import Operation
    from .filters import Filter

E = TypeVar("E", bound=StrEnum)


# Klaviyo's ids: 26-character ULIDs for campaigns and their children, short alphanumerics for
# lists, templates, images. Anything else (empty, a slash, a space) cannot name a resource.
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def path_id(value: str, parameter: str) -> str:
    """A resource id for a URL path, refused before sending when it cannot be one."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValidationError(
            f"{parameter}: {value!r} is not a Klaviyo id (1-64 letters, digits, '-' or '_')"
        )
    return value


def enum_value(enum: type[E], value: E | str | None, parameter: str) -> E | None:
    """One enum value, strictly: only values the spec lists are sent."""
    if value is None:
        return None
    member = enum._value2member_map_.get(str(value))
    if member is None:
        allowed = ", ".join(sorted(str(v) for v in enum._value2member_map_))
        raise ValidationError(f"{parameter}: {str(value)!r} is not one of: {allowed}")
    return member  # type: ignore[return-value]


def enum_list(enum: type[E], values: Iterable[E | str] | None, parameter: str) -> list[E] | None:
    """A list of enum values (sparse fieldsets, include), each checked like ``enum_value``."""
    if values is None:
        return None
    if isinstance(values, str):
        raise ValidationError(f"{parameter}: expected a list of values, got the string {values!r}")
    if not isinstance(values, Iterable):
        raise ValidationError(
            f"{parameter}: expected a list of values, got {type(values).__name__}"
        )
    result = []
    for value in values:
        if value is None:
            raise ValidationError(f"{parameter}: None in the list of values")
        result.append(enum_value(enum, value, parameter))
    if not result:  # it would send an empty parameter, which Klaviyo refuses
        raise ValidationError(f"{parameter}: an empty list (pass None to leave it out)")
    return result  # type: ignore[return-value]


def filter_value(operation: Operation, value: Filter | str) -> str:
    """A filter, validated against the operation's allowed fields and operators, as text."""
    from .filters import render_filter

    return render_filter(operation, value)


def opt_filter(operation: Operation, value: Filter | str | None) -> str | None:
    """An optional filter: ``None`` means not given."""
    return None if value is None else filter_value(operation, value)


def no_content(_: Any) -> None:
    """The parsed value of an empty (204) answer."""
    return None
