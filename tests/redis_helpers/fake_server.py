"""The fake Klaviyo in a process of its own: `python fake_server.py <speedup>`.

Serves a fake (spec validation off, rate limits on, sped up) seeded with one `.pre` campaign on
loopback, prints `{"url": ..., "campaign_id": ...}`, and on any line on stdin prints the count of
answers by status and exits. Its own process keeps the test runner's heap and event loop out of
the request path: a pause there would bunch arrivals together and look like a burst.
"""

from __future__ import annotations

import asyncio
import gc
import json
import sys

from klaviyo_campaigns.testing import FakeKlaviyo


async def main(speedup: float) -> None:
    fake = FakeKlaviyo(speedup=speedup, validate=False, seed=1)
    pre = next(revision for revision in fake.specs if revision.endswith(".pre"))
    campaign_id = fake.seed_campaigns(1, revision=pre)[0]
    gc.collect()
    gc.freeze()
    async with fake.serve() as url:
        print(json.dumps({"url": url, "campaign_id": campaign_id}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    statuses: dict[str, int] = {}
    for (_, status), count in fake.counters.statuses.items():
        statuses[str(status)] = statuses.get(str(status), 0) + count
    print(json.dumps(statuses), flush=True)


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1])))
