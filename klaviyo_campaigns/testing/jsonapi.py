"""JSON:API pieces the fake answers with: error documents, links, sparse fieldsets."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

JSONAPI_MEDIA_TYPE = "application/vnd.api+json"

Json = dict[str, Any]


class ApiError(Exception):
    """An error answer: ``status`` and one or more JSON:API error objects."""

    def __init__(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        *,
        pointer: str | None = None,
        parameter: str | None = None,
        headers: dict[str, str] | None = None,
        more: Iterable[Json] = (),
    ) -> None:
        super().__init__(f"{status} {code}: {detail}")
        self.status = status
        self.headers = headers or {}
        self.errors = [error_object(code, title, detail, pointer=pointer, parameter=parameter)]
        self.errors.extend(more)

    def document(self) -> Json:
        """The ``{"errors": [...]}`` body."""
        return {"errors": self.errors}


def error_object(
    code: str, title: str, detail: str, *, pointer: str | None = None, parameter: str | None = None
) -> Json:
    """One JSON:API error object in Klaviyo's shape (id, code, title, detail, source)."""
    error: Json = {"id": str(uuid.uuid4()), "code": code, "title": title, "detail": detail}
    source: Json = {}
    if pointer is not None:
        source["pointer"] = pointer
    if parameter is not None:
        source["parameter"] = parameter
    if source:
        error["source"] = source
    return error


def invalid(detail: str, *, pointer: str | None = None, parameter: str | None = None) -> ApiError:
    """400: the request is well formed but its content is not acceptable."""
    return ApiError(400, "invalid", "Invalid input.", detail, pointer=pointer, parameter=parameter)


def not_found(detail: str = "Not found.") -> ApiError:
    """404: no such resource (or path)."""
    return ApiError(404, "not_found", "Not found.", detail)


def conflict(detail: str, *, pointer: str | None = None) -> ApiError:
    """409: the request conflicts with the current state of the resource."""
    return ApiError(409, "conflict", "Conflict.", detail, pointer=pointer)


def resource_path(type_: str) -> str:
    """The collection path segment of a resource type (``campaign`` -> ``campaigns``)."""
    return f"{type_}s"


def object_link(base_url: str, type_: str, id_: str) -> str:
    """The ``links.self`` of a resource, with Klaviyo's trailing slash."""
    return f"{base_url}/api/{resource_path(type_)}/{quote(id_, safe='')}/"


def relationship_links(base_url: str, type_: str, id_: str, name: str) -> Json:
    """The ``links`` of one relationship of a resource."""
    root = f"{base_url}/api/{resource_path(type_)}/{quote(id_, safe='')}"
    return {"self": f"{root}/relationships/{name}/", "related": f"{root}/{name}/"}


def apply_sparse_fields(resource: Json, fields: list[str] | None) -> Json:
    """Keep only the listed attributes (dotted paths reach into nested objects)."""
    if fields is None or "attributes" not in resource:
        return resource
    kept: Json = {}
    for path in fields:
        if path == "id":
            continue
        _copy_path(resource["attributes"], kept, path.split("."))
    return {**resource, "attributes": kept}


def _copy_path(source: Json, target: Json, parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if head not in source:
        return
    value = source[head]
    if not rest:
        target[head] = value
        return
    if isinstance(value, dict):
        child = target.setdefault(head, {})
        if isinstance(child, dict):
            _copy_path(value, child, rest)
