"""6. Redis limiter: 4 processes x 250 concurrent calls sharing one API key through
``RedisLimiter``, against the fake enforcing the spec's limits for ``GET /api/campaigns``
(10/s burst, 150/min steady), and the cost of one request (acquire + release) against the
in-process limiter.

Same speed-up and metric as row 4: the fake's windows and the limiter's are shrunk x10 (the
limiter's margin stays at its default, 10 ms); achieved/allowed is taken over whole steady
windows after the first, against ``steady / steady_window``, from the moments each worker's
acquire returned (``time.monotonic``: one clock for every process on this host). 429s are
counted at each worker's HTTP client. The latency row times uncontended acquires (limits never
reached) one after another, each with its release: two Redis round trips and scripts (the
release's in the background, waited for at the end of each sample), against a list insert.

Needs ``redis-server`` on PATH (Debian package ``redis-server``); the harness shows the row as
skipped without it. ``python -m bench.redis_limiter`` runs this row alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from klaviyo_campaigns._generated.operations import STABLE_OPERATIONS
from klaviyo_campaigns._limits import Bucket, Limiter, WindowLimiter

from . import processes, progress
from .clients import FILTER, LIMITS, sdk
from .table import Row, summarize

PROCESSES = 4
CALLS_EACH = 250
SPEEDUP = 10.0
GOAL = 0.95
ACQUIRES = 2_000
OPERATION = STABLE_OPERATIONS["get_campaigns"]


@contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway redis-server on a free loopback port; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as directory:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", directory,
             "--save", "", "--appendonly", "no", "--logfile", ""],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError("redis-server did not start") from None
                    time.sleep(0.01)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.kill()
            proc.wait()


# -- the worker process ------------------------------------------------------------------------


async def worker(config: dict[str, Any]) -> dict[str, Any]:
    """Run ``calls`` concurrent calls after ``go`` on stdin; report send times and 429s."""
    from klaviyo_campaigns.redis_limiter import RedisLimiter

    sent: list[float] = []
    throttled = 0

    class Recording:
        def __init__(self, inner: Limiter) -> None:
            self.inner = inner

        async def acquire(self, bucket: Bucket) -> None:
            await self.inner.acquire(bucket)
            sent.append(time.monotonic())

        def release(self, bucket: Bucket) -> None:
            self.inner.release(bucket)

        async def pause(self, bucket: Bucket, seconds: float) -> None:
            await self.inner.pause(bucket, seconds)

    async def count(response: httpx.Response) -> None:
        nonlocal throttled
        throttled += response.status_code == 429

    speedup = config["speedup"]
    limiter = RedisLimiter.from_url(
        config["redis_url"],
        prefix=config["prefix"],
        burst_window=1.0 / speedup,
        steady_window=60.0 / speedup,
    )
    http = httpx.AsyncClient(limits=LIMITS, timeout=30.0, event_hooks={"response": [count]})
    async with limiter, sdk(config["base_url"], limiter=Recording(limiter), http=http) as kl:
        await limiter._redis.ping()
        await asyncio.gather(*(http.get(config["base_url"] + "/warm-up") for _ in range(10)))
        throttled = 0
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        results = await asyncio.gather(
            *(kl.stable.get_campaigns(filter=FILTER) for _ in range(config["calls"])),
            return_exceptions=True,
        )
    failures = [type(r).__name__ for r in results if isinstance(r, BaseException)]
    return {"sent": sent, "throttled": throttled, "failures": failures}


# -- the measurements --------------------------------------------------------------------------


def run_processes(
    base_url: str, redis_url: str, *, speedup: float = SPEEDUP, calls: int = CALLS_EACH
) -> tuple[list[float], int, list[str]]:
    """4 workers started together; all their send times, their 429s and failures."""
    config = {
        "base_url": base_url,
        "redis_url": redis_url,
        "prefix": f"bench:{uuid.uuid4().hex[:8]}:",
        "speedup": speedup,
        "calls": calls,
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bench.redis_limiter", "--worker", json.dumps(config)],
            cwd=processes.ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a worker did not start (exit code {proc.wait()})")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        reports = [json.loads(proc.communicate(timeout=600)[0].splitlines()[-1]) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    sent = sorted(t for report in reports for t in report["sent"])
    return (
        sent,
        sum(report["throttled"] for report in reports),
        [f for report in reports for f in report["failures"]],
    )


def steady_ratios(sent: list[float], speedup: float = SPEEDUP) -> list[float]:
    """Achieved/allowed over whole steady windows after the first (row 4's metric)."""
    steady, window = OPERATION.steady, 60.0 / speedup
    allowed = steady / window
    return [
        steady / (sent[k + steady] - sent[k]) / allowed
        for k in range(steady, len(sent) - steady, steady)
    ]


async def settled() -> None:
    """Wait for every other task on the loop (a RedisLimiter's background releases)."""
    others = asyncio.all_tasks() - {asyncio.current_task()}
    await asyncio.gather(*others)


async def acquire_latency(redis_url: str, repeats: int = 5) -> tuple[list[float], list[float]]:
    """Seconds per uncontended acquire: RedisLimiter and WindowLimiter, alternating."""
    from klaviyo_campaigns.redis_limiter import RedisLimiter

    bucket = Bucket("bench:GET /api/campaigns", burst=10**9, steady=10**9)
    shared: list[float] = []
    local: list[float] = []
    async with RedisLimiter.from_url(redis_url, prefix=f"bench:{uuid.uuid4().hex[:8]}:") as redis:
        in_process = WindowLimiter()
        await redis.acquire(bucket)  # connect and load the scripts outside the timing
        redis.release(bucket)
        await settled()
        for _ in range(repeats):
            for limiter, samples in ((redis, shared), (in_process, local)):
                start = time.perf_counter()
                for _ in range(ACQUIRES):
                    await limiter.acquire(bucket)
                    limiter.release(bucket)
                await settled()  # the releases' stamps in Redis
                samples.append((time.perf_counter() - start) / ACQUIRES)
    return shared, local


def rows(*, quick: bool = False) -> list[Row]:
    """The table rows of this benchmark (called by ``python -m bench``); ``quick``: a faster
    clock (x40) and 120 calls per process, a harness check."""
    speedup, calls = (4 * SPEEDUP, 120) if quick else (SPEEDUP, CALLS_EACH)
    with (
        redis_server() as redis_url,
        processes.fake_server(campaigns=1, rate_limits=True, speedup=speedup) as fake,
    ):
        progress.note(f"{PROCESSES} processes x {calls} calls through one Redis")
        sent, throttled, failures = run_processes(fake.url, redis_url, speedup=speedup, calls=calls)
        progress.note("acquire latency, Redis vs in-process")
        shared, local = asyncio.run(acquire_latency(redis_url, repeats=2 if quick else 5))
    ratio = summarize(steady_ratios(sent, speedup))
    extra = summarize([(s - w) * 1e6 for s, w in zip(shared, local, strict=True)])
    return [
        Row(
            f"6. Redis limiter, {PROCESSES} processes x {calls} tasks, one key vs fake at "
            f"10/s+150/min (x{speedup:g}): achieved / allowed",
            f"{ratio.median:.3f}",
            ratio.spread("{:.3f}"),
            f">= {GOAL}, 0 x 429",
            ratio.median >= GOAL and throttled == 0 and not failures,
            f"{throttled} responses 429, {len(failures)} failed calls; over steady windows",
        ),
        Row(
            "   extra cost per request (acquire + release), Redis vs in-process (uncontended)",
            f"{extra.median:.0f} us",
            extra.spread("{:.0f}"),
            detail=f"Redis {summarize(shared).median * 1e6:.0f} us, "
            f"in-process {summarize(local).median * 1e6:.1f} us per request",
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    """``--worker CONFIG`` runs one worker; without it, run this row and print it."""
    parser = argparse.ArgumentParser(prog="python -m bench.redis_limiter")
    parser.add_argument("--worker", help="run as a worker process with this JSON config")
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(asyncio.run(worker(json.loads(args.worker)))), flush=True)
        return 0
    from .table import render

    print(render(rows()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
