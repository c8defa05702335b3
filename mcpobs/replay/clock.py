"""Time for the replay: every wait, timeout and interval goes through a clock, so tests can run the
timing logic (backoff, call and session timeouts, checkpoint intervals) on a clock of their own."""

from __future__ import annotations

import time
from typing import Protocol

import anyio


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since an arbitrary start, never going back."""

    async def sleep(self, seconds: float) -> None:
        """Wait this long."""

    async def wait(self, event: anyio.Event, timeout: float) -> bool:
        """Wait for ``event`` at most ``timeout`` seconds; whether it happened."""


class RealClock:
    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(seconds, 0.0))

    async def wait(self, event: anyio.Event, timeout: float) -> bool:
        with anyio.move_on_after(max(timeout, 0.0)):
            await event.wait()
        return event.is_set()


class ManualClock:
    """A clock for tests whose seconds pass only as the replay waits for them.

    ``sleep`` moves time on at once and notes the wait. ``wait`` gives the event up to ``patience``
    real seconds (a live server still has to answer, and a server process to start: keep it above
    that) and, if it has not happened by then, moves time on by the whole timeout: a 30 s call
    timeout costs the test ``patience``, not 30 s. Real time spent counts too, so ``now`` never
    goes back.
    """

    def __init__(self, patience: float = 2.0) -> None:
        self.patience = patience
        self.skipped = 0.0
        self.sleeps: list[float] = []
        self.timeouts: list[float] = []
        self._start = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self._start + self.skipped

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.skipped += max(seconds, 0.0)
        await anyio.lowlevel.checkpoint()

    async def wait(self, event: anyio.Event, timeout: float) -> bool:
        began = time.monotonic()
        with anyio.move_on_after(min(max(timeout, 0.0), self.patience)):
            await event.wait()
        if event.is_set():
            return True
        self.timeouts.append(timeout)
        self.skipped += max(timeout - (time.monotonic() - began), 0.0)
        return False
