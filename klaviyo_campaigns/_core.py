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
  ``ValidationError``);
- ``Lazy``: the base of every generated model, which parses a field of a parsed document the
  first time it is read (``checked`` forces that, for a union's variant; ``origin`` names the
  call whose answer a model is, so that a field that does not parse raises
  ``ResponseValidationError`` with its path).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from enum import StrEnum
from http import HTTPStatus
from typing import Any, ClassVar, Generic, Literal, NoReturn, Protocol, TypeVar

from .errors import ResponseValidationError, ValidationError

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

    _instance: ClassVar[Unset | None] = None

    def __new__(cls) -> Unset:
        # One value, so ``is UNSET`` holds for every not-set field, copied or unpickled too.
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "UNSET"

    def __copy__(self) -> Unset:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Unset:
        return self

    def __reduce__(self) -> str:
        return "UNSET"  # pickled by name: the module's own UNSET


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
    """``value`` as a dict for ``model.from_dict`` to keep (a copy, for a mapping that is not a
    dict); ``NotADocumentError`` if it is not a mapping."""
    if type(value) is dict or isinstance(value, Mapping):  # parsed JSON: the first, at once
        return dict(value)
    raise NotADocumentError(model.__name__, value)


class Lazy:
    """The base of every generated model: a parsed document's fields are parsed when first read.

    ``from_dict`` checks what it must to know the document is this model (a mapping, the required
    keys present, a ``const`` matching) and keeps the document (a dict as it is, not a copy: one
    changed after ``from_dict`` shows in the fields not yet read); each other field is parsed the
    first time it is read (``LazyField``), and kept in the instance. A field read before is a
    plain attribute read; a model built by its constructor never parses anything. A value that
    does not parse raises when its field is read: ``ResponseValidationError`` naming the
    operation and the field's path (``data[3].attributes.status``) for an SDK answer, the
    generated parser's own error (``ValueError``, ``TypeError``, ``MissingFieldError``, with the
    path in a note) for a model a caller built with ``from_dict``.

    ``_lazy_fields`` maps an attribute to the function that parses it from the document
    (``install`` puts it and the fields' descriptors on a generated class); ``_lazy_src`` is the
    document, ``_lazy_at`` where the model sits: ``(parent's _lazy_at, name or index)``, or at
    the root the operation it answers. No model refers to its parent, so a parsed answer is
    freed by reference counting.
    """

    _lazy_fields: ClassVar[dict[str, Callable[[dict[str, Any]], Any]]] = {}
    _lazy_consts: ClassVar[tuple[tuple[str, Any], ...]] = ()  # required consts: (key, value)
    # False until the models this one refers to are imported (``_lazy_load``, on first use).
    _lazy_ready: ClassVar[bool] = True
    _lazy_load: ClassVar[Callable[[], None]]
    _lazy_src: dict[str, Any]
    _lazy_at: Any

    def __setattr__(self, name: str, value: Any) -> None:
        # The models keep no __slots__ (a parsed field is cached in __dict__), so a misspelt
        # attribute (``details.subjct = ...``) would otherwise be kept silently and never sent.
        cls = type(self)
        names = cls.__dict__.get("_lazy_names")
        if names is None:
            fields = getattr(cls, "__attrs_attrs__", ())
            names = frozenset(field.name for field in fields) | {"_lazy_src", "_lazy_at"}
            type.__setattr__(cls, "_lazy_names", names)
        if name not in names:
            raise AttributeError(
                f"{cls.__name__!r} object has no attribute {name!r}", name=name, obj=self
            )
        object.__setattr__(self, name, value)


class LazyField:
    """A model field parsed from the document on first read, then kept in the instance's
    ``__dict__`` (which later reads find first: this descriptor has no ``__set__``).

    A descriptor, not ``__getattr__``: a miss on an attribute costs an exception each time,
    this a call (~0.2 against ~0.5 us a field).
    """

    __slots__ = ("name", "nested", "parse")

    def __init__(self, name: str, parse: Callable[[dict[str, Any]], Any], nested: bool) -> None:
        self.name = name
        self.parse = parse
        self.nested = nested  # may hold models (then told where they sit); not an enum or date

    def __get__(self, model: Lazy | None, owner: type[Lazy] | None = None) -> Any:
        if model is None:
            return self
        cls = type(model)
        if not cls._lazy_ready:
            cls._lazy_load()
        state = model.__dict__
        src = state.get("_lazy_src")
        if src is None:  # built by its constructor, then the field deleted
            raise AttributeError(
                f"{cls.__name__!r} object has no attribute {self.name!r}", name=self.name, obj=model
            )
        try:
            value = self.parse(src)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise _invalid(model, self.name, exc) from exc
        if self.nested:
            if isinstance(value, Lazy):
                value.__dict__["_lazy_at"] = (model._lazy_at, self.name)
            elif type(value) is list:
                _adopt_items(value, (model._lazy_at, self.name))
        state[self.name] = value
        return value


def install(
    cls: type[Lazy],
    fields: dict[str, Callable[[dict[str, Any]], Any]],
    scalars: tuple[str, ...] = (),
) -> None:
    """Make ``fields`` (attribute name: parser of the document) ``cls``'s lazy fields;
    ``scalars`` name those that cannot hold a model (an enum, a date)."""
    cls._lazy_fields = fields
    for name, parse in fields.items():
        setattr(cls, name, LazyField(name, parse, name not in scalars))


def rendered(model: Lazy, name: str, parse: Callable[[dict[str, Any]], T]) -> T:
    """``parse`` applied to ``model``'s document, for its field ``name``: a value that does not
    parse raises as ``Lazy`` says."""
    src = model._lazy_src  # unset (not from from_dict): AttributeError, as for any slot
    try:
        return parse(src)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _invalid(model, name, exc) from exc


def _adopt_items(items: list[Any], at: tuple[Any, str]) -> None:
    """Tell the models just parsed into a list field where they sit."""
    for index, item in enumerate(items):
        if isinstance(item, Lazy):
            item.__dict__["_lazy_at"] = (at, index)


@dataclass(frozen=True, slots=True)
class Origin:
    """The root of a parsed answer: the operation it answers (``ResponseValidationError``)."""

    operation: str
    method: str
    path: str


def origin(model: object, operation: Operation) -> None:
    """Mark ``model`` (an SDK answer's parsed model, if one) as the answer to ``operation``."""
    if isinstance(model, Lazy):
        model.__dict__["_lazy_at"] = Origin(operation.id, operation.method, operation.path)


def _invalid(model: Lazy, name: str, exc: Exception) -> Exception:
    """The error for ``model``'s field ``name`` that did not parse (see ``Lazy``)."""
    parts: list[str | int] = [name]
    at = model._lazy_at
    while type(at) is tuple:
        at, part = at
        parts.append(part)
    path = "".join(f"[{p}]" if type(p) is int else f".{p}" for p in reversed(parts)).lstrip(".")
    if not isinstance(at, Origin):
        exc.add_note(f"while parsing {type(model).__name__} field {path!r}")
        return exc
    return mismatch(exc, {"operation": at.operation, "method": at.method, "path": at.path}, path)


def mismatch(
    exc: Exception, where: Mapping[str, str], path: str | None = None
) -> ResponseValidationError:
    """The error for an answer that does not parse as its model (at the field ``path``, when
    known): a missing required field, or a value of the wrong kind."""
    at = f" at {path}" if path else ""
    if isinstance(exc, KeyError):  # the generated MissingFieldError also names the model
        of = getattr(exc, "model", None)
        return ResponseValidationError(
            f"response lacks required field {exc.args[0]!r}" + (f" of {of}" if of else "") + at,
            **where,
        )
    return ResponseValidationError(f"response does not match the spec{at}: {exc}", **where)


class _Unread:
    """The type of ``UNREAD``: what ``peek`` gives for a field not yet parsed."""

    def __repr__(self) -> str:
        return "UNREAD"


UNREAD = _Unread()


def peek(model: Lazy, name: str) -> Any:
    """``model``'s field ``name`` as it stands, or ``UNREAD`` if not yet parsed (``to_dict``
    renders such a field from the document without keeping what it parsed)."""
    return model.__dict__.get(name, UNREAD)


def matches(model: type[Lazy], data: dict[str, Any]) -> bool:
    """Whether ``data`` has the values of ``model``'s required consts (a union tries a variant
    only then: its ``from_dict`` would fail, and an exception costs more than looking)."""
    for key, value in model._lazy_consts:  # noqa: SIM110 (a loop: all() and a generator cost more)
        if data.get(key) != value:
            return False
    return True


def checked(value: T) -> T:
    """``value``, just parsed, with every field of every model in it parsed: a union tries its
    variants in order and takes the first that parses whole, as when models were parsed eagerly.

    Only for what ``from_dict`` just returned (no field of it read or set yet); an error is the
    parser's own, for the union to try the next variant.
    """
    if isinstance(value, Lazy):
        cls = type(value)
        if not cls._lazy_ready:
            cls._lazy_load()
        state = value.__dict__
        src = state["_lazy_src"]
        for name, parse in cls._lazy_fields.items():
            field = state[name] = parse(src)
            checked(field)
    elif isinstance(value, list):
        for item in value:
            checked(item)
    return value


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
    "UNREAD",
    "UNSET",
    "Arguments",
    "Filter",
    "FilterField",
    "Lazy",
    "LazyField",
    "MissingFieldError",
    "NotADocumentError",
    "Operation",
    "Origin",
    "RawSend",
    "Response",
    "Send",
    "Unset",
    "checked",
    "document",
    "install",
    "matches",
    "missing",
    "origin",
    "peek",
    "rendered",
]
