"""The .pre revision against the fake: atomic create, clones, lifecycle, locks, deletes."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from fake_helpers import PRE, headers, pre_campaign

from klaviyo_campaigns.testing import FakeKlaviyo


@pytest_asyncio.fixture
async def pre(fake: FakeKlaviyo) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=fake.transport(), base_url=fake.base_url, headers=headers(PRE)
    ) as c:
        yield c


async def create(pre: httpx.AsyncClient, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await pre.post("/api/campaigns", json=body or pre_campaign())
    assert response.status_code == 201, response.text
    campaign_id = response.json()["data"]["id"]
    full = await pre.get(
        f"/api/campaigns/{campaign_id}", params={"include": "campaign-audiences,campaign-messages"}
    )
    return dict(full.json())


def messages_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in document.get("included", []) if r["type"] == "campaign-message"]


async def schedule(pre: httpx.AsyncClient, message_id: str, send_time: str) -> httpx.Response:
    return await pre.post(
        "/api/campaign-message-schedule",
        json={
            "data": {
                "type": "campaign-message-schedule",
                "attributes": {"send_time": send_time, "strategy": "static"},
                "relationships": {
                    "campaign-message": {"data": {"type": "campaign-message", "id": message_id}}
                },
            }
        },
    )


async def act(pre: httpx.AsyncClient, message_id: str, action: str) -> httpx.Response:
    return await pre.patch(
        f"/api/campaign-message-schedule/{message_id}",
        json={
            "data": {
                "type": "campaign-message-schedule",
                "id": message_id,
                "attributes": {"action": action},
            }
        },
    )


async def status(pre: httpx.AsyncClient, message_id: str) -> str:
    response = await pre.get(f"/api/campaign-messages/{message_id}")
    return str(response.json()["data"]["attributes"]["status"])


async def test_atomic_create_builds_the_whole_hierarchy(pre: httpx.AsyncClient) -> None:
    document = await create(pre)
    campaign = document["data"]
    assert campaign["attributes"]["definition"]["name"] == "Summer Sale 2026"
    assert campaign["attributes"]["definition"]["send_settings"]["send_strategy"] == "STATIC"
    assert len(campaign["relationships"]["campaign-audiences"]["data"]) == 1
    messages = messages_of(document)
    assert sorted(m["attributes"]["name"] for m in messages) == ["Summer SMS", "Summer email"]
    for message in messages:
        attributes = message["attributes"]
        assert attributes["status"] == "DRAFT"  # the overview's field ...
        assert attributes["definition"]["status"] == "draft"  # ... and the reference's
        assert attributes["scheduling_info"] is None
        assert attributes["tracking_params"]
        variations = await pre.get(f"/api/campaign-messages/{message['id']}/campaign-variations")
        assert len(variations.json()["data"]) == 1


async def test_one_bad_child_rejects_everything(fake: FakeKlaviyo, pre: httpx.AsyncClient) -> None:
    body = pre_campaign()
    body["data"]["attributes"]["messages"][1]["audience_temporary_id"] = "nobody"
    response = await pre.post("/api/campaigns", json=body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["source"]["pointer"] == (
        "/data/attributes/messages/1/audience_temporary_id"
    )
    assert fake.pre.all("campaign") == []
    assert fake.pre.all("campaign-audience") == []
    assert fake.pre.all("campaign-message") == []
    assert fake.counters.writes["create_campaign_beta"] == 0


async def test_invalid_variation_rejects_everything(
    fake: FakeKlaviyo, pre: httpx.AsyncClient
) -> None:
    body = pre_campaign()
    variations = body["data"]["attributes"]["messages"][0]["variations"]
    variations.append(copy.deepcopy(variations[0]))  # a second email variation
    assert (await pre.post("/api/campaigns", json=body)).status_code == 400
    schema_bad = pre_campaign()
    schema_bad["data"]["attributes"]["messages"][0]["variations"][0]["definition"]["details"][
        "channel"
    ] = "fax"
    assert (await pre.post("/api/campaigns", json=schema_bad)).status_code == 400
    assert fake.pre.all("campaign-variation") == []


async def test_a_campaign_needs_an_audience(pre: httpx.AsyncClient) -> None:
    body = pre_campaign()
    body["data"]["attributes"]["audiences"] = []
    body["data"]["attributes"]["messages"] = []
    assert (await pre.post("/api/campaigns", json=body)).status_code == 400


async def test_listing_needs_no_channel_filter(pre: httpx.AsyncClient) -> None:
    await create(pre)
    response = await pre.get("/api/campaigns", params={"filter": "contains(name,'summer')"})
    assert len(response.json()["data"]) == 1
    assert response.json()["links"]["next"] is None


async def test_message_lifecycle_follows_the_clock(
    fake: FakeKlaviyo, pre: httpx.AsyncClient
) -> None:
    message_id = messages_of(await create(pre))[0]["id"]
    scheduled = await schedule(pre, message_id, "2026-05-01T13:00:00+00:00")
    assert scheduled.status_code == 201
    assert scheduled.json()["data"]["attributes"]["strategy"] == "static"
    assert await status(pre, message_id) == "SCHEDULED"
    fake.advance(3600)
    assert await status(pre, message_id) == "SENDING"
    fake.advance(3600)
    assert await status(pre, message_id) == "SENT"
    listed = await pre.get("/api/campaign-messages", params={"filter": "equals(status,'SENT')"})
    assert [m["id"] for m in listed.json()["data"]] == [message_id]


async def test_schedule_only_drafts(pre: httpx.AsyncClient) -> None:
    message_id = messages_of(await create(pre))[0]["id"]
    assert (await schedule(pre, message_id, "2026-05-01T13:00:00+00:00")).status_code == 201
    assert (await schedule(pre, message_id, "2026-05-01T13:00:00+00:00")).status_code == 409
    past = messages_of(await create(pre))[0]["id"]
    assert (await schedule(pre, past, "2026-04-01T13:00:00+00:00")).status_code == 400


async def test_revert_only_from_scheduled_and_not_too_late(
    fake: FakeKlaviyo, pre: httpx.AsyncClient
) -> None:
    early, late, draft = [messages_of(await create(pre))[0]["id"] for _ in range(3)]
    await schedule(pre, early, "2026-05-01T14:00:00+00:00")
    await schedule(pre, late, "2026-05-01T12:10:00+00:00")
    assert (await act(pre, early, "revert")).status_code == 204
    assert await status(pre, early) == "DRAFT"
    too_late = await act(pre, late, "revert")
    assert too_late.status_code == 409
    assert "Too close" in too_late.json()["errors"][0]["detail"]
    assert (await act(pre, draft, "revert")).status_code == 409


async def test_cancel_from_draft_scheduled_and_sending_only(
    fake: FakeKlaviyo, pre: httpx.AsyncClient
) -> None:
    draft, scheduled, sending, sent = [messages_of(await create(pre))[0]["id"] for _ in range(4)]
    await schedule(pre, scheduled, "2026-05-01T15:00:00+00:00")
    await schedule(pre, sending, "2026-05-01T12:00:30+00:00")
    await schedule(pre, sent, "2026-05-01T12:00:00+00:00")
    fake.advance(59)
    assert await status(pre, sending) == "SENDING"
    assert await status(pre, sent) == "SENDING"
    fake.advance(2)
    assert await status(pre, sent) == "SENT"
    for message_id in (draft, scheduled, sending):
        assert (await act(pre, message_id, "cancel")).status_code == 204
        assert await status(pre, message_id) == "CANCELLED"
    assert (await act(pre, sent, "cancel")).status_code == 409


async def test_audiences_with_non_draft_messages_are_locked(pre: httpx.AsyncClient) -> None:
    document = await create(pre)
    audience_id = document["data"]["relationships"]["campaign-audiences"]["data"][0]["id"]
    update = {
        "data": {
            "type": "campaign-audience",
            "id": audience_id,
            "attributes": {"definition": {"name": "VIP"}},
        }
    }
    assert (
        await pre.patch(f"/api/campaign-audiences/{audience_id}", json=update)
    ).status_code == 200
    await schedule(pre, messages_of(document)[0]["id"], "2026-05-01T14:00:00+00:00")
    audience = await pre.get(f"/api/campaign-audiences/{audience_id}")
    assert audience.json()["data"]["attributes"]["has_non_draft_messages"] is True
    assert (
        await pre.patch(f"/api/campaign-audiences/{audience_id}", json=update)
    ).status_code == 409
    assert (await pre.delete(f"/api/campaign-audiences/{audience_id}")).status_code == 409


async def test_clones_are_named_copy(pre: httpx.AsyncClient) -> None:
    document = await create(pre)
    campaign_id = document["data"]["id"]
    audience_id = document["data"]["relationships"]["campaign-audiences"]["data"][0]["id"]
    message_id = messages_of(document)[0]["id"]
    clone = await pre.post(
        "/api/campaign-clone",
        json={"data": {"type": "campaign", "id": campaign_id, "attributes": {}}},
    )
    assert clone.status_code == 201
    cloned = clone.json()["data"]
    assert cloned["attributes"]["definition"]["name"] == "Summer Sale 2026 (Copy)"
    assert len(cloned["relationships"]["campaign-messages"]["data"]) == 2
    audience = await pre.post(
        "/api/campaign-audience-clone",
        json={
            "data": {
                "type": "campaign-audience-clone",
                "id": audience_id,
                "attributes": {"id": audience_id},
            }
        },
    )
    assert audience.json()["data"]["attributes"]["audience_name"] == "Audience 1 (Copy)"
    message = await pre.post(
        "/api/campaign-message-clone",
        json={
            "data": {
                "type": "campaign-message",
                "id": message_id,
                "attributes": {"id": message_id},
                "relationships": {
                    "campaign-audience": {"data": {"type": "campaign-audience", "id": audience_id}}
                },
            }
        },
    )
    assert message.status_code == 201
    assert message.json()["data"]["attributes"]["name"].endswith(" (Copy)")


async def test_delete_campaign_cascades_as_soft_delete(
    fake: FakeKlaviyo, pre: httpx.AsyncClient
) -> None:
    document = await create(pre)
    campaign_id = document["data"]["id"]
    assert (await pre.delete(f"/api/campaigns/{campaign_id}")).status_code == 204
    for kind, count in (
        ("campaign", 1),
        ("campaign-audience", 1),
        ("campaign-message", 2),
        ("campaign-variation", 2),
    ):
        kept = fake.records(PRE, kind, deleted=True)
        assert len(kept) == count and all(r.deleted for r in kept)
    assert fake.pre.get("campaign", campaign_id, deleted=True).attributes["definition"]["archived"]


async def test_a_deleted_campaign_is_visible_through_its_archived_flag(
    fake: FakeKlaviyo, pre: httpx.AsyncClient
) -> None:
    """The overview: deletion "is a soft delete (sets the archived flag)". The campaign is read
    back archived and is found by the archived filter; what was under it is gone, and a write
    to the campaign finds nothing (so a second DELETE is a 404)."""
    kept_id = (await create(pre, pre_campaign("Kept")))["data"]["id"]
    campaign_id = (await create(pre, pre_campaign("Deleted")))["data"]["id"]
    assert (await pre.delete(f"/api/campaigns/{campaign_id}")).status_code == 204

    read = await pre.get(f"/api/campaigns/{campaign_id}")
    assert read.status_code == 200
    assert read.json()["data"]["attributes"]["definition"]["archived"] is True
    assert read.json()["data"]["relationships"]["campaign-messages"]["data"] == []

    async def listed(filter_: str) -> list[str]:
        response = await pre.get("/api/campaigns", params={"filter": filter_})
        assert response.status_code == 200, response.text
        return [c["id"] for c in response.json()["data"]]

    assert await listed("equals(archived,true)") == [campaign_id]
    assert await listed("equals(archived,false)") == [kept_id]

    rename = {
        "data": {
            "type": "campaign",
            "id": campaign_id,
            "attributes": {"definition": {"name": "Back"}},
        }
    }
    assert (await pre.patch(f"/api/campaigns/{campaign_id}", json=rename)).status_code == 404
    assert (await pre.delete(f"/api/campaigns/{campaign_id}")).status_code == 404
    message_id = fake.records(PRE, "campaign-message", deleted=True)[-1].id
    assert (await pre.get(f"/api/campaign-messages/{message_id}")).status_code == 404


async def test_the_overviews_flat_audience_update_is_refused_not_ignored(
    pre: httpx.AsyncClient,
) -> None:
    """The overview PATCHes ``audience_name``, ``included`` ... at the top of ``attributes``;
    the reference takes them under ``definition``. A 400 naming each field, never a 200 that
    changes nothing."""
    document = await create(pre)
    audience_id = document["data"]["relationships"]["campaign-audiences"]["data"][0]["id"]
    flat = {
        "data": {
            "type": "campaign-audience",
            "id": audience_id,
            "attributes": {
                "audience_name": "VIP Customers",
                "included": ["LIST1", "LIST3"],
                "excluded": ["LIST2"],
                "priority": 0,
            },
        }
    }
    refused = await pre.patch(f"/api/campaign-audiences/{audience_id}", json=flat)
    assert refused.status_code == 400, refused.text
    errors = refused.json()["errors"]
    assert [e["source"]["pointer"] for e in errors] == [
        "/data/attributes/audience_name",
        "/data/attributes/included",
        "/data/attributes/excluded",
        "/data/attributes/priority",
    ]
    assert "attributes.definition.name" in errors[0]["detail"]
    nested = {
        "data": {
            "type": "campaign-audience",
            "id": audience_id,
            "attributes": {"definition": {"name": "VIP Customers", "included": ["LIST1", "LIST3"]}},
        }
    }
    applied = await pre.patch(f"/api/campaign-audiences/{audience_id}", json=nested)
    assert applied.status_code == 200, applied.text
    attributes = applied.json()["data"]["attributes"]
    assert attributes["audience_name"] == "VIP Customers"
    assert attributes["definition"]["included"] == ["LIST1", "LIST3"]


async def test_lists_apply_the_overviews_default_sorts(
    fake: FakeKlaviyo, pre: httpx.AsyncClient
) -> None:
    """Campaigns: "Default: -updated_at"; campaign messages: "Default: -updated"."""
    ids = [(await create(pre, pre_campaign(f"C{i}")))["data"]["id"] for i in range(3)]
    fake.advance(60)
    rename = {
        "data": {"type": "campaign", "id": ids[0], "attributes": {"definition": {"name": "C0!"}}}
    }
    assert (await pre.patch(f"/api/campaigns/{ids[0]}", json=rename)).status_code == 200
    campaigns = await pre.get("/api/campaigns")
    assert [c["id"] for c in campaigns.json()["data"]] == [ids[0], ids[2], ids[1]]
    oldest_first = await pre.get("/api/campaigns", params={"sort": "created_at"})
    assert [c["id"] for c in oldest_first.json()["data"]] == ids

    first = (await pre.get("/api/campaign-messages", params={"sort": "created"})).json()["data"]
    fake.advance(60)
    renamed = {
        "data": {
            "type": "campaign-message",
            "id": first[0]["id"],
            "attributes": {"definition": {"name": "Edited"}},
        }
    }
    edited = await pre.patch(f"/api/campaign-messages/{first[0]['id']}", json=renamed)
    assert edited.status_code == 200, edited.text
    messages = (await pre.get("/api/campaign-messages")).json()["data"]
    assert messages[0]["id"] == first[0]["id"]
    updated = [m["attributes"]["updated"] for m in messages]
    assert updated == sorted(updated, reverse=True)


async def test_individual_create_and_one_variation_per_channel(pre: httpx.AsyncClient) -> None:
    document = await create(pre)
    campaign_id = document["data"]["id"]
    audience = await pre.post(
        "/api/campaign-audiences",
        json={
            "data": {
                "type": "campaign-audience",
                "attributes": {"definition": {"included": ["LIST2"]}},
                "relationships": {"campaign": {"data": {"type": "campaign", "id": campaign_id}}},
            }
        },
    )
    assert audience.status_code == 201
    assert audience.json()["data"]["attributes"]["priority"] == 1
    audience_id = audience.json()["data"]["id"]
    message = await pre.post(
        "/api/campaign-messages",
        json={
            "data": {
                "type": "campaign-message",
                "attributes": {"definition": {"name": "Follow-up SMS"}},
                "relationships": {
                    "campaign": {"data": {"type": "campaign", "id": campaign_id}},
                    "campaign-audience": {"data": {"type": "campaign-audience", "id": audience_id}},
                },
            }
        },
    )
    assert message.status_code == 201
    message_id = message.json()["data"]["id"]
    variation = {
        "data": {
            "type": "campaign-variation",
            "attributes": {"definition": {"details": {"channel": "sms"}}},
            "relationships": {
                "campaign-message": {"data": {"type": "campaign-message", "id": message_id}}
            },
        }
    }
    assert (await pre.post("/api/campaign-variations", json=variation)).status_code == 201
    assert (await pre.post("/api/campaign-variations", json=variation)).status_code == 400
    listed = await pre.get(
        "/api/campaign-variations", params={"filter": f"equals(campaign-message.id,'{message_id}')"}
    )
    assert len(listed.json()["data"]) == 1
