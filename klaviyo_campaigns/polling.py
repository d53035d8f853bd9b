"""Waiting for something to finish: send jobs, recipient-estimation jobs, ``.pre`` messages.

Each wait is a loop of ordinary calls (through the same limiter and retries as any other),
sleeping between them with a backoff, until the resource reaches a target status. A terminal
status that is not the target raises ``TerminalStateError``; running out of time raises
``WaitTimeoutError``. Cancelling the waiting task stops the polling at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ._core import Unset
from .errors import TerminalStateError, ValidationError, WaitTimeoutError

if TYPE_CHECKING:
    from ._generated.pre.facade import API as PreAPI
    from ._generated.pre.models import CampaignMessageDocument
    from ._generated.stable.facade import API as StableAPI
    from ._generated.stable.models import (
        CampaignRecipientEstimationJobDocument,
        CampaignSendJobDocument,
    )

R = TypeVar("R")

__all__ = ["JobStatus", "MessageStatus", "job_status", "message_status", "wait_until"]


class JobStatus(StrEnum):
    """The status of a send job or a recipient-estimation job."""

    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETE = "complete"
    CANCELLED = "cancelled"


class MessageStatus(StrEnum):
    """The lifecycle status of a ``.pre`` campaign message, whichever case the answer used."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"


class _JobAttributes(Protocol):
    @property
    def status(self) -> StrEnum | Unset: ...


class _Job(Protocol):
    @property
    def attributes(self) -> _JobAttributes: ...


class _JobDocument(Protocol):
    """A send-job or estimation-job document of either revision."""

    @property
    def data(self) -> _Job: ...


def _json(document: Mapping[str, Any], *path: str) -> object:
    node: object = document
    for name in path:
        node = node.get(name) if isinstance(node, Mapping) else None
    return node


def _text(value: object) -> str | None:
    if not value:  # absent (UNSET), null, or empty
        return None
    return str(value)


def job_status(document: _JobDocument | Mapping[str, Any]) -> JobStatus | str:
    """The status of a job document (``data.attributes.status``); unknown values kept as text."""
    if isinstance(document, Mapping):
        text = _text(_json(document, "data", "attributes", "status")) or ""
    else:
        text = _text(document.data.attributes.status) or ""
    try:
        return JobStatus(text.lower())
    except ValueError:
        return text


def message_status(
    document: CampaignMessageDocument | Mapping[str, Any],
) -> MessageStatus | str:
    """A message's status from ``attributes.definition.status`` (published spec, lower case)
    or ``attributes.status`` (overview, upper case), as one ``MessageStatus``."""
    if isinstance(document, Mapping):
        text = _text(_json(document, "data", "attributes", "definition", "status")) or _text(
            _json(document, "data", "attributes", "status")
        )
    else:
        attributes = document.data.attributes
        definition = attributes.definition
        text = _text(definition.status if definition else None) or _text(attributes.status)
    try:
        return MessageStatus((text or "").lower())
    except ValueError:
        return text or ""


async def wait_until(
    fetch: Callable[[], Awaitable[R]],
    status_of: Callable[[R], StrEnum | str],
    *,
    target: Collection[str],
    terminal: Collection[str],
    timeout: float = 300.0,
    interval: float = 1.0,
    max_interval: float = 15.0,
    factor: float = 1.5,
    what: str = "resource",
) -> R:
    """Fetch until ``status_of`` is in ``target``; the generic loop behind the ``wait_for_*``.

    Raises ``TerminalStateError`` on a status in ``terminal`` that is not a target, and
    ``WaitTimeoutError`` when ``timeout`` seconds pass first.
    """
    if timeout <= 0 or interval <= 0 or max_interval < interval or factor < 1:
        raise ValidationError("need timeout > 0, 0 < interval <= max_interval, factor >= 1")
    deadline = time.monotonic() + timeout
    wait = interval
    while True:
        resource = await fetch()
        status = str(status_of(resource))
        if status in target:
            return resource
        if status in terminal:
            raise TerminalStateError(what, status, resource)
        left = deadline - time.monotonic()
        if left <= 0:
            raise WaitTimeoutError(what, status, timeout)
        await asyncio.sleep(min(wait, left))
        wait = min(wait * factor, max_interval)


J = TypeVar("J", bound=_JobDocument)


async def _job_complete(
    fetch: Callable[[], Awaitable[J]], what: str, timeout: float, interval: float, options: Any
) -> J:
    """A job's wait: ``complete`` is the goal, ``cancelled`` the other way it can end."""
    return await wait_until(
        fetch,
        job_status,
        target={JobStatus.COMPLETE},
        terminal={JobStatus.CANCELLED},
        timeout=timeout,
        interval=interval,
        what=what,
        **options,
    )


async def wait_for_send_job(
    stable: StableAPI, job_id: str, *, timeout: float = 300.0, interval: float = 1.0, **options: Any
) -> CampaignSendJobDocument:
    """Wait until a campaign send job is ``complete``; ``cancelled`` raises."""
    return await _job_complete(
        lambda: stable.get_campaign_send_job(job_id),
        f"send job {job_id}",
        timeout,
        interval,
        options,
    )


async def wait_for_estimation_job(
    stable: StableAPI, job_id: str, *, timeout: float = 300.0, interval: float = 1.0, **options: Any
) -> CampaignRecipientEstimationJobDocument:
    """Wait until a recipient-estimation job is ``complete``; ``cancelled`` raises."""
    return await _job_complete(
        lambda: stable.get_campaign_recipient_estimation_job(job_id),
        f"recipient-estimation job {job_id}",
        timeout,
        interval,
        options,
    )


_ORDER = [MessageStatus.DRAFT, MessageStatus.SCHEDULED, MessageStatus.SENDING, MessageStatus.SENT]


async def wait_for_message(
    pre: PreAPI,
    message_id: str,
    target: MessageStatus | str = MessageStatus.SENT,
    *,
    timeout: float = 300.0,
    interval: float = 1.0,
    **options: Any,
) -> CampaignMessageDocument:
    """Wait until a ``.pre`` campaign message reaches ``target`` (``"sent"`` by default).

    ``cancelled`` raises, and so does a status past the target in the lifecycle (a message
    already ``sent`` can never become ``scheduled``).
    """
    try:
        goal = MessageStatus(str(target).lower())
    except ValueError:
        raise ValidationError(
            f"target {target!r} is not one of: {', '.join(s.value for s in MessageStatus)}"
        ) from None
    beyond = set(_ORDER[_ORDER.index(goal) + 1 :]) if goal in _ORDER else set()
    return await wait_until(
        lambda: pre.get_campaign_message(message_id),
        message_status,
        target={goal},
        terminal={MessageStatus.CANCELLED, *beyond} - {goal},
        timeout=timeout,
        interval=interval,
        what=f"campaign message {message_id}",
        **options,
    )
