"""The embedded fake Klaviyo: a stateful, spec-validating Campaigns API for tests and demos.

Needs the ``testing`` extra (``pip install 'klaviyo-campaigns[testing]'``)::

    from klaviyo_campaigns.testing import FakeKlaviyo

    fake = FakeKlaviyo()
    transport = fake.transport()            # in-process, for httpx.AsyncClient(transport=...)
    async with fake.serve() as base_url:     # or over loopback HTTP
        ...
    fake.advance(3600)                       # time passes: scheduled messages send
    fake.faults.fail_next("create_campaign", 2, status=503)
    assert fake.counters.writes["create_campaign"] == 1
"""

from .app import ConnectionDropped, FakeApp
from .behaviour import Timings
from .clock import FakeClock
from .fake import FakeKlaviyo
from .faults import Counters, Fault, Faults
from .server import serve
from .store import Dataset, Record


def create_app(**options: object) -> FakeApp:
    """A fresh fake's ASGI app (``FakeKlaviyo(**options).app``)."""
    return FakeKlaviyo(**options).app  # type: ignore[arg-type]


__all__ = [
    "ConnectionDropped",
    "Counters",
    "Dataset",
    "FakeApp",
    "FakeClock",
    "FakeKlaviyo",
    "Fault",
    "Faults",
    "Record",
    "Timings",
    "create_app",
    "serve",
]
