"""The client facade of one revision: one typed async method per operation.

The facade is rendered from ``templates/facade.py.jinja`` with the generator's own data: the
``Endpoint`` objects openapi-python-client parsed the spec into (their path, query and body
parameters, their property classes and Python names, the model of the success response), so the
facade always matches the request builders generated from the same objects. Nothing is read back
from generated text. Parameter names read as Python (``fields_campaign``, ``page_cursor``,
``filter``) instead of the generator's ``fieldscampaign`` / ``pagecursor`` / ``filter_``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment
from openapi_python_client.parser import GeneratorData
from openapi_python_client.parser.openapi import Endpoint
from openapi_python_client.parser.properties import EnumProperty, ModelProperty
from openapi_python_client.parser.properties.list_property import ListProperty
from openapi_python_client.parser.properties.protocol import PropertyProtocol

from .params import Params, WriteShape
from .spec import Spec, operations


@dataclass
class Param:
    """One facade parameter and how it is handed to the request builder ``_get_kwargs``."""

    name: str  # facade name
    generated: str  # the generator's name (the keyword of ``_get_kwargs``)
    annotation: str  # facade annotation, without ``| None``
    kind: str  # "path" | "body" | "plain" | "enum" | "enum_list" | "filter"
    required: bool
    wire: str  # name on the wire, for messages
    enum: str | None = None

    @property
    def signature(self) -> str:
        if self.kind == "body":  # or the fields by keyword; checked by the runtime either way
            return f"{self.name}: {self.annotation} | Unset = UNSET"
        if self.kind == "path" or self.required:
            return f"{self.name}: {self.annotation}"
        return f"{self.name}: {self.annotation} | None = None"

    @property
    def argument(self) -> str:
        """The expression handed to ``_get_kwargs`` (checked by the runtime's ``Arguments``)."""
        if self.kind == "path":
            return f"self._args.path_id({self.name}, {self.wire!r})"
        if self.kind == "body":
            return "_document"
        if self.kind == "filter":
            call = "filter_value" if self.required else "opt_filter"
            value = f"self._args.{call}(_op, {self.name})"
        elif self.kind in ("enum", "enum_list"):
            call = "enum_list" if self.kind == "enum_list" else "enum_value"
            value = f"self._args.{call}({self.enum}, {self.name}, {self.wire!r})"
        else:
            value = self.name
        return value if self.required else f"_given({value})"


@dataclass
class Method:
    """One facade method: its operation, parameters, return model and docstring lines."""

    name: str
    operation_id: str
    module: str
    positional: list[Param]
    keyword: list[Param]
    model: str | None
    doc: list[str]
    imports: list[str] = field(default_factory=list)
    shape: WriteShape | None = None

    @property
    def positional_signature(self) -> list[str]:
        """Path ids, then the id the body carries (or the one relationship it names)."""
        out = [p.signature for p in self.positional]
        if self.shape is not None and self.shape.id_from == "positional":
            out.append("id: str | Unset = UNSET")
        if self.shape is not None and self.shape.positional_relationship is not None:
            out.append(f"{self.shape.positional_relationship.name}: str | Unset = UNSET")
        return out

    @property
    def write_signature(self) -> list[str]:
        """The attributes and relationships as keyword arguments."""
        if self.shape is None:
            return []
        out = [f"{f.name}: {f.annotation} | Unset = UNSET" for f in self.shape.fields]
        if self.shape.id_keyword:
            out.append(f"{self.shape.id_keyword}: str | Unset = UNSET")
        return out

    @property
    def body_call(self) -> str:
        """The ``request_body`` call that builds and checks the document."""
        shape = self.shape
        if shape is None:
            return "self._args.request_body(_op, body, extra_body=extra_body)"
        ident = "id" if shape.id_from else (shape.id_keyword or "None")
        attributes = ", ".join(
            f"{f.wire!r}: {f.name}" for f in shape.fields if f.relationship is None
        )
        links = [f for f in shape.fields if f.relationship is not None]
        if shape.positional_relationship is not None:
            links.append(shape.positional_relationship)
        relationships = ", ".join(f"{f.wire!r}: ({f.relationship!r}, {f.name})" for f in links)
        return (
            f"self._args.request_body(_op, body, resource_type={shape.resource_type!r}, "
            f"id={ident}, attributes={{{attributes}}}, relationships={{{relationships}}}, "
            "extra_body=extra_body)"
        )

    @property
    def has_body(self) -> bool:
        return any(p.kind == "body" for p in self.keyword)

    @property
    def returns(self) -> str:
        return self.model or "None"

    @property
    def parse(self) -> str:
        return f"{self.model}.from_dict" if self.model else "_no_content"


def python_name(wire_name: str) -> str:
    """A wire name as Python: ``fields[campaign-message]`` -> ``fields_campaign_message``."""
    return re.sub(r"[^0-9a-zA-Z]+", "_", wire_name).strip("_").lower()


def method_name(operation_id: str) -> str:
    """The facade method for an operationId: Klaviyo's name, without the ``_beta`` suffix."""
    return operation_id.removesuffix("_beta")


def _text(value: Any) -> str:
    """The plain text of a generator value (an ``UntrustedString``, ``PythonCode`` or str)."""
    if hasattr(value, "get_untrusted_value"):
        return str(value.get_untrusted_value())
    if hasattr(value, "as_unembedded_code"):
        return str(value.as_unembedded_code())
    return str(value)


def _param(prop: PropertyProtocol, where: str, op_id: str) -> Param:
    wire, generated = _text(prop.name), str(prop.python_name)
    if where == "path":
        return Param(python_name(wire), generated, "str", "path", True, wire)
    if isinstance(prop, ListProperty) and isinstance(prop.inner_property, EnumProperty):
        enum = prop.inner_property.class_info.name
        annotation = f"Sequence[{enum} | str]"
        return Param(
            python_name(wire), generated, annotation, "enum_list", prop.required, wire, enum
        )
    if isinstance(prop, EnumProperty):
        enum = prop.class_info.name
        return Param(
            python_name(wire), generated, f"{enum} | str", "enum", prop.required, wire, enum
        )
    if wire == "filter":
        return Param("filter", generated, "str | Filter", "filter", prop.required, wire)
    annotation = _text(prop.get_type_string(no_optional=True))
    if not re.fullmatch(r"str|int|float|bool", annotation):
        raise ValueError(f"{op_id}: query parameter {wire!r} of type {annotation} is not handled")
    return Param(python_name(wire), generated, annotation, "plain", prop.required, wire)


def _body(endpoint: Endpoint, op_id: str) -> list[Param]:
    if not endpoint.bodies:
        return []
    if len(endpoint.bodies) > 1 or not isinstance(endpoint.bodies[0].prop, ModelProperty):
        raise ValueError(f"{op_id}: only one JSON:API model body per operation is handled")
    prop = endpoint.bodies[0].prop
    return [Param("body", "body", prop.class_info.name, "body", prop.required, "body")]


def _success(endpoint: Endpoint, op_id: str) -> tuple[int, str | None]:
    """(status, model class or None for an empty body) of the first 2xx response."""
    for response in endpoint.responses.patterns:
        codes = response.status_code.range
        if codes is not None and 200 <= codes[0] <= codes[1] < 300:
            low = codes[0]
            prop = response.prop
            return low, prop.class_info.name if isinstance(prop, ModelProperty) else None
    raise ValueError(f"{op_id}: no 2xx response")


def methods(
    revision: str, data: GeneratorData, spec: Spec, params: Params | None = None
) -> list[Method]:
    """One ``Method`` per operation of ``spec``, from the generator's endpoints for it."""
    endpoints = {
        str(endpoint.name): (tag, endpoint)
        for tag, collection in data.endpoint_collections_by_tag.items()
        for endpoint in collection.endpoints
    }
    found = []
    for method, path, op in operations(spec):
        op_id = op["operationId"]
        tag, endpoint = endpoints[op_id]
        positional = [_param(p, "path", op_id) for p in endpoint.path_parameters]
        keyword = _body(endpoint, op_id)
        keyword += [_param(p, "query", op_id) for p in endpoint.query_parameters]
        if endpoint.header_parameters or endpoint.cookie_parameters:
            raise ValueError(f"{op_id}: header and cookie parameters are not handled")
        keyword.sort(key=lambda p: (not p.required, p.kind != "body"))
        status, model = _success(endpoint, op_id)
        limits = op["x-klaviyo-ratelimit"]
        doc = [
            (op.get("summary") or op_id).strip().rstrip(".") + ".",
            "",
            f"``{method} {path}`` (revision ``{revision}``): "
            f"burst {limits['burst']}, steady {limits['steady']}"
            + (", cursor-paginated" if any(p.wire == "page[cursor]" for p in keyword) else "")
            + ".",
        ]
        scopes = op.get("x-klaviyo-scopes")
        if scopes:
            doc.append("Scopes: " + ", ".join(f"``{s}``" for s in scopes) + ".")
        doc.append(
            f"Returns ``{model or 'None'}`` (HTTP {status}); raises a ``KlaviyoError`` otherwise."
        )
        names = sorted({p.enum for p in keyword if p.enum} | ({model} if model else set()))
        module = f".api.{tag}.{endpoint.name}"
        method_ = Method(method_name(op_id), op_id, module, positional, keyword, model, doc, names)
        body = op.get("requestBody")
        if body is not None and params is not None:
            schema = body["content"]["application/vnd.api+json"]["schema"]
            method_.shape = params.write_shape(op_id, path, schema)
            taken = {p.name for p in keyword} | {p.name for p in positional}
            clash = taken & {f.name for f in method_.shape.fields}
            if clash:
                raise ValueError(f"{op_id}: keyword arguments collide: {sorted(clash)}")
        first = method_.shape.positional_relationship if method_.shape else None
        if first is not None:
            doc[2:2] = [f"The first argument is the ``{first.wire}`` it acts on (its id).", ""]
        found.append(method_)
    names = [m.name for m in found]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"{revision}: facade method names collide: {sorted(duplicates)}")
    return found


def emit(
    revision: str, package: str, data: GeneratorData, env: Environment, spec: Spec
) -> tuple[str, str]:
    """Python source of ``facade.py`` (from ``facade.py.jinja``) and ``params.py``."""
    params = Params(spec)
    found = methods(revision, data, spec, params)
    annotations = sorted(
        {p.enum or p.annotation for m in found for p in m.keyword if p.kind in ("body",)}
        | {p.enum for m in found for p in m.keyword if p.enum}
        | {m.model for m in found if m.model}
    )
    return env.get_template("facade.py.jinja").render(
        revision=revision,
        operations_table=f"{package.upper()}_OPERATIONS",
        methods=found,
        annotations=annotations,
        params=sorted(params.classes),
    ), params.module()
