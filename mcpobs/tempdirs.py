"""Temporary directories that do not outlive mcpobs (a store's spill files, spooled inputs).

Each holds a lock (``flock`` on a file inside) for as long as its process lives. A process killed, or
a store never closed, would leave its directory behind, gigabytes of spill files among them: so each
new one first removes those named ``mcpobs-*`` whose lock is free, since the process that held it is
gone (the kernel lets go of a dead process's locks, whatever its pid became). A directory without a
lock file is never removed: it is not known to be ours.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from pathlib import Path

PREFIX = "mcpobs-"
LOCK = ".mcpobs-lock"


class TempDir:
    """A private temporary directory, locked while it is in use; :meth:`remove` when done."""

    def __init__(self, kind: str) -> None:
        sweep()
        self.path = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-"))
        # locked before it takes its name, so a sweep never finds it unlocked
        pending = self.path / f"{LOCK}.new"
        self._fd = os.open(pending, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        os.rename(pending, self.path / LOCK)

    def remove(self) -> None:
        """Remove the directory and everything in it, then let go of its lock."""
        shutil.rmtree(self.path, ignore_errors=True)
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def sweep() -> None:
    """Remove the temporary directories of mcpobs processes that ended without removing them."""
    for path in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            fd = os.open(path / LOCK, os.O_RDWR)
        except OSError:
            continue  # no lock file (not ours, or just being made), or another user's
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # its process lives
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)
