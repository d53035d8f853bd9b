"""Request helpers shared by the fake's tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from klaviyo_campaigns import REVISIONS

STABLE, PRE = REVISIONS
KEY = "pk_test_0123456789"
START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def headers(revision: str = STABLE, key: str = KEY) -> dict[str, str]:
    """The headers of a well-formed request."""
    return {
        "revision": revision,
        "Authorization": f"Klaviyo-API-Key {key}",
        "accept": "application/vnd.api+json",
        "content-type": "application/vnd.api+json",
    }


def email_campaign(name: str = "Spring sale", channel: str = "email") -> dict[str, Any]:
    """A stable create-campaign body."""
    definition: dict[str, Any] = {"channel": channel}
    if channel == "email":
        definition["content"] = {"subject": "Hello", "from_email": "shop@example.com"}
    else:
        definition["content"] = {"body": "Hello"}
    return {
        "data": {
            "type": "campaign",
            "attributes": {
                "name": name,
                "audiences": {"included": ["LIST1"], "excluded": []},
                "campaign-messages": {
                    "data": [{"type": "campaign-message", "attributes": {"definition": definition}}]
                },
            },
        }
    }


def pre_campaign(name: str = "Summer Sale 2026") -> dict[str, Any]:
    """A .pre atomic create body: one audience, an email and an SMS message."""
    return {
        "data": {
            "type": "campaign",
            "attributes": {
                "definition": {
                    "name": name,
                    "builder": "wizard",
                    "send_settings": {
                        "send_timezone": "America/New_York",
                        "send_strategy": "STATIC",
                    },
                },
                "audiences": [{"temporary_id": "aud1", "included": ["LIST1"], "excluded": []}],
                "messages": [
                    {
                        "audience_temporary_id": "aud1",
                        "name": "Summer email",
                        "variations": [
                            {
                                "definition": {
                                    "name": "Email",
                                    "details": {
                                        "channel": "email",
                                        "subject": "Sale",
                                        "from_email": "a@b.co",
                                    },
                                }
                            }
                        ],
                    },
                    {
                        "audience_temporary_id": "aud1",
                        "definition": {  # the overview's nesting
                            "name": "Summer SMS",
                            "variations": [
                                {"definition": {"details": {"channel": "sms", "body": "Sale!"}}}
                            ],
                        },
                    },
                ],
            },
        }
    }
