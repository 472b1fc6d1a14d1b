"""One sync run: lock, find the changed sources, snapshot them, commit, push, record.

Built so that the common cron case, nothing changed, only stats files and reads `.last_sync`:
git is started (and GitPython imported) only when there is something to commit or push.
"""

import os
import time

from memory_vault.errors import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, GitFailed, VaultError
from memory_vault.fsutil import plural
from memory_vault.journal.cache import (
    DAMAGED,
    GOOD,
    OTHER_VAULT,
    OUTCOME_FAILED,
    OUTCOME_OK,
    OUTCOME_PARTIAL,
    Skipped,
    State,
    describe_last_good,
    load_state,
    save_state,
)
from memory_vault.logfile import RunLog
from memory_vault.pipeline.lock import RunLock
from memory_vault.results import Done
from memory_vault.settings.load import Config
from memory_vault.sources import scan as sources

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from memory_vault.capture.snapshot import Snapshot
    from memory_vault.pipeline.heartbeat import Heartbeat
    from memory_vault.store.vault import Vault

NOW_LOCK_WAIT = 60.0
LISTED_FILES = 50  # per-file log lines beyond this are summed up in one line


def _resume_collector() -> None:
    """The run has files to read or git to start: the cyclic garbage collector, paused by
    `entry.run` while nothing was known to change, works again."""
    import gc

    gc.enable()


class SyncRequest:
    """What the user asked of this run."""

    __slots__ = ("dry_run", "now", "progress", "push")

    def __init__(self, *, now: bool = False, dry_run: bool = False, push: bool = True,
                 progress: bool = False) -> None:
        self.now = now
        self.dry_run = dry_run
        self.push = push
        self.progress = progress  # git's progress meter: a person at a terminal, never cron


def run_sync(config: Config, log: RunLog, request: SyncRequest) -> Done:
    """Run one sync; its result carries the exit code (0, 3). Raises VaultError on failure.
    What a sync has to say goes to the log (and to the terminal through it)."""
    return Done(_sync_code(config, log, request))


def _sync_code(config: Config, log: RunLog, request: SyncRequest) -> int:
    if request.dry_run:
        return _Run(config, log, request, None).dry_run()
    lock = RunLock(config.lock_file)

    def say_waiting() -> None:
        log.info(f"another sync is running; waiting up to {NOW_LOCK_WAIT:g} s for it to finish")

    if not lock.acquire(wait=NOW_LOCK_WAIT if request.now else 0.0, on_busy=say_waiting):
        log.info("sync: another sync is running; leaving it to finish")
        return EXIT_OK
    try:
        run = _Run(config, log, request, lock.fd)
        try:
            code = run.execute()
        except VaultError as exc:
            run.ping(EXIT_FAILED, f"sync failed: {exc}")
            raise
        run.ping(code, run.summary)
        return code
    finally:
        lock.release()


class _Run:
    def __init__(
        self, config: Config, log: RunLog, request: SyncRequest, lock_fd: int | None
    ) -> None:
        self.config = config
        self.log = log
        self.request = request
        self.lock_fd = lock_fd
        self.push = request.push and config.push
        self.started = time.time()
        self.state = load_state(config.state_file, config.vault_identity)
        self.skips: list[sources.Skip] = []
        self.push_error: GitFailed | None = None
        self.vault: Vault | None = None
        self.summary = ""
        self.heartbeat: Heartbeat | None = None
        if config.ping_url:  # urllib only when a URL is set
            from memory_vault.pipeline import heartbeat

            self.heartbeat = heartbeat.Heartbeat(config.ping_url, log)

    def ping(self, code: int, summary: str) -> None:
        if self.heartbeat is not None:
            self.heartbeat.finish(code, summary)

    # -- the run -------------------------------------------------------------------------

    def execute(self) -> int:
        state = self.state
        if state.condition in (DAMAGED, OTHER_VAULT):
            self.log.warning(f"{self.config.state_file} is {state.damaged}; rebuilding it from "
                             "the files and the vault (nothing is lost)")
        full = self.request.now or state.condition != GOOD
        scan = self._scan(read_all=full)
        if not scan.present:
            self._record_failure(self._nothing_to_back_up())
            raise VaultError(self._nothing_to_back_up())
        clone_ready = os.path.isdir(os.path.join(self.config.clone_dir, ".git"))
        push_due = self.push and state.pending_push > 0
        if not scan.candidates and clone_ready and not push_due:
            return self._finish(scan, committed=None, pushed=False, durable=False)
        _resume_collector()
        if self.heartbeat is not None:
            self.heartbeat.start()
        try:
            return self._work(scan, full=full, clone_ready=clone_ready, push_due=push_due)
        except VaultError as exc:
            self._record_failure(str(exc))
            raise
        except OSError as exc:  # the data folder or clone cannot be written (full, read-only)
            where = f" ({exc.filename})" if exc.filename else ""
            message = f"cannot update the vault: {exc.strerror or exc}{where}"
            self._record_failure(message)
            raise VaultError(message) from exc
        except Exception as exc:
            self._record_failure(f"unexpected error: {exc!r}")
            raise

    def _work(self, scan: sources.Scan, *, full: bool, clone_ready: bool, push_due: bool) -> int:
        """Read each candidate, and copy it into the clone at once if it changed: one file's
        bytes in memory at a time. The vault is opened only by the first real change."""
        vault: Vault | None = None
        seen: list[Snapshot] = []
        for snap in self._snapshots(scan.candidates):
            if full or self._differs(snap):
                if vault is None:
                    vault = self._open_vault()
                    if vault.fresh and not full:
                        return self._rebuild(vault)
                vault.stage(snap)
            seen.append(snap.release())
        if vault is None:
            if clone_ready and not push_due:
                self._remember(seen)
                return self._finish(scan, committed=None, pushed=False, durable=True)
            vault = self._open_vault()
            if vault.fresh and not full:
                return self._rebuild(vault)
        return self._commit_and_push(vault, scan, seen)

    def _nothing_to_back_up(self) -> str:
        return (f"none of the tracked files exists in {self.config.source_dir} "
                f"(MEMORY_VAULT_FILES={','.join(self.config.files)}): nothing was backed up; "
                "is MEMORY_VAULT_SOURCE_DIR right?")

    def _open_vault(self) -> "Vault":
        from memory_vault.store.vault import Vault  # GitPython: only now that git has work

        vault = Vault(self.config, self.log, lock_fd=self.lock_fd)
        vault.progress = self.request.progress
        vault.prepare()
        self.vault = vault
        return vault

    def _rebuild(self, vault: "Vault") -> int:
        """A new clone may lack what `.last_sync` says was committed: compare every file."""
        scan = self._scan(read_all=True)
        seen = []
        for snap in self._snapshots(scan.candidates):
            vault.stage(snap)
            seen.append(snap.release())
        return self._commit_and_push(vault, scan, seen)

    def _commit_and_push(self, vault: "Vault", scan: sources.Scan,
                         seen: list["Snapshot"]) -> int:
        commit = vault.commit(self.started)
        before = {snap.name: self.state.files.get(snap.name) for snap in seen}
        self._remember(seen)
        if commit is not None and self.config.shrink_alert:
            from memory_vault.journal.alarms import raise_alarms

            raise_alarms(self.config, self.log, self.state, vault, commit, before, seen)
        self.state.last_commit = vault.head() or ""  # the commit that holds these versions
        if commit is not None:
            self._log_files(commit.files)
        pushed = False
        self.state.pending_push = vault.unpushed()
        if self.push and self.state.pending_push:
            try:
                vault.push()
                pushed = True
                self.state.pending_push = 0
            except GitFailed as exc:
                self.push_error = exc
                self.log.error(f"push failed ({exc.kind}), {self.state.pending_push} commit(s) "
                               f"kept in the clone for the next run: {exc}")
        if commit is not None or pushed:
            self._housekeeping(vault)
        vault.done()
        return self._finish(scan, committed=commit.sha if commit else None, pushed=pushed,
                            durable=True)

    def _housekeeping(self, vault: "Vault") -> None:
        """Compaction after the backup is safe: a failure here (a full disk, say) is a
        warning, never the run's outcome."""
        try:
            vault.maintain()
        except (VaultError, OSError) as exc:
            self.log.warning(f"housekeeping after the backup failed (the backup itself is "
                             f"safe): {exc}")

    def dry_run(self) -> int:
        _resume_collector()
        full = self.request.now or self.state.condition != GOOD
        scan = self._scan(read_all=full)
        for snap in self._snapshots(scan.candidates):
            snap.release()
            if full or self._differs(snap):
                self.log.info(f"would back up {snap.name} ({snap.size} bytes, "
                              f"sha256 {snap.sha256[:12]})")
        self.log.info(f"sync (dry run): {len(scan.present)} files checked, nothing written")
        return EXIT_PARTIAL if self.skips else EXIT_OK

    # -- steps ---------------------------------------------------------------------------

    def _scan(self, *, read_all: bool) -> sources.Scan:
        scan = sources.scan(self.config.files, self.config.source_dir, self.state.files,
                           read_all=read_all)
        self.skips = list(scan.skips)
        return scan

    def _snapshots(self, names: list[str]) -> "Iterator[Snapshot]":
        """Consistent copies of `names`, one at a time; skips are noted as they come."""
        from memory_vault.capture.snapshot import Snapshot, take_snapshot  # hashlib: only with work

        for name in names:
            outcome = take_snapshot(
                name, self.config.source_dir,
                max_bytes=self.config.max_file_bytes, validate=self.config.validate,
            )
            if isinstance(outcome, Snapshot):
                yield outcome
            elif isinstance(outcome, sources.Skip):
                self.skips.append(outcome)

    def _differs(self, snap: "Snapshot") -> bool:
        record = self.state.files.get(snap.name)
        return record is None or record.sha256 != snap.sha256

    def _remember(self, snapshots: list["Snapshot"]) -> None:
        now_ns = time.time_ns()
        started = int(self.started)
        for snap in snapshots:
            old = self.state.files.get(snap.name)
            saved = old.saved if old is not None and old.sha256 == snap.sha256 else started
            self.state.files[snap.name] = snap.record(now_ns, saved)

    def _log_files(self, files: list[tuple[str, int, str]]) -> None:
        for name, size, digest in files[:LISTED_FILES]:
            self.log.info(f"{name}: backed up ({size} bytes, sha256 {digest[:12]})")
        if len(files) > LISTED_FILES:
            self.log.info(f"... and {len(files) - LISTED_FILES} more files backed up")

    # -- the record ----------------------------------------------------------------------

    def _finish(self, scan: sources.Scan, *, committed: str | None, pushed: bool,
                durable: bool) -> int:
        saved_at = {skip.name: self._last_saved(skip.name) for skip in self.skips}
        for skip in self.skips:
            self.log.error(f"{skip.name}: skipped, {skip.reason}; "
                           f"{describe_last_good(saved_at[skip.name])}")
        if scan.absent:
            self.log.info(f"absent, nothing to back up: {', '.join(scan.absent)}")
        state = self.state
        present = set(scan.present)
        for name in [n for n in state.files if n not in present]:
            del state.files[name]
        state.skips = {s.name: Skipped(s.reason, saved_at[s.name]) for s in self.skips}
        exit_code = EXIT_PARTIAL if self.skips or self.push_error else EXIT_OK
        state.vault = self.config.vault_identity
        state.last_run = int(self.started)
        state.last_outcome = OUTCOME_PARTIAL if exit_code else OUTCOME_OK
        problems = [f"{s.name}: {s.reason}" for s in self.skips]
        if self.push_error is not None:
            problems.append(f"push failed ({self.push_error.kind}): {self.push_error}")
            state.push_error_kind, state.push_error = self.push_error.kind, str(self.push_error)
        elif not state.pending_push:
            state.push_error_kind = state.push_error = ""
        state.last_error = self.log.redactor.clean("; ".join(problems))
        if not exit_code:
            state.last_success = int(self.started)
        save_state(self.config.state_file, state, durable=durable)
        self.summary = self._summary(scan, committed, pushed)
        self.log.info(self.summary)
        return exit_code

    def _summary(self, scan: sources.Scan, committed: str | None, pushed: bool) -> str:
        parts = [f"{plural(len(scan.present), 'file')} checked"]
        if committed:
            parts.insert(0, f"committed {committed[:12]}")
            if pushed:
                parts.insert(1, "pushed")
        elif not pushed:
            parts.insert(0, "nothing changed")
        else:
            parts.insert(0, "pushed pending commits")
        if self.push_error is not None:
            parts.append(f"push failed ({self.push_error.kind})")
        if self.state.pending_push:
            parts.append(f"{self.state.pending_push} commit(s) waiting to be pushed")
        if self.skips:
            parts.append(f"{len(self.skips)} skipped")
        return "sync: " + ", ".join(parts)

    def _last_saved(self, name: str) -> int:
        """When the vault last took a version of a skipped file (0: never), from the state,
        else from git when this run opened the vault anyway, else from the previous run."""
        record = self.state.files.get(name)
        if record is not None and record.saved:
            return record.saved
        if self.vault is not None:
            return self.vault.last_saved(name) or 0
        earlier = self.state.skips.get(name)
        return earlier.saved if earlier is not None else 0

    def _record_failure(self, message: str) -> None:
        """Keep the failure in `.last_sync` for `status`; the file records stay as they were."""
        fresh = load_state(self.config.state_file, self.config.vault_identity)
        target = fresh if fresh.condition == GOOD else State()
        target.vault = self.config.vault_identity
        target.last_run = int(self.started)
        target.last_outcome = OUTCOME_FAILED
        target.last_error = self.log.redactor.clean(message)
        try:
            save_state(self.config.state_file, target, durable=False)
        except OSError:
            pass
