"""Async, typed Python SDK for the Klaviyo Campaigns API.

async with Klaviyo() as kl:
    campaign = await kl.pre.get_campaign("01J...")
"""

from ._client import Klaviyo
from ._core import UNSET, Unset
from ._version import GENERATOR, REVISIONS, SPEC_SHA256, __version__
from .errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
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
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "ErrorDetail",
    "Klaviyo",
    "KlaviyoError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "ServerError",
    "TimeoutError",
    "TransportError",
    "Unset",
    "ValidationError",
    "WriteMayHaveBeenApplied",
    "__version__",
]
