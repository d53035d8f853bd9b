"""The ASGI callable type, as Starlette spells it."""

from starlette.types import ASGIApp

__all__ = ["ASGIApp"]
