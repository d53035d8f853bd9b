"""Reading a ``.pre`` campaign as typed models: `mypy --strict` checks this file (`make lint`)
and `make test` runs it against the fake.

One request fetches the campaign with its audiences, messages and variations (the overview's
``include=campaign-variations``, which the published spec's typed ``include`` does not list, so
it goes through ``extra_query``); ``pre_campaign_tree`` links them up. Variation details parse to
the class of their ``channel``, and comparing ``channel`` narrows the type, so the subject of an
email reads without ``isinstance``, ``cast``, ``getattr`` or ``to_dict()``.

The one ``if`` is what the honest types ask for: ``definition`` is left out of a response under a
``fields[campaign-variation]`` sparse fieldset (``UNSET``), and Klaviyo's published spec lets
``details`` be ``null`` (``None``). Both are false, so one ``if`` covers both, and after it
``mypy --strict`` knows the chain is there. The tree's objects are the classes every operation
answers with (``CampaignAudience``, ``CampaignMessage``, ``CampaignVariation``).
"""

from __future__ import annotations

import asyncio

from klaviyo_campaigns import Klaviyo
from klaviyo_campaigns.compound import pre_campaign_tree
from klaviyo_campaigns.models.pre import EmailChannelDetailsParam, SMSChannelDetailsParam
from klaviyo_campaigns.testing import FakeKlaviyo

INCLUDE = "campaign-audiences,campaign-messages,campaign-variations"


async def channels_and_subjects(kl: Klaviyo, campaign_id: str) -> list[str]:
    """One line per variation: its audience, message, channel and subject (or text)."""
    document = await kl.pre.get_campaign(campaign_id, extra_query={"include": INCLUDE})
    lines: list[str] = []
    for audience in pre_campaign_tree(document).audiences:
        for node in audience.messages:
            for variation in node.variations:
                definition = variation.attributes.definition
                if not (definition and definition.details):
                    continue
                details = definition.details
                if details.channel == "email":
                    text = details.subject or ""
                elif details.channel == "sms":
                    text = details.body or ""
                else:
                    text = ""
                lines.append(f"{audience.audience.id} {node.message.id} {details.channel}: {text}")
    return lines


async def main() -> None:
    email: EmailChannelDetailsParam = {
        "channel": "email",
        "subject": "Summer Sale starts now",
        "from_email": "shop@example.com",
    }
    sms: SMSChannelDetailsParam = {"channel": "sms", "body": "Summer Sale: 20% off"}
    fake = FakeKlaviyo()
    async with fake.serve() as base_url, Klaviyo(api_key="pk_example", base_url=base_url) as kl:
        created = await kl.pre.create_campaign(
            definition={"name": "Summer Sale", "builder": "wizard"},
            audiences=[{"temporary_id": "all", "included": ["LIST_ALL"], "excluded": []}],
            messages=[
                {
                    "audience_temporary_id": "all",
                    "name": name,
                    "variations": [{"definition": {"details": details}}],
                }
                for name, details in (("Email", email), ("SMS", sms))
            ],
        )
        for line in await channels_and_subjects(kl, created.data.id):
            print(line)


if __name__ == "__main__":
    asyncio.run(main())
