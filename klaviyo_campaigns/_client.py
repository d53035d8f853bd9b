"""``Klaviyo``: configuration, the ``httpx.AsyncClient`` it owns, and the revision namespaces."""

from __future__ import annotations

import functools
import os
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType, TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, Self, TypeVar

import httpx

from . import _coerce, _config, _tls, polling
from ._generated.stable import facade as stable_facade
from ._headroom import RateLimitSnapshot
from ._limits import Limiter, WindowLimiter, check_share, key_fingerprint
from ._send import JSON_API, Sender
from ._version import __version__
from .errors import ConfigurationError
from .pagination import Page, Paginator, paginate

if TYPE_CHECKING:
    from ._generated.pre.facade import API as PreAPI
    from ._generated.pre.facade import RawAPI as PreRawAPI
    from ._generated.pre.models import CampaignMessageDocument
    from ._generated.stable.models import (
        CampaignRecipientEstimationJobDocument,
        CampaignSendJobDocument,
    )

P = ParamSpec("P")
I = TypeVar("I")  # noqa: E741 - the item type

DEFAULT_BASE_URL = "https://a.klaviyo.com"
#: Finite by default: the generated client's default is no timeout at all.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
#: Connections the SDK's own client opens at most (httpx's default pool size).
DEFAULT_MAX_CONNECTIONS = 100


class RawResponses:
    """``kl.with_raw_response.stable`` / ``.pre``: the operations, returning whole responses."""

    def __init__(self, sender: Sender) -> None:
        self._sender = sender
        self.stable = stable_facade.RawAPI(sender.send_raw, _coerce)

    @functools.cached_property
    def pre(self) -> PreRawAPI:
        """The ``.pre`` revision (``REVISIONS.pre``), returning whole responses."""
        from ._generated.pre.facade import RawAPI

        return RawAPI(self._sender.send_raw, _coerce)


class Klaviyo:
    """An async client for the Klaviyo Campaigns API; hold one for the life of the process.

    ``kl.stable`` has every operation of the stable revision, ``kl.pre`` every operation of the
    ``.pre`` beta (``klaviyo_campaigns.REVISIONS`` names both); each sends its own ``revision``
    header, the ``info.version`` of the spec it was generated from. Use it as an async context
    manager, or call ``aclose()``::

        async with Klaviyo() as kl:   # key from KLAVIYO_API_KEY
            page = await kl.pre.get_campaigns()

    Args:
        api_key: a private API key; defaults to the ``KLAVIYO_API_KEY`` environment variable.
        base_url: defaults to ``KLAVIYO_BASE_URL``, then ``https://a.klaviyo.com``.
        timeout: per request; 30 s (10 s to connect) by default.
        max_retries: retries of one call that are provably safe (see the retry guide).
        retry_deadline: seconds after which no further retry starts.
        backoff_base: the exponential backoff between retries of 5xx answers, timeouts and
            connection errors: attempt ``n`` waits a random time up to
            ``min(backoff_cap, backoff_base * 2**n)`` seconds (full jitter). A 429 waits what
            its ``Retry-After`` says instead.
        backoff_cap: the longest backoff between two attempts, in seconds.
        max_connections: the most connections the SDK's own client keeps open (100 by default);
            idle ones stay open for reuse up to that number. Not with ``http_client``.
        http_client: an ``httpx.AsyncClient`` to send with; the SDK never closes one it was given,
            and its own timeout and pool apply (``timeout`` and ``max_connections`` are for the
            client the SDK builds, which sends through aiohttp: see the configuration guide).
        limiter: where rate limits are kept; an in-process ``WindowLimiter`` by default, or a
            shared one (``RedisLimiter``) for many processes on one account, or a
            ``PacedLimiter`` that spaces requests evenly.
        rate_share: use at most this fraction (more than 0, at most 1) of every endpoint's burst
            and steady limit, rounded down and at least one request per window, leaving the
            rest of the account's quota to its other integrations. Works with any limiter;
            give it here or as the limiter's own ``share``, not both.

    Raises:
        ConfigurationError: a setting of the wrong type or out of range, no key, a key that an
            HTTP header cannot carry (the message never shows it), or a ``base_url`` that is
            not an ``http(s)://`` URL or holds credentials.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 3,
        retry_deadline: float = 120.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        max_connections: int | None = None,
        http_client: httpx.AsyncClient | None = None,
        limiter: Limiter | None = None,
        rate_share: float = 1.0,
    ) -> None:
        # Every setting is checked here, once: a ConfigurationError naming it, never echoing
        # the key, before any connection exists.
        if api_key is not None:
            key = _config.api_key(api_key, "api_key")
        else:
            key = _config.api_key(os.environ.get("KLAVIYO_API_KEY", ""), "KLAVIYO_API_KEY")
        if base_url is not None:
            url = _config.base_url(base_url, "base_url")
        elif os.environ.get("KLAVIYO_BASE_URL"):
            url = _config.base_url(os.environ["KLAVIYO_BASE_URL"], "KLAVIYO_BASE_URL")
        else:
            url = DEFAULT_BASE_URL
        timeout = _config.timeout(timeout)
        max_retries = _config.count(max_retries, "max_retries")
        retry_deadline = _config.seconds(retry_deadline, "retry_deadline", finite=False)
        backoff_base = _config.seconds(backoff_base, "backoff_base")
        backoff_cap = _config.seconds(backoff_cap, "backoff_cap")
        if backoff_base > backoff_cap:
            raise ConfigurationError("backoff_base must be positive and at most backoff_cap")
        if max_connections is not None:
            max_connections = _config.count(max_connections, "max_connections", minimum=1)
        if max_connections is not None and http_client is not None:
            raise ConfigurationError(
                "max_connections sizes the client the SDK builds; with http_client, size that "
                "client's pool instead (httpx.Limits)"
            )
        if http_client is not None:
            http_client = _config.http_client(http_client)
        if limiter is not None:
            limiter = _config.limiter(limiter)
        share = check_share(rate_share, "rate_share")
        if share != 1.0 and getattr(limiter, "share", 1.0) != 1.0:
            raise ConfigurationError(
                "rate_share is given and so is the limiter's own share: give one of them"
            )
        self.base_url = url
        self._owns_http = http_client is None
        if http_client is None:
            _tls.prepare()  # loads the CA bundle in a thread while aiohttp is imported
            from ._transport import build_client  # imports aiohttp: only when it is used

            http_client = build_client(
                timeout=httpx.Timeout(timeout),
                max_connections=max_connections or DEFAULT_MAX_CONNECTIONS,
            )
        self._http = http_client
        self.limiter: Limiter = limiter if limiter is not None else WindowLimiter()
        self._sender = Sender(
            self._http,
            base_url=self.base_url,
            headers={
                "Authorization": f"Klaviyo-API-Key {key}",
                "Accept": JSON_API,
                "User-Agent": f"klaviyo-campaigns/{__version__} httpx/{httpx.__version__}",
            },
            key_id=key_fingerprint(key),
            limiter=self.limiter,
            max_retries=max_retries,
            retry_deadline=retry_deadline,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            rate_share=share,
        )
        self.stable = stable_facade.API(self._sender.send, _coerce)
        self.with_raw_response = RawResponses(self._sender)

    @functools.cached_property
    def pre(self) -> PreAPI:
        """Every operation of the ``.pre`` revision (its code loads on first use)."""
        from ._generated.pre.facade import API

        return API(self._sender.send, _coerce)

    @property
    def rate_limits(self) -> Mapping[str, RateLimitSnapshot]:
        """The server's latest ``RateLimit-*`` report per endpoint (``"GET /api/campaigns"``).

        Counts cover every integration of the account, so ``remaining`` shows the headroom left
        to all of them in the current steady window. Read-only and live: an endpoint appears
        after its first answer that is not a 429.
        """
        return MappingProxyType(self._sender.rate_limits)

    def __repr__(self) -> str:
        return f"Klaviyo(base_url={self.base_url!r}, api_key=<redacted>)"

    def paginate(
        self, method: Callable[P, Awaitable[Page[I]]], /, *args: P.args, **kwargs: P.kwargs
    ) -> Paginator[I]:
        """Every item of a cursor-paginated operation, one page fetched ahead.

        ``async for c in kl.paginate(kl.pre.get_campaigns, filter=...)``; ``.pages()`` for
        pages, ``.items(limit=N)`` to stop after N items.
        """
        return paginate(method, *args, **kwargs)

    async def wait_for_send_job(
        self, job_id: str, *, timeout: float = 300.0, interval: float = 1.0, **options: Any
    ) -> CampaignSendJobDocument:
        """Poll a campaign send job until it is complete (see ``polling.wait_until``)."""
        return await polling.wait_for_send_job(
            self.stable, job_id, timeout=timeout, interval=interval, **options
        )

    async def wait_for_estimation_job(
        self, job_id: str, *, timeout: float = 300.0, interval: float = 1.0, **options: Any
    ) -> CampaignRecipientEstimationJobDocument:
        """Poll a recipient-estimation job until it is complete."""
        return await polling.wait_for_estimation_job(
            self.stable, job_id, timeout=timeout, interval=interval, **options
        )

    async def wait_for_message(
        self,
        message_id: str,
        target: polling.MessageStatus | str = polling.MessageStatus.SENT,
        *,
        timeout: float = 300.0,
        interval: float = 1.0,
        **options: Any,
    ) -> CampaignMessageDocument:
        """Poll a ``.pre`` campaign message until it reaches ``target`` (default ``sent``)."""
        return await polling.wait_for_message(
            self.pre, message_id, target, timeout=timeout, interval=interval, **options
        )

    async def aclose(self) -> None:
        """End the calls still in flight, then close the HTTP connections (unless the
        ``httpx.AsyncClient`` was given to us).

        A call in flight raises ``ClientClosedError`` (a write that may already have reached
        Klaviyo: ``WriteMayHaveBeenApplied``) and is not retried; a call made afterwards raises
        ``ClientClosedError`` without sending.
        """
        await self._sender.aclose()
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
