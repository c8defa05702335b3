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

    async def wait_for_start(self, event: anyio.Event, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for a server to start and answer its handshake."""


class RealClock:
    def now(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(seconds, 0.0))

    async def wait(self, event: anyio.Event, timeout: float) -> bool:
        with anyio.move_on_after(max(timeout, 0.0)):
            await event.wait()
        return event.is_set()

    async def wait_for_start(self, event: anyio.Event, timeout: float) -> bool:
        return await self.wait(event, timeout)


class ManualClock:
    """A clock for tests whose seconds pass only as the replay waits for them.

    ``sleep`` moves time on at once and notes the wait. ``wait`` gives the event up to ``patience``
    real seconds (a live server still has to answer, and a server process to start: keep it above
    that) and, if it has not happened by then, moves time on by the whole timeout: a 30 s call
    timeout costs the test ``patience``, not 30 s. Real time spent counts too, so ``now`` never
    goes back; but not the time a server takes to start (``wait_for_start``, up to ``start_patience``
    real seconds, during which ``now`` stands still): a slow start on a loaded machine takes no time
    from a session timeout the test sets.
    """

    def __init__(self, patience: float = 2.0, start_patience: float = 60.0) -> None:
        self.patience = patience
        self.start_patience = start_patience
        self.skipped = 0.0
        self.sleeps: list[float] = []
        self.timeouts: list[float] = []
        self._start = time.monotonic()
        self._starting: float | None = None  # ``now`` while a server starts

    def now(self) -> float:
        if self._starting is not None:
            return self._starting
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

    async def wait_for_start(self, event: anyio.Event, timeout: float) -> bool:
        began = time.monotonic()
        self._starting = self.now()
        try:
            with anyio.move_on_after(min(max(timeout, 0.0), self.start_patience)):
                await event.wait()
        finally:
            self._starting = None
            self._start += time.monotonic() - began  # the real time it took is not the session's
        if event.is_set():
            return True
        self.timeouts.append(timeout)
        self.skipped += max(timeout, 0.0)
        return False
