"""Sync: one backup run, as plan → capture → commit → push → record, under the run lock.

Built so that the common cron case, nothing changed, only stats files and reads the journal:
git is started (and the vault imported) only when there is something to commit or push. A dry
run is this same loop over a store that writes nothing (`pipeline.dryrun`).
"""

import os
import time

from memory_vault.errors import EXIT_FAILED, EXIT_OK, ConfigError, Interrupted, VaultError
from memory_vault.journal.cache import DAMAGED, FOREIGN, FOUND, load_journal
from memory_vault.logfile import DEBUG, RunLog
from memory_vault.pipeline.lock import RunLock
from memory_vault.pipeline.record import (
    Outcome,
    SyncResult,
    finish,
    leave_stamp,
    record_failure,
    remember,
    what_is_safe,
)
from memory_vault.settings.load import Config
from memory_vault.shortcut import Looks
from memory_vault.sources import scan as sources
from memory_vault.sources.registry import configured_sources
from memory_vault.sources.source import nothing_tracked

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

    from memory_vault.capture.version import Version
    from memory_vault.pipeline.dryrun import DryRun
    from memory_vault.pipeline.heartbeat import Heartbeat
    from memory_vault.pipeline.intake import Intake
    from memory_vault.store.commit import Committer
    from memory_vault.store.vault import Vault

NOW_LOCK_WAIT = 60.0


class SyncRequest:
    """What the user asked of this run."""

    __slots__ = ("dry_run", "now", "progress", "push", "stamp")

    def __init__(self, *, now: bool = False, dry_run: bool = False, push: bool = True,
                 progress: bool = False, stamp: str | None = None) -> None:
        self.now = now
        self.dry_run = dry_run
        self.push = push
        self.progress = progress  # git's progress meter: a person at a terminal, never cron
        self.stamp = stamp  # the cron lane's: where a clean no-change run leaves its stamp


def run_sync(config: Config, log: RunLog, request: SyncRequest) -> SyncResult:
    """Run one sync; its result carries the exit code (0, 3). Raises VaultError on failure.
    What a sync has to say goes to the log (and to the terminal through it)."""
    if request.dry_run:
        run = Run(config, log, request, None)
        return run.result(run.execute())
    lock = RunLock(config.lock_file)

    def say_waiting() -> None:
        log.info(f"another sync is running; waiting up to {NOW_LOCK_WAIT:g} s for it to finish")

    try:
        acquired = lock.acquire(wait=NOW_LOCK_WAIT if request.now else 0.0,
                                on_busy=say_waiting)
    except OSError as exc:  # a read-only or full data folder: one line, and what to do
        raise VaultError(unwritable_home(config, exc)) from None
    if not acquired:
        busy = "sync: another sync is running; leaving it to finish"
        log.info(busy)
        return SyncResult(EXIT_OK, Outcome(time.time()), pending_push=0, summary=busy)
    try:
        run = Run(config, log, request, lock.fd)
        try:
            code = run.execute()
        except Interrupted:
            raise
        except KeyboardInterrupt:  # Ctrl-C: git killed, the lock released, one true line
            raise Interrupted(what_is_safe(run.outcome, run.journal.pending_push, push=run.push,
                                          dry_run=request.dry_run)) from None
        except VaultError as exc:
            run.ping(EXIT_FAILED, f"sync failed: {exc}")
            raise
        run.ping(code, run.summary)
        return run.result(code)
    finally:
        lock.release()


def unwritable_home(config: Config, exc: OSError) -> str:
    return (f"cannot write the data folder {config.home} ({exc.strerror or exc}): make it "
            "writable, or set MEMORY_VAULT_HOME to a folder this user can write (then "
            "`init` again)")


class Run:
    """One run: its settings, what it was asked, the journal it started from, its outcome."""

    def __init__(self, config: Config, log: RunLog, request: SyncRequest,
                 lock_fd: int | None) -> None:
        self.config = config
        self.log = log
        self.request = request
        self.lock_fd = lock_fd
        self.push = request.push and config.push and not request.dry_run
        self.outcome = Outcome(time.time())
        self.journal = load_journal(config.state_file, config.vault_identity)
        self.sources = configured_sources(config)
        self._intake: Intake | None = None
        self.vault: Vault | DryRun | None = None
        self.summary = ""
        self.verbose = log.echo <= DEBUG
        self.explained = False
        self.heartbeat: Heartbeat | None = None
        self.looks = Looks(record=request.stamp is not None and not config.ping_url)
        if self.looks.seen is not None:
            log.kept = []
        if config.ping_url and not request.dry_run:  # urllib only when a URL is set
            from memory_vault.pipeline import heartbeat

            self.heartbeat = heartbeat.Heartbeat(config.ping_url, log)

    @property
    def intake(self) -> "Intake":
        """The reads of this run (made only when there is something to read)."""
        if self._intake is None:
            from memory_vault.pipeline.intake import Intake

            self._intake = Intake(self.config, self.log, self.journal, self.sources,
                                  self.outcome, self.tip_pieces)
        return self._intake

    def result(self, code: int) -> SyncResult:
        return SyncResult(code, self.outcome, pending_push=self.journal.pending_push,
                          summary=self.summary, dry_run=self.request.dry_run)

    def ping(self, code: int, summary: str) -> None:
        if self.heartbeat is not None:
            self.heartbeat.finish(code, summary)

    def execute(self) -> int:
        journal = self.journal
        if journal.condition in (DAMAGED, FOREIGN) and not self.request.dry_run:
            self.log.warning(f"{self.config.state_file} is {journal.damaged}; rebuilding it "
                             "from the files and the vault (nothing is lost)")
        full = self.request.now or journal.condition != FOUND or journal.migrated_from == 2
        scan = self.plan(full)
        if not scan.present:
            self.fail(nothing_tracked(self.sources))
        clone_ready = os.path.isdir(os.path.join(self.config.clone_dir, ".git"))
        push_due = self.push and journal.pending_push > 0
        if not scan.candidates and clone_ready and not push_due:
            code = self.record(durable=False)
            if code == EXIT_OK and self.looks.seen is not None and self.request.stamp:
                leave_stamp(self.request.stamp, self.config, self.log, self.looks,
                            self.outcome.started)
            return code
        import gc  # files to read or git to start: the collector `entry.run` paused works

        gc.enable()
        try:
            return self.work(scan, full=full, clone_ready=clone_ready, push_due=push_due)
        except Interrupted:
            raise
        except VaultError as exc:
            self.fail(str(exc), exc)
        except OSError as exc:  # the data folder or clone cannot be written (full, read-only)
            where = f" ({exc.filename})" if exc.filename else ""
            self.fail(f"cannot update the vault: {exc.strerror or exc}{where}", exc)
        except Exception as exc:
            record_failure(self.config, self.log, self.outcome.started,
                           f"unexpected error: {exc!r}")
            raise

    def fail(self, message: str, cause: BaseException | None = None) -> "NoReturn":
        if not self.request.dry_run:
            record_failure(self.config, self.log, self.outcome.started, message)
        if isinstance(cause, ConfigError):  # an encrypted vault's identity, say: exit 2
            raise ConfigError(message, cause.variable) from cause
        raise VaultError(message) from cause

    # -- plan and capture ----------------------------------------------------------------

    def plan(self, full: bool) -> sources.Scan:
        """Which tracked files of every source exist, and which must be read (stat only)."""
        plan = sources.Scan()
        for source in self.sources:
            part = sources.scan_source(source, self.journal.files, read_all=full,
                                       looks=self.looks)
            plan.present += part.present
            plan.absent += part.absent
            plan.candidates += part.candidates
            plan.skips += part.skips
        self.outcome.present, self.outcome.absent = plan.present, plan.absent
        self.outcome.skips = list(plan.skips)
        if self.verbose and not self.explained:  # -v: why each file is read or not
            self.explained = True
            from memory_vault.pipeline.reasons import every_file_read, explain_scan

            explain_scan(self.log, self.sources, self.journal.files, plan,
                         every_file_read(full, now=self.request.now, damaged=self.journal.damaged))
        return plan

    # -- commit and push -----------------------------------------------------------------

    def work(self, scan: sources.Scan, *, full: bool, clone_ready: bool, push_due: bool) -> int:
        """Read each candidate, and copy it into the clone at once if it changed: one file's
        bytes in memory at a time. The vault is opened only by the first real change."""
        vault: Vault | DryRun | None = None
        seen: list[Version] = []
        reads = (self.intake.proven(scan.candidates, seen, self.staging, every=full)
                 if scan.candidates else ())
        for version in reads:  # nothing to read: no reading machinery imported
            if self.verbose:
                from memory_vault.pipeline.reasons import explain_read

                explain_read(self.log, version, self.journal.files.get(version.path))
            if full or self.intake.differs(version):
                if vault is None:
                    vault = self.open_vault()
                    if vault.repo.fresh and not full:
                        return self.rebuild(vault)
                vault.commits.stage(version)
            seen.append(version.release())
        if vault is None:
            if clone_ready and not push_due:
                remember(self.journal, seen, self.outcome.started)
                return self.record(durable=True)
            vault = self.open_vault()
            if vault.repo.fresh and not full:
                return self.rebuild(vault)
        return self.commit_and_push(vault, seen)

    def staging(self) -> "Committer | DryRun | None":
        return None if self.vault is None else self.vault.commits

    def tip_pieces(self, path: str) -> set[str]:
        """The blobs of the pieces of `path` the vault's tip holds (the vault is opened: a
        file read in pieces that changed is about to be committed)."""
        vault = self.open_vault()
        return set() if self.request.dry_run else set(
            vault.commits.tip_pieces(path).values())  # type: ignore[union-attr]

    def open_vault(self) -> "Vault | DryRun":
        if self.vault is not None:
            return self.vault
        if self.request.dry_run:
            from memory_vault.pipeline.dryrun import DryRun

            self.vault = DryRun(self.log)
            return self.vault
        from memory_vault.store.vault import Vault  # only now that git has work

        if self.heartbeat is not None:  # the run has real work: a commit or a push
            self.heartbeat.start()
        vault = Vault(self.config, self.log, lock_fd=self.lock_fd)
        vault.repo.progress = self.request.progress
        vault.prepare()
        self.vault = vault
        return vault

    def rebuild(self, vault: "Vault | DryRun") -> int:
        """A new clone may lack what the journal says was committed: compare every file."""
        seen: list[Version] = []
        candidates = self.plan(full=True).candidates
        for version in self.intake.proven(candidates, seen, self.staging, every=True):
            vault.commits.stage(version)
            seen.append(version.release())
        return self.commit_and_push(vault, seen)

    def commit_and_push(self, vault: "Vault | DryRun", seen: "list[Version]") -> int:
        from memory_vault.pipeline.commit import commit_and_push

        commit_and_push(self, vault, seen)
        return self.record(durable=True)

    # -- record --------------------------------------------------------------------------

    def record(self, *, durable: bool) -> int:
        if self.request.dry_run:
            from memory_vault.pipeline.dryrun import record_dry_run

            self.summary = record_dry_run(self.log, self.outcome, self.vault)
            return self.outcome.exit_code
        ask = self.vault.commits.last_saved if self.vault is not None else None
        try:
            self.summary = finish(self.config, self.log, self.journal, self.outcome,
                                  last_saved=ask, durable=durable)
        except OSError as exc:
            if self.outcome.committed is None and not self.outcome.pushed:
                raise
            self.log.warning(f"cannot write {self.config.state_file} ({exc.strerror or exc}): "
                             "the backup itself is done; the next run rebuilds the journal")
        return self.outcome.exit_code
