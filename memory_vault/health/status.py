"""Status: whether the backup can be trusted right now (a monitoring check, never online)."""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from memory_vault.errors import EXIT_FAILED, EXIT_OK, VaultError
from memory_vault.fsutil import utc_stamp
from memory_vault.journal.cache import (
    OUTCOME_FAILED,
    FileRecord,
    State,
    describe_last_good,
    describe_vault,
    load_state,
)
from memory_vault.logfile import RunLog
from memory_vault.settings import paths
from memory_vault.settings.load import Config
from memory_vault.sources import scan as sources
from memory_vault.urls import Redactor

# The kinds of `status` problems (the README's troubleshooting section explains each).
NEVER_SYNCED = "never-synced"
STALE = "stale"
PENDING_PUSH = "pending-push"
PUSH_FAILED = "push-failed"
LAST_RUN_FAILED = "last-run-failed"
SKIPPED = "skipped"
NEVER_BACKED_UP = "never-backed-up"
NO_FILES = "no-files"
NOT_ON_REMOTE = "not-on-remote"
OTHER_VAULT = "other-vault"
SHRINK = "shrink"


@dataclass
class Problem:
    kind: str
    file: str | None
    message: str


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
    set_aside: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.healthy else EXIT_FAILED

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class VaultView:
    """What `status` learns from the clone, without contacting the remote."""

    def __init__(self, pending_push: int | None = None,
                 on_remote: bool | None = None) -> None:
        self.pending_push = pending_push  # None: no clone to count in
        self.on_remote = on_remote  # is the last commit on the remote branch (None: unknown)


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

    last_commit = load_state(config.state_file, config.vault_identity).last_commit
    git = GitRunner(config.clone_dir, redactor=Redactor.for_remote(config.remote),
                    timeout=config.git_timeout)
    local, remote = tracking.local_ref(config.branch), tracking.remote_ref(config.branch)
    try:
        return VaultView(tracking.ahead(git, local, remote),
                         tracking.is_ancestor(git, last_commit, remote) if last_commit else None)
    except VaultError as exc:
        log.warning(f"cannot read the clone {config.clone_dir}: {exc}")
        return VaultView()


def build_status(config: Config, view: VaultView, *, now: float | None = None
                 ) -> StatusReport:
    """The monitoring view: healthy only when every tracked file that exists is in the vault,
    on the remote, recently (each rule of the spec's `status` is one check below)."""
    now = time.time() if now is None else now
    redactor = Redactor.for_remote(config.remote)
    state = load_state(config.state_file, config.vault_identity)
    pending = state.pending_push if view.pending_push is None else view.pending_push
    files = _file_states(config, state)
    problems = _run_problems(config, state, now, pending, view)
    problems += _file_problems(config, state, files)
    problems = [Problem(p.kind, p.file, redactor.clean(p.message)) for p in problems]
    log_file, err_file, notes = _log_places(config)
    return StatusReport(
        healthy=not problems,
        problems=problems,
        remote=redactor.clean(config.remote),
        embedded=config.embedded,
        clone=config.clone_dir,
        log_file=log_file,
        err_file=err_file,
        last_success=utc_stamp(state.last_success) if state.last_success else None,
        last_commit=state.last_commit or None,
        last_run=utc_stamp(state.last_run) if state.last_run else None,
        last_outcome=state.last_outcome or None,
        last_error=redactor.clean(state.last_error) if state.last_error else None,
        pending_push=pending,
        push_enabled=config.push,
        files=files,
        set_aside=paths.set_aside_clones(config.clone_dir),
        notes=notes,
    )


def _run_problems(config: Config, state: State, now: float, pending: int,
                  view: VaultView) -> list[Problem]:
    problems: list[Problem] = []
    if state.other_vault is not None:
        problems.append(Problem(OTHER_VAULT, None, (
            f"the last backup went to another vault ({describe_vault(state.other_vault)}); "
            f"the next sync moves the history to {config.remote} and compares every file "
            "again")))
    elif not state.last_success:
        problems.append(Problem(NEVER_SYNCED, None, "no successful sync yet"))
    elif now - state.last_success > config.stale_after_minutes * 60:
        minutes = int((now - state.last_success) // 60)
        problems.append(Problem(STALE, None, (
            f"stale: the last successful sync was {minutes} minutes ago "
            f"(MEMORY_VAULT_STALE_AFTER={config.stale_after_minutes:g})")))
    if state.last_outcome == OUTCOME_FAILED:
        problems.append(Problem(LAST_RUN_FAILED, None, f"the last run failed: {state.last_error}"))
    if config.push:
        if state.push_error:
            problems.append(Problem(PUSH_FAILED, None, (
                f"push failed ({state.push_error_kind}): {state.push_error}")))
        if pending:
            problems.append(Problem(PENDING_PUSH, None,
                                    f"{pending} commit(s) not pushed to the remote"))
        elif view.on_remote is False and state.last_commit:
            problems.append(Problem(NOT_ON_REMOTE, None, (
                f"the last backup's commit {state.last_commit[:12]} is not on the remote's "
                f"{config.branch} (as last seen by a fetch or push)")))
    return problems


def _file_problems(config: Config, state: State, files: list[FileStatus]) -> list[Problem]:
    from memory_vault.journal.alarms import describe

    problems = [Problem(SHRINK, name, describe(name, alarm))
                for name, alarm in sorted(state.alarms.items())]
    if not any(f.present for f in files):
        return [*problems, Problem(NO_FILES, None, (
            f"none of the tracked files exists in {config.source_dir} "
            f"(MEMORY_VAULT_FILES={','.join(config.files)})"))]
    for name, skipped in sorted(state.skips.items()):
        if skipped.saved:
            problems.append(Problem(SKIPPED, name, (
                f"{name}: skipped by the last run, {skipped.reason}; "
                f"{describe_last_good(skipped.saved)}")))
        else:
            problems.append(Problem(NEVER_BACKED_UP, name, (
                f"{name}: never backed up: the last run skipped it, {skipped.reason}")))
    return problems


def _file_states(config: Config, state: State) -> list[FileStatus]:
    if not Path(config.source_dir).is_dir():
        return []
    records = state.files
    scan = sources.scan(config.files, config.source_dir, records, read_all=False)
    skipped_now = {s.name: s.reason for s in scan.skips}
    files = []
    for name in scan.present:
        record = records.get(name)
        skipped = state.skips.get(name)
        saved = record.saved if record else (skipped.saved if skipped else 0)
        reason = skipped_now.get(name) or (skipped.reason if skipped else None)
        if reason is not None:
            what = "skipped"
        elif record is None:
            what = "new"
        elif name in scan.candidates and _content_differs(config, name, record):
            what = "changed"
        else:
            what = "unchanged"
        fmt = record.format if record and what == "unchanged" else _format_of(config, name)
        files.append(FileStatus(name, True, what, what != "unchanged", bool(saved),
                                utc_stamp(saved) if saved else None, reason, fmt or None))
    for name in scan.absent:
        record = records.get(name)
        files.append(FileStatus(name, False, "absent", None, record is not None,
                                utc_stamp(record.saved) if record and record.saved else None))
    return files


def _format_of(config: Config, name: str) -> str | None:
    """The format of a file not read by the last sync (new or changed since)."""
    from memory_vault.content import formats

    path = Path(config.source_dir) / name
    if formats.is_sqlite_file(str(path)):
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


def _content_differs(config: Config, name: str, record: FileRecord | None) -> bool:
    """A file whose stat differs from its record may still hold the same bytes: hash it."""
    if record is None:
        return True
    from memory_vault.capture.snapshot import SnapshotProblem, stored_digest

    try:
        return stored_digest(str(Path(config.source_dir) / name)) != record.sha256
    except (OSError, SnapshotProblem):
        return True
