"""Servers in child processes, so their CPU is not the client's (the machine has 2 cores)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent


class Child:
    """``python -m module args`` started at once; ``url`` waits for the first line it prints."""

    def __init__(self, module: str, *args: str) -> None:
        self.module = module
        self._proc = subprocess.Popen(
            [sys.executable, "-m", module, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        self._url: str | None = None

    @property
    def url(self) -> str:
        """The base URL the child printed once serving."""
        if self._url is None:
            assert self._proc.stdout is not None
            line = self._proc.stdout.readline().strip()
            if not line.startswith("http://"):
                raise RuntimeError(f"{self.module} did not start (exit code {self._proc.wait()})")
            self._url = line
        return self._url

    def __enter__(self) -> Child:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._proc.terminate()
        self._proc.wait(timeout=10)


def fixed_server() -> Child:
    """The fixed-bytes server (``bench.fixed_server``)."""
    return Child("bench.fixed_server")


def fake_server(*, campaigns: int = 0, rate_limits: bool = False, speedup: float = 1.0) -> Child:
    """The seeded fake Klaviyo (``bench.fake_server``)."""
    args = ["--campaigns", str(campaigns), "--speedup", str(speedup)]
    return Child("bench.fake_server", *args, *(["--rate-limits"] if rate_limits else []))
