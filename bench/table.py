"""Summaries of repeated samples and the one table ``make bench`` prints."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Summary:
    """Median and range of repeated samples of one quantity."""

    median: float
    low: float
    high: float
    n: int

    def show(self, fmt: str = "{:.2f}", unit: str = "") -> str:
        """``median unit`` ; the range goes in its own column (``spread``)."""
        return fmt.format(self.median) + unit

    def spread(self, fmt: str = "{:.2f}") -> str:
        """``low..high (n=N)``."""
        return f"{fmt.format(self.low)}..{fmt.format(self.high)} (n={self.n})"


def summarize(samples: Sequence[float]) -> Summary:
    """Median and min..max of ``samples``."""
    if not samples:
        raise ValueError("no samples")
    return Summary(statistics.median(samples), min(samples), max(samples), len(samples))


@dataclass(frozen=True)
class Row:
    """One line of the table.

    ``value`` is the headline figure (usually a ratio), ``spread`` its range over the repeats,
    ``goal`` the target as text, ``met`` whether the median meets it (None: no goal), ``detail``
    the absolute numbers behind the ratio.
    """

    measurement: str
    value: str
    spread: str = ""
    goal: str = ""
    met: bool | None = None
    detail: str = ""


def verdict(met: bool | None) -> str:
    """``ok`` / ``MISSED`` / blank."""
    return "" if met is None else ("ok" if met else "MISSED")


def render(rows: Sequence[Row]) -> str:
    """A plain-text table (also valid Markdown), one row per measurement."""
    header = ("measurement", "result", "spread (min..max)", "goal", "", "detail")
    cells = [header] + [
        (r.measurement, r.value, r.spread, r.goal, verdict(r.met), r.detail) for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])
