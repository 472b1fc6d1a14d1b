"""The Vault façade: the clone of the backup repository with every part assembled, and
`reading()`, the vault current with its remote under the run lock.

Imported only when a run has something to write, push or read: it pulls in GitPython, whose
import alone costs more than a whole cron run that finds nothing to do.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from memory_vault.errors import NetworkError, VaultError
from memory_vault.fsutil import ensure_private_dir
from memory_vault.logfile import RunLog
from memory_vault.pipeline.lock import RunLock
from memory_vault.settings.load import Config
from memory_vault.store.clone import CloneSetup
from memory_vault.store.commit import CommitInfo, Commits
from memory_vault.store.compact import Compaction
from memory_vault.store.read import Queries

READ_LOCK_WAIT = 60.0

__all__ = ["CommitInfo", "Vault", "reading"]


class Vault(CloneSetup, Commits, Compaction, Queries):
    """The clone of the backup repository, with everything a run needs to do to it."""

    def prepare(self) -> None:
        """Make sure the clone exists, is ours and on our branch, and holds nothing a killed
        run left half-done (git locks, staged copies). Nothing is ever checked out."""
        ensure_private_dir(self.config.home)
        if self.config.embedded:
            self.ensure_embedded_remote()
        self.ensure_clone()
        self.drop_staged()

    def done(self) -> None:
        """The run finished: its staged copies go."""
        self.drop_staged()

    def open_for_reading(self, *, fetch: bool = True) -> str | None:
        """Bring the clone up to date with the remote; return the tip to read (None: empty).

        A missing or damaged clone (the machine crashed) is cloned afresh; an unreachable
        remote falls back to the local clone with a warning.
        """
        if self.config.embedded and not os.path.isfile(os.path.join(self.config.remote, "HEAD")):
            raise VaultError(
                f"there is no vault at {self.config.remote}: nothing was backed up on this "
                "machine (set MEMORY_VAULT_REMOTE to the backup repository)")
        if self.seed_from is None:
            ensure_private_dir(self.config.home)
        self.ensure_clone()
        if not self.fresh and fetch:
            try:
                self.fetch()
            except NetworkError as exc:
                self.log.warning(f"{exc}; reading the local clone, which may be behind")
        return self.tip()


@contextmanager
def reading(
    config: Config, log: RunLog, *, fetch: bool = True, progress: bool = False,
    scratch: str | None = None,
) -> Iterator[tuple[Vault, str | None]]:
    """The vault, current with the remote, and its tip, under the run lock (restore,
    history and verify touch the clone, so they wait for a running sync to finish).

    With `scratch` (a dry run), a throw-away clone in that folder borrows the real clone's
    objects and refs, and nothing in the data folder is created or changed.
    """
    lock = RunLock(config.lock_file)
    lock.acquire(wait=READ_LOCK_WAIT, create=scratch is None)
    try:
        real_clone = config.clone_dir
        if scratch is not None:
            config = config.with_clone_dir(os.path.join(scratch, "clone"))
        vault = Vault(config, log, lock_fd=lock.fd)
        vault.progress = progress
        if scratch is not None:
            vault.seed_from = real_clone if os.path.isdir(
                os.path.join(real_clone, ".git")) else ""
        yield vault, vault.open_for_reading(fetch=fetch)
    finally:
        lock.release()
