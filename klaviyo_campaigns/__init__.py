"""Async, typed Python SDK for the Klaviyo Campaigns API.

async with Klaviyo() as kl:
    campaign = await kl.pre.get_campaign("01J...")
"""

from ._client import Klaviyo
from ._core import UNSET, Unset
from ._headroom import RateLimitSnapshot
from ._limits import WindowLimiter
from ._paced import PacedLimiter
from ._version import GENERATOR, REVISIONS, SPEC_SHA256, __version__
from .errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    ConnectError,
    ErrorDetail,
    KlaviyoError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    TimeoutError,
    TransportError,
    ValidationError,
    WriteMayHaveBeenApplied,
)

__all__ = [
    "GENERATOR",
    "REVISIONS",
    "SPEC_SHA256",
    "UNSET",
    "APIStatusError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "ErrorDetail",
    "Klaviyo",
    "KlaviyoError",
    "NotFoundError",
    "PacedLimiter",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimitSnapshot",
    "ResponseValidationError",
    "ServerError",
    "TimeoutError",
    "TransportError",
    "Unset",
    "ValidationError",
    "WindowLimiter",
    "WriteMayHaveBeenApplied",
    "__version__",
]
