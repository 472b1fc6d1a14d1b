"""status and history: what the vault holds and whether the backup can be trusted."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field

from memory_vault import detect
from memory_vault.config import Config
from memory_vault.errors import UsageError
from memory_vault.fsutil import utc_stamp
from memory_vault.redact import Redactor
from memory_vault.state import FileRecord, load_state

TYPE_CHECKING = False
if TYPE_CHECKING:
    from memory_vault.vault import Vault


@dataclass
class FileStatus:
    name: str
    present: bool
    changed: bool | None  # since the last sync (None: absent)
    backed_up: bool  # has a record in .last_sync


@dataclass
class StatusReport:
    healthy: bool
    problems: list[str]
    remote: str
    embedded: bool
    clone: str
    last_success: str | None
    last_commit: str | None
    last_run: str | None
    last_outcome: str | None
    last_error: str | None
    pending_push: int
    push_enabled: bool
    files: list[FileStatus] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def build_status(config: Config, pending_push: int | None, *, now: float | None = None
                 ) -> StatusReport:
    """The monitoring view: unhealthy when stale, when pushes are pending, or after a failure.

    `pending_push` is counted live from the clone by the caller when it can (else the count
    the last run recorded is used).
    """
    now = time.time() if now is None else now
    state = load_state(config.state_file)
    pending = state.pending_push if pending_push is None else pending_push
    problems: list[str] = []
    if not state.last_success:
        problems.append("no successful sync yet")
    elif now - state.last_success > config.stale_after_minutes * 60:
        minutes = int((now - state.last_success) // 60)
        problems.append(f"stale: the last successful sync was {minutes} minutes ago "
                        f"(MEMORY_VAULT_STALE_AFTER={config.stale_after_minutes:g})")
    if pending and config.push:
        problems.append(f"{pending} commit(s) not pushed to the remote")
    if state.last_outcome == "failed":
        problems.append(f"the last run failed: {state.last_error}")
    redactor = Redactor.for_remote(config.remote)
    return StatusReport(
        healthy=not problems,
        problems=[redactor.clean(p) for p in problems],
        remote=redactor.clean(config.remote),
        embedded=config.embedded,
        clone=config.clone_dir,
        last_success=utc_stamp(state.last_success) if state.last_success else None,
        last_commit=state.last_commit or None,
        last_run=utc_stamp(state.last_run) if state.last_run else None,
        last_outcome=state.last_outcome or None,
        last_error=redactor.clean(state.last_error) if state.last_error else None,
        pending_push=pending,
        push_enabled=config.push,
        files=_file_states(config, state.files),
    )


def _file_states(config: Config, records: dict[str, FileRecord]) -> list[FileStatus]:
    if not os.path.isdir(config.source_dir):
        return []
    scan = detect.scan(config.files, config.source_dir, records, read_all=False)
    changed = {s.name for s in scan.skips}
    changed.update(n for n in scan.candidates if _content_differs(config, n, records.get(n)))
    files = [FileStatus(n, True, n in changed, n in records) for n in scan.present]
    files += [FileStatus(n, False, None, n in records) for n in scan.absent]
    return files


def _content_differs(config: Config, name: str, record: FileRecord | None) -> bool:
    """A file whose stat differs from its record may still hold the same bytes: hash it."""
    if record is None:
        return True
    import hashlib

    try:
        with open(os.path.join(config.source_dir, name), "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest() != record.sha256
    except OSError:
        return True


@dataclass
class HistoryEntry:
    commit: str
    date: str
    subject: str
    files: list[str]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def history(vault: Vault, tip: str | None, name: str | None, limit: int | None
            ) -> list[HistoryEntry]:
    """The vault's commits touching the subdir (or one file of it), newest first."""
    subdir = vault.config.subdir
    if tip is None:
        if name:
            raise UsageError(f"{name}: not in the vault (the vault is empty)")
        return []
    path = subdir if name is None else f"{subdir}/{name.removeprefix(subdir + '/')}"
    args = ["log", "-z", "--name-only", "--no-renames", "--full-diff",
            "--format=%x1e%H%x1f%ct%x1f%s"]
    if limit:
        args.append(f"--max-count={limit}")
    out = vault.git.run(*args, tip, "--", path).stdout.decode("utf-8", "surrogateescape")
    entries = []
    for record in out.split("\x1e")[1:]:
        header, _, names = record.partition("\0")
        sha, stamp, subject = header.split("\x1f", 2)
        files = [n.removeprefix(subdir + "/") for n in names.lstrip("\n").split("\0") if n]
        entries.append(HistoryEntry(sha, utc_stamp(int(stamp)), subject, files))
    if name and not entries:
        raise UsageError(f"{name}: not in the vault's history")
    return entries
