"""Every request is checked before it is handled, the way Klaviyo checks it.

First the headers (``revision``, ``Authorization: Klaviyo-API-Key ...``, content type), then
the parameters and body against the spec of the requested revision with openapi-core, an
independent validator. Each problem becomes the status and JSON:API ``errors`` Klaviyo sends.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from openapi_core import Config, OpenAPI
from openapi_core.templating.media_types.exceptions import MediaTypeNotFound
from openapi_core.testing import MockRequest
from openapi_core.validation.request.exceptions import (
    InvalidParameter,
    InvalidRequestBody,
    MissingRequiredParameter,
    MissingRequiredRequestBody,
    RequestBodyValidationError,
    SecurityValidationError,
)

from .jsonapi import ApiError, error_object, invalid
from .specs import Json, OperationSpec

_API_KEY = re.compile(r"^Klaviyo-API-Key\s+(\S+)$")
_REVISION = re.compile(r"^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$")
BODY_MEDIA_TYPES = ("application/vnd.api+json", "application/json")


def check_revision(value: str | None, known: Sequence[str]) -> str:
    """The revision a request asks for; 400 if the header is missing, malformed or unknown."""
    if not value:
        raise ApiError(
            400,
            "invalid_revision",
            "Missing revision.",
            "The revision header is required (format: YYYY-MM-DD[.suffix]).",
            parameter="revision",
        )
    if not _REVISION.match(value) or value not in known:
        raise ApiError(
            400,
            "invalid_revision",
            "Invalid revision.",
            f"{value!r} is not a valid revision. Valid revisions: {', '.join(known)}.",
            parameter="revision",
        )
    return value


def check_api_key(value: str | None, keys: Mapping[str, Sequence[str]] | None) -> str:
    """The private API key of a request; 401 if it is missing, malformed or unknown.

    ``keys`` maps the accepted keys to their scopes; None accepts any well-formed key.
    """
    if not value:
        raise ApiError(
            401,
            "not_authenticated",
            "Authentication credentials were not provided.",
            "Missing Authorization header: expected 'Klaviyo-API-Key your-private-api-key'.",
        )
    found = _API_KEY.match(value.strip())
    if found is None:
        raise ApiError(
            401,
            "not_authenticated",
            "Incorrect authentication credentials.",
            "Malformed Authorization header: expected 'Klaviyo-API-Key your-private-api-key'.",
        )
    key = found.group(1)
    if keys is not None and key not in keys:
        raise ApiError(
            401,
            "authentication_failed",
            "Incorrect authentication credentials.",
            "Incorrect authentication credentials.",
        )
    return key


def check_scopes(key: str, op: OperationSpec, keys: Mapping[str, Sequence[str]] | None) -> None:
    """403 if the key lacks a scope the operation needs."""
    if keys is None:
        return
    granted = set(keys[key])
    missing = [scope for scope in op.scopes if scope not in granted]
    if missing:
        raise ApiError(
            403,
            "permission_denied",
            "You do not have permission to perform this action.",
            f"This API key is missing required scopes: {', '.join(missing)}.",
        )


def check_content_type(value: str | None, op: OperationSpec, body: bytes) -> None:
    """415 when a request body is not JSON:API (or JSON)."""
    if not op.has_body and not body:
        return
    media = (value or "").split(";")[0].strip().lower()
    if media not in BODY_MEDIA_TYPES:
        raise ApiError(
            415,
            "unsupported_media_type",
            "Unsupported media type.",
            f"Unsupported media type {media or '(none)'!r}: use application/vnd.api+json.",
        )


@dataclass(frozen=True)
class Checked:
    """A request that passed validation: its parameters (typed) and body."""

    query: dict[str, Any]
    body: Json | None


class SpecValidator:
    """openapi-core over one revision's document."""

    def __init__(self, document: Json) -> None:
        self._openapi = _openapi(document)

    def validate(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: Mapping[str, str],
        body: bytes,
    ) -> Checked:
        """Validate one request; raises a 400 ``ApiError`` listing every problem found."""
        request = MockRequest(
            "http://fake.klaviyo",
            method.lower(),
            path,
            args=query,  # type: ignore[arg-type]  # a list of pairs keeps repeated parameters
            headers=dict(headers),
            data=body or None,
            content_type=BODY_MEDIA_TYPES[0],
        )
        result = self._openapi.unmarshal_request(request)
        if result.errors:
            raise _to_api_error(list(result.errors))
        parsed = result.body if isinstance(result.body, dict) else None
        if parsed is not None:  # openapi-core may fill defaults; handlers want the sent body
            parsed = json.loads(body)
        return Checked(query=dict(result.parameters.query), body=parsed)


_OPENAPI_CACHE: dict[int, tuple[Json, OpenAPI]] = {}


def _openapi(original: Json) -> OpenAPI:
    """openapi-core over a document, built once per document object (building takes ~0.3 s)."""
    cached = _OPENAPI_CACHE.get(id(original))
    if cached is not None and cached[0] is original:
        return cached[1]
    document = as_oas30(original)
    document["servers"] = [{"url": "/"}]  # match any host: the fake serves wherever it runs
    # The spec is ours (generated), so skip openapi-core's check of the document itself: the
    # .pre overlays use a few 3.1-isms (const, empty required) that it rejects as 3.0.
    openapi = OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))
    _OPENAPI_CACHE[id(original)] = (original, openapi)
    return openapi


def as_oas30(node: Any) -> Any:
    """The document with the 3.1-isms OpenAPI 3.0 tools ignore or reject turned into 3.0:
    ``const: x`` becomes ``enum: [x]`` (else a ``oneOf`` of channel variants matches them all),
    and an empty ``required`` list is dropped. A ``nullable`` ``oneOf`` / ``anyOf`` without a
    ``type`` (Klaviyo's ``send_options``, ``tracking_options``, ``send_strategy``) gains a null
    variant: 3.0 validators apply ``nullable`` only beside ``type``, so they refused the
    ``null`` the spec allows there (and that other clients, e.g. Klaviyo's own SDK, send). A
    ``nullable`` enum (``throttle_percentage``, ``send_strategy``) gains ``null`` among its
    values, which OpenAPI 3.0.3 asks for and the overlays leave implicit."""
    if isinstance(node, list):
        return [as_oas30(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: as_oas30(value) for key, value in node.items()}
    if "const" in out and isinstance(out.get("type"), str):
        out["enum"] = [out.pop("const")]
    if out.get("required") == [] and "properties" in out:
        del out["required"]
    enum = out.get("enum")
    if out.get("nullable") is True and isinstance(enum, list) and None not in enum:
        out["enum"] = [*enum, None]
    if out.get("nullable") is True and "type" not in out:
        for union in ("oneOf", "anyOf"):
            if isinstance(out.get(union), list):
                out[union] = [*out[union], _NULL_ONLY]
    return out


_NULL_ONLY: Json = {"type": "object", "nullable": True, "enum": [None]}
"""The variant that accepts ``null`` and nothing else (in OpenAPI 3.0 terms)."""


def _to_api_error(errors: Sequence[Exception]) -> ApiError:
    objects: list[Json] = []
    for error in errors:
        objects.extend(_error_objects(error))
    first = objects[0]
    api_error = invalid(first["detail"])
    api_error.errors = objects
    return api_error


def _schema_messages(error: Exception) -> list[tuple[str, str]]:
    cause = error.__cause__
    out = []
    for schema_error in getattr(cause, "schema_errors", None) or ():
        path = "".join(f"/{part}" for part in schema_error.absolute_path)
        out.append((path, schema_error.message))
    return out


def _error_objects(error: Exception) -> list[Json]:
    if isinstance(error, MissingRequiredParameter):
        where = "header" if error.location == "header" else "parameter"
        return [
            error_object(
                "invalid",
                "Invalid input.",
                f"'{error.name}' is a required {where}.",
                parameter=error.name,
            )
        ]
    if isinstance(error, InvalidParameter):
        messages = _schema_messages(error) or [("", str(error.__cause__ or error))]
        return [
            error_object(
                "invalid",
                "Invalid input.",
                f"Invalid '{error.name}': {message}",
                parameter=error.name,
            )
            for _, message in messages
        ]
    if isinstance(error, MissingRequiredRequestBody):
        return [
            error_object(
                "invalid", "Invalid input.", "A request body is required.", pointer="/data"
            )
        ]
    if isinstance(error, InvalidRequestBody):
        messages = _schema_messages(error) or [("", str(error))]
        return [
            error_object("invalid", "Invalid input.", message, pointer=pointer or "/")
            for pointer, message in messages
        ]
    if isinstance(error, RequestBodyValidationError):
        if isinstance(error.__cause__, MediaTypeNotFound):
            raise ApiError(
                415,
                "unsupported_media_type",
                "Unsupported media type.",
                "Use application/vnd.api+json.",
            )
        return [
            error_object("parse_error", "Malformed request.", "The request body is not valid JSON.")
        ]
    if isinstance(error, SecurityValidationError):
        raise ApiError(
            401,
            "not_authenticated",
            "Authentication credentials were not provided.",
            "Missing or malformed Authorization header.",
        )
    return [error_object("invalid", "Invalid input.", str(error))]
