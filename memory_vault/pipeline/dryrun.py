"""Dry run: a store that writes nothing, so that `sync --dry-run` is the real loop.

As restic's dry-run backend: the sync plans, reads, judges and compares every file as it
would, and this store says what it would back up instead of staging it; nothing is
committed, pushed or recorded, and no git is started.
"""

from memory_vault.capture.version import Version
from memory_vault.fsutil import plural
from memory_vault.logfile import RunLog

TYPE_CHECKING = False
if TYPE_CHECKING:
    from memory_vault.pipeline.record import Outcome
    from memory_vault.store.vault import Vault


class DryRun:
    """Every part of the vault a sync uses (repo, commits, remote, compactor), writing
    nothing."""

    fresh = False
    rewritten = None

    def __init__(self, log: RunLog) -> None:
        self.log = log
        self.repo = self.commits = self.remote = self.compactor = self.worktree = self
        self.refused: dict[str, str] = {}  # as the committer's and the remote's
        self._staged: list[Version] = []
        self.would: list[str] = []  # the files a real run would back up

    def stage(self, version: Version) -> None:
        self.would.append(version.path)
        self.log.info(f"would back up {version.path} ({version.size} bytes, "
                      f"sha256 {version.sha256[:12]})")

    def prepare(self) -> None:
        return None

    def unstage(self, path: str) -> None:
        if path in self.would:
            self.would.remove(path)

    def staged(self) -> list[Version]:
        return self._staged

    def commit(self, _when: float, _shrinks: object = None) -> None:
        return None

    def head(self) -> str | None:
        return None

    def last_saved(self, _path: str) -> int | None:
        return None

    def unpushed(self) -> int:
        return 0

    def push(self) -> None:
        return None

    def maintain(self) -> None:
        return None

    def update(self) -> None:
        return None

    def done(self) -> None:
        return None


def record_dry_run(log: RunLog, outcome: "Outcome", store: "DryRun | Vault | None") -> str:
    """The record step of a dry run: what would be skipped and backed up, said, and its
    summary; no journal is written."""
    for skip in outcome.skips:
        log.warning(f"{skip.name}: would be skipped, {skip.reason}")
    outcome.changed = list(getattr(store, "would", []))
    summary = (f"sync (dry run): {plural(len(outcome.present), 'file')} checked, "
               "nothing written")
    log.info(summary)
    return summary
