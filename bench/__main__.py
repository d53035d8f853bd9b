"""``python -m bench``: run every measurement and print one table of ratios.

Each ratio compares the SDK with a baseline measured in the same run, on the same server,
alternating sides repeat by repeat so background load falls on both alike. ``--quick`` (under a
minute) runs fewer repeats, 25 pages instead of 100, 50 accounts instead of 200 and the rate
limit rows on faster clocks: for checking the harness, not for numbers. Progress goes to stderr
as it runs, the table to stdout at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import ExitStack

import httpx

from . import (
    concurrency,
    limiter,
    listing,
    many_accounts,
    overhead,
    paced,
    processes,
    progress,
    startup,
)
from .table import Row, render


def _extra_rows(quick: bool) -> list[Row]:
    """Rows from ``bench/redis_limiter.py`` (another helper's), when present and runnable.

    Its interface: ``rows(quick=...)``, plain or async, returning a list of ``bench.table.Row``.
    """
    try:
        from . import redis_limiter  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        return []
    rows: Callable[..., list[Row] | Awaitable[list[Row]]] | None = getattr(
        redis_limiter, "rows", None
    )
    if rows is None:
        return []
    try:
        result = rows(quick=quick)
        return await_if_needed(result)
    except Exception as exc:  # e.g. no redis-server here: say so in the table, do not fail
        return [Row("6. Redis limiter", "skipped", detail=f"{type(exc).__name__}: {exc}")]


def await_if_needed(result: list[Row] | Awaitable[list[Row]]) -> list[Row]:
    """``rows()`` may be a plain or an async function."""
    if inspect.isawaitable(result):
        return asyncio.run(_wait(result))
    return result


async def _wait(result: Awaitable[list[Row]]) -> list[Row]:
    return await result


async def _network_rows(
    fixed_url: str,
    listing_fake: processes.Child,
    limits_fake: processes.Child,
    paced_fake: processes.Child,
    accounts_fake: processes.Child,
    quick: bool,
) -> list[Row]:
    progress.section("1. per-call overhead")
    rows = await overhead.measure(fixed_url, repeats=5 if quick else 9, calls=3 if quick else 8)
    progress.section("2. concurrency")
    rows += await concurrency.measure(
        fixed_url, repeats=1 if quick else 3, requests=200 if quick else concurrency.REQUESTS
    )
    progress.section("3. listing")
    rows += await listing.measure(
        listing_fake.url,
        repeats=1 if quick else 2,
        pages=listing.QUICK_PAGES if quick else listing.PAGES,
        steady_pages=listing.QUICK_STEADY_PAGES if quick else listing.STEADY_PAGES,
    )
    progress.section("4. limiter")
    if quick:
        rows += await limiter.measure(
            limits_fake.url, repeats=1, calls=450, speedup=limiter.QUICK_SPEEDUP
        )
    else:
        rows += await limiter.measure(limits_fake.url, repeats=1)
    progress.section("4b. paced limiter")
    rows += await paced.measure(paced_fake.url, paced.QUICK_SPEEDUP if quick else paced.SPEEDUP)
    progress.section("7. many accounts in one process")
    if quick:
        rows += await many_accounts.measure(accounts_fake.url, repeats=1, walks=1, accounts=50)
    else:
        rows += await many_accounts.measure(accounts_fake.url, repeats=2, walks=many_accounts.WALKS)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats (harness check)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    load = os.getloadavg()[0]
    progress.start(total=9)
    with ExitStack() as stack:
        # The seeded fakes start first: they seed while the fixed-body measurements run.
        pages = listing.QUICK_PAGES if args.quick else listing.PAGES
        listing_fake = stack.enter_context(
            processes.fake_server(campaigns=pages * listing.PAGE_SIZE)
        )
        limits_fake = stack.enter_context(
            processes.fake_server(
                campaigns=1,
                rate_limits=True,
                speedup=limiter.QUICK_SPEEDUP if args.quick else limiter.SPEEDUP,
            )
        )
        paced_fake = stack.enter_context(
            processes.fake_server(
                campaigns=1,
                rate_limits=True,
                speedup=paced.QUICK_SPEEDUP if args.quick else paced.SPEEDUP,
            )
        )
        accounts_fake = stack.enter_context(
            processes.fake_server(
                campaigns=many_accounts.CAMPAIGNS,
                rate_limits=True,
                speedup=many_accounts.SPEEDUP,
            )
        )
        fixed = stack.enter_context(processes.fixed_server())
        rows = asyncio.run(
            _network_rows(
                fixed.url, listing_fake, limits_fake, paced_fake, accounts_fake, args.quick
            )
        )
        progress.section("5. cold start")
        rows += startup.measure_import(fixed.url, repeats=3 if args.quick else 7)
    progress.section("5. make generate")
    rows += startup.measure_generate(repeats=1 if args.quick else 2)
    progress.section("6. Redis limiter")
    rows += _extra_rows(args.quick)
    progress.note("done; the table follows on stdout")
    print(
        f"klaviyo-campaigns benchmarks: Python {platform.python_version()}, "
        f"httpx {httpx.__version__}, {os.cpu_count()} CPUs, load average {load:.1f} at start, "
        f"{time.perf_counter() - started:.0f} s"
    )
    print("ratios are medians over repeats; spread is min..max; the SDK runs without a rate")
    print("limiter (AdmitAll) except in rows 4 (its default WindowLimiter) and 4b (both)")
    print(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
