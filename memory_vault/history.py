"""History: the vault's commits, newest first, touching the subdir or one file of it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from memory_vault.config import Config
from memory_vault.errors import EXIT_OK, UsageError
from memory_vault.fsutil import utc_stamp
from memory_vault.logfile import RunLog
from memory_vault.vault import Vault, reading


@dataclass
class HistoryEntry:
    commit: str
    date: str
    subject: str
    files: list[str]


@dataclass
class HistoryResult:
    file: str | None
    entries: list[HistoryEntry] = field(default_factory=list)
    exit_code: int = EXIT_OK

    def as_dict(self) -> list[dict[str, object]]:
        return [asdict(e) for e in self.entries]


def run_history(config: Config, log: RunLog, name: str | None,
                limit: int | None) -> HistoryResult:
    """The whole `history` command: the local clone (no fetch), under the run lock."""
    with reading(config, log, fetch=False) as (vault, tip):
        return HistoryResult(name, history(vault, tip, name, limit))


def history(vault: Vault, tip: str | None, name: str | None, limit: int | None
            ) -> list[HistoryEntry]:
    """The vault's commits touching the subdir (or one file of it), newest first."""
    subdir = vault.config.subdir
    if tip is None:
        if name:
            raise UsageError(f"{name}: not in the vault (the vault is empty)")
        return []
    path = subdir if name is None else f"{subdir}/{name.removeprefix(subdir + '/')}"
    entries = [HistoryEntry(e.sha, utc_stamp(e.when), e.subject,
                            [p.removeprefix(subdir + "/") for p in e.paths])
               for e in vault.history(tip, path, limit)]
    if name and not entries:
        raise UsageError(f"{name}: not in the vault's history")
    return entries
