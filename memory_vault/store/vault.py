"""Vault: the clone of the backup repository, composed of its parts.

`repo` (refs, trees and the git runner every part shares), `blobs` (the one seam for the bytes
of memory), `clone` (made, checked, retargeted), `remote` (fetch, push, replay), `commits`,
`compactor` and `reader`. Each part holds a reference to what it needs; nothing is inherited.
Imported only when a run has something to write, push or read: its modules cost more to
import than a whole cron run that finds nothing to do.
"""

import os

from memory_vault.errors import NetworkError, RemoteDamaged, VaultError
from memory_vault.fsutil import ensure_private_dir
from memory_vault.logfile import RunLog
from memory_vault.settings.load import Config
from memory_vault.store.blobs import Blobs
from memory_vault.store.clone import Clone
from memory_vault.store.commit import Committer
from memory_vault.store.compact import Compactor
from memory_vault.store.read import Reader
from memory_vault.store.remote import Remote
from memory_vault.store.repo import Repo
from memory_vault.store.worktree import WorkTree


class Vault:
    """The clone of the backup repository, with everything a run needs to do to it."""

    def __init__(self, config: Config, log: RunLog, *, lock_fd: int | None = None) -> None:
        self.repo = Repo(config, log, lock_fd=lock_fd)
        self.blobs = Blobs(self.repo)
        self.remote = Remote(self.repo)
        self.clone = Clone(self.repo, self.remote)
        self.commits = Committer(self.repo, self.blobs)
        self.compactor = Compactor(self.repo)
        self.reader = Reader(self.repo, self.blobs)
        self.worktree = WorkTree(self.repo, self.blobs)

    @property
    def config(self) -> Config:
        return self.repo.config

    def prepare(self) -> None:
        """Make sure the clone exists, is ours and on our branch, and holds nothing a killed
        run left half-done (git locks, staged copies). Nothing is ever checked out."""
        ensure_private_dir(self.config.home)
        self.remote.transport.ready()  # an encrypted vault's keys: exit 2 before any work
        if self.config.embedded:
            self.clone.ensure_embedded_remote()
        self.clone.ensure_clone()
        self.commits.drop_staged()

    def done(self) -> None:
        """The run finished: its staged copies go."""
        self.commits.drop_staged()

    def open_for_reading(self, *, fetch: bool = True) -> str | None:
        """Bring the clone up to date with the remote; return the tip to read (None: empty).

        A missing or damaged clone (the machine crashed) is cloned afresh; an unreachable
        remote falls back to the local clone with a warning.
        """
        config = self.config
        if config.embedded and not os.path.isfile(os.path.join(config.remote, "HEAD")):
            raise VaultError(
                f"there is no vault at {config.remote}: nothing was backed up on this "
                "machine (set MEMORY_VAULT_REMOTE to the backup repository)")
        if self.repo.seed_from is None:
            ensure_private_dir(config.home)
        self.remote.transport.ready()
        self.clone.ensure_clone()
        if not self.repo.fresh and fetch:
            try:
                self.remote.fetch()
            except (NetworkError, RemoteDamaged) as exc:
                self.repo.log.warning(f"{exc}; reading the local clone, which may be behind")
        return self.reader.tip()
