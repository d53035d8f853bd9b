"""Models of revision ``2026-04-15.pre`` (generated; imported on first use of each name)."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._generated.v2026_04_15_pre.models import *  # noqa: F403


def __getattr__(name: str) -> Any:
    return getattr(import_module("..._generated.v2026_04_15_pre.models", __name__), name)
