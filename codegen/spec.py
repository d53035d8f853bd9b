"""Loading Klaviyo's published specs and writing them back in one stable, strict form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

Spec = dict[str, Any]


def load_raw(path: Path) -> Spec:
    """Read a spec exactly as Klaviyo publishes it.

    Its JSON strings hold raw newlines and tabs, which strict JSON forbids, so the parser runs
    with ``strict=False``; nothing else about the text is tolerated.
    """
    document = json.loads(path.read_text(encoding="utf-8"), strict=False)
    if not isinstance(document, dict) or "openapi" not in document or "paths" not in document:
        raise ValueError(f"{path} is not an OpenAPI document (no 'openapi'/'paths' at the top)")
    return document


def dumps(spec: Spec) -> str:
    """The normalized text of a spec: strict JSON, sorted keys, indent 2, final newline."""
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def dumps_compact(spec: Spec) -> str:
    """The same document in its smallest strict form (package data for the fake server)."""
    return json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def operations(spec: Spec) -> list[tuple[str, str, dict[str, Any]]]:
    """Every operation of a spec as (METHOD, path, operation), in path then method order."""
    found = []
    for path, item in sorted(spec["paths"].items()):
        for method, operation in sorted(item.items()):
            if isinstance(operation, dict) and "operationId" in operation:
                found.append((method.upper(), path, operation))
    return found
