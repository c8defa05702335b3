"""Stopping on Ctrl-C (SIGINT) or SIGTERM: soon, with one line on stderr, every store as it was.

Python raises KeyboardInterrupt only when its main thread runs Python code, and a running DuckDB
query looks for it seldom (seconds apart on a large load). So a thread woken by the signal itself
(through the wakeup fd, written by the C-level handler) interrupts the running queries at once; the
store's transaction then rolls back. SIGTERM is taken as Ctrl-C, so that every clean-up Ctrl-C runs
(a replay's run directory kept for --resume included) runs for it too; only the exit status differs.
Only the ``mcpobs`` command installs this (:func:`install`); the library changes no signal handling.
"""

from __future__ import annotations

# Only what the interpreter has loaded anyway: this runs before the command's imports, and a
# signal during an import of its own would still be Python's traceback.
import os
import signal
import sys
import threading

TYPE_CHECKING = False  # typing itself is not loaded yet
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path
    from types import FrameType
    from typing import NoReturn, TypeVar

    T = TypeVar("T")

# Whether SIGTERM (not Ctrl-C) is what stops the process: its exit status is then 143, not 130.
terminated = False
# How long a stop may take once a DuckDB query was interrupted: some of DuckDB's work (finishing an
# insert) does not look at the interrupt, so past this the process ends at once, its temporary
# directories removed. A store file stays as it was: DuckDB never makes an uncommitted write visible.
DEADLINE_S = 0.35

_interrupts: dict[object, tuple[Callable[[], None] | None, Path | None]] = {}
_lock = threading.Lock()
_installed = False
_reported = False


def install() -> None:
    """Take SIGTERM as Ctrl-C, and interrupt running DuckDB queries as soon as either arrives.

    Called first thing in the command's main thread, before anything heavy is imported.
    """
    global _installed
    # first: a stop that comes while this runs is reported once, a second one ignored (first_report)
    _installed = True
    signal.signal(signal.SIGTERM, _terminate)
    read, write = os.pipe()
    os.set_blocking(write, False)
    signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    threading.Thread(target=_watch, args=(read,), name="mcpobs-signals", daemon=True).start()


def held_back(action: Callable[[], None]) -> None:
    """Run ``action`` with SIGINT and SIGTERM held back until it is done, then stop as they would have.

    For the first import of DuckDB: its extension module builds its types through Python code, and a
    KeyboardInterrupt raised in the middle is a "Critical nanobind error", an abort (exit -6) with a
    traceback. Only the main thread can change handlers; elsewhere ``action`` just runs.
    """
    if threading.current_thread() is not threading.main_thread():
        action()
        return
    held: list[tuple[int, FrameType | None]] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        held.append((signum, frame))

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        action()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if held:
            signum, frame = held[0]
            handler = previous[signal.Signals(signum)]
            if callable(handler):
                handler(signum, frame)  # the KeyboardInterrupt it would have raised, now
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signum)


def run_async(main: Callable[[], Awaitable[T]]) -> T:
    """``anyio.run(main)``, where the first stop (Ctrl-C, SIGTERM) cancels ``main`` (then
    :class:`KeyboardInterrupt`) and later ones leave its clean-up to end. asyncio's own handler raised
    KeyboardInterrupt at the second Ctrl-C wherever the loop then was, in the middle of the clean-up
    the first had begun (a replay closing its server), which then waited for ever on what it broke off.
    Where this is not installed (the library), plain ``anyio.run``."""
    import asyncio

    import anyio

    if not _installed or threading.current_thread() is not threading.main_thread():
        return anyio.run(main)
    hosting: list[tuple[asyncio.AbstractEventLoop, asyncio.Task[T]]] = []
    stopped: list[int] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        if not hosting:
            raise KeyboardInterrupt  # before ``main`` began: nothing of it to clean up
        if not stopped:
            stopped.append(signum)
            loop, task = hosting[0]
            loop.call_soon_threadsafe(task.cancel)

    async def hosted() -> T:
        task = asyncio.current_task()
        assert task is not None
        hosting.append((asyncio.get_running_loop(), task))
        return await main()

    previous = signal.signal(signal.SIGINT, stop)
    try:
        return anyio.run(hosted)
    except asyncio.CancelledError:
        if stopped:
            raise KeyboardInterrupt from None
        raise
    finally:
        # once stopping, a later signal has nothing more to stop: the command reports the stop next
        signal.signal(signal.SIGINT, signal.SIG_IGN if stopped else previous)


def first_report() -> bool:
    """Whether the stop is yet to be reported (its one line on stderr): true once in the command, from
    then on later signals are ignored (no second line, no traceback); always true where not installed."""
    global _reported
    if not _installed:
        return True
    with _lock:
        if _reported:
            return False
        _reported = True
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
    return True


def exit_now(status: int) -> NoReturn:
    """End the stopped command with ``status``, once its clean-up has run: the output flushed, the
    interpreter's teardown skipped (it frees a large DuckDB store object by object, for seconds)."""
    for stream in (sys.stdout, sys.stderr):
        try:  # noqa: SIM105 (contextlib is not loaded yet: see the imports)
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe: nothing more can be said on it
    os._exit(status)


def on_signal(interrupt: Callable[[], None] | None, leftover: Path | None = None) -> Callable[[], None]:
    """Call ``interrupt`` (from another thread) when SIGINT or SIGTERM arrives, and remove the
    directory ``leftover`` if the stop takes longer than :data:`DEADLINE_S`; returns the undo."""
    key = object()
    with _lock:
        _interrupts[key] = (interrupt, leftover)

    def forget() -> None:
        with _lock:
            _interrupts.pop(key, None)

    return forget


def _terminate(signum: int, frame: FrameType | None) -> None:
    global terminated
    terminated = True
    # whatever handles Ctrl-C now handles this: Python's default (KeyboardInterrupt), or asyncio's
    # while a replay runs (it cancels the replay, which then stops as on Ctrl-C)
    handler = signal.getsignal(signal.SIGINT)
    if callable(handler):
        handler(signum, frame)
    else:
        raise KeyboardInterrupt


def _watch(fd: int) -> None:
    armed = False
    while data := os.read(fd, 64):
        stops = [sig for sig in data if sig in (signal.SIGINT, signal.SIGTERM)]
        if not stops:
            continue
        with _lock:
            interrupts = list(_interrupts.values())
        for interrupt, _ in interrupts:
            try:
                if interrupt is not None:
                    interrupt()
            except Exception:
                pass  # a connection closed meanwhile
        if any(interrupt for interrupt, _ in interrupts) and not armed:
            # only while a store is open: replay and record have stops of their own, which take longer
            armed = True
            status = 128 + stops[0]
            threading.Timer(DEADLINE_S, _force, args=(status,)).start()


def _force(status: int) -> None:
    if not first_report():
        return  # the main thread is reporting the stop: it ends the process next
    sys.stderr.write("mcpobs: interrupted\n")
    with _lock:
        leftovers = [path for _, path in _interrupts.values() if path is not None]
    import shutil

    for path in leftovers:
        shutil.rmtree(path, ignore_errors=True)
    exit_now(status)
