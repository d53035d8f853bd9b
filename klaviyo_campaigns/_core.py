"""What the generated code and the runtime share, and the only hand-written module it imports.

- ``Operation`` / ``FilterField``: one API operation of one revision, as the generated operation
  table describes it (method, path, limits, scopes, filters, sort and include values);
- ``Send`` / ``RawSend``: how a generated facade runs an operation (the runtime's ``Sender``);
- ``Arguments``: how a facade checks and converts what a caller passed (the runtime's
  ``_coerce``), before any request is built;
- ``UNSET``: the one "not given" sentinel of every revision's request builders and models;
- ``Response``: a whole answer (status, headers, content, parsed model), for every revision;
- ``MissingFieldError`` / ``NotADocumentError``: what a model's ``from_dict`` raises for a
  document without a required field, or for something that is not a document at all (both are
  ``ValidationError``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from enum import StrEnum
from http import HTTPStatus
from typing import Any, Generic, Literal, NoReturn, Protocol, TypeVar

from .errors import ValidationError

T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


@dataclass(frozen=True, slots=True)
class FilterField:
    """One field an operation's ``filter`` may name, with the operators and values it takes."""

    name: str
    operators: tuple[str, ...]
    list_operators: tuple[str, ...]
    value_type: str
    value_format: str | None
    enum: tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class Operation:
    """One API operation of one revision (``revision`` is the header it is sent with)."""

    id: str
    revision: str
    method: str
    path: str
    burst: int
    steady: int
    scopes: tuple[str, ...]
    paginated: bool
    filters: tuple[FilterField, ...]
    sort: tuple[str, ...]
    include: tuple[str, ...]
    module: str
    page_size: tuple[int, int] | None = None  # (minimum, maximum) of page[size], if it takes one


class Unset:
    """The type of ``UNSET``: a field or parameter that was not given (absent, not null).

    Public as ``klaviyo_campaigns.UNSET`` / ``klaviyo_campaigns.Unset``: in a response, a field
    Klaviyo left out (a sparse fieldset) is ``UNSET`` and a ``null`` is ``None``; in a request,
    a keyword left at ``UNSET`` is not sent and ``None`` sends ``null``. ``None`` cannot mean
    both, so not-set has its own value. It is false, so ``if field:`` narrows out both.
    """

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Unset = Unset()


@dataclass(slots=True)
class Response(Generic[T]):
    """A whole answer: status, headers, body and the parsed model (``with_raw_response``)."""

    status_code: HTTPStatus
    content: bytes
    headers: MutableMapping[str, str]
    parsed: T | None


class MissingFieldError(ValidationError, KeyError):
    """A document lacks a field its schema requires (a KeyError, with the model and field named)."""

    def __init__(self, model: str, field: str) -> None:
        super().__init__(field)
        self.model = model
        self.field = field

    def __str__(self) -> str:
        return f"{self.model} requires the field {self.field!r}, which is missing"


def missing(model: type, field: str) -> NoReturn:
    """Raise ``MissingFieldError`` for ``model``'s required ``field``."""
    raise MissingFieldError(model.__name__, field)


class NotADocumentError(ValidationError, TypeError):
    """``from_dict`` was given something that is not a mapping (``None``, a list, a string)."""

    def __init__(self, model: str, given: object) -> None:
        super().__init__(
            f"{model}.from_dict: expected a mapping (a JSON object), got {type(given).__name__}"
        )
        self.model = model


def document(model: type, value: object) -> dict[str, Any]:
    """A copy of ``value`` for ``model.from_dict`` to take apart; ``NotADocumentError`` if it is
    not a mapping."""
    if type(value) is dict or isinstance(value, Mapping):  # parsed JSON: the first, at once
        return dict(value)
    raise NotADocumentError(model.__name__, value)


class Filter(Protocol):
    """A filter expression (``klaviyo_campaigns.filters.Filter``): it renders to Klaviyo's text."""

    def render(self) -> str: ...


class Send(Protocol):
    """What a facade calls to run one operation and get its parsed model."""

    async def __call__(
        self, operation: Operation, request: dict[str, Any], parse: Callable[[Any], T]
    ) -> T: ...


class RawSend(Protocol):
    """What a raw facade calls to run one operation and get the whole response."""

    async def __call__(
        self, operation: Operation, request: dict[str, Any], parse: Callable[[Any], T]
    ) -> Response[T]: ...


class Arguments(Protocol):
    """How a facade checks a caller's arguments; each raises a ``ValidationError`` naming it."""

    def path_id(self, value: str, parameter: str) -> str: ...

    def enum_value(self, enum: type[E], value: E | str | None, parameter: str) -> E | None: ...

    def enum_list(
        self, enum: type[E], values: Iterable[E | str] | None, parameter: str
    ) -> list[E] | None: ...

    def filter_value(self, operation: Operation, value: Any) -> str: ...

    def opt_filter(self, operation: Operation, value: Any) -> str | None: ...

    def request_body(
        self,
        operation: Operation,
        body: Any,
        *,
        resource_type: str | None = None,
        id: Any = None,
        attributes: Mapping[str, Any] | None = None,
        relationships: Mapping[str, tuple[str, Any]] | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]: ...

    def extras(
        self,
        request: dict[str, Any],
        *,
        extra_query: Mapping[str, Any] | None,
        extra_headers: Mapping[str, str] | None,
        extra_body: Mapping[str, Any] | None,
        timeout: Any,
    ) -> dict[str, Any]: ...


__all__ = [
    "UNSET",
    "Arguments",
    "Filter",
    "FilterField",
    "MissingFieldError",
    "NotADocumentError",
    "Operation",
    "RawSend",
    "Response",
    "Send",
    "Unset",
    "document",
    "missing",
]
