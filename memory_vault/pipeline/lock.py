"""The run lock: one sync (or restore) inside the data folder at a time.

`flock` on `$MEMORY_VAULT_HOME/sync.lock`. The kernel drops it when the holder dies, so a killed
run never leaves it behind; git children inherit the descriptor (see `gitrun`), so the lock
outlives a killed run exactly as long as git it started is still running.
"""

import fcntl
import os
import time

from memory_vault.errors import LockTimeout
from memory_vault.fsutil import ensure_private_dir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable


class RunLock:
    """An exclusive flock; `acquire` returns False when busy and `wait` is 0."""

    __slots__ = ("fd", "path")

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None

    def acquire(self, wait: float = 0.0, on_busy: "Callable[[], None] | None" = None,
                *, create: bool = True) -> bool:
        """Take the lock, waiting up to `wait` seconds (`on_busy` is told once if it must).

        `create=False` (a dry run, which must not change the data folder) takes the lock
        only if the lock file exists: where it does not, no sync has run to hold it.
        """
        if not create:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
            except OSError:
                return True
            os.close(fd)
        ensure_private_dir(os.path.dirname(self.path))
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + wait
        delay = 0.05
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if on_busy is not None and wait > 0:
                    on_busy()
                    on_busy = None
                if time.monotonic() >= deadline:
                    os.close(fd)
                    if wait > 0:
                        raise LockTimeout(
                            f"another run still holds {self.path} after {wait:g} s; try again"
                        ) from None
                    return False
                time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, 1.0)
                continue
            self.fd = fd
            return True

    def wait_free(self, wait: float, stopped: "Callable[[], bool]" = lambda: False) -> bool:
        """Wait up to `wait` seconds until no run holds the lock, without keeping it: a run
        started for a change (by `watch` or an agent's hook) must not be the one that finds
        the lock taken and leaves, while the run inside may have read the files before the
        change. False when the wait ran out or `stopped` said so."""
        deadline = time.monotonic() + wait
        while not stopped():
            if self.acquire():
                self.release()
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return False

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
