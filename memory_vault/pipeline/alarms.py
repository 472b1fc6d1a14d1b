"""Shrink alarms in a run: found before the commit, stated in it, opened after it, and read
back from the vault when the journal missed them.

A version that lost at least MEMORY_VAULT_SHRINK_ALERT percent of the records of the version
before it (counted by the journal, or in the vault when the journal lost it) is committed
with a trailer that says so (`store.trailers`), and raises an alarm: written to stderr once
(cron mails it) and kept in the journal until `ack`. A crash between the commit and the
journal, or a lost journal, costs no alarm: the trailers of the commits the journal does not
know are read back, less the alarms a person closed (`journal.acks`).
"""

import time

from memory_vault.capture.version import Version
from memory_vault.journal.acks import load_acks
from memory_vault.journal.alarms import describe, shrank
from memory_vault.journal.cache import Alarm, Journal
from memory_vault.logfile import RunLog
from memory_vault.store.commit import CommitInfo, Shrink
from memory_vault.store.trailers import alarms_since
from memory_vault.store.vault import Vault

COUNT_LIMIT_BYTES = 64 * 2**20  # an older version larger than this is not read to count it


def find_shrinks(journal: Journal, vault: Vault, staged: list[Version]) -> list[Shrink]:
    """The staged versions that lost too many records against the vault's tip."""
    threshold = vault.config.shrink_alert
    parent = vault.repo.head()
    if not threshold or parent is None:
        return []  # nothing to compare with
    found = []
    for version in staged:
        if version.records is None:
            continue
        known = journal.files.get(version.path)
        before = known.records if known is not None else None
        if before is None:
            before = _count_in_vault(vault, parent, version.path)
        if before is not None and shrank(before, version.records, threshold):
            found.append(Shrink(version.path, before, version.records))
    return found


def open_alarms(log: RunLog, journal: Journal, commit: CommitInfo,
                shrinks: list[Shrink]) -> None:
    """The shrinks the commit holds become open alarms, each said once on stderr."""
    committed = {v.path for v in commit.files}
    for shrink in shrinks:
        if shrink.path in committed:
            alarm = Alarm(shrink.before, shrink.after, commit.sha, commit.parent or "",
                          int(time.time()))
            journal.alarms[shrink.path] = alarm
            log.alarm(describe(shrink.path, alarm))


def recover_alarms(log: RunLog, journal: Journal, vault: Vault) -> None:
    """Reopen the alarms of commits the journal does not know (a crash after a commit, a
    lost journal), except those a person closed."""
    head = vault.repo.head()
    if head is None or head == journal.last_commit:
        return
    since = journal.last_commit or None
    if since is not None and not vault.repo.is_ancestor(since, head):
        since = None
    closed = load_acks(vault.config.acks_file)
    for found in reversed(alarms_since(vault.repo.git, head, since)):  # oldest first
        current = journal.alarms.get(found.path)
        if (found.commit, found.path) in closed or (current and current.commit == found.commit):
            continue
        journal.alarms[found.path] = Alarm(found.before, found.after, found.commit,
                                           found.parent, found.when)
        log.warning(f"{describe(found.path, journal.alarms[found.path])} (read back from "
                    "the vault)")


def _count_in_vault(vault: Vault, commit: str, path: str) -> int | None:
    """The record count of the version `commit` holds (when the journal lost it); a version
    too large to read in memory is not counted (no alarm can be judged for it)."""
    from memory_vault.content import formats, records

    entry = vault.reader.entry_at(commit, f"{vault.config.subdir}/{path}")
    if entry is None or entry.kind != "blob":
        return None
    if vault.reader.object_size(entry.sha) > COUNT_LIMIT_BYTES:
        return None
    data = vault.blobs.get(entry.sha)
    try:
        return records.count(formats.judge(path, data).format, data)
    except Exception:  # an old version we cannot count raises no alarm
        return None
