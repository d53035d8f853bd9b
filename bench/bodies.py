"""The fixed response bodies the loopback server sends: a 100-campaign page and one campaign.

Shaped like Klaviyo's own ``GET /api/campaigns`` answers for the stable revision: nested
audiences, send options, tracking options with custom parameters, a static send strategy with
its options, relationships with linkage and links, and collection links with a next cursor.
Deterministic, so every run (and every side of a comparison) parses the same bytes.
"""

from __future__ import annotations

import json
from typing import Any

PAGE_SIZE = 100
NEXT_CURSOR = "bmV4dC1wYWdlLWN1cnNvcg"
SINGLE_ID = "01HBENCH000000000000000000"
STATUSES = ("Draft", "Scheduled", "Sent", "Cancelled")


def _id(prefix: str, i: int) -> str:
    return f"{prefix}{i:022d}"[:26].upper()


def campaign(base: str, i: int) -> dict[str, Any]:
    """One campaign resource object, varied by ``i`` so no two are alike."""
    cid = _id("01HC", i)
    links = f"{base}/api/campaigns/{cid}"
    day = 1 + i % 28
    return {
        "type": "campaign",
        "id": cid,
        "attributes": {
            "name": f"Spring sale wave {i}: {['early', 'main', 'last call'][i % 3]}",
            "status": STATUSES[i % len(STATUSES)],
            "archived": i % 17 == 0,
            "audiences": {
                "included": [_id("01HL", i), _id("01HL", i + 1), _id("01HS", i)],
                "excluded": [_id("01HX", i)] if i % 2 else [],
            },
            "send_options": {"use_smart_sending": i % 5 != 0},
            "tracking_options": {
                "add_tracking_params": True,
                "custom_tracking_params": [
                    {"type": "dynamic", "value": "campaign_id", "name": "utm_id"},
                    {"type": "static", "value": "email", "name": "utm_medium"},
                    {"type": "static", "value": f"spring-{i}", "name": "utm_campaign"},
                ],
                "is_tracking_clicks": True,
                "is_tracking_opens": i % 3 != 0,
            },
            "send_strategy": {
                "method": "static",
                "datetime": f"2026-03-{day:02d}T15:00:00+00:00",
                "options": {"is_local": True, "send_past_recipients_immediately": i % 2 == 0},
            },
            "created_at": f"2026-02-{day:02d}T09:{i % 60:02d}:00.123456+00:00",
            "scheduled_at": f"2026-02-{day:02d}T10:00:00+00:00",
            "updated_at": f"2026-02-{day:02d}T11:{i % 60:02d}:30.654321+00:00",
            "send_time": f"2026-03-{day:02d}T15:00:00+00:00",
        },
        "relationships": {
            "campaign-messages": {
                "data": [{"type": "campaign-message", "id": _id("01HM", i)}],
                "links": {
                    "self": f"{links}/relationships/campaign-messages/",
                    "related": f"{links}/campaign-messages/",
                },
            },
            "tags": {
                "data": [
                    {"type": "tag", "id": f"tag-{i % 7}"},
                    {"type": "tag", "id": "tag-spring"},
                ],
                "links": {"self": f"{links}/relationships/tags/", "related": f"{links}/tags/"},
            },
        },
        "links": {"self": f"{links}/"},
    }


def page(base: str = "http://127.0.0.1", size: int = PAGE_SIZE) -> bytes:
    """A ``GET /api/campaigns`` page of ``size`` campaigns with a ``links.next`` cursor."""
    query = "filter=equals(messages.channel,'email')&page%5Bsize%5D=100"
    document = {
        "data": [campaign(base, i) for i in range(size)],
        "links": {
            "self": f"{base}/api/campaigns?{query}",
            "next": f"{base}/api/campaigns?{query}&page%5Bcursor%5D={NEXT_CURSOR}",
        },
    }
    return json.dumps(document, separators=(",", ":")).encode()


def single(base: str = "http://127.0.0.1") -> bytes:
    """A ``GET /api/campaigns/{id}`` document: one campaign."""
    data = campaign(base, 7)
    data["id"] = SINGLE_ID
    return json.dumps(
        {"data": data, "links": {"self": f"{base}/api/campaigns/{SINGLE_ID}/"}}
    ).encode()
