"""The SDK version and the Klaviyo API revisions its code was generated from."""

__version__ = "0.1.0"

#: The revisions the generated code speaks, stable first.
REVISIONS = ("2026-04-15", "2026-04-15.pre")
