"""Scripted faults and the counters that prove what the server actually did.

A test queues faults per operationId (or ``"*"`` for any operation); each request to that
operation takes the next one. Faults marked ``after_commit`` let the handler run and commit its
write first, then spoil the answer: the case where a client must not blindly re-send a write.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["status", "delay", "drop", "truncate", "non_json", "throttle"]
ANY_OPERATION = "*"


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour."""

    kind: FaultKind
    status: int = 503
    seconds: float = 0.0
    after_commit: bool = False
    retry_after: float = 1.0


class Faults:
    """Per-operation queues of faults to inject into the next answers."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Fault]] = {}

    def _push(self, operation: str, fault: Fault, times: int) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        self._queues.setdefault(operation, deque()).extend([fault] * times)

    def fail_next(
        self, operation: str, times: int = 1, *, status: int = 503, after_commit: bool = False
    ) -> None:
        """Answer the next ``times`` requests with ``status`` (a 5xx JSON:API error).

        With ``after_commit`` the write is applied before the error is sent.
        """
        self._push(operation, Fault("status", status=status, after_commit=after_commit), times)

    def delay_next(self, operation: str, seconds: float, times: int = 1) -> None:
        """Hold the next requests back for ``seconds`` of real time (to trip client timeouts).

        The request is handled when the delay ends, whether or not the client still waits: a
        write then commits after the client gave up on it (a late commit).
        """
        self._push(operation, Fault("delay", seconds=seconds), times)

    def drop_next(self, operation: str, times: int = 1, *, after_commit: bool = False) -> None:
        """Close the connection without an answer (after applying the write if asked)."""
        self._push(operation, Fault("drop", after_commit=after_commit), times)

    def truncate_next(self, operation: str, times: int = 1) -> None:
        """Send the real status and headers, half the body, then close the connection."""
        self._push(operation, Fault("truncate", after_commit=True), times)

    def non_json_next(self, operation: str, times: int = 1, *, status: int = 502) -> None:
        """Answer with an HTML page (as a proxy in front of the API would) and ``status``."""
        self._push(operation, Fault("non_json", status=status), times)

    def throttle_next(self, operation: str, times: int = 1, *, retry_after: float = 1.0) -> None:
        """A 429 storm: the next ``times`` requests are throttled with ``Retry-After``."""
        self._push(operation, Fault("throttle", status=429, retry_after=retry_after), times)

    def take(self, operation: str) -> Fault | None:
        """The fault for this request, if any (operation-specific queues first)."""
        for name in (operation, ANY_OPERATION):
            queue = self._queues.get(name)
            if queue:
                return queue.popleft()
        return None

    def pending(self, operation: str = ANY_OPERATION) -> int:
        """How many faults are still queued for ``operation``."""
        return len(self._queues.get(operation, ()))

    def clear(self) -> None:
        """Drop every queued fault."""
        self._queues.clear()


class Counters:
    """What the server saw and did, per operationId."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        """Requests routed to each operation (including rejected ones)."""
        self.writes: Counter[str] = Counter()
        """Writes committed by each operation: a retried-but-applied write counts twice."""
        self.statuses: Counter[tuple[str, int]] = Counter()
        """Answers sent, by (operation, status)."""

    def reset(self) -> None:
        """Zero every counter."""
        self.requests.clear()
        self.writes.clear()
        self.statuses.clear()
