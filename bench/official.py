"""Klaviyo's official ``klaviyo-api`` package, if installed: the peer a user would pick instead.

A benchmark-only dependency, pinned to 23.0.0: the release of our stable revision, so its
pydantic models parse the same bodies ours do (later releases target later revisions and reject
them). ``test_host`` is its documented way to point it at another server. It is synchronous.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

from klaviyo_campaigns import REVISIONS

from .clients import API_KEY


def client(base_url: str) -> Any | None:
    """A ``KlaviyoAPI`` pointed at ``base_url`` with its default retries, or None if missing."""
    try:
        from klaviyo_api import KlaviyoAPI
    except ImportError:
        return None
    api = KlaviyoAPI(API_KEY, test_host=base_url)
    # The fake serves only the revisions this package is generated for; after a bump the pinned
    # release would be refused, so it sends ours (its wrapper sets the same header).
    api.api_client.default_headers["revision"] = REVISIONS.stable
    return api


def version() -> str:
    """``klaviyo-api X.Y.Z``, or ``not installed``."""
    try:
        return f"klaviyo-api {importlib.metadata.version('klaviyo-api')}"
    except importlib.metadata.PackageNotFoundError:
        return "klaviyo-api not installed"
