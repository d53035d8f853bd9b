"""``FakeKlaviyo``: the fake's public face for tests, holding the app and everything it reads."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx

from .app import ConnectionDropped, FakeApp
from .behaviour import Behaviour, Timings
from .clock import FakeClock
from .faults import Counters, Faults
from .pagination import Cursors
from .ratelimit import RateLimiter
from .specs import RevisionSpec, available_revisions, index, load_document
from .store import Dataset, Record, Store
from .validation import SpecValidator


class FakeKlaviyo:
    """A stateful, spec-validating fake of Klaviyo's Campaigns API.

    Example::

        fake = FakeKlaviyo()
        async with httpx.AsyncClient(transport=fake.transport(), base_url=fake.base_url) as c:
            ...
        async with fake.serve() as url:        # the same fake over loopback HTTP
            ...

    Parameters:
        clock: the clock every timestamp, window and job reads (default: a ticking FakeClock).
        api_keys: accepted private keys and their scopes; None accepts any well-formed key
            with every scope.
        rate_limits: enforce the spec's per-operation limits (429 + Retry-After).
        speedup: shrink the rate-limit windows by this factor.
        validate: validate every request against the revision's spec (openapi-core).
        timings: how long jobs and sends take in fake-clock time.
        seed: seed for ids (deterministic ids when set).
        documents: spec documents by revision, instead of the package's generated ones.
    """

    base_url = "http://fake.klaviyo"
    """The base URL to use with ``transport()`` (any host works; links echo it)."""

    def __init__(
        self,
        *,
        clock: FakeClock | None = None,
        api_keys: Mapping[str, Sequence[str]] | None = None,
        rate_limits: bool = True,
        speedup: float = 1.0,
        validate: bool = True,
        timings: Timings | None = None,
        seed: int | None = None,
        documents: Mapping[str, dict[str, Any]] | None = None,
    ) -> None:
        from .pre import PreBehaviour
        from .stable import StableBehaviour

        self.clock = clock or FakeClock()
        self.api_keys = dict(api_keys) if api_keys is not None else None
        self.timings = timings or Timings()
        self.validate = validate
        docs = (
            dict(documents) if documents else {r: load_document(r) for r in available_revisions()}
        )
        self.specs: dict[str, RevisionSpec] = {rev: index(doc) for rev, doc in docs.items()}
        self.validators = {rev: SpecValidator(doc) for rev, doc in docs.items()}
        self.store = Store(list(self.specs), lambda: int(self.clock.now().timestamp() * 1000), seed)
        self.faults = Faults()
        self.counters = Counters()
        self.limiter = RateLimiter(self.clock.seconds, speedup=speedup)
        self.limiter.enabled = rate_limits
        self.cursors = Cursors(os.urandom(16) if seed is None else seed.to_bytes(16, "big"))
        self.behaviours: dict[str, Behaviour] = {}
        for revision in self.specs:
            if revision.endswith(".pre"):
                self.behaviours[revision] = PreBehaviour(revision, self.timings)
            else:
                self.behaviours[revision] = StableBehaviour(revision, self.timings)
        self.unexpected_errors: list[BaseException] = []
        """Exceptions a handler raised (answered as 500s): a test can assert this stays empty."""
        self.app = FakeApp(self)
        """The ASGI application."""

    # -- reaching the fake -------------------------------------------------------------------

    def transport(self) -> httpx.AsyncBaseTransport:
        """An in-process ``httpx`` transport to the app (no sockets).

        Injected dropped connections and truncated bodies surface as ``httpx.RemoteProtocolError``
        as they would over a real connection.
        """
        return _FakeTransport(self.app)

    @asynccontextmanager
    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
        """Serve the fake over HTTP on loopback; yields the base URL (``http://127.0.0.1:N``)."""
        from .server import serve

        async with serve(self.app, host=host, port=port) as url:
            yield url

    # -- time --------------------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        """Move the fake clock forward (scheduled sends and jobs progress on the next request)."""
        self.clock.advance(seconds)
        self.settle()

    def settle(self) -> None:
        """Apply what time has done to every revision's state now (requests do this anyway)."""
        now = self.clock.now()
        for revision, behaviour in self.behaviours.items():
            behaviour.settle(self.store[revision], now)

    # -- state -------------------------------------------------------------------------------

    @property
    def stable(self) -> Dataset:
        """The data set of the stable revision."""
        return self.store[self._revision(pre=False)]

    @property
    def pre(self) -> Dataset:
        """The data set of the ``.pre`` revision."""
        return self.store[self._revision(pre=True)]

    def records(self, revision: str, type_: str, *, deleted: bool = False) -> list[Record]:
        """Every record of a type in a revision (soft-deleted ones too if ``deleted``)."""
        self.settle()
        return self.store[revision].all(type_, deleted=deleted)

    def _revision(self, *, pre: bool) -> str:
        for revision in self.specs:
            if revision.endswith(".pre") == pre:
                return revision
        raise KeyError("no such revision loaded")

    def seed_campaigns(
        self,
        count: int,
        *,
        revision: str | None = None,
        channel: str = "email",
        name: str = "Campaign {i}",
        spacing: timedelta = timedelta(seconds=1),
    ) -> list[str]:
        """Create ``count`` draft campaigns directly (for listing tests and benchmarks).

        Each is created ``spacing`` after the previous one, ending now; names are
        ``name.format(i=...)``. Stable campaigns get one ``channel`` message; ``.pre`` ones get an
        audience and one message with a ``channel`` variation. Returns their ids, oldest first.
        """
        revision = revision or self._revision(pre=False)
        behaviour = self.behaviours[revision]
        data = self.store[revision]
        end = self.clock.now()
        ids = []
        for i in range(count):
            when = end - spacing * (count - 1 - i)
            ids.append(
                behaviour.seed_campaign(data, self.store.new_id, when, name.format(i=i), channel)
            )
        return ids

    def tag_campaign(self, campaign_id: str, *names: str, revision: str | None = None) -> list[str]:
        """Attach tags (created as needed) to a campaign; returns the tag ids."""
        data = self.store[revision or self._revision(pre=False)]
        campaign = data.require("campaign", campaign_id)
        ids = []
        for tag_name in names:
            tag = next((t for t in data.all("tag") if t.attributes["name"] == tag_name), None)
            if tag is None:
                tag = data.add(Record("tag", self.store.new_id(), {"name": tag_name}))
            tags = campaign.relationships.setdefault("tags", [])
            if isinstance(tags, list) and tag.id not in tags:
                tags.append(tag.id)
            ids.append(tag.id)
        return ids

    def reset(self) -> None:
        """Forget all state, queued faults, counters and rate-limit windows."""
        for revision in self.store.datasets:
            self.store.datasets[revision] = Dataset()
        self.faults.clear()
        self.counters.reset()
        self.limiter.reset()
        self.unexpected_errors.clear()

    def now(self) -> datetime:
        """The fake clock's time."""
        return self.clock.now()


class _FakeTransport(httpx.ASGITransport):
    """``httpx.ASGITransport`` that turns injected connection faults into transport errors."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await super().handle_async_request(request)
        except ConnectionDropped as error:
            raise httpx.RemoteProtocolError(str(error), request=request) from error
