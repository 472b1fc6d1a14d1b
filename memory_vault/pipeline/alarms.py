"""Raising shrink alarms: each committed version's records against the version before it.

The count of the version before comes from the journal, or from the vault when the journal
lost it; a version that lost at least MEMORY_VAULT_SHRINK_ALERT percent raises an alarm,
written to stderr once (cron mails it) and kept in the journal until `ack`.
"""

import time

from memory_vault.capture.version import Version
from memory_vault.journal.alarms import describe, shrank
from memory_vault.journal.cache import Alarm, Journal
from memory_vault.logfile import RunLog
from memory_vault.store.commit import CommitInfo
from memory_vault.store.vault import Vault


def raise_alarms(log: RunLog, journal: Journal, vault: Vault, commit: CommitInfo,
                 before: dict[str, Version | None]) -> None:
    """Compare each committed file's record count with its previous version's."""
    threshold = vault.config.shrink_alert
    for version in commit.files:
        after = version.records
        if after is None or commit.parent is None:
            continue  # nothing to compare (reading the old version would be wasted)
        previous = before.get(version.path)
        count = previous.records if previous is not None else None
        if count is None:
            count = _count_in_vault(vault, commit.parent, version.path)
        if count is not None and shrank(count, after, threshold):
            alarm = Alarm(count, after, commit.sha, commit.parent, int(time.time()))
            journal.alarms[version.path] = alarm
            log.alarm(describe(version.path, alarm))


def _count_in_vault(vault: Vault, commit: str, path: str) -> int | None:
    """The record count of the version `commit` holds (when the journal lost it)."""
    from memory_vault.content import formats, records

    entry = vault.reader.entry_at(commit, f"{vault.config.subdir}/{path}")
    if entry is None or entry.kind != "blob":
        return None
    data = vault.blobs.get(entry.sha)
    try:
        return records.count(formats.judge(path, data).format, data)
    except Exception:  # an old version we cannot count raises no alarm
        return None
