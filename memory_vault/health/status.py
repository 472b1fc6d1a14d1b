"""Status: whether the backup can be trusted right now (a monitoring check, never online)."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from memory_vault.capture.version import Version
from memory_vault.errors import EXIT_FAILED, EXIT_OK, VaultError
from memory_vault.fsutil import utc_stamp
from memory_vault.health.problems import (
    Problem,
    file_problems,
    run_problems,
    untracked_problems,
)
from memory_vault.journal.cache import Alarm, Journal, load_journal
from memory_vault.logfile import RunLog
from memory_vault.settings import paths
from memory_vault.settings.load import Config
from memory_vault.sources import scan as sources
from memory_vault.sources.registry import configured_sources
from memory_vault.sources.source import Source
from memory_vault.urls import Redactor

TYPE_CHECKING = False
if TYPE_CHECKING:
    from memory_vault.store.git.runner import GitRunner


@dataclass
class FileStatus:
    name: str
    present: bool
    state: str  # "unchanged", "changed", "new", "skipped" or "absent" (since the last sync)
    changed: bool | None  # since the last sync (None: absent)
    backed_up: bool  # the vault holds a version of it
    saved: str | None  # when the vault took the version it holds
    reason: str | None = None  # why it is skipped
    format: str | None = None  # json, jsonl, sqlite, text or bytes (None: absent)


@dataclass
class StatusReport:
    healthy: bool
    problems: list[Problem]
    remote: str
    embedded: bool
    clone: str
    log_file: str
    err_file: str
    last_success: str | None
    last_commit: str | None
    last_run: str | None
    last_outcome: str | None
    last_error: str | None
    pending_push: int
    push_enabled: bool
    files: list[FileStatus] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # deleted from their source; kept
    set_aside: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    encrypted: bool = False  # MEMORY_VAULT_ENCRYPT=age: the remote holds age-encrypted bundles

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.healthy else EXIT_FAILED

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class VaultView:
    """What `status` learns from the clone, without contacting the remote."""

    def __init__(self, pending_push: int | None = None, on_remote: bool | None = None,
                 alarms: dict[str, Alarm] | None = None, plain_left: str = "") -> None:
        self.pending_push = pending_push  # None: no clone to count in
        self.on_remote = on_remote  # is the last commit on the remote branch (None: unknown)
        self.alarms = alarms or {}  # alarms of commits the journal does not know yet
        self.plain_left = plain_left  # the plain remote a switch to encryption left behind


def run_status(config: Config, log: RunLog) -> StatusReport:
    """The whole `status` command: the state file, the source dir, the clone; no network."""
    return build_status(config, vault_view(config, log))


def vault_view(config: Config, log: RunLog) -> VaultView:
    """Count pending pushes in the clone and check the last commit is on the remote branch,
    from what the last fetch or push saw (a monitoring check never contacts the remote)."""
    if not (Path(config.clone_dir) / ".git").is_dir():
        return VaultView()
    from memory_vault.store import tracking
    from memory_vault.store.git.runner import GitRunner

    journal = load_journal(config.state_file, config.vault_identity)
    last_commit = journal.last_commit
    git = GitRunner(config.clone_dir, redactor=Redactor.for_remote(config.remote),
                    timeout=config.git_timeout)
    local, remote = tracking.local_ref(config.branch), tracking.remote_ref(config.branch)
    try:
        left = git.run("config", "--get", "memory-vault.plainRemote",
                       check=False).text if config.encrypt else ""
        return VaultView(tracking.ahead(git, local, remote),
                         tracking.is_ancestor(git, last_commit, remote) if last_commit else None,
                         unrecorded_alarms(config, journal, git), left)
    except VaultError as exc:
        log.warning(f"cannot read the clone {config.clone_dir}: {exc}")
        return VaultView()


def unrecorded_alarms(config: Config, journal: Journal,
                      git: GitRunner | None = None) -> dict[str, Alarm]:
    """Alarms stated by commits the journal does not know (a crash between a commit and the
    journal, a lost journal), less those a person closed."""
    from memory_vault.journal.acks import load_acks
    from memory_vault.store import tracking
    from memory_vault.store.trailers import alarms_since

    if git is None:
        if not (Path(config.clone_dir) / ".git").is_dir():
            return {}
        from memory_vault.store.git.runner import GitRunner

        git = GitRunner(config.clone_dir, redactor=Redactor.for_remote(config.remote),
                        timeout=config.git_timeout)
    local = tracking.local_ref(config.branch)
    head = git.run("rev-parse", "-q", "--verify", local, check=False).text
    if not head or head == journal.last_commit:
        return {}
    since = journal.last_commit or None
    if since is not None and not tracking.is_ancestor(git, since, head):
        since = None
    closed = load_acks(config.acks_file)
    found: dict[str, Alarm] = {}
    for a in reversed(alarms_since(git, head, since)):
        if (a.commit, a.path) not in closed:
            found[a.path] = Alarm(a.before, a.after, a.commit, a.parent, a.when)
    return found


def build_status(config: Config, view: VaultView, *, now: float | None = None
                 ) -> StatusReport:
    """The monitoring view: healthy only when every tracked file that exists is in the vault,
    on the remote, recently (each rule of the spec's `status` is one check below)."""
    now = time.time() if now is None else now
    redactor = Redactor.for_remote(config.remote)
    journal = load_journal(config.state_file, config.vault_identity)
    pending = journal.pending_push if view.pending_push is None else view.pending_push
    configured = configured_sources(config)
    files = _file_states(config, journal, configured)
    problems = run_problems(config, journal, now, pending, view)
    problems += file_problems(configured, journal, files, {**journal.alarms, **view.alarms})
    problems += untracked_problems(configured)
    problems = [Problem(p.kind, p.file, redactor.clean(p.message)) for p in problems]
    log_file, err_file, notes = _log_places(config)
    if view.plain_left:
        notes.append(f"{redactor.clean(view.plain_left)} still holds the unencrypted history "
                     "of this vault, which moved here encrypted: delete it once you no "
                     "longer need it")
    return StatusReport(
        healthy=not problems,
        problems=problems,
        remote=redactor.clean(config.remote),
        embedded=config.embedded,
        clone=config.clone_dir,
        log_file=log_file,
        err_file=err_file,
        last_success=utc_stamp(journal.last_success) if journal.last_success else None,
        last_commit=journal.success_commit or None,
        last_run=utc_stamp(journal.last_run) if journal.last_run else None,
        last_outcome=journal.last_outcome or None,
        last_error=redactor.clean(journal.last_error) if journal.last_error else None,
        pending_push=pending,
        push_enabled=config.push,
        files=files,
        gone=[f"{path} (the vault has its version of {utc_stamp(saved)})" if saved else path
              for path, saved in sorted(journal.gone.items())],
        set_aside=paths.set_aside_clones(config.clone_dir),
        notes=notes,
        encrypted=bool(config.encrypt),
    )


def _file_states(config: Config, journal: Journal,
                 configured: list[Source]) -> list[FileStatus]:
    files: list[FileStatus] = []
    for source in configured:
        if Path(source.folder).is_dir():
            files += _source_states(config, journal, source)
    return files


def _source_states(config: Config, journal: Journal, source: Source) -> list[FileStatus]:
    records = journal.files
    scan = sources.scan_source(source, records, read_all=False)
    skipped_now = {s.name: s.reason for s in scan.skips}
    files = []
    for name in scan.present:
        record = records.get(name)
        skipped = journal.skips.get(name)
        saved = record.saved if record else (skipped.saved if skipped else 0)
        reason = skipped_now.get(name) or (skipped.reason if skipped else None)
        if reason is not None:
            what = "skipped"
        elif record is None:
            what = "new"
        elif name in scan.candidates and _content_differs(source.disk_path(name), record):
            what = "changed"
        else:
            what = "unchanged"
        fmt = (record.format if record and what == "unchanged"
               else _format_of(config, source.disk_path(name), name))
        files.append(FileStatus(name, True, what, what != "unchanged", bool(saved),
                                utc_stamp(saved) if saved else None, reason, fmt or None))
    for name in scan.absent:
        record = records.get(name)
        files.append(FileStatus(name, False, "absent", None, record is not None,
                                utc_stamp(record.saved) if record and record.saved else None))
    return files


def _format_of(config: Config, disk_path: str, name: str) -> str | None:
    """The format of a file not read by the last sync (new or changed since)."""
    from memory_vault.capture.sqlite import is_sqlite_file
    from memory_vault.content import formats

    path = Path(disk_path)
    if is_sqlite_file(str(path)):
        return formats.SQLITE
    try:
        if path.stat().st_size > config.max_file_bytes:
            return None
        return formats.judge(name, path.read_bytes()).format
    except OSError:
        return None


def _log_places(config: Config) -> tuple[str, str, list[str]]:
    """Where this configuration's logs really go (a refused /tmp file falls back)."""
    from memory_vault.logfile import fallback_path, refusal

    notes = []
    places = []
    fallback_dir = paths.state_dir(dict(os.environ))
    for path in (config.log_file, config.err_file):
        why = refusal(path)
        if why is None:
            places.append(path)
            continue
        used = fallback_path(path, fallback_dir)
        places.append(used)
        notes.append(f"logs to {used}: {path} is refused ({why})")
    return places[0], places[1], notes


def _content_differs(disk_path: str, record: Version | None) -> bool:
    """A file whose stat differs from its record may still hold the same bytes: hash it."""
    if record is None:
        return True
    from memory_vault.capture.sqlite import CopyProblem, stored_digest

    try:
        return stored_digest(disk_path) != record.read_sha256  # as read: before a redaction
    except (OSError, CopyProblem):
        return True
