"""The stable revision against the fake: campaigns, listing, jobs, clones, relationships."""

from __future__ import annotations

import re

import httpx
from fake_helpers import email_campaign

from klaviyo_campaigns.models.stable import PostCampaignMessageResponse
from klaviyo_campaigns.testing import FakeKlaviyo

EMAIL = {"filter": "equals(messages.channel,'email')"}


async def create(
    client: httpx.AsyncClient, name: str = "Spring sale", channel: str = "email"
) -> str:
    response = await client.post("/api/campaigns", json=email_campaign(name, channel))
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def test_create_answers_a_draft_with_a_ulid_and_links(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/campaigns", json=email_campaign())
    data = response.json()["data"]
    assert response.status_code == 201
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", data["id"])
    assert data["attributes"]["status"] == "Draft"
    assert data["attributes"]["created_at"] == "2026-05-01T12:00:00.000000+00:00"
    assert data["links"]["self"] == f"http://fake.klaviyo/api/campaigns/{data['id']}/"
    messages = data["relationships"]["campaign-messages"]
    assert len(messages["data"]) == 1
    assert messages["links"]["related"].endswith(f"/api/campaigns/{data['id']}/campaign-messages/")


async def test_listing_requires_a_channel_filter(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/campaigns")
    no_channel = await client.get("/api/campaigns", params={"filter": "contains(name,'x')"})
    assert missing.status_code == 400
    assert no_channel.status_code == 400
    assert "channel filter is required" in no_channel.json()["errors"][0]["detail"]


async def test_listing_filters_by_channel_and_name(client: httpx.AsyncClient) -> None:
    await create(client, "Spring email")
    sms = await create(client, "Spring sms", channel="sms")
    await create(client, "Autumn sms", channel="sms")
    response = await client.get(
        "/api/campaigns",
        params={"filter": "and(equals(messages.channel,'sms'),contains(name,'spring'))"},
    )
    assert [c["id"] for c in response.json()["data"]] == [sms]


async def test_filter_with_a_field_the_operation_does_not_allow_is_400(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(
        "/api/campaigns", params={"filter": "equals(messages.channel,'email'),equals(colour,'red')"}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["source"] == {"parameter": "filter"}


async def test_sort_descending_by_name(client: httpx.AsyncClient) -> None:
    for name in ("b", "c", "a"):
        await create(client, name)
    response = await client.get("/api/campaigns", params={**EMAIL, "sort": "-name"})
    assert [c["attributes"]["name"] for c in response.json()["data"]] == ["c", "b", "a"]


async def test_sparse_fieldsets_keep_only_the_named_attributes(client: httpx.AsyncClient) -> None:
    await create(client)
    response = await client.get(
        "/api/campaigns", params={**EMAIL, "fields[campaign]": "name,status"}
    )
    assert response.json()["data"][0]["attributes"] == {"name": "Spring sale", "status": "Draft"}


async def test_include_adds_related_resources_once(
    fake: FakeKlaviyo, client: httpx.AsyncClient
) -> None:
    campaign_id = await create(client)
    fake.tag_campaign(campaign_id, "promo")
    response = await client.get(
        f"/api/campaigns/{campaign_id}", params={"include": "campaign-messages,tags"}
    )
    included = response.json()["included"]
    assert sorted(item["type"] for item in included) == ["campaign-message", "tag"]
    tags = await client.get(f"/api/campaigns/{campaign_id}/tags")
    assert [t["attributes"]["name"] for t in tags.json()["data"]] == ["promo"]


async def test_pages_follow_next_and_prev_links(
    fake: FakeKlaviyo, client: httpx.AsyncClient
) -> None:
    ids = fake.seed_campaigns(5)
    first = await client.get("/api/campaigns", params={**EMAIL, "page[size]": "2"})
    page1 = first.json()
    assert [c["id"] for c in page1["data"]] == ids[:2]
    assert "prev" not in page1["links"]
    second = (await client.get(page1["links"]["next"])).json()
    assert [c["id"] for c in second["data"]] == ids[2:4]
    back = (await client.get(second["links"]["prev"])).json()
    assert [c["id"] for c in back["data"]] == ids[:2]
    last = (await client.get(second["links"]["next"])).json()
    assert [c["id"] for c in last["data"]] == ids[4:]
    assert "next" not in last["links"]


async def test_cursor_stays_valid_while_items_are_added(
    fake: FakeKlaviyo, client: httpx.AsyncClient
) -> None:
    ids = fake.seed_campaigns(4)
    page1 = (await client.get("/api/campaigns", params={**EMAIL, "page[size]": "2"})).json()
    fake.advance(1)
    newer = await create(client, "added meanwhile")
    page2 = (await client.get(page1["links"]["next"])).json()
    assert [c["id"] for c in page2["data"]] == ids[2:]
    page3 = (await client.get(page2["links"]["next"])).json()
    assert [c["id"] for c in page3["data"]] == [newer]


async def test_default_and_maximum_page_size_come_from_the_spec(
    fake: FakeKlaviyo, client: httpx.AsyncClient
) -> None:
    fake.seed_campaigns(101)
    default = await client.get("/api/campaigns", params=EMAIL)
    too_big = await client.get("/api/campaigns", params={**EMAIL, "page[size]": "101"})
    assert len(default.json()["data"]) == 100
    assert too_big.status_code == 400


async def test_a_bad_cursor_is_400(client: httpx.AsyncClient) -> None:
    for cursor in ("garbage", "eyJkIjoiYWZ0ZXIifQ"):
        response = await client.get("/api/campaigns", params={**EMAIL, "page[cursor]": cursor})
        assert response.status_code == 400
        assert response.json()["errors"][0]["source"] == {"parameter": "page[cursor]"}


async def test_send_job_moves_queued_processing_complete(
    fake: FakeKlaviyo, client: httpx.AsyncClient
) -> None:
    campaign_id = await create(client)
    sent = await client.post(
        "/api/campaign-send-jobs", json={"data": {"type": "campaign-send-job", "id": campaign_id}}
    )
    assert sent.status_code == 202
    assert sent.json()["data"]["attributes"]["status"] == "queued"

    async def status() -> str:
        job = await client.get(f"/api/campaign-send-jobs/{campaign_id}")
        return str(job.json()["data"]["attributes"]["status"])

    fake.advance(1)
    assert await status() == "processing"
    fake.advance(10)
    assert await status() == "complete"
    fake.advance(120)
    campaign = await client.get(f"/api/campaigns/{campaign_id}")
    assert campaign.json()["data"]["attributes"]["status"] == "Sent"


async def test_cancel_and_revert_a_send_job(fake: FakeKlaviyo, client: httpx.AsyncClient) -> None:
    later = {"method": "static", "datetime": "2026-05-02T12:00:00+00:00"}
    scheduled, cancelled = await create(client, "a"), await create(client, "b")
    for campaign_id in (scheduled, cancelled):
        await client.patch(
            f"/api/campaigns/{campaign_id}",
            json={
                "data": {
                    "type": "campaign",
                    "id": campaign_id,
                    "attributes": {"send_strategy": later},
                }
            },
        )
        await client.post(
            "/api/campaign-send-jobs",
            json={"data": {"type": "campaign-send-job", "id": campaign_id}},
        )

    async def act(campaign_id: str, action: str) -> httpx.Response:
        return await client.patch(
            f"/api/campaign-send-jobs/{campaign_id}",
            json={
                "data": {
                    "type": "campaign-send-job",
                    "id": campaign_id,
                    "attributes": {"action": action},
                }
            },
        )

    assert (await act(scheduled, "revert")).status_code == 204
    assert (await act(cancelled, "cancel")).status_code == 204
    assert (await act(cancelled, "cancel")).status_code == 409
    statuses = {
        c: (await client.get(f"/api/campaigns/{c}")).json()["data"]["attributes"]["status"]
        for c in (scheduled, cancelled)
    }
    assert statuses == {scheduled: "Draft", cancelled: "Cancelled"}


async def test_recipient_estimation_job(fake: FakeKlaviyo, client: httpx.AsyncClient) -> None:
    campaign_id = await create(client)
    started = await client.post(
        "/api/campaign-recipient-estimation-jobs",
        json={"data": {"type": "campaign-recipient-estimation-job", "id": campaign_id}},
    )
    assert started.status_code == 202
    before = await client.get(f"/api/campaign-recipient-estimations/{campaign_id}")
    assert before.json()["data"]["attributes"]["estimated_recipient_count"] == 0
    fake.advance(60)
    job = await client.get(f"/api/campaign-recipient-estimation-jobs/{campaign_id}")
    after = await client.get(f"/api/campaign-recipient-estimations/{campaign_id}")
    assert job.json()["data"]["attributes"]["status"] == "complete"
    assert after.json()["data"]["attributes"]["estimated_recipient_count"] > 0


async def test_clone_copies_campaign_and_messages(client: httpx.AsyncClient) -> None:
    campaign_id = await create(client, "Original")
    clone = await client.post(
        "/api/campaign-clone",
        json={"data": {"type": "campaign", "id": campaign_id, "attributes": {}}},
    )
    data = clone.json()["data"]
    assert clone.status_code == 201
    assert data["attributes"]["name"] == "Original (Copy)"
    assert data["id"] != campaign_id
    assert len(data["relationships"]["campaign-messages"]["data"]) == 1


async def test_message_relationships_and_template(client: httpx.AsyncClient) -> None:
    campaign_id = await create(client)
    ids = await client.get(f"/api/campaigns/{campaign_id}/relationships/campaign-messages")
    message_id = ids.json()["data"][0]["id"]
    parent = await client.get(f"/api/campaign-messages/{message_id}/relationships/campaign")
    assert parent.json()["data"] == {"type": "campaign", "id": campaign_id}
    none_yet = await client.get(f"/api/campaign-messages/{message_id}/relationships/template")
    assert none_yet.json()["data"] is None
    assigned = await client.post(
        "/api/campaign-message-assign-template",
        json={
            "data": {
                "type": "campaign-message",
                "id": message_id,
                "relationships": {"template": {"data": {"type": "template", "id": "T1"}}},
            }
        },
    )
    assert assigned.status_code == 200
    # The spec's PostCampaignMessageResponse: label, channel and content, not the GET shape.
    parsed = PostCampaignMessageResponse.from_dict(assigned.json())
    assert parsed.data.attributes.channel == "email"
    assert parsed.data.attributes.label == "Spring sale"
    assert parsed.data.relationships.template.data.id == "T1"
    template = await client.get(f"/api/campaign-messages/{message_id}/template")
    assert template.json()["data"]["id"] == "T1"


async def test_update_message_rejects_another_channel(client: httpx.AsyncClient) -> None:
    campaign_id = await create(client)
    ids = await client.get(f"/api/campaigns/{campaign_id}/relationships/campaign-messages")
    message_id = ids.json()["data"][0]["id"]
    body = {
        "data": {
            "type": "campaign-message",
            "id": message_id,
            "attributes": {"definition": {"channel": "sms"}},
        }
    }
    response = await client.patch(f"/api/campaign-messages/{message_id}", json=body)
    assert response.status_code == 400


async def test_delete_then_404(client: httpx.AsyncClient) -> None:
    campaign_id = await create(client)
    assert (await client.delete(f"/api/campaigns/{campaign_id}")).status_code == 204
    gone = await client.get(f"/api/campaigns/{campaign_id}")
    assert gone.status_code == 404
    assert gone.json()["errors"][0]["code"] == "not_found"


async def test_error_answers_are_counted_under_their_operation(fake, client) -> None:  # type: ignore[no-untyped-def]
    response = await client.get("/api/campaigns/01NOPE0000000000000000000/")
    assert response.status_code == 404
    assert fake.counters.statuses[("get_campaign", 404)] == 1
