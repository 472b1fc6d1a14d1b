"""One sync run: lock, detect, write, commit, push, record, summarise.

Built so that the common cron case, nothing changed, only stats files and reads `.last_sync`:
git is started (and GitPython imported) only when there is something to commit or push.
"""

import os
import time

from memory_vault import detect
from memory_vault.config import Config
from memory_vault.errors import EXIT_OK, EXIT_PARTIAL, VaultError
from memory_vault.lock import RunLock
from memory_vault.logfile import RunLog
from memory_vault.state import State, load_state, save_state

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from memory_vault.vault import Vault

NOW_LOCK_WAIT = 60.0
LISTED_FILES = 50  # per-file log lines beyond this are summed up in one line


class SyncRequest:
    """What the user asked of this run."""

    __slots__ = ("dry_run", "now", "push")

    def __init__(self, *, now: bool = False, dry_run: bool = False, push: bool = True) -> None:
        self.now = now
        self.dry_run = dry_run
        self.push = push


def run_sync(config: Config, log: RunLog, request: SyncRequest) -> int:
    """Run one sync and return its exit code (0, 3); raise VaultError on failure."""
    if request.dry_run:
        return _Run(config, log, request, None).dry_run()
    lock = RunLock(config.lock_file)
    if not lock.acquire(wait=NOW_LOCK_WAIT if request.now else 0.0):
        log.info("sync: another sync is running; leaving it to finish")
        return EXIT_OK
    try:
        return _Run(config, log, request, lock.fd).execute()
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
        self.state = load_state(config.state_file)
        self.skips: list[detect.Skip] = []

    # -- the run -------------------------------------------------------------------------

    def execute(self) -> int:
        state = self.state
        if state.damaged not in (None, "missing"):
            self.log.warning(f"{self.config.state_file} is {state.damaged}; rebuilding it from "
                             "the files and the vault (nothing is lost)")
        full = self.request.now or state.damaged is not None
        scan = self._scan(read_all=full)
        clone_ready = os.path.isdir(os.path.join(self.config.clone_dir, ".git"))
        push_due = self.push and state.pending_push > 0
        if not scan.candidates and clone_ready and not push_due:
            return self._finish(scan, committed=None, pushed=False, durable=False)
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

    def _work(self, scan: detect.Scan, *, full: bool, clone_ready: bool, push_due: bool) -> int:
        """Read each candidate, and copy it into the clone at once if it changed: one file's
        bytes in memory at a time. The vault is opened only by the first real change."""
        vault: Vault | None = None
        seen: list[detect.Snapshot] = []
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

    def _open_vault(self) -> "Vault":
        from memory_vault.vault import Vault  # GitPython: only now that git has work

        vault = Vault(self.config, self.log, lock_fd=self.lock_fd)
        vault.prepare()
        return vault

    def _rebuild(self, vault: "Vault") -> int:
        """A new clone may lack what `.last_sync` says was committed: compare every file."""
        scan = self._scan(read_all=True)
        seen = []
        for snap in self._snapshots(scan.candidates):
            vault.stage(snap)
            seen.append(snap.release())
        return self._commit_and_push(vault, scan, seen)

    def _commit_and_push(self, vault: "Vault", scan: detect.Scan,
                         seen: list[detect.Snapshot]) -> int:
        commit = vault.commit(self.started)
        self._remember(seen)
        if commit is not None:
            self.state.last_commit = commit.sha
            self._log_files(commit.files)
        pushed = False
        self.state.pending_push = vault.unpushed()
        if self.push and self.state.pending_push:
            try:
                vault.push()
                pushed = True
                self.state.pending_push = 0
            except VaultError as exc:
                self.skips.append(detect.Skip("push", str(exc)))
                self.log.error(f"push failed, {self.state.pending_push} commit(s) kept in the "
                               f"clone for the next run: {exc}")
        if commit is not None or pushed:
            vault.maintain()
        vault.done()
        return self._finish(scan, committed=commit.sha if commit else None, pushed=pushed,
                            durable=True)

    def dry_run(self) -> int:
        scan = self._scan(read_all=self.request.now or self.state.damaged is not None)
        full = self.request.now or self.state.damaged is not None
        for snap in self._snapshots(scan.candidates):
            snap.release()
            if full or self._differs(snap):
                self.log.info(f"would back up {snap.name} ({snap.size} bytes, "
                              f"sha256 {snap.sha256[:12]})")
        self.log.info(f"sync (dry run): {len(scan.present)} files checked, nothing written")
        return EXIT_PARTIAL if self.skips else EXIT_OK

    # -- steps ---------------------------------------------------------------------------

    def _scan(self, *, read_all: bool) -> detect.Scan:
        scan = detect.scan(self.config.files, self.config.source_dir, self.state.files,
                           read_all=read_all)
        self.skips = list(scan.skips)
        return scan

    def _snapshots(self, names: list[str]) -> "Iterator[detect.Snapshot]":
        """Consistent copies of `names`, one at a time; skips are noted as they come."""
        for name in names:
            outcome = detect.take_snapshot(
                name, self.config.source_dir,
                max_bytes=self.config.max_file_bytes, validate_json=self.config.validate_json,
            )
            if isinstance(outcome, detect.Snapshot):
                yield outcome
            elif isinstance(outcome, detect.Skip):
                self.skips.append(outcome)

    def _differs(self, snap: detect.Snapshot) -> bool:
        record = self.state.files.get(snap.name)
        return record is None or record.sha256 != snap.sha256

    def _remember(self, snapshots: list[detect.Snapshot]) -> None:
        now_ns = time.time_ns()
        for snap in snapshots:
            self.state.files[snap.name] = snap.record(now_ns)

    def _log_files(self, files: list[tuple[str, int, str]]) -> None:
        for name, size, digest in files[:LISTED_FILES]:
            self.log.info(f"{name}: backed up ({size} bytes, sha256 {digest[:12]})")
        if len(files) > LISTED_FILES:
            self.log.info(f"... and {len(files) - LISTED_FILES} more files backed up")

    # -- the record ----------------------------------------------------------------------

    def _finish(self, scan: detect.Scan, *, committed: str | None, pushed: bool,
                durable: bool) -> int:
        for skip in self.skips:
            if skip.name != "push":
                self.log.error(f"{skip.name}: skipped, {skip.reason}; the vault keeps its "
                               "last good copy")
        if scan.absent:
            self.log.info(f"absent, nothing to back up: {', '.join(scan.absent)}")
        state = self.state
        present = set(scan.present)
        for name in [n for n in state.files if n not in present]:
            del state.files[name]
        exit_code = EXIT_PARTIAL if self.skips else EXIT_OK
        state.last_run = int(self.started)
        state.last_outcome = "partial" if exit_code else "ok"
        state.last_error = "; ".join(f"{s.name}: {s.reason}" for s in self.skips)
        if not exit_code:
            state.last_success = int(self.started)
        save_state(self.config.state_file, state, durable=durable)
        self.log.info(self._summary(scan, committed, pushed))
        return exit_code

    def _summary(self, scan: detect.Scan, committed: str | None, pushed: bool) -> str:
        parts = [f"{len(scan.present)} files checked"]
        if committed:
            parts.insert(0, f"committed {committed[:12]}")
            if pushed:
                parts.insert(1, "pushed")
        elif not pushed:
            parts.insert(0, "nothing changed")
        else:
            parts.insert(0, "pushed pending commits")
        if self.state.pending_push:
            parts.append(f"{self.state.pending_push} commit(s) waiting to be pushed")
        if self.skips:
            parts.append(f"{len(self.skips)} skipped")
        return "sync: " + ", ".join(parts)

    def _record_failure(self, message: str) -> None:
        """Keep the failure in `.last_sync` for `status`; the file records stay as they were."""
        fresh = load_state(self.config.state_file)
        target = fresh if fresh.damaged is None else State()
        target.last_run = int(self.started)
        target.last_outcome = "failed"
        target.last_error = self.log.redactor.clean(message)
        try:
            save_state(self.config.state_file, target, durable=False)
        except OSError:
            pass
