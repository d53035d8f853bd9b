"""The SDK end to end against the embedded fake Klaviyo: no API key, nothing beyond loopback.

Starts the fake on a free loopback port, then, through the SDK over real HTTP:
creates a multi-channel ``.pre`` campaign atomically (email + SMS in one audience), lists campaigns
page by page, schedules the email, moves the fake's clock past the send time and waits for SENT,
clones the campaign, and prints what happened.

Run it with ``make demo``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from klaviyo_campaigns import REVISIONS, Klaviyo
from klaviyo_campaigns.filters import F
from klaviyo_campaigns.models.pre import (
    CampaignMessageDocument,
    EmailChannelDetailsParam,
    SMSChannelDetailsParam,
)
from klaviyo_campaigns.testing import FakeKlaviyo

EMAIL: EmailChannelDetailsParam = {
    "channel": "email",
    "subject": "Summer Sale starts now",
    "from_email": "shop@example.com",
    "from_label": "Example Shop",
}
SMS: SMSChannelDetailsParam = {"channel": "sms", "body": "Summer Sale: 20% off today only"}


async def main() -> None:
    # speedup shrinks the fake's rate-limit windows so the seeded listing below is quick.
    fake = FakeKlaviyo(speedup=20)
    fake.seed_campaigns(250, revision=REVISIONS.pre)
    async with fake.serve() as base_url, Klaviyo(api_key="pk_demo", base_url=base_url) as kl:
        print(f"fake Klaviyo on {base_url}; client {kl!r}")

        # One campaign, one audience, an email and an SMS message: one atomic request.
        created = await kl.pre.create_campaign(
            definition={
                "name": "Summer Sale 2026",
                "builder": "wizard",
                "send_settings": {"send_timezone": "America/New_York"},
            },
            audiences=[{"temporary_id": "everyone", "included": ["LIST_ALL"], "excluded": []}],
            messages=[
                {
                    "audience_temporary_id": "everyone",
                    "name": name,
                    "variations": [{"definition": {"name": name, "details": details}}],
                }
                for name, details in (("Email blast", EMAIL), ("SMS blast", SMS))
            ],
        )
        campaign_id = created.data.id
        print(f"created campaign {campaign_id} atomically (1 audience, email + SMS messages)")

        pages = 0
        campaigns = 0
        async for page in kl.paginate(kl.pre.get_campaigns, sort="-created_at").pages():
            pages += 1
            campaigns += len(page.data)
        print(f"listed {campaigns} campaigns in {pages} pages (next page prefetched)")

        messages = await kl.pre.get_campaign_messages(filter=F.equals("campaign_id", campaign_id))
        by_channel: dict[str, str] = {}
        for message in messages.data:
            variations = await kl.pre.get_variations_for_campaign_message(message.id)
            definition = variations.data[0].attributes.definition
            if definition and definition.details:  # not null, and not left out of the response
                by_channel[definition.details.channel] = message.id
        print(f"its messages: {', '.join(f'{c} {i}' for c, i in sorted(by_channel.items()))}")

        send_at = fake.now() + timedelta(hours=2)
        await kl.pre.schedule_campaign_message(
            by_channel["email"], strategy="static", send_time=send_at
        )
        scheduled = await kl.wait_for_message(by_channel["email"], "scheduled", interval=0.05)
        print(f"scheduled the email for {send_at:%Y-%m-%d %H:%M} UTC: {_status(scheduled)}")

        async def time_passes() -> None:
            await asyncio.sleep(0.1)
            fake.advance(3 * 3600)

        advancing = asyncio.create_task(time_passes())
        sent = await kl.wait_for_message(by_channel["email"], "sent", interval=0.05, timeout=30)
        await advancing
        print(f"three hours later (fake clock) the email is {_status(sent)}")

        clone = await kl.pre.clone_campaign(campaign_id)
        cloned = clone.data.attributes.definition
        print(f"cloned it: {clone.data.id} {cloned.name if cloned else None!r}")
        print(f"fake counted writes: {dict(sorted(fake.counters.writes.items()))}")
        print(f"done at {datetime.now(UTC):%H:%M:%S} UTC, no API key, no network beyond loopback")


def _status(document: CampaignMessageDocument) -> str:
    from klaviyo_campaigns.polling import message_status

    return str(message_status(document)).upper()


if __name__ == "__main__":
    asyncio.run(main())
