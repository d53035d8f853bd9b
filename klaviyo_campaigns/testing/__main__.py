"""``python -m klaviyo_campaigns.testing --port N``: serve the fake Klaviyo until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .fake import FakeKlaviyo


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(
        prog="python -m klaviyo_campaigns.testing",
        description="Serve the fake Klaviyo Campaigns API.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument("--no-rate-limits", action="store_true", help="never answer 429")
    parser.add_argument(
        "--speedup", type=float, default=1.0, help="shrink rate-limit windows by this factor"
    )
    args = parser.parse_args(argv)
    fake = FakeKlaviyo(rate_limits=not args.no_rate_limits, speedup=args.speedup)

    async def run() -> None:
        async with fake.serve(args.host, args.port) as url:
            print(f"Fake Klaviyo serving {', '.join(fake.specs)} at {url}", flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
