"""The examples run: the typed user code against the fake over loopback, and the demo."""

from __future__ import annotations

import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from klaviyo_campaigns.testing import FakeKlaviyo

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


async def test_typed_usage_runs_against_the_fake(capsys: pytest.CaptureFixture[str]) -> None:
    typed = runpy.run_path(str(EXAMPLES / "typed_usage.py"))
    fake = FakeKlaviyo()
    fake.seed_campaigns(3)
    async with fake.serve() as url:
        await typed["main"](url)
    out = capsys.readouterr().out
    assert "3 email campaigns" in out
    assert "no such campaign: 404 ['not_found']" in out


async def test_typed_writes_run_against_the_fake(capsys: pytest.CaptureFixture[str]) -> None:
    writes = runpy.run_path(str(EXAMPLES / "typed_writes.py"))
    await writes["main"]()
    out = capsys.readouterr().out
    assert "added audience " in out and "cloned into " in out


async def test_walk_campaign_reads_each_variation_s_channel(
    capsys: pytest.CaptureFixture[str],
) -> None:
    walk = runpy.run_path(str(EXAMPLES / "walk_campaign.py"))
    await walk["main"]()
    lines = sorted(line.split(" ", 2)[2] for line in capsys.readouterr().out.splitlines())
    assert lines == ["email: Summer Sale starts now", "sms: Summer Sale: 20% off"]


def test_the_demo_runs_end_to_end() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "demo.py")], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "the email is SENT" in done.stdout
    assert "(Copy)" in done.stdout
