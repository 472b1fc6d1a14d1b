"""Capture step: each changed file read whole and judged in its format, read again while an
agent is still writing it.

Capture reads bytes (`capture.read`, `capture.sqlite`); content says what they are
(`content.formats`); this step holds the policy between them: a version that is not whole in
its format is read again while it may still be being written, and skipped, with its reason,
once it has settled or the tries are spent. The bytes hashed, judged and stored are the same.
"""

import time

from memory_vault.capture import pieces
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
            tolerate: str = "", spill: pieces.Spill | None = None,
            early: bool = False) -> "Version | Skip | None":
    """A whole, valid version of the file `name`; a Skip with the reason; None if it vanished.

    The path rule is applied again here, not trusted from the scan: `name` is resolved
    inside the source dir now, and read by descriptor along that path with no link
    followed, so a link swapped in since the scan cannot lead the read outside. With
    `spill`, a JSON Lines file over the limit is read in pieces (`capture.pieces`), each
    spilled there until the store takes it. `early`: a valid version of a file written a
    moment ago may come back `unconfirmed` (`capture.read.confirm` it before it counts)."""
    relative = resolve(source_dir, name)
    if relative is None:
        return Skip(name, OUTSIDE)
    if is_sqlite_inside(source_dir, relative):
        return read_database(name, source_dir, relative, max_bytes=max_bytes, check=validate,
                             count=records.count_rows)
    reading = (pieces.Reading(name, max_bytes, spill, check_piece)
               if spill is not None and pieces.pieceable(name) else None)
    found = _judged(name, source_dir, relative, max_bytes, validate, tolerate, reading, early)
    if reading is not None:
        if isinstance(found, Version) and found.pieces is not None:
            reading.take()  # its pieces are the version's now
        reading.discard()
    return found


def _judged(name: str, source_dir: str, relative: str, max_bytes: int, validate: bool,
            tolerate: str, reading: pieces.Reading | None,
            early: bool = False) -> "Version | Skip | None":
    tries_left = JUDGE_TRIES - 1
    while True:
        outcome = read_version(name, source_dir, relative, max_bytes, pieced=reading,
                               early=early)
        early = False  # once: a read not proven yet judges nothing against the file
        if not isinstance(outcome, Version):
            return outcome
        if outcome.pieces is not None:
            verdict, torn = pieced_verdict([p.verdict for p in outcome.pieces])
        elif outcome.data is None:
            return outcome
        else:
            verdict = formats.judge(name, outcome.data)
            torn = _torn_key(outcome.data, verdict)
        if torn and torn == tolerate:  # the same torn lines as a run before saw
            outcome.note = (f"{verdict.problem}: backed up as it is, those lines unchanged "
                            "since an earlier run (every other line is whole)")
            verdict.problem = None
        if verdict.problem is None or not validate:
            outcome.format = verdict.format
            outcome.records = (verdict.records if verdict.records is not None
                               else _count(verdict.format, outcome.data or b""))
            return outcome
        if outcome.unconfirmed is not None:  # invalid, but maybe torn: read it, proven
            del outcome
            continue
        settled = time.time_ns() - outcome.mtime_ns > SETTLE_SECONDS * 1e9
        if tries_left == 0 or (settled and not verdict.retry):
            return Skip(name, describe(verdict), torn)
        del outcome
        tries_left -= 1
        time.sleep(RETRY_SECONDS)  # an agent may be half-way through writing it: look again


class PieceCheck:
    """One piece of a JSON Lines file, judged: its records, the numbers (in the whole file)
    of its lines that do not parse, the hash of the file up to the last of them, and whether
    its last line, the file's last, is still being written."""

    __slots__ = ("bad", "records", "torn", "written")

    def __init__(self, records: int, bad: list[int] | None = None, torn: str = "",
                 written: bool = False) -> None:
        self.records = records
        self.bad = bad or []
        self.torn = torn
        self.written = written


def check_piece(data: bytes, at: pieces.At) -> PieceCheck:
    """A piece judged as `formats.json_lines` judges a whole file (only the file's last line
    can be being written), while it is read."""
    verdict = formats.json_lines(data)
    if verdict.problem is None:
        return PieceCheck(verdict.records or 0)
    import json

    lines = data.split(b"\n")
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    check = PieceCheck(0)
    offset = torn_end = 0
    for number, line in enumerate(lines):
        offset += len(line) + 1
        if not line.strip():
            continue
        check.records += 1
        try:
            json.loads(line, object_pairs_hook=_discard)
        except (ValueError, RecursionError):
            if at.last and number == last:
                check.written = True
            else:
                check.bad.append(at.lines_before + number + 1)
                torn_end = offset
    if check.bad:
        at.prefix.update(memoryview(data)[:torn_end])
        check.torn = at.prefix.hexdigest()
    return check


def pieced_verdict(checks: list[object]) -> tuple[formats.Verdict, str]:
    """The verdict on a file read in pieces, from its pieces' (`check_piece`), and the key
    of its torn lines ("" when none)."""
    found = [c for c in checks if isinstance(c, PieceCheck)]
    total = sum(c.records for c in found)
    if found and found[-1].written:
        return formats.Verdict(formats.JSONL, formats.BEING_WRITTEN, retry=True,
                               records=total), ""
    bad = [number for c in found for number in c.bad]
    if not bad:
        return formats.Verdict(formats.JSONL, records=total), ""
    shown = ", ".join(map(str, bad[:5])) + (" ..." if len(bad) > 5 else "")
    problem = (f"line{'s' if len(bad) > 1 else ''} {shown} "
               f"{'are' if len(bad) > 1 else 'is'} not JSON")
    torn = next(c.torn for c in reversed(found) if c.torn)
    return formats.Verdict(formats.JSONL, problem, records=total, middle=True), torn


def _discard(_pairs: object) -> None:
    return None


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


def _count(fmt: str, data: bytes | bytearray) -> int | None:
    try:
        return records.count(fmt, data)
    except (ValueError, RecursionError, LookupError, OSError):
        return None
    except Exception:  # sqlite3.Error and kin: a count we cannot make is not a failure
        return None
