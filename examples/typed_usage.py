"""A user's typed code: `mypy --strict` checks it in CI (`make lint`); `make test` runs it.

Shows the helpers through the client object with their full types: pagination, a validated
filter, polling, the compound-document tree, and typed errors.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from klaviyo_campaigns import Klaviyo, NotFoundError, WriteMayHaveBeenApplied
from klaviyo_campaigns.compound import campaign_tree
from klaviyo_campaigns.filters import F
from klaviyo_campaigns.models.stable import Campaign


async def email_campaign_names(kl: Klaviyo, since: datetime) -> list[str]:
    """Names of the email campaigns created since ``since``, walking every page."""
    names: list[str] = []
    channel = F.equals("messages.channel", "email") & F.greater_than("created_at", since)
    async for campaign in kl.paginate(kl.stable.get_campaigns, filter=channel):
        item: Campaign = campaign
        name = item.attributes.name
        if isinstance(name, str):
            names.append(name)
    return names


async def messages_of(kl: Klaviyo, campaign_id: str) -> int:
    """How many messages a campaign has, from one ``include=`` request."""
    try:
        document = await kl.stable.get_campaign(campaign_id, include=["campaign-messages"])
    except NotFoundError as error:
        print(f"no such campaign: {error.status} {[e.code for e in error.errors]}")
        return 0
    return len(campaign_tree(document).messages)


async def first_page_size(kl: Klaviyo) -> int:
    """The size of the first page, read from the raw response as well."""
    raw = await kl.with_raw_response.pre.get_campaigns(page_size=5)
    assert raw.parsed is not None
    return len(raw.parsed.data)


async def main(base_url: str) -> None:
    """Run the typed helpers against a Klaviyo at ``base_url``."""
    async with Klaviyo(api_key="pk_example", base_url=base_url) as kl:
        names = await email_campaign_names(kl, datetime(2020, 1, 1, tzinfo=UTC))
        print(f"{len(names)} email campaigns")
        try:
            await kl.pre.clone_campaign("nope")
        except WriteMayHaveBeenApplied:
            print("check before retrying")
        except NotFoundError:
            print("nothing to clone")
        print(await messages_of(kl, "missing"), await first_page_size(kl))


if __name__ == "__main__":
    from klaviyo_campaigns.testing import FakeKlaviyo

    async def run() -> None:
        fake = FakeKlaviyo()
        fake.seed_campaigns(3)
        async with fake.serve() as url:
            await main(url)

    asyncio.run(run())
