"""Every request is checked first; each problem gets Klaviyo's status and an errors document."""

from __future__ import annotations

import httpx
import pytest
from fake_helpers import KEY, PRE, STABLE, email_campaign, headers

from klaviyo_campaigns.testing import FakeClock, FakeKlaviyo


def assert_errors(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/vnd.api+json"
    error = response.json()["errors"][0]
    assert set(error) >= {"id", "code", "title", "detail"}
    assert error["code"] == code
    return dict(error)


async def test_missing_revision_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/campaigns/X", headers={"revision": ""})
    assert_errors(response, 400, "invalid_revision")


@pytest.mark.parametrize("revision", ["2023-01-01", "yesterday", f"{STABLE}.beta"])
async def test_unknown_revision_is_400(client: httpx.AsyncClient, revision: str) -> None:
    response = await client.get("/api/campaigns/X", headers={"revision": revision})
    assert PRE in str(assert_errors(response, 400, "invalid_revision")["detail"])


async def test_missing_api_key_is_401(fake: FakeKlaviyo) -> None:
    async with httpx.AsyncClient(transport=fake.transport(), base_url=fake.base_url) as c:
        response = await c.get("/api/campaigns/X", headers={"revision": STABLE})
    assert_errors(response, 401, "not_authenticated")


@pytest.mark.parametrize("value", ["Bearer pk_x", "Klaviyo-API-Key", "pk_x", "Klaviyo-API-Key a b"])
async def test_malformed_api_key_is_401(client: httpx.AsyncClient, value: str) -> None:
    response = await client.get("/api/campaigns/X", headers={"Authorization": value})
    assert_errors(response, 401, "not_authenticated")


async def test_unknown_key_is_401_and_missing_scope_is_403() -> None:
    fake = FakeKlaviyo(
        clock=FakeClock(ticking=False), api_keys={"pk_read": ["campaigns:read"]}, rate_limits=False
    )
    async with httpx.AsyncClient(transport=fake.transport(), base_url=fake.base_url) as c:
        unknown = await c.post("/api/campaigns", json=email_campaign(), headers=headers(key=KEY))
        read_only = await c.post(
            "/api/campaigns", json=email_campaign(), headers=headers(key="pk_read")
        )
        allowed = await c.get("/api/campaigns/X", headers=headers(key="pk_read"))
    assert_errors(unknown, 401, "authentication_failed")
    assert "campaigns:write" in str(assert_errors(read_only, 403, "permission_denied")["detail"])
    assert_errors(allowed, 404, "not_found")


async def test_unknown_path_is_404_and_wrong_method_is_405(client: httpx.AsyncClient) -> None:
    assert_errors(await client.get("/api/flows"), 404, "not_found")
    response = await client.put("/api/campaigns/X", json={})
    assert_errors(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "DELETE, GET, PATCH"


async def test_paths_differ_by_revision(client: httpx.AsyncClient) -> None:
    stable = await client.get("/api/campaign-audiences/X")
    pre = await client.get("/api/campaign-audiences/X", headers={"revision": PRE})
    assert_errors(stable, 404, "not_found")
    assert "No endpoint" in str(stable.json()["errors"][0]["detail"])
    assert "does not exist" in str(assert_errors(pre, 404, "not_found")["detail"])


async def test_wrong_content_type_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/campaigns", content=b"name=x", headers={"content-type": "text/plain"}
    )
    assert_errors(response, 415, "unsupported_media_type")


async def test_malformed_json_is_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/campaigns", content=b'{"data": ')
    assert_errors(response, 400, "parse_error")


async def test_body_the_spec_rejects_is_400_with_pointers(client: httpx.AsyncClient) -> None:
    body = email_campaign()
    body["data"]["attributes"]["name"] = 42
    del body["data"]["attributes"]["audiences"]
    response = await client.post("/api/campaigns", json=body)
    assert_errors(response, 400, "invalid")
    pointers = {e["source"]["pointer"] for e in response.json()["errors"]}
    assert pointers == {"/data/attributes/name", "/data/attributes"}


@pytest.mark.parametrize("member", ["send_options", "tracking_options", "send_strategy"])
async def test_null_where_the_spec_makes_a_one_of_nullable_is_accepted(
    client: httpx.AsyncClient, member: str
) -> None:
    """The spec gives these ``nullable: true`` beside a ``oneOf``; Klaviyo's own SDK sends
    ``null`` for them. Null is accepted, and a value matching no variant is still refused."""
    body = email_campaign()
    body["data"]["attributes"][member] = None
    created = await client.post("/api/campaigns", json=body)
    assert created.status_code == 201, created.text
    campaign_id = created.json()["data"]["id"]
    update = {"data": {"type": "campaign", "id": campaign_id, "attributes": {member: None}}}
    updated = await client.patch(f"/api/campaigns/{campaign_id}", json=update)
    assert updated.status_code == 200, updated.text
    body["data"]["attributes"][member] = "not an object"
    assert_errors(await client.post("/api/campaigns", json=body), 400, "invalid")


async def test_parameter_the_spec_rejects_is_400(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/api/campaigns",
        params={"filter": "equals(messages.channel,'email')", "fields[campaign]": "name,colour"},
    )
    error = assert_errors(response, 400, "invalid")
    assert error["source"] == {"parameter": "fields[campaign]"}


async def test_body_id_that_contradicts_the_url_is_409(client: httpx.AsyncClient) -> None:
    created = await client.post("/api/campaigns", json=email_campaign())
    campaign_id = created.json()["data"]["id"]
    response = await client.patch(
        f"/api/campaigns/{campaign_id}",
        json={"data": {"type": "campaign", "id": "OTHER", "attributes": {"name": "x"}}},
    )
    assert_errors(response, 409, "conflict")


async def test_no_request_reaches_a_stack_trace(
    fake: FakeKlaviyo, client: httpx.AsyncClient
) -> None:
    odd = [
        client.get("/api/campaigns", params={"filter": "equals(messages.channel,'email'"}),
        client.get(
            "/api/campaigns",
            params={"filter": "equals(messages.channel,'email')", "sort": "colour"},
        ),
        client.post(
            "/api/campaign-clone",
            json={"data": {"type": "campaign", "id": "nope", "attributes": {}}},
        ),
        client.patch(
            "/api/campaign-send-jobs/nope",
            json={
                "data": {
                    "type": "campaign-send-job",
                    "id": "nope",
                    "attributes": {"action": "cancel"},
                }
            },
        ),
        client.post("/api/campaigns", json=[]),
    ]
    for request in odd:
        response = await request
        assert 400 <= response.status_code < 500
        assert "errors" in response.json()
    assert fake.unexpected_errors == []
