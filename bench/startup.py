"""5. Import cost and regeneration time.

Cold processes (a new interpreter each time; the OS file cache and ``.pyc`` files warm, as on
any second run): ``import klaviyo_campaigns`` + create a client + the first call, against
``import httpx`` + the same call raw, alternating. Both fetch one campaign from the fixed server.
Regeneration: ``codegen.generate.build`` of both revisions into a temporary folder (what
``make generate`` runs, without touching the checkout).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .bodies import SINGLE_ID
from .clients import API_KEY, HEADERS
from .processes import ROOT
from .table import Row, summarize

GOAL_IMPORT = 1.5
GOAL_GENERATE = 10.0

_SDK = f"""
import time
t0 = time.perf_counter()
import asyncio, sys
from klaviyo_campaigns import Klaviyo
async def main():
    async with Klaviyo({API_KEY!r}, base_url=sys.argv[1]) as kl:
        await kl.stable.get_campaign({SINGLE_ID!r})
asyncio.run(main())
print(time.perf_counter() - t0, len(sys.modules))
"""

_RAW = f"""
import time
t0 = time.perf_counter()
import asyncio, json, sys
import httpx
async def main():
    async with httpx.AsyncClient(base_url=sys.argv[1], headers={HEADERS!r}) as http:
        response = await http.get("/api/campaigns/{SINGLE_ID}")
        response.raise_for_status()
        json.loads(response.content)
asyncio.run(main())
print(time.perf_counter() - t0, len(sys.modules))
"""


def _cold(code: str, base_url: str) -> tuple[float, float, int]:
    """(seconds inside the process, seconds spawn to exit, modules loaded) for one process."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, base_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), time.perf_counter() - started, int(out[1])


def measure_import(base_url: str, *, repeats: int) -> list[Row]:
    """SDK/raw time for import + client + first call, in cold processes."""
    sdk_in, raw_in, sdk_total, raw_total, modules = [], [], [], [], (0, 0)
    for repeat in range(repeats):
        pair = [("sdk", _SDK), ("raw", _RAW)]
        for name, code in pair if repeat % 2 == 0 else reversed(pair):
            inside, total, count = _cold(code, base_url)
            if name == "sdk":
                sdk_in.append(inside)
                sdk_total.append(total)
                modules = (count, modules[1])
            else:
                raw_in.append(inside)
                raw_total.append(total)
                modules = (modules[0], count)
    ratio = summarize([s / r for s, r in zip(sdk_in, raw_in, strict=True)])
    whole = summarize([s / r for s, r in zip(sdk_total, raw_total, strict=True)])
    return [
        Row(
            "5. cold: import + client + first call, SDK / import httpx + same call",
            f"{ratio.median:.2f}x",
            ratio.spread(),
            f"<= {GOAL_IMPORT}x",
            ratio.median <= GOAL_IMPORT,
            f"{summarize(sdk_in).median * 1e3:.0f} vs {summarize(raw_in).median * 1e3:.0f} ms; "
            f"{modules[0]} vs {modules[1]} modules",
        ),
        Row(
            "   same, whole process (interpreter start to exit)",
            f"{whole.median:.2f}x",
            whole.spread(),
            detail=f"{summarize(sdk_total).median * 1e3:.0f} vs "
            f"{summarize(raw_total).median * 1e3:.0f} ms",
        ),
    ]


def measure_generate(*, repeats: int) -> list[Row]:
    """Wall time of ``codegen.generate.build`` (both revisions) into a temporary folder."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from codegen.generate import build

    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-generate-") as tmp:
            started = time.perf_counter()
            build(Path(tmp) / "_generated")
            times.append(time.perf_counter() - started)
    took = summarize(times)
    return [
        Row(
            "   make generate (both revisions, codegen.generate.build)",
            f"{took.median:.1f} s",
            took.spread("{:.1f}"),
            f"<= {GOAL_GENERATE:g} s",
            took.median <= GOAL_GENERATE,
        )
    ]
