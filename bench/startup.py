"""5. Import cost and regeneration time.

Cold processes (a new interpreter each time; the OS file cache and ``.pyc`` files warm, as on
any second run): ``import klaviyo_campaigns`` + create a client + the first call, against
``import httpx`` + the same call raw, alternating. Both fetch one campaign from the fixed server.
The package's ``.pyc`` files are written first (``compileall``), as pip does on install: where
``PYTHONDONTWRITEBYTECODE`` is set, every cold process would otherwise compile the generated
modules from source, a cost no installed copy has. The SDK's time is also given in parts: the
import alone, then ``Klaviyo(...)`` + the first call of each revision (``kl.stable``,
``kl.pre``: each in its own fresh process), and the same run on an injected plain
``httpx.AsyncClient``, which leaves out importing aiohttp (the transport issue 16 chose).
Regeneration: ``codegen.generate.build`` of both revisions into a temporary folder (what
``make generate`` runs, without touching the checkout).
"""

from __future__ import annotations

import compileall
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import progress
from .bodies import SINGLE_ID
from .clients import API_KEY, HEADERS
from .processes import ROOT
from .table import Row, Summary, summarize

GOAL_IMPORT = 1.3
GOAL_GENERATE = 10.0

_SDK = f"""
import time
t0 = time.perf_counter()
import asyncio, sys
import httpx  # klaviyo_campaigns imports it anyway: the same cost either way
import klaviyo_campaigns
t1 = time.perf_counter()
async def main():
    global t2
    plain = {{"http_client": httpx.AsyncClient()}} if sys.argv[3:] else {{}}
    async with klaviyo_campaigns.Klaviyo({API_KEY!r}, base_url=sys.argv[1], **plain) as kl:
        t2 = time.perf_counter()
        await getattr(kl, sys.argv[2]).get_campaign({SINGLE_ID!r})
        t3 = time.perf_counter()
    return t3
t3 = asyncio.run(main())
print(time.perf_counter() - t0, len(sys.modules), t1 - t0, t2 - t1, t3 - t2)
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


@dataclass(frozen=True)
class Cold:
    """One fresh process: seconds inside it and spawn to exit, modules loaded, and for the SDK
    the parts: ``import klaviyo_campaigns``, ``Klaviyo(...)``, the first call."""

    inside: float
    total: float
    modules: int
    parts: tuple[float, ...] = ()


def _cold(code: str, *args: str) -> Cold:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    total = time.perf_counter() - started
    return Cold(float(out[0]), total, int(out[1]), tuple(float(x) for x in out[2:]))


def measure_import(base_url: str, *, repeats: int) -> list[Row]:
    """SDK/raw time for import + client + first call, in cold processes (stable, pre, raw in
    turn, order alternating), and the SDK's time split into import, client and first call."""
    compileall.compile_dir(ROOT / "klaviyo_campaigns", quiet=1)
    runs: dict[str, list[Cold]] = {"stable": [], "pre": [], "plain": [], "raw": []}
    for repeat in range(repeats):
        progress.note(f"cold processes, repeat {repeat + 1}/{repeats}")
        order = list(runs)
        for name in order if repeat % 2 == 0 else reversed(order):
            if name == "raw":
                runs[name].append(_cold(_RAW, base_url))
            elif name == "plain":
                runs[name].append(_cold(_SDK, base_url, "stable", "plain"))
            else:
                runs[name].append(_cold(_SDK, base_url, name))
    sdk, plain, raw = runs["stable"], runs["plain"], runs["raw"]
    ratio = summarize([s.inside / r.inside for s, r in zip(sdk, raw, strict=True)])
    whole = summarize([s.total / r.total for s, r in zip(sdk, raw, strict=True)])
    without = summarize([p.inside / r.inside for p, r in zip(plain, raw, strict=True)])

    def ms(values: list[float]) -> str:
        return f"{summarize(values).median * 1e3:.0f} ms"

    def parts(name: str) -> Row:
        cold = runs[name]
        first = summarize([c.parts[1] + c.parts[2] for c in cold])
        return Row(
            f"   {name}: Klaviyo(...) + first get_campaign (after the import)",
            f"{first.median * 1e3:.0f} ms",
            _ms_spread(first),
            detail=f"client {ms([c.parts[1] for c in cold])}, "
            f"call {ms([c.parts[2] for c in cold])}; {cold[0].modules} modules in all",
        )

    imported = summarize([c.parts[0] for c in sdk + runs["pre"]])
    return [
        Row(
            "5. cold: import + client + first call, SDK / import httpx + same call",
            f"{ratio.median:.2f}x",
            ratio.spread(),
            f"<= {GOAL_IMPORT}x",
            ratio.median <= GOAL_IMPORT,
            f"{ms([s.inside for s in sdk])} vs {ms([r.inside for r in raw])}; "
            f"{sdk[0].modules} vs {raw[0].modules} modules",
        ),
        Row(
            "   same, whole process (interpreter start to exit)",
            f"{whole.median:.2f}x",
            whole.spread(),
            detail=f"{ms([s.total for s in sdk])} vs {ms([r.total for r in raw])}",
        ),
        Row(
            "   same, SDK on an injected httpx.AsyncClient (no aiohttp)",
            f"{without.median:.2f}x",
            without.spread(),
            detail=f"{ms([p.inside for p in plain])} vs {ms([r.inside for r in raw])}; "
            f"{plain[0].modules} modules",
        ),
        Row(
            "   import klaviyo_campaigns (alone)",
            f"{imported.median * 1e3:.0f} ms",
            _ms_spread(imported),
        ),
        parts("stable"),
        parts("pre"),
    ]


def _ms_spread(summary: Summary) -> str:
    return f"{summary.low * 1e3:.0f}..{summary.high * 1e3:.0f} ms (n={summary.n})"


def measure_generate(*, repeats: int) -> list[Row]:
    """Wall time of ``codegen.generate.build`` (both revisions) into a temporary folder."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from codegen.generate import build

    times = []
    for repeat in range(repeats):
        progress.note(f"make generate, repeat {repeat + 1}/{repeats}")
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
