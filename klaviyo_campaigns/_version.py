"""The SDK version and the Klaviyo API revisions its code was generated from."""

from ._generated import GENERATOR, SPEC_SHA256

__version__ = "0.1.0"

#: The revisions the generated code speaks, stable first.
REVISIONS = tuple(SPEC_SHA256)

__all__ = ["GENERATOR", "REVISIONS", "SPEC_SHA256", "__version__"]
