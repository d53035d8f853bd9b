"""Asynchronous jobs (campaign send jobs, recipient estimation jobs): their status is a function
of the time since they started, so advancing the fake clock moves them along.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from .behaviour import Timings
from .store import Record


def job_status(job: Record, now: datetime, timings: Timings) -> str:
    """``queued`` -> ``processing`` -> ``complete`` (or ``cancelled``) as time passes."""
    if job.internal.get("cancelled"):
        return "cancelled"
    started: datetime = job.internal["started"]
    if now < started + timings.job_queued:
        return "queued"
    if now < started + timings.job_queued + timings.job_processing:
        return "processing"
    return "complete"


def new_job(type_: str, campaign_id: str, now: datetime) -> Record:
    """A job for a campaign; Klaviyo gives a campaign's job the campaign's id."""
    return Record(type_, campaign_id, {}, created=now, updated=now, internal={"started": now})


def estimated_recipients(list_ids: list[str], excluded: list[str]) -> int:
    """A stable, made-up recipient count for a set of lists and segments."""
    total = 0
    for list_id in list_ids:
        digest = hashlib.sha256(list_id.encode()).digest()
        total += 100 + int.from_bytes(digest[:2], "big") % 900
    return max(0, total - 50 * len(excluded))
