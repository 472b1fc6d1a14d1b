"""Record step: what a run found and did, written to the journal, the log and the exit code.

`Outcome` gathers the facts as the run goes (the scan's skips and absences, the capture's
skips, the commit, the push); `finish` turns them into the journal entry, one error line per
skipped file, the summary line and the exit code, in that order, once.
"""

import os
import time

import memory_vault
from memory_vault.errors import EXIT_OK, EXIT_PARTIAL, ConfigError, GitFailed
from memory_vault.fsutil import plural
from memory_vault.journal.cache import (
    FOUND,
    OUTCOME_FAILED,
    OUTCOME_OK,
    OUTCOME_PARTIAL,
    Alarm,
    Journal,
    SkipNote,
    describe_last_good,
    load_journal,
    save_journal,
)
from memory_vault.logfile import INFO, RunLog, vault_label
from memory_vault.results import Done
from memory_vault.settings import paths
from memory_vault.settings.load import Config
from memory_vault.shortcut import Looks, remember_unchanged
from memory_vault.sources.registry import sources_file
from memory_vault.sources.scan import Skip

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from memory_vault.capture.version import Version

LISTED_FILES = 50  # per-file log lines beyond this are summed up in one line


class Outcome:
    """The facts of one run, as they are learned."""

    __slots__ = ("absent", "changed", "committed", "present", "push_error", "pushed", "skips",
                 "started")

    def __init__(self, started: float) -> None:
        self.started = started
        self.changed: list[str] = []  # the files this run's commit holds (a dry run: would)
        self.present: list[str] = []  # every tracked file found
        self.absent: list[str] = []  # explicitly named, not there
        self.skips: list[Skip] = []  # left out this run, with the reason
        self.committed: str | None = None  # the commit this run made
        self.pushed = False
        self.push_error: GitFailed | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_PARTIAL if self.skips or self.push_error else EXIT_OK


class SyncResult(Done):
    """What one sync did, for a script (`--json`); a person reads the log's summary line."""

    __slots__ = ("committed", "dry_run", "files", "pending_push", "push_error", "pushed",
                 "skips", "summary")

    def __init__(self, exit_code: int, outcome: Outcome, *, pending_push: int, summary: str,
                 dry_run: bool = False) -> None:
        super().__init__(exit_code)
        self.committed = outcome.committed
        self.pushed = outcome.pushed
        self.pending_push = pending_push
        self.files = list(outcome.changed)
        self.skips = [(s.name, s.reason) for s in outcome.skips]
        self.push_error = str(outcome.push_error) if outcome.push_error is not None else None
        self.summary = summary
        self.dry_run = dry_run

    def as_dict(self) -> object:
        return {"exit_code": self.exit_code, "dry_run": self.dry_run,
                "committed": self.committed, "pushed": self.pushed,
                "pending_push": self.pending_push, "files": self.files,
                "skips": [{"file": name, "reason": why} for name, why in self.skips],
                "push_error": self.push_error, "summary": self.summary}


def finish(config: Config, log: RunLog, journal: Journal, outcome: Outcome, *,
           last_saved: "Callable[[str], int | None] | None", durable: bool) -> str:
    """Write the journal and the log; the summary line."""
    saved_at = {s.name: _last_saved(journal, s.name, last_saved) for s in outcome.skips}
    for skip in outcome.skips:
        log.error(f"{skip.name}: skipped, {skip.reason}; "
                  f"{describe_last_good(saved_at[skip.name])}")
    if outcome.absent:
        log.info(f"absent, nothing to back up: {', '.join(outcome.absent)}")
    _note_gone(log, journal, outcome)
    journal.skips = {s.name: SkipNote(s.reason, saved_at[s.name]) for s in outcome.skips}
    journal.tolerated = {p: key for p, key in journal.tolerated.items() if p in outcome.present}
    journal.secrets = {p: found for p, found in journal.secrets.items() if p in outcome.present}
    journal.tolerated.update({s.name: s.sha256 for s in outcome.skips if s.sha256})
    code = outcome.exit_code
    journal.vault = config.vault_identity
    journal.last_run = int(outcome.started)
    journal.last_outcome = OUTCOME_PARTIAL if code else OUTCOME_OK
    problems = [f"{s.name}: {s.reason}" for s in outcome.skips]
    if outcome.push_error is not None:
        error = outcome.push_error
        problems.append(f"push failed ({error.kind}): {error}")
        journal.push_error_kind, journal.push_error = error.kind, str(error)
    elif not journal.pending_push:
        journal.push_error_kind = journal.push_error = ""
    journal.last_error = log.redactor.clean("; ".join(problems))
    if outcome.push_error is None:  # all it could: a skipped file is its own problem
        journal.last_success = int(outcome.started)
        journal.success_commit = journal.last_commit
    save_journal(config.state_file, journal, now=int(time.time()), durable=durable)
    line = summary(outcome, journal.pending_push)
    log.info(line)
    return line


def _note_gone(log: RunLog, journal: Journal, outcome: Outcome) -> None:
    """Files deleted from their source since they were backed up: the vault keeps them, the
    journal says so; one named explicitly (not by a glob) that disappears raises the shrink
    alarm, as an emptied one does."""
    present, absent = set(outcome.present), set(outcome.absent)
    for path in [p for p in journal.files if p not in present]:
        record = journal.files.pop(path)
        journal.gone[path] = record.saved
        if path in absent and journal.last_commit:
            from memory_vault.journal.alarms import describe

            alarm = Alarm(record.records or 1, 0, journal.last_commit, journal.last_commit,
                          int(time.time()))
            journal.alarms[path] = alarm
            log.alarm(describe(path, alarm))
    for path in [p for p in journal.gone if p in present]:
        del journal.gone[path]


def summary(outcome: Outcome, pending: int) -> str:
    """`sync: committed 1a2b3c4d5e6f, pushed, 8 files checked`, and what went wrong."""
    parts = [f"{plural(len(outcome.present), 'file')} checked"]
    if outcome.committed:
        parts.insert(0, f"committed {outcome.committed[:12]}")
        if outcome.pushed:
            parts.insert(1, "pushed")
    elif not outcome.pushed:
        parts.insert(0, "nothing changed")
    else:
        parts.insert(0, "pushed pending commits")
    if outcome.push_error is not None:
        parts.append(f"push failed ({outcome.push_error.kind})")
    if pending:
        parts.append(f"{pending} commit(s) waiting to be pushed")
    if outcome.skips:
        parts.append(f"{len(outcome.skips)} skipped")
    return "sync: " + ", ".join(parts)


def log_files(log: RunLog, files: "list[Version]") -> None:
    for v in files[:LISTED_FILES]:
        log.info(f"{v.path}: backed up ({v.size} bytes, sha256 {v.sha256[:12]})")
    if len(files) > LISTED_FILES:
        log.info(f"... and {len(files) - LISTED_FILES} more files backed up")


def remember(journal: Journal, versions: "list[Version]", started: float) -> None:
    """Each version read this run becomes the journal's record of its file."""
    now_ns = time.time_ns()
    for version in versions:
        old = journal.files.get(version.path)
        saved = old.saved if old is not None and old.sha256 == version.sha256 else int(started)
        journal.files[version.path] = version.remembered(now_ns, saved)


def record_failure(config: Config, log: RunLog, started: float, message: str) -> None:
    """Keep the failure in the journal for `status`; the file records stay as they were."""
    try:
        fresh = load_journal(config.state_file, config.vault_identity)
    except ConfigError:  # a newer release's journal: left as it is
        return
    target = fresh if fresh.condition == FOUND else Journal()
    target.vault = config.vault_identity
    target.last_run = int(started)
    target.last_outcome = OUTCOME_FAILED
    target.last_error = log.redactor.clean(message)
    try:
        save_journal(config.state_file, target, now=int(time.time()), durable=False)
    except OSError:
        pass


def _last_saved(journal: Journal, path: str,
                ask_vault: "Callable[[str], int | None] | None") -> int:
    """When the vault last took a version of a skipped file (0: never), from the journal,
    else from the vault when this run opened it anyway, else from the previous run."""
    record = journal.files.get(path)
    if record is not None and record.saved:
        return record.saved
    if ask_vault is not None:
        return ask_vault(path) or 0
    earlier = journal.skips.get(path)
    return earlier.saved if earlier is not None else 0


def leave_stamp(stamp: str, config: Config, log: RunLog, looks: Looks, started: float) -> None:
    """A clean no-change run of the cron lane: its stamp, for the next one to replay
    (`shortcut`), when it said nothing above INFO. Best effort: a stamp not written costs
    the next run its time, nothing else."""
    if log.worst > INFO or log.kept is None:
        return
    env_file = config.env_file or paths.config_env_file(dict(os.environ))
    if _interpolates(env_file):  # a `${VAR}` no stamp names could change the settings
        return
    for path in (env_file, sources_file(config), *_program_folders()):
        looks.note(path, follow=True)
    own = [(config.state_file, False), (os.path.join(config.clone_dir, ".git"), True)]
    try:
        remember_unchanged(stamp, looks, own=own, journal=config.state_file, lines=log.kept,
                           logs=(config.log_file, config.err_file, vault_label(config.home)),
                           started=started)
    except OSError:
        pass


def what_is_safe(outcome: Outcome, pending: int, *, push: bool, dry_run: bool) -> str:
    """After Ctrl-C stopped a run: what it leaves behind, in one line's words."""
    if dry_run:
        return "nothing was changed"
    if outcome.pushed:
        return "the backup is committed and pushed"
    if outcome.committed is not None or outcome.push_error is not None:
        if not push:
            return "the backup is committed in the clone"
        from memory_vault.pipeline.commit import waiting

        # counted by the push step once it ran (it failed); else this commit is one more
        return waiting(pending if outcome.push_error is not None else pending + 1)
    if pending:
        return (f"nothing was committed; {pending} earlier commit(s) wait in the clone for "
                "the next run")
    return "nothing was committed; the next run backs up what changed"


def _interpolates(env_file: str) -> bool:
    try:
        with open(env_file, "rb") as handle:
            return b"$" in handle.read()
    except OSError:
        return False


def _program_folders() -> list[str]:
    """The program's own folders: a file of it replaced (an upgrade, a `git pull` of the
    checkout) changes its folder, and the decisions a stamp replays are the old code's."""
    top = os.path.dirname(memory_vault.__file__)
    return [top, *(os.path.join(folder, name) for folder, names, _files in os.walk(top)
                   for name in names if name != "__pycache__")]
