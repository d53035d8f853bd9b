"""Progress of ``python -m bench`` on stderr, one line per step, so a long run never looks hung.

The table goes to stdout once every measurement is done: ``python -m bench > table.md`` keeps
it clean while these lines still show on the terminal. Each line gives the time since the run
started, the measurement (``[3/8]``) and how far along it is::

    [  41 s] [3/8] listing: repeat 1/2
"""

from __future__ import annotations

import sys
import time


class Progress:
    """Counts measurements and prints a line per step of the current one."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.index = 0
        self.name = ""
        self._started = time.perf_counter()

    def section(self, name: str) -> None:
        """A new measurement begins."""
        self.index += 1
        self.name = name
        self.note("starting")

    def note(self, message: str) -> None:
        """How far along the current measurement is."""
        elapsed = time.perf_counter() - self._started
        print(
            f"[{elapsed:4.0f} s] [{self.index}/{self.total}] {self.name}: {message}",
            file=sys.stderr,
            flush=True,
        )


_current: Progress | None = None


def start(total: int) -> Progress:
    """Begin reporting a run of ``total`` measurements (``python -m bench`` calls this)."""
    global _current
    _current = Progress(total)
    return _current


def section(name: str) -> None:
    """A new measurement begins (silent when no run was started: a module run on its own)."""
    if _current is not None:
        _current.section(name)


def note(message: str) -> None:
    """How far along the current measurement is (silent outside ``python -m bench``)."""
    if _current is not None:
        _current.note(message)
