"""Writes as a user types them: `mypy --strict` checks this file in CI (`make lint`), and
`make test` runs it against the fake.

Every form a write takes: attributes as keyword arguments with nested values as plain dicts
(typed by the generated ``TypedDict``s, importable as ``...Param`` from the models modules),
relationships by id, the resource id as the first argument, an explicit ``None`` (JSON ``null``)
against leaving a field out, the ``body=`` model form, and the per-call escape hatches.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from klaviyo_campaigns import REVISIONS, Klaviyo
from klaviyo_campaigns.models.pre import (
    CampaignDefinitionParam,
    EmailChannelDetailsParam,
    VariationPartialUpdateQuery,
)
from klaviyo_campaigns.testing import FakeKlaviyo


async def launch(kl: Klaviyo) -> tuple[str, str, str]:
    """An atomic ``.pre`` create: campaign, audience, an email message and its variation."""
    definition: CampaignDefinitionParam = {
        "name": "Summer Sale",
        "builder": "wizard",
        "send_settings": {"send_timezone": "America/New_York"},
    }
    email: EmailChannelDetailsParam = {
        "channel": "email",
        "subject": "Hi",
        "from_email": "shop@example.com",
        "from_label": "Shop",
    }
    created = await kl.pre.create_campaign(
        definition=definition,
        audiences=[{"temporary_id": "all", "included": ["LIST_1"], "excluded": []}],
        messages=[
            {
                "audience_temporary_id": "all",
                "name": "Email",
                "variations": [{"definition": {"details": email}}],
            }
        ],
    )
    messages = await kl.pre.get_messages_for_campaign(created.data.id)
    message_id = messages.data[0].id
    variations = await kl.pre.get_variations_for_campaign_message(message_id)
    return created.data.id, message_id, variations.data[0].id


async def edit(kl: Klaviyo, campaign_id: str, message_id: str, variation_id: str) -> None:
    """Partial updates (only what is given is sent), ``None`` as null, schedule and revert."""
    await kl.pre.update_campaign_variation(
        variation_id, definition={"details": {"channel": "email", "subject": "New subject"}}
    )
    await kl.pre.update_campaign(
        campaign_id,
        definition={"send_settings": {"send_strategy": "STATIC", "throttle_percentage": None}},
    )
    # The body= model form keeps working.
    await kl.pre.update_campaign_variation(
        variation_id,
        body=VariationPartialUpdateQuery.from_dict(
            {
                "data": {
                    "type": "campaign-variation",
                    "id": variation_id,
                    "attributes": {"definition": {"name": "Main"}},
                }
            }
        ),
        timeout=10.0,
        extra_headers={"X-Request-Note": "typed example"},
    )
    audience = await kl.pre.create_campaign_audience(
        definition={"included": ["LIST_2"], "excluded": []}, campaign_id=campaign_id
    )
    print(f"added audience {audience.data.id}")
    campaign = await kl.pre.get_campaign(campaign_id)
    print(f"campaign {campaign.data.id} updated")


async def schedule(kl: Klaviyo, fake: FakeKlaviyo, message_id: str) -> None:
    when = fake.now() + timedelta(hours=2)
    await kl.pre.schedule_campaign_message(message_id, strategy="static", send_time=when)
    await kl.pre.update_campaign_message_schedule(message_id, action="revert")


async def stable_writes(kl: Klaviyo, campaign_id: str) -> str:
    """A stable send job and a clone: the campaign id is the first argument of each."""
    await kl.stable.send_campaign(campaign_id)
    clone = await kl.stable.create_campaign_clone(campaign_id, new_name="Copy")
    return clone.data.id


def mistakes_mypy_catches() -> list[CampaignDefinitionParam | EmailChannelDetailsParam]:
    """Never called: each line is an error under ``mypy --strict`` (an unused ignore would be
    one too, so `make lint` proves mypy still catches them)."""
    misspelt: CampaignDefinitionParam = {"nmae": "x"}  # type: ignore[typeddict-unknown-key]
    wrong_literal: CampaignDefinitionParam = {
        "send_settings": {"send_strategy": "SOMETIMES"}  # type: ignore[typeddict-item]
    }
    wrong_channel: EmailChannelDetailsParam = {"channel": "fax"}  # type: ignore[typeddict-item]
    return [misspelt, wrong_literal, wrong_channel]


async def main() -> None:
    fake = FakeKlaviyo()
    (stable_campaign,) = fake.seed_campaigns(1, revision=REVISIONS.stable)
    async with fake.serve() as base_url, Klaviyo(api_key="pk_example", base_url=base_url) as kl:
        campaign_id, message_id, variation_id = await launch(kl)
        await edit(kl, campaign_id, message_id, variation_id)
        await schedule(kl, fake, message_id)
        print(f"cloned into {await stable_writes(kl, stable_campaign)}")


if __name__ == "__main__":
    asyncio.run(main())
