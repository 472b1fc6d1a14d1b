"""Capture step: each changed file read whole and judged in its format, read again while an
agent is still writing it.

Capture reads bytes (`capture.read`, `capture.sqlite`); content says what they are
(`content.formats`); this step holds the policy between them: a version that is not whole in
its format is read again while it may still be being written, and skipped, with its reason,
once it has settled or the tries are spent. The bytes hashed, judged and stored are the same.
"""

import time

from memory_vault.capture.read import read_version
from memory_vault.capture.sqlite import is_sqlite_inside, read_database
from memory_vault.capture.version import Version
from memory_vault.content import formats, records
from memory_vault.sources.names import resolve
from memory_vault.sources.scan import OUTSIDE, Skip

JUDGE_TRIES = 5
SETTLE_SECONDS = 2.0  # a file modified this recently may still be being written
RETRY_SECONDS = 0.3


def capture(name: str, source_dir: str, *, max_bytes: int, validate: bool,
            tolerate: str = "") -> "Version | Skip | None":
    """A whole, valid version of the file `name`; a Skip with the reason; None if it vanished.

    The path rule is applied again here, not trusted from the scan: `name` is resolved
    inside the source dir now, and read by descriptor along that path with no link
    followed, so a link swapped in since the scan cannot lead the read outside."""
    relative = resolve(source_dir, name)
    if relative is None:
        return Skip(name, OUTSIDE)
    if is_sqlite_inside(source_dir, relative):
        return read_database(name, source_dir, relative, max_bytes=max_bytes, check=validate,
                             count=records.count_rows)
    for tries_left in range(JUDGE_TRIES - 1, -1, -1):
        outcome = read_version(name, source_dir, relative, max_bytes)
        if not isinstance(outcome, Version) or outcome.data is None:
            return outcome
        verdict = formats.judge(name, outcome.data)
        torn = _torn_key(outcome.data, verdict)
        if torn and torn == tolerate:  # the same torn lines as a run before saw
            outcome.note = (f"{verdict.problem}: backed up as it is, those lines unchanged "
                            "since an earlier run (every other line is whole)")
            verdict.problem = None
        if verdict.problem is None or not validate:
            outcome.format = verdict.format
            outcome.records = (verdict.records if verdict.records is not None
                               else _count(verdict.format, outcome.data))
            return outcome
        settled = time.time_ns() - outcome.mtime_ns > SETTLE_SECONDS * 1e9
        if tries_left == 0 or (settled and not verdict.retry):
            return Skip(name, describe(verdict), torn)
        del outcome
        time.sleep(RETRY_SECONDS)  # an agent may be half-way through writing it: look again
    raise AssertionError("unreachable")


def _torn_key(data: bytearray, verdict: formats.Verdict) -> str:
    """For JSON Lines whose only bad lines are not its last: the hash of its bytes up to the
    last of them. A later version with the same key holds the same torn lines, followed by
    lines appended since: it may be backed up as it is ("" when there is nothing torn)."""
    if not verdict.middle:
        return ""
    import hashlib

    return hashlib.sha256(memoryview(data)[:verdict.torn_end]).hexdigest()


def describe(verdict: formats.Verdict) -> str:
    """A skipped version's reason, naming its format unless the problem already does."""
    if verdict.format == formats.JSON or (verdict.problem or "").startswith("not valid"):
        return verdict.problem or ""
    return f"{'JSON Lines' if verdict.format == formats.JSONL else verdict.format}: " + (
        verdict.problem or "")


def _count(fmt: str, data: bytearray) -> int | None:
    try:
        return records.count(fmt, data)
    except (ValueError, RecursionError, LookupError, OSError):
        return None
    except Exception:  # sqlite3.Error and kin: a count we cannot make is not a failure
        return None
