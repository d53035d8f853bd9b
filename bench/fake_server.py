"""``python -m bench.fake_server``: the fake Klaviyo, seeded, served on loopback in its own process.

Prints the base URL once serving. Request validation is off (it is a test feature, not a cost
Klaviyo's own servers put on the client); rate limits are on only with ``--rate-limits``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc

from klaviyo_campaigns.testing import FakeKlaviyo


def main(argv: list[str] | None = None) -> None:
    """Parse the command line, seed the fake, serve until killed."""
    parser = argparse.ArgumentParser(prog="python -m bench.fake_server")
    parser.add_argument("--campaigns", type=int, default=0, help="stable campaigns to seed")
    parser.add_argument("--rate-limits", action="store_true", help="enforce the spec's limits")
    parser.add_argument("--speedup", type=float, default=1.0, help="shrink the limit windows")
    args = parser.parse_args(argv)
    fake = FakeKlaviyo(rate_limits=args.rate_limits, speedup=args.speedup, validate=False, seed=8)
    fake.seed_campaigns(args.campaigns)
    # The seeded store lives as long as the process: move it out of the collector's sight, as a
    # pre-forking server does with what it loaded. Otherwise every full collection walks all
    # its objects, and the pages it lands on take about twice as long as the others: noise in
    # the server's time per page, which one page of prefetch is not meant to hide.
    gc.freeze()

    async def run() -> None:
        async with fake.serve() as url:
            print(url, flush=True)
            await asyncio.Event().wait()

    asyncio.run(run())


if __name__ == "__main__":
    main()
