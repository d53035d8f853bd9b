"""The API key never leaves the Authorization header: not in a repr, a log line, an exception
(or its causes) or a URL. And the package logs one debug line per attempt."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio

from klaviyo_campaigns import ConfigurationError, Klaviyo, KlaviyoError, NotFoundError
from klaviyo_campaigns._generated.stable.models import CampaignCreateQuery
from klaviyo_campaigns._limits import WindowLimiter
from klaviyo_campaigns.testing import FakeKlaviyo

KEY = "pk_SECRET_4f1d9c0b7a6e5d4c3b2a1908"
LOGGERS = ("klaviyo_campaigns", "httpx", "httpcore")


def campaign_body(*, valid: bool = True) -> CampaignCreateQuery:
    """A create-campaign body; without a message (a 400) unless ``valid``."""
    message = {
        "type": "campaign-message",
        "attributes": {"definition": {"channel": "sms", "content": {"body": "Hi"}}},
    }
    return CampaignCreateQuery.from_dict(
        {
            "data": {
                "type": "campaign",
                "attributes": {
                    "name": "Secret sale",
                    "audiences": {"included": ["LIST1"], "excluded": []},
                    "campaign-messages": {"data": [message] if valid else []},
                },
            }
        }
    )


@pytest.fixture
def fake() -> FakeKlaviyo:
    return FakeKlaviyo(rate_limits=False, seed=2)


@pytest_asyncio.fixture
async def kl(fake: FakeKlaviyo) -> AsyncIterator[Klaviyo]:
    """Over loopback, so timeouts and dropped connections are real transport errors."""
    limiter = WindowLimiter(burst_window=0.001, steady_window=0.001, margin=0)
    async with (
        fake.serve() as url,
        httpx.AsyncClient(timeout=httpx.Timeout(5, read=0.1)) as http,
        Klaviyo(
            KEY,
            base_url=url,
            http_client=http,
            limiter=limiter,
            max_retries=1,
            backoff_base=0.001,
        ) as client,
    ):
        yield client


def chain(error: BaseException) -> Iterator[BaseException]:
    """An exception and every cause and context behind it."""
    seen: set[int] = set()
    stack = [error]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack.extend(e for e in (current.__cause__, current.__context__) if e is not None)


async def every_kind_of_outcome(kl: Klaviyo, fake: FakeKlaviyo) -> list[BaseException]:
    """Successes, status errors, retries, a 429, a drop, a timeout, a write that may have
    applied, and a 400 with details: the exceptions raised along the way."""
    [campaign_id] = fake.seed_campaigns(1)
    raised: list[BaseException] = []
    fake.faults.throttle_next("get_campaign", retry_after=0.01)
    await kl.stable.get_campaign(campaign_id)  # retried after the 429
    fake.faults.drop_next("get_campaign", 2)
    fake.faults.delay_next("get_campaigns", 0.3, times=2)
    fake.faults.non_json_next("get_campaign_message", status=503, times=2)
    fake.faults.fail_next("create_campaign", status=500, after_commit=True)
    calls = [
        kl.stable.get_campaign(campaign_id),
        kl.stable.get_campaign("NOPE"),
        kl.stable.get_campaigns(filter="equals(messages.channel,'email')"),
        kl.stable.get_campaign_message("NOPE"),
        kl.stable.create_campaign(body=campaign_body()),
        kl.stable.create_campaign(body=campaign_body(valid=False)),  # a 400 with a pointer
        kl.pre.get_campaign("NOPE"),
    ]
    for call in calls:
        try:
            await call
        except KlaviyoError as error:
            raised.append(error)
    return raised


async def test_the_key_is_in_no_repr_or_str(kl: Klaviyo) -> None:
    for thing in (kl, kl._sender, kl.limiter, kl.stable, kl.pre, kl.with_raw_response):
        assert KEY not in repr(thing)
        assert KEY not in str(thing)


async def test_the_key_is_in_no_exception_or_cause(kl: Klaviyo, fake: FakeKlaviyo) -> None:
    raised = await every_kind_of_outcome(kl, fake)
    kinds = {type(error).__name__ for error in raised}
    assert {"TransportError", "NotFoundError", "TimeoutError", "ServerError"} <= kinds
    assert {"WriteMayHaveBeenApplied", "BadRequestError"} <= kinds
    for error in raised:
        for link in chain(error):
            assert KEY not in str(link)
            assert KEY not in repr(link)
            assert all(KEY not in repr(arg) for arg in link.args)


async def test_the_key_is_in_no_log_line(
    kl: Klaviyo, fake: FakeKlaviyo, caplog: pytest.LogCaptureFixture
) -> None:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    await every_kind_of_outcome(kl, fake)
    names = {record.name.split(".")[0] for record in caplog.records}
    assert {"klaviyo_campaigns", "httpx", "httpcore"} <= names  # the capture saw all three
    assert KEY not in caplog.text
    for record in caplog.records:
        assert KEY not in record.getMessage()
        assert KEY not in repr(record.args)


async def test_the_key_is_in_no_url(fake: FakeKlaviyo) -> None:
    urls: list[str] = []

    async def on_request(request: httpx.Request) -> None:
        urls.append(str(request.url))

    async with (
        httpx.AsyncClient(transport=fake.transport(), event_hooks={"request": [on_request]}) as h,
        Klaviyo(KEY, base_url=fake.base_url, http_client=h) as kl,
    ):
        with pytest.raises(NotFoundError):
            await kl.stable.get_campaign("NOPE")
        await kl.pre.get_campaigns()
    assert len(urls) == 2
    assert all(KEY not in url for url in urls)


async def test_one_debug_line_per_attempt_with_operation_status_attempt_and_wait(
    kl: Klaviyo, fake: FakeKlaviyo, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="klaviyo_campaigns")
    kl._sender._max_retries = 3
    fake.faults.fail_next("get_campaign", 2, status=503)
    with pytest.raises(NotFoundError):
        await kl.stable.get_campaign("NOPE")
    lines = [r.getMessage() for r in caplog.records if r.name == "klaviyo_campaigns"]
    assert len(lines) == 3
    retry = re.compile(
        r"get_campaign GET /api/campaigns/\{id\} -> 503 \(attempt (\d)\), retrying in \d+\.\d+ s"
    )
    assert [m.group(1) for m in map(retry.fullmatch, lines[:2]) if m] == ["1", "2"]
    assert lines[2] == "get_campaign GET /api/campaigns/{id} -> 404 (attempt 3)"
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "klaviyo_campaigns")


def test_importing_the_package_configures_no_logging() -> None:
    package_logger = logging.getLogger("klaviyo_campaigns")
    assert package_logger.handlers == []
    assert package_logger.level == logging.NOTSET


# -- keys and URLs that would leak through the libraries below: checked once, at construction --

PASSWORD = "hunter2-SECRET-PASSWORD"
BAD_KEYS = {
    "two keys on two lines": f"{KEY}\npk_SECOND_7e6d5c4b3a2f1e0d9c8b",
    "a carriage return inside": f"{KEY[:10]}\r{KEY[10:]}",
    "two keys with a space": f"{KEY} pk_SECOND_7e6d5c4b3a2f1e0d9c8b",
    "a non-ASCII letter": f"{KEY}é",
    "a non-breaking space inside": f"{KEY[:10]}\u00a0{KEY[10:]}",
    "a NUL": f"{KEY}\x00",
}


def secret_parts(secret: str) -> list[str]:
    """The secret and each run of 8+ characters of it that holds no separator: none may show."""
    return [secret, *(part for part in re.split(r"[\s\x00]+", secret) if len(part) >= 8)]


def captured_texts(
    error: BaseException, caplog: pytest.LogCaptureFixture, *things: object
) -> list[str]:
    texts = [caplog.text, *(repr(thing) for thing in things), *(str(thing) for thing in things)]
    for record in caplog.records:
        texts += [record.getMessage(), repr(record.args)]
    for link in chain(error):
        texts += [str(link), repr(link), *(repr(arg) for arg in link.args)]
    return texts


@pytest.mark.parametrize("name", BAD_KEYS)
@pytest.mark.parametrize("source", ["argument", "environment"])
def test_a_key_a_header_cannot_carry_is_refused_without_being_shown(
    name: str, source: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for logger in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=logger)
    secret = BAD_KEYS[name]
    if source == "environment" and "\x00" in secret:
        pytest.skip("an environment variable cannot hold a NUL")
    if source == "environment":
        monkeypatch.setenv("KLAVIYO_API_KEY", secret)
    with pytest.raises(ConfigurationError) as caught:
        Klaviyo(secret if source == "argument" else None, base_url="http://127.0.0.1:9")
    assert ("api_key" if source == "argument" else "KLAVIYO_API_KEY") in str(caught.value)
    for text in captured_texts(caught.value, caplog, caught):
        for part in secret_parts(secret):
            assert part not in text


@pytest.mark.parametrize("key", [f"{KEY}\r", f"{KEY}\r\n", f"  {KEY}\t", f"\n{KEY}"])
async def test_surrounding_whitespace_is_stripped_and_nothing_else_changes(
    key: str, fake: FakeKlaviyo, caplog: pytest.LogCaptureFixture
) -> None:
    for logger in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=logger)
    sent: list[str] = []

    async def on_request(request: httpx.Request) -> None:
        sent.append(request.headers["Authorization"])

    async with (
        fake.serve() as url,
        httpx.AsyncClient(event_hooks={"request": [on_request]}) as http,
        Klaviyo(key, base_url=url, http_client=http, max_retries=0) as kl,
    ):
        with pytest.raises(NotFoundError) as caught:
            await kl.stable.get_campaign("NOPE")
        for text in captured_texts(caught.value, caplog, kl, kl._sender):
            assert KEY not in text
    assert sent == [f"Klaviyo-API-Key {KEY}"]  # the key itself, not a character more or less


@pytest.mark.parametrize(
    "url",
    [
        f"https://user:{PASSWORD}@a.klaviyo.com",
        f"http://user:{PASSWORD}@127.0.0.1:9/prefix",
        f"https://{PASSWORD}@a.klaviyo.com",
        f"http://user:{PASSWORD}@127.0.0.1:99999",
        f"ftp://user:{PASSWORD}@a.klaviyo.com",
    ],
)
@pytest.mark.parametrize("source", ["argument", "environment"])
def test_credentials_in_base_url_are_refused_and_never_shown(
    url: str, source: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # httpx would send them as Basic auth in place of the API key, so no request could work.
    for logger in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=logger)
    if source == "environment":
        monkeypatch.setenv("KLAVIYO_BASE_URL", url)
    with pytest.raises(ConfigurationError) as caught:
        Klaviyo(KEY, base_url=url if source == "argument" else None)
    assert ("base_url" if source == "argument" else "KLAVIYO_BASE_URL") in str(caught.value)
    for text in captured_texts(caught.value, caplog, caught):
        assert PASSWORD not in text
        assert KEY not in text
