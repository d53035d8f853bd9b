"""Models of the ``.pre`` revision (generated; imported on first use of each name)."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .._generated.pre.models import *  # noqa: F403
    from .._generated.pre.params import *  # noqa: F403


def __getattr__(name: str) -> Any:
    try:
        return getattr(import_module("..._generated.pre.models", __name__), name)
    except AttributeError:  # the TypedDicts of request values (``...Param``)
        return getattr(import_module("..._generated.pre.params", __name__), name)
