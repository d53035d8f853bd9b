"""Models of the stable revision (generated; imported on first use of each name)."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._generated.stable.models import *  # noqa: F403
    from .._generated.stable.params import *  # noqa: F403


def __getattr__(name: str) -> Any:
    try:
        return getattr(import_module("..._generated.stable.models", __name__), name)
    except AttributeError:  # the TypedDicts of request values (``...Param``)
        return getattr(import_module("..._generated.stable.params", __name__), name)
