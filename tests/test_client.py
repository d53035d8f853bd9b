"""The ``Klaviyo`` client against the fake: configuration, the headers it sends, typed errors
for every status and every odd body, and validation that stops a request before it is sent.

Requests are captured with httpx event hooks on an injected ``httpx.AsyncClient`` (a real
client, reaching the fake in-process), so what is asserted is what went over the wire.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from klaviyo_campaigns import (
    REVISIONS,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    Klaviyo,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    TimeoutError,
    ValidationError,
    __version__,
)
from klaviyo_campaigns._core import Response
from klaviyo_campaigns._generated.stable.models import (
    CampaignCreateQuery,
    CampaignSendJobCreateQuery,
)
from klaviyo_campaigns.errors import FilterError
from klaviyo_campaigns.testing import FakeClock, FakeKlaviyo

KEY = "pk_test_client_0123456789abcdef"
STABLE, PRE = REVISIONS
JSON_API = "application/vnd.api+json"
START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
CHANNEL = "equals(messages.channel,'email')"


def campaign_body(name: str = "Spring sale") -> CampaignCreateQuery:
    """A stable create-campaign body, as a user builds it."""
    return CampaignCreateQuery.from_dict(
        {
            "data": {
                "type": "campaign",
                "attributes": {
                    "name": name,
                    "audiences": {"included": ["LIST1"], "excluded": []},
                    "campaign-messages": {
                        "data": [
                            {
                                "type": "campaign-message",
                                "attributes": {
                                    "definition": {
                                        "channel": "email",
                                        "content": {
                                            "subject": "Hello",
                                            "from_email": "shop@example.com",
                                        },
                                    }
                                },
                            }
                        ]
                    },
                },
            }
        }
    )


class Recorder:
    """httpx event hooks keeping every request sent and every response received."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.responses: list[httpx.Response] = []

    async def on_request(self, request: httpx.Request) -> None:
        self.requests.append(request)

    async def on_response(self, response: httpx.Response) -> None:
        self.responses.append(response)

    def hooks(self) -> dict[str, list[Callable[[Any], Awaitable[None]]]]:
        return {"request": [self.on_request], "response": [self.on_response]}


@pytest.fixture
def fake() -> FakeKlaviyo:
    return FakeKlaviyo(clock=FakeClock(START, ticking=False), rate_limits=False, seed=3)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest_asyncio.fixture
async def http(fake: FakeKlaviyo, recorder: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=fake.transport(), event_hooks=recorder.hooks()) as c:
        yield c


@pytest_asyncio.fixture
async def kl(fake: FakeKlaviyo, http: httpx.AsyncClient) -> AsyncIterator[Klaviyo]:
    async with Klaviyo(KEY, base_url=fake.base_url, http_client=http, max_retries=0) as client:
        yield client


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KLAVIYO_API_KEY", raising=False)
    monkeypatch.delenv("KLAVIYO_BASE_URL", raising=False)


# -- configuration --------------------------------------------------------------------------


async def test_api_key_from_the_argument_is_sent(kl: Klaviyo, recorder: Recorder) -> None:
    with pytest.raises(NotFoundError):
        await kl.stable.get_campaign("NOPE")
    assert recorder.requests[0].headers["Authorization"] == f"Klaviyo-API-Key {KEY}"


async def test_api_key_falls_back_to_KLAVIYO_API_KEY(
    monkeypatch: pytest.MonkeyPatch, fake: FakeKlaviyo, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    monkeypatch.setenv("KLAVIYO_API_KEY", "pk_from_environment")
    async with Klaviyo(base_url=fake.base_url, http_client=http) as kl:
        with pytest.raises(NotFoundError):
            await kl.stable.get_campaign("NOPE")
    assert recorder.requests[0].headers["Authorization"] == "Klaviyo-API-Key pk_from_environment"


async def test_the_api_key_argument_wins_over_the_environment(
    monkeypatch: pytest.MonkeyPatch, fake: FakeKlaviyo, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    monkeypatch.setenv("KLAVIYO_API_KEY", "pk_from_environment")
    async with Klaviyo(KEY, base_url=fake.base_url, http_client=http) as kl:
        with pytest.raises(NotFoundError):
            await kl.stable.get_campaign("NOPE")
    assert recorder.requests[0].headers["Authorization"] == f"Klaviyo-API-Key {KEY}"


@pytest.mark.parametrize("key", [None, "", "   "])
def test_no_api_key_is_a_configuration_error(key: str | None) -> None:
    with pytest.raises(ConfigurationError, match="KLAVIYO_API_KEY"):
        Klaviyo(key)


def test_base_url_defaults_to_klaviyo() -> None:
    assert Klaviyo(KEY).base_url == "https://a.klaviyo.com"


async def test_base_url_from_the_argument_is_where_requests_go(
    kl: Klaviyo, fake: FakeKlaviyo, recorder: Recorder
) -> None:
    with pytest.raises(NotFoundError):
        await kl.stable.get_campaign("NOPE")
    assert str(recorder.requests[0].url) == f"{fake.base_url}/api/campaigns/NOPE"


async def test_base_url_falls_back_to_KLAVIYO_BASE_URL(
    monkeypatch: pytest.MonkeyPatch, fake: FakeKlaviyo, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    monkeypatch.setenv("KLAVIYO_BASE_URL", "http://from-environment.test/")
    async with Klaviyo(KEY, http_client=http) as kl:
        assert kl.base_url == "http://from-environment.test"
        with pytest.raises(NotFoundError):
            await kl.stable.get_campaign("NOPE")
    assert recorder.requests[0].url.host == "from-environment.test"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"base_url": "ftp://a.klaviyo.com"}, "base_url"),
        ({"max_retries": -1}, "max_retries"),
        ({"backoff_base": 0}, "backoff_base"),
        ({"backoff_base": 2.0, "backoff_cap": 1.0}, "backoff_cap"),
    ],
)
def test_bad_settings_are_configuration_errors(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Klaviyo(KEY, **options)


async def test_the_default_timeout_is_finite() -> None:
    async with Klaviyo(KEY) as kl:
        timeout = kl._http.timeout  # the client the SDK built for itself
    values = [timeout.connect, timeout.read, timeout.write, timeout.pool]
    assert all(value is not None and 0 < value <= 60 for value in values)


async def test_the_timeout_setting_applies_to_requests(fake: FakeKlaviyo) -> None:
    fake.faults.delay_next("get_campaign", 0.2)
    async with fake.serve() as url, Klaviyo(KEY, base_url=url, timeout=0.05, max_retries=0) as kl:
        with pytest.raises(TimeoutError, match="get_campaign"):
            await kl.stable.get_campaign("NOPE")


async def test_an_injected_http_client_is_used_and_left_open(
    fake: FakeKlaviyo, http: httpx.AsyncClient, recorder: Recorder
) -> None:
    async with Klaviyo(KEY, base_url=fake.base_url, http_client=http) as kl:
        with pytest.raises(NotFoundError):
            await kl.stable.get_campaign("NOPE")
    assert len(recorder.requests) == 1
    assert not http.is_closed
    still_open = await http.get(f"{fake.base_url}/api/campaigns/NOPE")  # still sends
    assert still_open.status_code == 400  # no revision header: the fake says so


async def test_the_client_it_built_itself_is_closed_on_exit() -> None:
    async with Klaviyo(KEY) as kl:
        own = kl._http
    assert own.is_closed


# -- headers --------------------------------------------------------------------------------


async def test_stable_operations_send_the_stable_revision(kl: Klaviyo, recorder: Recorder) -> None:
    await kl.stable.get_campaigns(filter=CHANNEL)
    assert recorder.requests[0].headers["revision"] == STABLE


async def test_pre_operations_send_the_pre_revision(kl: Klaviyo, recorder: Recorder) -> None:
    await kl.pre.get_campaigns()
    assert recorder.requests[0].headers["revision"] == PRE


async def test_requests_accept_json_api(kl: Klaviyo, recorder: Recorder) -> None:
    await kl.pre.get_campaigns()
    assert recorder.requests[0].headers["Accept"] == JSON_API


async def test_writes_send_a_json_api_body(kl: Klaviyo, recorder: Recorder) -> None:
    created = await kl.stable.create_campaign(body=campaign_body("Headers"))
    request = recorder.requests[0]
    assert request.headers["Content-Type"] == JSON_API
    assert json.loads(request.content)["data"]["attributes"]["name"] == "Headers"
    assert created.data.attributes.name == "Headers"


async def test_reads_send_no_content_type(kl: Klaviyo, recorder: Recorder) -> None:
    await kl.pre.get_campaigns()
    assert "Content-Type" not in recorder.requests[0].headers


async def test_the_user_agent_names_the_sdk_and_its_version(
    kl: Klaviyo, recorder: Recorder
) -> None:
    await kl.pre.get_campaigns()
    assert recorder.requests[0].headers["User-Agent"].startswith(f"klaviyo-campaigns/{__version__}")


async def test_raw_responses_carry_status_and_headers(kl: Klaviyo, fake: FakeKlaviyo) -> None:
    [campaign_id] = fake.seed_campaigns(1)
    raw = await kl.with_raw_response.stable.get_campaign(campaign_id)
    assert raw.status_code == 200
    assert raw.headers["content-type"].startswith(JSON_API)
    assert raw.parsed is not None
    assert raw.parsed.data.id == campaign_id


async def test_both_revisions_return_the_one_response_type(kl: Klaviyo, fake: FakeKlaviyo) -> None:
    fake.seed_campaigns(1, revision=REVISIONS.pre)
    stable = await kl.with_raw_response.stable.get_campaigns(
        filter="equals(messages.channel,'email')"
    )
    pre = await kl.with_raw_response.pre.get_campaigns()
    assert type(stable) is type(pre) is Response
    assert pre.status_code == 200 and pre.parsed is not None and len(pre.parsed.data) == 1


# -- status errors --------------------------------------------------------------------------


async def test_400_is_a_bad_request_error_with_its_source_parameter(kl: Klaviyo) -> None:
    with pytest.raises(BadRequestError) as caught:
        await kl.stable.get_campaigns(filter="contains(name,'Spring')")  # no channel
    error = caught.value
    assert error.status == 400
    assert error.errors[0].code == "invalid"
    assert error.errors[0].parameter == "filter"
    assert "channel filter is required" in str(error)


async def test_401_is_an_authentication_error(fake: FakeKlaviyo, http: httpx.AsyncClient) -> None:
    fake.api_keys = {"pk_the_only_good_key": ["campaigns:read", "campaigns:write"]}
    async with Klaviyo(KEY, base_url=fake.base_url, http_client=http) as kl:
        with pytest.raises(AuthenticationError) as caught:
            await kl.stable.get_campaign("NOPE")
    assert caught.value.status == 401
    assert caught.value.errors[0].code == "authentication_failed"


async def test_403_is_a_permission_denied_error(fake: FakeKlaviyo, http: httpx.AsyncClient) -> None:
    fake.api_keys = {KEY: ["campaigns:read"]}
    async with Klaviyo(KEY, base_url=fake.base_url, http_client=http) as kl:
        with pytest.raises(PermissionDeniedError) as caught:
            await kl.stable.create_campaign(body=campaign_body())
    assert caught.value.status == 403
    assert fake.counters.writes["create_campaign"] == 0


async def test_404_names_the_operation_method_and_path(kl: Klaviyo) -> None:
    with pytest.raises(NotFoundError) as caught:
        await kl.stable.get_campaign("NOPE")
    error = caught.value
    assert (error.status, error.operation, error.method, error.path) == (
        404,
        "get_campaign",
        "GET",
        "/api/campaigns/{id}",
    )
    assert error.errors[0].code == "not_found"
    assert error.errors[0].id  # Klaviyo's error id, for support tickets
    assert "get_campaign: GET /api/campaigns/{id}" in str(error)


async def test_409_is_a_conflict_error_with_its_detail(kl: Klaviyo, fake: FakeKlaviyo) -> None:
    [campaign_id] = fake.seed_campaigns(1)
    send = CampaignSendJobCreateQuery.from_dict(
        {"data": {"type": "campaign-send-job", "id": campaign_id}}
    )
    await kl.stable.send_campaign(body=send)
    with pytest.raises(ConflictError) as caught:
        await kl.stable.send_campaign(body=send)
    assert caught.value.status == 409
    assert caught.value.errors[0].title == "Conflict."
    assert "not 'Draft'" in (caught.value.errors[0].detail or "")


async def test_429_after_the_retries_is_a_rate_limit_error(kl: Klaviyo, fake: FakeKlaviyo) -> None:
    fake.faults.throttle_next("get_campaign", retry_after=0.01)
    with pytest.raises(RateLimitError) as caught:
        await kl.stable.get_campaign("NOPE")
    assert caught.value.status == 429
    assert caught.value.errors[0].code == "throttled"
    assert caught.value.headers["retry-after"] == "0.010"


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_is_a_server_error(kl: Klaviyo, fake: FakeKlaviyo, status: int) -> None:
    fake.faults.fail_next("get_campaign", status=status)
    with pytest.raises(ServerError) as caught:
        await kl.stable.get_campaign("NOPE")
    assert caught.value.status == status
    assert caught.value.errors[0].detail == "Injected fault."


async def test_an_html_503_from_a_proxy_is_a_server_error_without_details(
    kl: Klaviyo, fake: FakeKlaviyo
) -> None:
    fake.faults.non_json_next("get_campaign", status=503)
    with pytest.raises(ServerError) as caught:
        await kl.stable.get_campaign("NOPE")
    assert caught.value.status == 503
    assert caught.value.errors == ()


def odd_server(status: int, body: bytes, content_type: str = JSON_API) -> httpx.ASGITransport:
    """A tiny ASGI server answering every request with one fixed status and body: what the
    fake, which always answers in spec, cannot be made to send."""

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"content-type", content_type.encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return httpx.ASGITransport(app=app)


@pytest.mark.parametrize(
    ("status", "body", "error_class"),
    [
        (400, b'{"message": "bad"}', BadRequestError),
        (418, b'{"errors": "not a list"}', APIStatusError),
        (500, b"[1, 2, 3]", ServerError),
        (503, b"", ServerError),
        (404, b'{"errors": [null, 7, {"source": "x"}]}', NotFoundError),
    ],
)
async def test_error_bodies_without_json_api_errors_still_give_typed_errors(
    status: int, body: bytes, error_class: type[APIStatusError]
) -> None:
    http = httpx.AsyncClient(transport=odd_server(status, body))
    async with http, Klaviyo(KEY, http_client=http, max_retries=0) as kl:
        with pytest.raises(error_class) as caught:
            await kl.stable.get_campaign("ID")
    assert type(caught.value) is error_class
    assert caught.value.status == status


async def test_a_2xx_body_that_is_not_json_is_a_response_validation_error(
    kl: Klaviyo, fake: FakeKlaviyo
) -> None:
    fake.faults.non_json_next("get_campaign", status=200)
    with pytest.raises(ResponseValidationError, match="not JSON"):
        await kl.stable.get_campaign("NOPE")


async def test_a_2xx_body_missing_a_required_field_names_the_field() -> None:
    document = {"links": {"self": "x"}}
    http = httpx.AsyncClient(transport=odd_server(200, json.dumps(document).encode()))
    async with http, Klaviyo(KEY, http_client=http) as kl:
        with pytest.raises(ResponseValidationError, match="required field 'data'") as caught:
            await kl.stable.get_campaign("ID")
    assert caught.value.operation == "get_campaign"


async def test_a_nested_field_that_does_not_parse_raises_when_read_naming_its_path() -> None:
    """Models parse a field when it is first read: what is wrong below the top level raises
    then, as a ResponseValidationError naming the operation and where the field sits."""
    good = {"type": "campaign", "id": "c0", "attributes": {}, "links": {"self": "x"}}
    bad = {
        "type": "campaign",
        "id": "c1",
        "attributes": {"status": 7, "created_at": "not a time", "name": "ok"},
        "links": {"self": "x"},
    }
    document = {"data": [good, bad], "links": {"self": "x"}}
    http = httpx.AsyncClient(transport=odd_server(200, json.dumps(document).encode()))
    async with http, Klaviyo(KEY, http_client=http) as kl:
        page = await kl.stable.get_campaigns(filter=CHANNEL)
    assert page.data[0].id == "c0"
    broken = page.data[1].attributes
    assert broken.name == "ok"
    with pytest.raises(ResponseValidationError, match=r"at data\[1\]\.attributes\.status") as e:
        _ = broken.status
    assert (e.value.operation, e.value.method, e.value.path) == (
        "get_campaigns",
        "GET",
        "/api/campaigns",
    )
    with pytest.raises(ResponseValidationError, match=r"at data\[1\]\.attributes\.created_at"):
        broken.to_dict()

    document = {"data": [good, {k: v for k, v in bad.items() if k != "id"}], "links": {}}
    http = httpx.AsyncClient(transport=odd_server(200, json.dumps(document).encode()))
    async with http, Klaviyo(KEY, http_client=http) as kl:
        page = await kl.stable.get_campaigns(filter=CHANNEL)
    with pytest.raises(ResponseValidationError, match=r"required field 'id' of .* at data "):
        _ = page.data


# -- validation before sending ---------------------------------------------------------------


async def test_a_value_outside_an_enum_is_refused_before_sending(
    kl: Klaviyo, fake: FakeKlaviyo, recorder: Recorder
) -> None:
    with pytest.raises(ValidationError, match=r"fields\[campaign\]: 'nope'"):
        await kl.stable.get_campaign("ID", fields_campaign=["nope"])
    assert recorder.requests == []
    assert sum(fake.counters.requests.values()) == 0


async def test_a_filter_on_a_field_the_operation_lacks_is_refused_before_sending(
    kl: Klaviyo, fake: FakeKlaviyo, recorder: Recorder
) -> None:
    with pytest.raises(FilterError, match=r"messages\.channel"):
        await kl.stable.get_campaigns(filter="equals(nope,'x')")
    assert recorder.requests == []
    assert sum(fake.counters.requests.values()) == 0


async def test_filter_text_that_does_not_parse_is_refused_before_sending(
    kl: Klaviyo, recorder: Recorder
) -> None:
    with pytest.raises(ValidationError):
        await kl.stable.get_campaigns(filter="equals(messages.channel,'email'")
    assert recorder.requests == []


async def test_a_string_where_a_list_is_expected_is_refused_before_sending(
    kl: Klaviyo, recorder: Recorder
) -> None:
    with pytest.raises(ValidationError, match="expected a list"):
        await kl.stable.get_campaign("ID", fields_campaign="name")
    assert recorder.requests == []


@pytest.mark.parametrize("bad", ["", "a/b", "has space", "x" * 65, "../etc"])
async def test_a_malformed_id_is_refused_before_sending(
    kl: Klaviyo, recorder: Recorder, bad: str
) -> None:
    with pytest.raises(ValidationError, match="not a Klaviyo id"):
        await kl.stable.get_campaign(bad)
    assert recorder.requests == []
