"""Shrink alarms: a version that lost many of its records, committed yet flagged.

An agent reset, a racing writer or a cleanup can wipe a memory file; the backup must keep the
wiped version (history keeps the good one) and say so the same day, before later backups
bury it. A version that lost at least MEMORY_VAULT_SHRINK_ALERT percent of the previous
version's records raises an alarm: a warning with both counts and the exact command that
brings the previous version back, written to stderr once (cron mails it), kept in
`.last_sync` so that `status` is red until `memory-vault ack FILE`.
"""

from __future__ import annotations

import time

from memory_vault.errors import EXIT_OK, UsageError
from memory_vault.journal.cache import Alarm, FileRecord, State, load_state, save_state
from memory_vault.logfile import RunLog
from memory_vault.pipeline.lock import RunLock
from memory_vault.results import Done, command_name
from memory_vault.settings.load import Config

TYPE_CHECKING = False
if TYPE_CHECKING:
    from memory_vault.capture.snapshot import Snapshot
    from memory_vault.store.vault import CommitInfo, Vault

ACK_LOCK_WAIT = 60.0


def shrank(before: int, after: int, threshold: float) -> bool:
    """Did a version lose at least `threshold` percent of the records before it?

    >>> shrank(100, 50, 50), shrank(100, 51, 50), shrank(0, 0, 50), shrank(7, 0, 50)
    (True, False, False, True)
    """
    return threshold > 0 and before > 0 and (before - after) * 100 >= threshold * before


def restore_command(name: str, commit: str) -> str:
    return f"{command_name()} restore {name} --commit {commit[:12]}"


def describe(name: str, alarm: Alarm) -> str:
    return (f"{name}: shrink alarm: {alarm.before} records -> {alarm.after} "
            f"({alarm.lost_percent}% lost) in commit {alarm.commit[:12]}; the version before "
            f"is in commit {alarm.previous[:12]}: `{restore_command(name, alarm.previous)}` "
            f"brings it back, `{command_name()} ack {name}` closes this alarm")


def raise_alarms(config: Config, log: RunLog, state: State, vault: Vault, commit: CommitInfo,
                 before: dict[str, FileRecord | None], snapshots: list[Snapshot]) -> None:
    """Compare each committed file's record count with its previous version's."""
    counts = {snap.name: snap.records for snap in snapshots}
    for name, _size, _digest in commit.files:
        after = counts.get(name)
        if after is None or commit.parent is None:
            continue  # nothing to compare (reading the old version would be wasted)
        previous = before.get(name)
        count = previous.records if previous is not None else None
        if count is None:
            count = _count_in_vault(vault, commit.parent, name)
        if count is None:
            continue
        if shrank(count, after, config.shrink_alert):
            alarm = Alarm(count, after, commit.sha, commit.parent, int(time.time()))
            state.alarms[name] = alarm
            log.alarm(describe(name, alarm))


def _count_in_vault(vault: Vault, commit: str, name: str) -> int | None:
    """The record count of the version `commit` holds (when `.last_sync` lost it)."""
    from memory_vault.content import formats, records

    entry = vault.entry_at(commit, f"{vault.config.subdir}/{name}")
    if entry is None or entry.kind != "blob":
        return None
    data = vault.blob(entry.sha)
    try:
        return records.count(formats.judge(name, data).format, data)
    except Exception:  # an old version we cannot count raises no alarm
        return None


def run_ack(config: Config, log: RunLog, names: list[str]) -> Done:
    """Close the alarms of `names` (all when none are named) and log it."""
    lock = RunLock(config.lock_file)
    lock.acquire(wait=ACK_LOCK_WAIT)
    try:
        state = load_state(config.state_file, config.vault_identity)
        wanted = [n.removeprefix(config.subdir + "/").removeprefix("./") for n in names]
        unknown = [n for n in wanted if n not in state.alarms]
        if unknown:
            raise UsageError(f"no open shrink alarm for {', '.join(unknown)}"
                             + (f" (open: {', '.join(sorted(state.alarms))})" if state.alarms
                                else " (none is open)"))
        closed = wanted or sorted(state.alarms)
        for name in closed:
            del state.alarms[name]
            log.info(f"ack: closed the shrink alarm of {name}")
        if closed:
            save_state(config.state_file, state)
    finally:
        lock.release()
    return Done(EXIT_OK, [f"Closed the shrink alarm of {name}." for name in closed]
                or ["There was no open shrink alarm."])
