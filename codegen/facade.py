"""Emit the client facade of one revision: one typed async method per operation.

The generator's endpoint modules are read with ``ast`` (their ``_get_kwargs`` signature and the
model their ``_parse_response`` builds for the success status), so the facade always matches the
generated code it calls. Parameter names read as Python (``fields_campaign``, ``page_cursor``,
``filter``) instead of the generator's ``fieldscampaign`` / ``pagecursor`` / ``filter_``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .spec import Spec, operations


@dataclass
class Param:
    """One facade parameter and how it is handed to ``_get_kwargs``."""

    name: str  # facade name
    generated: str  # the generator's name
    annotation: str  # facade annotation
    kind: str  # "path" | "body" | "required" | "optional" | "enum" | "enum_list" | "filter"
    enum: str | None = None
    wire: str = ""  # name on the wire, for messages


def python_name(wire_name: str) -> str:
    """A wire name as Python: ``fields[campaign-message]`` -> ``fields_campaign_message``."""
    return re.sub(r"[^0-9a-zA-Z]+", "_", wire_name).strip("_").lower()


def method_name(operation_id: str) -> str:
    """The facade method for an operationId: Klaviyo's name, without the ``_beta`` suffix."""
    return operation_id.removesuffix("_beta")


def _alnum(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def _function(tree: ast.Module, name: str) -> ast.FunctionDef:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return node
    raise ValueError(f"generated module has no {name}()")


def _success_model(tree: ast.Module) -> tuple[int, str | None]:
    """(status, model class or None for an empty body) of the 2xx branch of ``_parse_response``."""
    for node in ast.walk(_function(tree, "_parse_response")):
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)):
            continue
        comparator = node.test.comparators[0]
        if not (isinstance(comparator, ast.Constant) and isinstance(comparator.value, int)):
            continue
        status = comparator.value
        if not 200 <= status < 300:
            continue
        assign = node.body[0]
        if isinstance(assign, ast.Assign) and isinstance(assign.value, ast.Call):
            func = assign.value.func
            if isinstance(func, ast.Attribute) and func.attr == "from_dict":
                assert isinstance(func.value, ast.Name)
                return status, func.value.id
            return status, None  # cast(Any, None): 204 No Content
    raise ValueError("generated _parse_response has no 2xx branch")


def _enum_names(models_dir: Path) -> set[str]:
    names = set()
    for path in models_dir.glob("*.py"):
        text = path.read_text()
        names.update(re.findall(r"^class (\w+)\(StrEnum\):", text, re.M))
    return names


_OPTIONAL = re.compile(r"^(.*) \| Unset$")
_LIST = re.compile(r"^list\[(\w+)\]$")


def _params(fn: ast.FunctionDef, op: dict[str, Any], enums: set[str]) -> list[Param]:
    wire = {_alnum(p["name"]): p["name"] for p in op.get("parameters", [])}
    where = {_alnum(p["name"]): p["in"] for p in op.get("parameters", [])}
    result = []
    for arg in [*fn.args.args, *fn.args.kwonlyargs]:
        assert arg.annotation is not None
        annotation = ast.unparse(arg.annotation)
        if arg.arg == "body":
            result.append(Param("body", "body", annotation, "body"))
            continue
        key = _alnum(arg.arg)
        if key not in wire:
            raise ValueError(f"{op['operationId']}: generated parameter {arg.arg!r} not in spec")
        name, inner = python_name(wire[key]), annotation
        optional = _OPTIONAL.match(annotation)
        if where[key] == "path":
            result.append(Param(name, arg.arg, annotation, "path", wire=wire[key]))
            continue
        if optional:
            inner = optional.group(1)
        listed = _LIST.match(inner)
        if listed and listed.group(1) in enums:
            enum = listed.group(1)
            ann = f"Sequence[{enum} | str]"
            kind = "enum_list"
        elif inner in enums:
            enum, ann, kind = inner, f"{inner} | str", "enum"
        elif wire[key] == "filter":
            enum, ann, kind = None, "str | Filter", "filter"
        else:
            enum, ann, kind = None, inner, "required" if not optional else "optional"
        if optional:
            ann += " | None"
        result.append(Param(name, arg.arg, ann, kind, enum=enum, wire=wire[key]))
    return result


def _argument(p: Param, required: bool) -> str:
    if p.kind == "path":
        return f"_c.path_id({p.name}, {p.wire!r})"
    if p.kind == "body":  # the revision's own model, checked before _get_kwargs calls to_dict()
        return f"_c.body({p.name}, {p.annotation})"
    if p.kind == "required":
        return p.name
    if p.kind == "optional":
        return f"_given({p.name})"
    if p.kind == "filter":
        if required:
            return f"_c.filter_value(_op, {p.name})"
        return f"_given(_c.opt_filter(_op, {p.name}))"
    func = "enum_list" if p.kind == "enum_list" else "enum_value"
    call = f"_c.{func}({p.enum}, {p.name}, {p.wire!r})"
    return call if required else f"_given({call})"


def emit(revision: str, package: str, spec: Spec, package_dir: Path) -> str:
    """Python source of ``facade.py`` for one generated revision package."""
    enums = _enum_names(package_dir / "models")
    imports: set[str] = set()
    methods: list[tuple[str, str, str, str, str]] = []  # name, signature, doc, body, return type
    for method, path, op in operations(spec):
        op_id = op["operationId"]
        tag = re.sub(r"[^a-z0-9]+", "_", (op.get("tags") or ["default"])[0].lower()).strip("_")
        module = f".api.{tag}.{op_id}"
        tree = ast.parse((package_dir / "api" / tag / f"{op_id}.py").read_text())
        get_kwargs = _function(tree, "_get_kwargs")
        params = _params(get_kwargs, op, enums)
        status, model = _success_model(tree)
        returns = model or "None"
        if model:
            imports.add(f"from .models import {model}")
        runtime_imports = [f"from {module} import _get_kwargs"]
        for p in params:
            for name in re.findall(r"\b[A-Z]\w+\b", p.annotation):
                if name not in ("Sequence", "Filter", "None", "Unset"):
                    imports.add(f"from .models import {name}")
            if p.enum:
                runtime_imports.append(f"from .models import {p.enum}")
            if p.kind == "body":
                runtime_imports.append(f"from .models import {p.annotation}")
        if model:
            runtime_imports.append(f"from .models import {model}")
        args = get_kwargs.args
        required = {a.arg for a in args.args} | {
            a.arg for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None
        }
        positional = [p for p in params if p.kind == "path"]
        keyword = [p for p in params if p.kind != "path"]
        keyword.sort(key=lambda p: (p.generated not in required, p.kind != "body"))
        sig = ["self"]
        sig += [f"{p.name}: {p.annotation}" for p in positional]
        if keyword:
            sig.append("*")
        for p in keyword:
            default = "" if p.generated in required else " = None"
            sig.append(f"{p.name}: {p.annotation}{default}")
        call_args = [_argument(p, True) for p in positional]
        call_args += [f"{p.generated}={_argument(p, p.generated in required)}" for p in keyword]
        limits = op["x-klaviyo-ratelimit"]
        doc_lines = [
            (op.get("summary") or op_id).strip().rstrip(".") + ".",
            "",
            f"``{method} {path}`` (revision ``{revision}``): "
            f"burst {limits['burst']}, steady {limits['steady']}"
            + (", cursor-paginated" if any(p.wire == "page[cursor]" for p in params) else "")
            + ".",
        ]
        scopes = op.get("x-klaviyo-scopes")
        if scopes:
            doc_lines.append("Scopes: " + ", ".join(f"``{s}``" for s in scopes) + ".")
        doc_lines.append(
            f"Returns ``{returns}`` (HTTP {status}); raises a ``KlaviyoError`` otherwise."
        )
        body = "\n".join(f"        {line}" for line in runtime_imports)
        body += f"\n        _op = OPERATIONS[{op_id!r}]"
        body += f"\n        request = _get_kwargs({', '.join(call_args)})"
        parse = f"{model}.from_dict" if model else "_c.no_content"
        body += f"\n        return await self._send(_op, request, {parse})"
        methods.append(
            (
                method_name(op_id),
                ",\n        ".join(sig),
                "\n        ".join(doc_lines),
                body,
                returns,
            )
        )
    names = [m[0] for m in methods]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise ValueError(f"{revision}: facade method names collide: {sorted(duplicates)}")
    return _render(revision, package, sorted(imports), methods)


def _render(
    revision: str, package: str, imports: list[str], methods: list[tuple[str, str, str, str, str]]
) -> str:
    out = [
        f'"""Typed async methods for every operation of revision ``{revision}``.\n\n'
        "``API`` returns parsed models; ``RawAPI`` (``with_raw_response``) returns the\n"
        "generator's ``Response`` (status, headers, content, parsed) for callers who need more\n"
        "than the model. Endpoint modules and models are imported on first call, so creating a\n"
        "client stays cheap.\n"
        '"""\n\n',
        "from __future__ import annotations\n\n",
        "from collections.abc import Sequence\n",
        "from typing import TYPE_CHECKING, TypeVar\n\n",
        "from ... import _coerce as _c\n",
        f"from ..operations import {package.upper()} as OPERATIONS\n",
        "from .types import UNSET, Unset\n\n",
        "if TYPE_CHECKING:\n",
        "    from ..._send import RawSend, Send\n",
        "    from ...filters import Filter\n",
        "    from .types import Response\n",
    ]
    out += [f"    {line}\n" for line in imports]
    out.append(
        '\nT = TypeVar("T")\n\n\n'
        "def _given(value: T | None) -> T | Unset:\n"
        '    """``None`` (not given) becomes this revision\'s ``UNSET``."""\n'
        "    return UNSET if value is None else value\n"
    )
    for cls, send_type, wrap in (("API", "Send", "{}"), ("RawAPI", "RawSend", "Response[{}]")):
        doc = (
            f"Every operation of revision ``{revision}``, returning parsed models."
            if cls == "API"
            else f"Every operation of revision ``{revision}``, returning the whole HTTP response."
        )
        out.append(f'\n\nclass {cls}:\n    """{doc}"""\n\n')
        out.append(
            f"    def __init__(self, send: {send_type}) -> None:\n        self._send = send\n"
        )
        for name, sig, doc_text, body, returns in methods:
            out.append(
                f"\n    async def {name}(\n        {sig},\n    ) -> {wrap.format(returns)}:\n"
                f'        """{doc_text}\n        """\n{body}\n'
            )
    return "".join(out)
