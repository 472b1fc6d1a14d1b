"""Watch: the foreground process that waits for changes to the tracked files of every source,
waits until the writing stops, runs one sync, and waits again (`memory-vault watch`).

The file system tells us of changes through watchfiles (the Rust `notify` crate: inotify,
FSEvents, kqueue; polling where none works), imported here only: never on the cron path.
Its own grouping counts distinct paths, so a file rewritten every 100 ms would look quiet to
it; the quiet is judged here, by time: a sync starts `QUIET` s after the last tracked change,
or `MOST` s after the first change not yet synced while a writer never stops, and a sync
only ever commits whole versions (the capture's rule). The sync is the job's own command in a
child process, started once no other run holds the lock, so that cron beside it is safe and
`watch` stays small. SIGTERM and SIGINT stop it after a sync under way has finished: the
child runs in a session of its own, so that a terminal's Ctrl-C reaches `watch` alone (the user
stops the watching, not the backup of the change just made); a second Ctrl-C stops that sync
too, as Ctrl-C stops any run (exit 130, what it left is taken up by the next run). A sync
that cannot be started (the lock file, no process to be had) is a failed sync, tried again
later; settings that cannot be used leave the old set watched until they can.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from types import FrameType

from memory_vault.errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_PARTIAL, VaultError
from memory_vault.fsutil import plural
from memory_vault.logfile import RunLog
from memory_vault.pipeline.lock import RunLock
from memory_vault.results import Done
from memory_vault.settings.load import Config, load_config
from memory_vault.triggers.job import program_command
from memory_vault.triggers.watched import Watched

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from watchfiles import Change

    Batches = Iterator[set[tuple[Change, str]]]

STEP_MS = 250  # how often the watcher looks at its events: its whole idle cost
QUIET = 0.75  # seconds without a tracked change: the writing has stopped
MOST = 5.0  # a writer that never stops still gets a sync this often
FIRST_RETRY, LAST_RETRY = 5.0, 900.0  # a failed sync is tried again, less and less often
POLL_MS = 2000  # the polling fallback's period
LOCK_WAIT = 600.0


class Watcher:
    """One `watch` process: what it watches, what is pending, how its syncs went."""

    def __init__(self, config: Config, log: RunLog) -> None:
        self.config = config
        self.log = log
        self.stop = threading.Event()
        self.watched = Watched(config)
        self.known = self.watched.signature()
        self.polling = bool(os.environ.get("WATCHFILES_FORCE_POLLING"))
        self.first_change: float | None = None  # the first change not synced yet
        self.last_change = 0.0
        self.retry_at: float | None = None
        self.retry_delay = FIRST_RETRY
        self.syncs = 0
        self.child: subprocess.Popen[bytes] | None = None  # the sync under way
        self.impatient = False  # a second signal came: the sync under way is stopped too
        self.said: set[str] = set()  # what is said once, until it is no longer true

    def run(self) -> Done:
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self._on_signal)
        self._say_what_is_watched()
        self.first_change = self.last_change = time.monotonic() - QUIET  # catch up first
        while not self.stop.is_set():
            if self.watched.roots:
                self._watch_until_the_set_changes()
            else:
                self._wait_for_a_folder()
        self.log.info(f"watch: stopped after {plural(self.syncs, 'sync')}")
        return Done(EXIT_OK, [f"Stopped after {plural(self.syncs, 'sync')}."])

    def _on_signal(self, _number: int, _frame: FrameType | None) -> None:
        """The first signal stops watching, a sync under way going on to its end; a second
        one stops that sync too, with the Ctrl-C the terminal no longer sends it (to its
        process group: its git too)."""
        if self.stop.is_set():
            self.impatient = True  # a sync being started now is stopped once it is known
            self._interrupt_child()
        self.stop.set()

    def _interrupt_child(self) -> None:
        child = self.child
        if self.impatient and child is not None and child.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.pid, signal.SIGINT)

    def _once(self, key: str, say: Callable[[str], None], message: str) -> None:
        if key not in self.said:
            self.said.add(key)
            say(message)

    def _say_what_is_watched(self) -> None:
        how = f"polling every {POLL_MS / 1000:g} s" if self.polling else "file system events"
        self.log.info(f"watch: watching {plural(len(self.watched.roots), 'folder')} ({how}): "
                      f"a sync follows {QUIET:g} s after the last change ({MOST:g} s after "
                      "the first while the writing goes on); Ctrl-C stops")
        for folder in self.watched.missing:
            self.log.info(f"watch: {folder} does not exist yet; watching for it")

    def _watch_until_the_set_changes(self) -> None:
        from watchfiles import Change, watch

        events = watch(*self.watched.roots, watch_filter=None, debounce=1000, step=STEP_MS,
                       rust_timeout=int(QUIET * 1000), yield_on_timeout=True,
                       stop_event=self.stop, raise_interrupt=False,
                       force_polling=True if self.polling else None, poll_delay_ms=POLL_MS,
                       ignore_permission_denied=True, recursive=self.watched.recursive)
        try:
            while (changes := self._next(events)) is not None:
                now = time.monotonic()
                if any(self.watched.counts(path, added=change == Change.added)
                       for change, path in changes):
                    self._changed(now)
                if not self._tick(now):
                    return
        finally:
            events.close()

    def _next(self, events: Batches) -> set[tuple[Change, str]] | None:
        """The next changes (none when the watcher looks and finds none); None when watching
        this set ends. Only the watcher's own failures are caught here, never a sync's."""
        try:
            changes = next(events)
        except StopIteration:
            return None
        except FileNotFoundError as exc:
            self._lost_a_folder(exc)
            return None
        except (OSError, RuntimeError) as exc:
            self._fall_back(exc)
            return None
        self.said.discard("lost")
        return changes

    def _lost_a_folder(self, exc: OSError) -> None:
        """A watched folder went away before the watcher could start on it (the polling
        watcher refuses a missing folder; the native one leaves it out): sync what is due,
        and make the set again without it, else the watcher would be started on it again and
        again while nothing is watched nor synced."""
        self._once("lost", self.log.info, f"watch: a watched folder went away ({exc}); "
                   "looking at the folders again")
        if self.stop.wait(QUIET):
            return
        if self._tick(time.monotonic()) and not all(map(os.path.isdir, self.watched.roots)):
            self._reload()

    def _wait_for_a_folder(self) -> None:
        while self.stop.wait(QUIET) is False and self._tick(time.monotonic()):
            pass

    def _tick(self, now: float) -> bool:
        """Sync when due; False when the watched set must be made again."""
        if self._due(now):
            self._sync()
        signature = self.watched.signature()
        if signature == self.known:
            return True
        self.known = signature
        self._reload()
        return False

    def _changed(self, now: float) -> None:
        self.last_change = now
        if self.first_change is None:
            self.first_change = now

    def _due(self, now: float) -> bool:
        if self.first_change is not None:
            return now - self.last_change >= QUIET or now - self.first_change >= MOST
        return self.retry_at is not None and now >= self.retry_at

    def _sync(self) -> None:
        """One sync, as cron runs it, once no other run holds the lock."""
        self.first_change = None
        try:
            if not RunLock(self.config.lock_file).wait_free(LOCK_WAIT, self.stop.is_set):
                if not self.stop.is_set():
                    self._failed(f"another run still held the lock after {LOCK_WAIT:g} s")
                return
            code = self._run_sync()
        except OSError as exc:  # the lock file; no process to be had (EAGAIN, ENOMEM)
            self._failed(f"the sync could not be started ({exc})")
            return
        self.syncs += 1
        if code == EXIT_OK:
            self.retry_at, self.retry_delay = None, FIRST_RETRY
        elif self.stop.is_set():  # stopping: the next run (cron, or watch again) tries again
            say = self.log.info if code in (EXIT_INTERRUPTED, EXIT_PARTIAL) else self.log.warning
            say(f"watch: the sync under way ended with exit code {code} as watch stopped; "
                "the next run takes up what it left")
        else:
            self._failed(f"the sync ended with exit code {code}", partial=code == EXIT_PARTIAL)

    def _run_sync(self) -> int:
        env_file = ["--env-file", self.config.env_file] if self.config.env_file else []
        self.child = subprocess.Popen([*program_command(), *env_file],
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        self._interrupt_child()  # the second signal came while it was being started
        try:
            return self.child.wait()
        finally:
            self.child = None

    def _failed(self, why: str, *, partial: bool = False) -> None:
        delay = self.retry_delay
        self.retry_at = time.monotonic() + delay
        self.retry_delay = min(delay * 2, LAST_RETRY)
        say = self.log.info if partial else self.log.warning
        say(f"watch: {why}; trying again in {delay:g} s")

    def _reload(self) -> None:
        """The settings or the folders changed: watch the new set, and sync once for it.
        Settings that cannot be used (a file half written by an editor) leave the old set
        watched, said once, until they can."""
        try:
            config = load_config(env_file_option=self.config.env_file)
            watched = Watched(config)
        except VaultError as exc:
            self._once("settings", self.log.warning, f"watch: the settings changed but cannot "
                       f"be used ({exc}); watching as before until they can")
            return
        self.said.discard("settings")
        self.config, self.watched = config, watched
        self.known = watched.signature()
        self._changed(time.monotonic())
        self._say_what_is_watched()

    def _fall_back(self, exc: Exception) -> None:
        if self.polling:
            raise VaultError(f"cannot watch the source folders: {exc}") from None
        self.polling = True
        self.log.warning(f"watch: the file system's events cannot be had ({exc}); polling "
                         f"every {POLL_MS / 1000:g} s instead (raise fs.inotify.max_user_watches"
                         " on Linux to go back)")


def run_watch(config: Config, log: RunLog) -> Done:
    return Watcher(config, log).run()
