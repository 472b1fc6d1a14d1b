"""Moments: "REV or WHEN", resolved once for restore and diff alike.

A version is named by a commit (as `history` shows it) or by a moment (an ISO 8601 date or
time, UTC unless it names an offset), which means the newest commit at or before it.
"""

from datetime import UTC, datetime

from memory_vault.errors import UsageError
from memory_vault.fsutil import utc_stamp
from memory_vault.store.vault import Vault

EXAMPLE = "2026-11-24T17:45:00Z"


def parse_when(text: str, option: str = "--at") -> float:
    """An ISO 8601 date or date-time as epoch seconds; a date alone means 00:00 UTC."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{option} {text!r}: expected an ISO 8601 date or date-time, e.g. {EXAMPLE}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def at_or_before(vault: Vault, tip: str, text: str, option: str) -> str:
    """The newest commit at or before the moment `text`; a moment before the first backup
    is a usage error that says when the first backup was."""
    found = vault.reader.newest_at_or_before(tip, parse_when(text, option))
    if not found:
        first = vault.reader.first_commit_time(tip)
        since = f" (the first backup is from {utc_stamp(first)})" if first else ""
        raise UsageError(f"{option} {text}: there is no backup at or before that time{since}")
    return found


def commit_named(vault: Vault, rev: str, option: str) -> str:
    sha = vault.repo.resolve(rev)
    if sha is None:
        raise UsageError(f"{option} {rev}: no such commit in the vault")
    return sha


def rev_or_when(vault: Vault, tip: str, text: str, option: str) -> str:
    """A commit named by a revision, else the newest at or before a moment."""
    sha = vault.repo.resolve(text)
    if sha is not None:
        return sha
    try:
        parse_when(text, option)
    except UsageError:
        raise UsageError(f"{option} {text!r}: neither a commit of the vault nor an ISO 8601 "
                         f"date or time (e.g. {EXAMPLE})") from None
    return at_or_before(vault, tip, text, option)
