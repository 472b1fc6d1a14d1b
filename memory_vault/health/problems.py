"""Problems: each rule of `status` that memory may not be safely in the vault, as a check.

A problem has a kind (a stable string, listed in the README's troubleshooting), the file it
concerns if any, and a message a person can act on. `status` is healthy when none is found.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from memory_vault.errors import KIND_SECRET
from memory_vault.fsutil import utc_stamp
from memory_vault.journal.alarms import describe
from memory_vault.journal.cache import (
    OUTCOME_FAILED,
    Alarm,
    Journal,
    describe_last_good,
    describe_vault,
)
from memory_vault.results import command_name
from memory_vault.settings.load import Config
from memory_vault.sources.source import Source, nothing_tracked

TYPE_CHECKING = False
if TYPE_CHECKING:
    from memory_vault.health.status import FileStatus, VaultView

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
KIND_OTHER_VAULT = "other-vault"
SHRINK = "shrink"
CLOCK = "clock"
UNTRACKED = "untracked"
REMOTE_REWRITTEN = "remote-rewritten"
SECRET_REFUSED = KIND_SECRET  # the host refused a push for a secret, not yet redacted
CLOCK_SLACK_SECONDS = 300  # clocks of one machine drift; a backup "5 minutes ahead" is not


@dataclass
class Problem:
    kind: str
    file: str | None
    message: str


def run_problems(config: Config, journal: Journal, now: float, pending: int,
                  view: VaultView) -> list[Problem]:
    problems: list[Problem] = []
    if journal.other_vault is not None:
        problems.append(Problem(KIND_OTHER_VAULT, None, (
            f"the last backup went to another vault ({describe_vault(journal.other_vault)}); "
            f"the next sync moves the history to {config.remote} and compares every file "
            "again")))
    elif not journal.last_success:
        problems.append(Problem(NEVER_SYNCED, None, "no successful sync yet"))
    elif journal.last_success > now + CLOCK_SLACK_SECONDS:
        problems.append(Problem(CLOCK, None, (
            f"the last success is dated {utc_stamp(journal.last_success)}, in the future: the "
            "clock was ahead then, or is behind now; staleness cannot be judged until a sync "
            "runs with the right time (check the clock: timedatectl, ntp)")))
    elif now - journal.last_success > config.stale_after_minutes * 60:
        minutes = int((now - journal.last_success) // 60)
        problems.append(Problem(STALE, None, (
            f"stale: the last successful sync was {minutes} minutes ago "
            f"(MEMORY_VAULT_STALE_AFTER={config.stale_after_minutes:g})")))
    if journal.rewritten is not None:
        when, ours, theirs = journal.rewritten
        problems.append(Problem(REMOTE_REWRITTEN, None, (
            f"the remote was rewritten (seen {utc_stamp(when)}): it no longer holds "
            f"{ours[:12]}, which this machine pushed, and its branch is now at {theirs[:12]}; "
            "only what it lacked since was replayed, nothing it dropped was sent back; "
            f"`{command_name()} ack` closes this notice")))
    if journal.last_outcome == OUTCOME_FAILED:
        problems.append(Problem(LAST_RUN_FAILED, None,
                                f"the last run failed: {journal.last_error}"))
    if config.push:
        if journal.push_error_kind == SECRET_REFUSED:
            problems.append(Problem(SECRET_REFUSED, _named_file(journal.push_error), (
                f"the host refused the push for a secret the run could not redact: "
                f"{journal.push_error}; `{command_name()} secrets` lists what the vault and "
                "the sources hold")))
        elif journal.push_error:
            problems.append(Problem(PUSH_FAILED, None, (
                f"push failed ({journal.push_error_kind}): {journal.push_error}")))
        if pending:
            problems.append(Problem(PENDING_PUSH, None,
                                    f"{pending} commit(s) not pushed to the remote"))
        elif view.on_remote is False and journal.last_commit:
            problems.append(Problem(NOT_ON_REMOTE, None, (
                f"the last backup's commit {journal.last_commit[:12]} is not on the remote's "
                f"{config.branch} (as last seen by a fetch or push)")))
    return problems


def _named_file(message: str) -> str | None:
    """The file a refusal's message names (`<rule> in <path> line <n>`), if it does."""
    import re

    found = re.search(r" in (\S+) line \d+", message)
    return found.group(1) if found else None


def file_problems(configured: list[Source], journal: Journal, files: list[FileStatus],
                  alarms: dict[str, Alarm]) -> list[Problem]:
    """`alarms`: the journal's open shrink alarms, and those only the vault holds yet."""
    problems = [Problem(SHRINK, name, describe(name, alarm))
                for name, alarm in sorted(alarms.items())]
    if not any(f.present for f in files):
        return [*problems, Problem(NO_FILES, None, nothing_tracked(configured))]
    for name, skipped in sorted(journal.skips.items()):
        if skipped.saved:
            problems.append(Problem(SKIPPED, name, (
                f"{name}: skipped by the last run, {skipped.reason}; "
                f"{describe_last_good(skipped.saved)}")))
        else:
            problems.append(Problem(NEVER_BACKED_UP, name, (
                f"{name}: never backed up: the last run skipped it, {skipped.reason}")))
    return problems




def untracked_problems(configured: list[Source]) -> list[Problem]:
    """Memory no pattern tracks, in a source without a preset: named, with the command that
    tracks or excludes it."""
    from memory_vault.sources.scan import untracked

    problems = []
    for source in (s for s in configured if not s.preset):
        found = untracked(source) if Path(source.folder).is_dir() else []
        if not found:
            continue
        where = ("MEMORY_VAULT_FILES or MEMORY_VAULT_EXCLUDE" if not source.name
                 else f"the source {source.name}'s files or exclude in sources.toml")
        shown = ", ".join(found[:5]) + (f" and {len(found) - 5} more" if len(found) > 5 else "")
        problems.append(Problem(UNTRACKED, found[0], (
            f"memory no pattern tracks in {source.folder}: {shown}; add it to {where} "
            "(or exclude it), so that it is backed up or knowingly left out")))
    return problems
