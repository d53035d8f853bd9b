"""Request bodies of the stable revision that several test modules send."""

from __future__ import annotations

from klaviyo_campaigns._generated.stable.models import CampaignCreateQuery


def campaign_body(name: str, *, valid: bool = True) -> CampaignCreateQuery:
    """A stable create-campaign body named ``name`` (with no message, which Klaviyo refuses
    with a 400, unless ``valid``)."""
    message = {
        "type": "campaign-message",
        "attributes": {
            "definition": {
                "channel": "email",
                "content": {"subject": "Hi", "from_email": "shop@example.com"},
            }
        },
    }
    return CampaignCreateQuery.from_dict(
        {
            "data": {
                "type": "campaign",
                "attributes": {
                    "name": name,
                    "audiences": {"included": ["LIST1"], "excluded": []},
                    "campaign-messages": {"data": [message] if valid else []},
                },
            }
        }
    )
