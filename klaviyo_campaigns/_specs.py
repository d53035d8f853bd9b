"""The normalized spec each generated package ships: ``_generated/<package>/openapi.json``.

Both the request checks (``_body``) and the embedded fake (``testing``) read it from here, one
revision at a time and only when first needed, never at import. Which package holds a revision is
the generated ``REVISIONS`` table: no file name carries a revision.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ._version import REVISIONS, package_of


def revisions() -> list[str]:
    """Every revision the package was generated for, stable first."""
    return list(REVISIONS)


def read(revision: str) -> dict[str, Any]:
    """A fresh parse of the spec ``revision`` was generated from (callers cache and may mutate).

    Raises ``LookupError`` for a revision this package was not generated for.
    """
    package = package_of(revision)
    if package is None:
        raise LookupError(
            f"no generated package for revision {revision!r} (have: {', '.join(REVISIONS)})"
        )
    text = (
        resources.files(__package__ or __name__.rpartition(".")[0])
        .joinpath("_generated", package, "openapi.json")
        .read_text(encoding="utf-8")
    )
    document: dict[str, Any] = json.loads(text, strict=False)
    return document
