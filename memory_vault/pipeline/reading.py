"""Reading: the vault opened for a command that reads it, current with its remote, under the
run lock (restore, history, diff and verify touch the clone, so they wait for a sync)."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from memory_vault.logfile import RunLog
from memory_vault.pipeline.lock import RunLock
from memory_vault.settings.load import Config
from memory_vault.store.vault import Vault

READ_LOCK_WAIT = 60.0


@contextmanager
def reading(
    config: Config, log: RunLog, *, fetch: bool = True, progress: bool = False,
    scratch: str | None = None,
) -> Iterator[tuple[Vault, str | None]]:
    """The vault and its tip. With `scratch` (a dry run), a throw-away clone in that folder
    borrows the real clone's objects and refs, and nothing in the data folder is created or
    changed."""
    lock = RunLock(config.lock_file)
    lock.acquire(wait=READ_LOCK_WAIT, create=scratch is None)
    try:
        real_clone = config.clone_dir
        if scratch is not None:
            config = config.with_clone_dir(os.path.join(scratch, "clone"))
        vault = Vault(config, log, lock_fd=lock.fd)
        vault.repo.progress = progress
        if scratch is not None:
            vault.repo.seed_from = real_clone if os.path.isdir(
                os.path.join(real_clone, ".git")) else ""
        yield vault, vault.open_for_reading(fetch=fetch)
    finally:
        lock.release()
