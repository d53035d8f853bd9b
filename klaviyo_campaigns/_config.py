"""``Klaviyo``'s settings, checked once when the client is built.

Each check returns the value to use or raises ``ConfigurationError`` naming the argument (or the
environment variable it came from). No message holds the API key, or credentials in a URL.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import httpx

from .errors import ConfigurationError

if TYPE_CHECKING:
    from ._limits import Limiter


def api_key(value: object, source: str) -> str:
    """The key to send: surrounding whitespace stripped, nothing else changed.

    A key that holds anything but visible ASCII (a newline between two keys, a ``\\r`` from a
    secret file, a space, a non-ASCII letter) cannot be sent in a header and would leak through
    the errors of the libraries below: it is refused here, without echoing it.
    """
    if not isinstance(value, str):
        raise ConfigurationError(
            f"{source} must be a str, got {type(value).__name__}"
            + (" (decode it first)" if isinstance(value, bytes | bytearray) else "")
        )
    key = value.strip()
    if not key:
        raise ConfigurationError("no Klaviyo API key: pass api_key=... or set KLAVIYO_API_KEY")
    for position, char in enumerate(key, 1):
        if not "\x21" <= char <= "\x7e":
            what = "non-ASCII" if not char.isascii() else "whitespace or control"
            raise ConfigurationError(
                f"{source} holds a {what} character (at position {position} of {len(key)}), "
                "which an HTTP header cannot carry; check the secret for a line break, a second "
                "key or a stray character (the key is not shown)"
            )
    return key


def redact_url(url: str) -> str:
    """``url`` with any ``user:password@`` part replaced by ``***@``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rpartition("@")[2]
    return f"{scheme}{sep}{authority}{slash}{path}"


def base_url(value: object, source: str) -> str:
    """An ``http(s)://host[:port][/prefix]`` URL without credentials, trailing slash removed."""
    if not isinstance(value, str):
        raise ConfigurationError(f"{source} must be a str, got {type(value).__name__}")
    shown = redact_url(value)
    if not value.startswith(("https://", "http://")):
        raise ConfigurationError(f"{source} must start with https:// or http://, got {shown!r}")
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL:
        raise ConfigurationError(f"{source} is not a valid URL: {shown!r}") from None
    if url.userinfo:
        # httpx would send them as Basic auth in place of the API key: no request could work.
        raise ConfigurationError(
            f"{source} must not hold credentials (user:password@), got {shown!r}: they would "
            "replace the API key in the Authorization header"
        )
    if not url.host:
        raise ConfigurationError(f"{source} has no host: {shown!r}")
    if url.port is not None and not 0 < url.port < 65536:
        raise ConfigurationError(f"{source} has port {url.port}, outside 1-65535")
    if url.query or url.fragment:
        raise ConfigurationError(f"{source} must have no query or fragment, got {shown!r}")
    return value.rstrip("/")


def count(value: object, name: str, *, minimum: int = 0) -> int:
    """A whole number, ``minimum`` or more (``True`` is not a count)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigurationError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ConfigurationError(f"{name} must be {minimum} or more, got {value}")
    return value


def seconds(value: object, name: str, *, finite: bool = True) -> float:
    """A positive number of seconds (infinite only where ``finite`` is false)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{name} must be a number of seconds, got {type(value).__name__}")
    if not value > 0 or (finite and math.isinf(value)):
        raise ConfigurationError(
            f"{name} must be a positive{' finite' if finite else ''} number of seconds, got {value}"
        )
    return float(value)


def timeout(value: object) -> float | httpx.Timeout:
    """Seconds per request, or an ``httpx.Timeout`` whose every set part is positive."""
    if isinstance(value, httpx.Timeout):
        for part in ("connect", "read", "write", "pool"):
            given = getattr(value, part)
            if given is not None:
                seconds(given, f"timeout.{part}", finite=False)
        return value
    return seconds(value, "timeout", finite=False)


def limiter(value: object) -> Limiter:
    """A ``Limiter``: anything with ``acquire``, ``release`` and ``pause`` methods."""
    methods = ("acquire", "release", "pause")
    if not all(callable(getattr(value, method, None)) for method in methods):
        raise ConfigurationError(
            f"limiter must be a Limiter (acquire, release, pause), e.g. WindowLimiter() or "
            f"RedisLimiter.from_url(...), got {type(value).__name__}"
        )
    return value  # type: ignore[return-value]


def http_client(value: object) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` to send with."""
    if not isinstance(value, httpx.AsyncClient):
        raise ConfigurationError(
            f"http_client must be an httpx.AsyncClient, got {type(value).__name__}"
        )
    return value
