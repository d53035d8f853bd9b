"""The SDK version and the Klaviyo API revisions its code was generated from."""

from typing import NamedTuple

from ._generated import GENERATOR, SPEC_SHA256
from ._generated.operations import PRE_REVISION, STABLE_REVISION

__version__ = "0.1.0"


class Revisions(NamedTuple):
    """The revision each namespace sends: the ``info.version`` of the spec it was generated from."""

    stable: str
    """What ``kl.stable`` sends: a date, ``YYYY-MM-DD``."""
    pre: str
    """What ``kl.pre`` sends: ``YYYY-MM-DD.pre``."""


#: The revisions the generated code speaks, stable first (``REVISIONS.stable``, ``.pre``).
REVISIONS = Revisions(STABLE_REVISION, PRE_REVISION)


def package_of(revision: str) -> str | None:
    """The generated package (``stable``, ``pre``: a field name of ``REVISIONS``) that speaks
    ``revision``, or None for a revision this package was not generated for."""
    for package, name in REVISIONS._asdict().items():
        if name == revision:
            return package
    return None


__all__ = ["GENERATOR", "REVISIONS", "SPEC_SHA256", "Revisions", "__version__", "package_of"]
