"""Snapshot: one consistent, validated copy of a memory file, the bytes the vault will store.

A plain file is read until a second look proves the bytes stable: a writer rewriting it in
place, or replacing it by rename, can never give us a mix of two versions. A SQLite database
is copied through SQLite's online backup API (consistent in WAL and rollback modes, while a
writer commits) and the copy must pass `PRAGMA integrity_check`. Either way the bytes hashed,
validated and written to the vault are the same bytes.
"""

import hashlib
import os
import stat
import time

from memory_vault.content import formats
from memory_vault.fsutil import file_sha256
from memory_vault.journal.cache import FileRecord
from memory_vault.sources.scan import Skip, signature

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3

READ_TRIES = 8
SETTLE_SECONDS = 2.0  # a file modified this recently may still be being written
SETTLED_NS = 1_000_000_000  # untouched this long: one read is enough
QUIET_NS = 12_000_000  # no write for this long (over a timestamp tick): a second look counts
RACY_NS = 3_000_000_000  # mtimes this close to "now" are not trusted next run
SQLITE_BUSY_SECONDS = 10.0


class Snapshot:
    """The bytes of one file as read in one consistent piece, and what we know of them."""

    __slots__ = ("data", "format", "mtime_ns", "name", "records", "sha256", "size", "stat_size")

    def __init__(self, name: str, data: bytearray, *, fmt: str, stat_size: int,
                 mtime_ns: int, records: int | None = None) -> None:
        self.name = name
        self.data = data
        self.size = len(data)
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.format = fmt
        self.stat_size = stat_size  # the size and mtime the next scan compares with
        self.mtime_ns = mtime_ns
        self.records = records if records is not None else _count(fmt, data)

    def release(self) -> "Snapshot":
        """Drop the bytes once they are in the clone (size and hash stay)."""
        self.data = bytearray()
        return self

    def record(self, now_ns: int, saved: int) -> FileRecord:
        """The `.last_sync` record; a just-written file is marked to be checked again."""
        mtime = self.mtime_ns if now_ns - self.mtime_ns > RACY_NS else -1
        return FileRecord(self.stat_size, mtime, self.sha256, saved, self.format, self.records)


def _count(fmt: str, data: bytearray) -> int | None:
    from memory_vault.content import records

    try:
        return records.count(fmt, data)
    except (ValueError, RecursionError, LookupError, OSError):
        return None
    except Exception:  # sqlite3.Error and kin: a count we cannot make is not a failure
        return None


def take_snapshot(
    name: str, source_dir: str, *, max_bytes: int, validate: bool
) -> "Snapshot | Skip | None":
    """A consistent, validated copy of one file; a Skip with the reason; None if it vanished."""
    path = os.path.join(source_dir, name)
    if formats.is_sqlite_file(path):
        return _sqlite_snapshot(name, path, max_bytes=max_bytes, validate=validate)
    checks_left = 5
    while True:
        outcome = _read_stable(name, path, max_bytes)
        if not isinstance(outcome, tuple):
            return outcome
        data, st = outcome
        verdict = formats.judge(name, data)
        if verdict.problem is None or not validate:
            return Snapshot(name, data, fmt=verdict.format, stat_size=st.st_size,
                            mtime_ns=st.st_mtime_ns, records=verdict.records)
        checks_left -= 1
        settled = time.time_ns() - st.st_mtime_ns > SETTLE_SECONDS * 1e9
        if checks_left == 0 or (settled and not verdict.retry):
            return Skip(name, _describe(verdict))
        time.sleep(0.3)  # an agent may be half-way through writing it: look again


def _describe(verdict: formats.Verdict) -> str:
    if verdict.format == formats.JSON or (verdict.problem or "").startswith("not valid"):
        return verdict.problem or ""
    return f"{'JSON Lines' if verdict.format == formats.JSONL else verdict.format}: " + (
        verdict.problem or "")


def _read_stable(name: str, path: str,
                 max_bytes: int) -> "tuple[bytearray, os.stat_result] | Skip | None":
    """Read until the bytes are provably one version of the file.

    Size, mtime and ctime around one read cannot prove it: a writer rewriting the file in
    place moves them when it starts, then writes piece by piece, and a read between two of
    its pieces sees a stable stat and a mix of two versions. So a file written in the last
    second is read twice, the second time after it has been quiet (no write) for longer
    than a file-system timestamp tick, and kept only if both reads agree. A file untouched
    for a second needs one read with its stat unchanged around it.
    """
    previous: tuple[str, int, int, int] | None = None
    for attempt in range(READ_TRIES):
        started = time.time_ns()
        outcome = _read_once(name, path, max_bytes)
        if not isinstance(outcome, tuple):
            return outcome
        data, st, whole = outcome
        if whole:
            quiet_for = started - st.st_mtime_ns
            if quiet_for > SETTLED_NS:
                return data, st
            look = (hashlib.sha256(data).hexdigest(), st.st_size, st.st_mtime_ns,
                    st.st_ctime_ns)
            if look == previous and quiet_for >= QUIET_NS:
                return data, st
            previous = look
        else:
            previous = None
        del data, outcome  # one copy in memory at a time: the next look reads it again
        time.sleep(QUIET_NS / 1e9 + 0.01 * attempt)
    return Skip(name, f"kept changing while being read ({READ_TRIES} tries)")


def _read_once(name: str, path: str,
               max_bytes: int) -> "tuple[bytearray, os.stat_result, bool] | Skip | None":
    """(bytes, stat, whether the stat held still around the read), a Skip, or None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return Skip(name, f"unreadable ({exc.strerror})")
    try:
        opened = os.fstat(fd)
        problem = shape_problem(opened, max_bytes)
        if problem:
            return Skip(name, problem)
        data = _read_fd(fd, opened.st_size)
        after = os.fstat(fd)
        current = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return Skip(name, f"unreadable ({exc.strerror})")
    finally:
        os.close(fd)
    whole = (data is not None and _same_version(opened, after)
             and (current.st_ino, current.st_dev) == (after.st_ino, after.st_dev))
    return (data or bytearray()), after, whole


def shape_problem(st: os.stat_result, max_bytes: int) -> str | None:
    if not stat.S_ISREG(st.st_mode):
        return f"not a regular file ({_kind(st.st_mode)})"
    if st.st_size > max_bytes:
        return (
            f"too large: {st.st_size / 2**20:.1f} MB is over the "
            f"{max_bytes / 2**20:g} MB limit (MEMORY_VAULT_MAX_FILE_MB)"
        )
    return None


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def _read_fd(fd: int, size: int) -> bytearray | None:
    """Exactly `size` bytes then EOF, or None when the file grew or shrank meanwhile."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = os.readv(fd, [view[got:]])
        if n == 0:
            return None
        got += n
    view.release()
    if os.read(fd, 1):
        return None
    return buffer


def _same_version(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_size, a.st_mtime_ns, a.st_ctime_ns) == (b.st_size, b.st_mtime_ns, b.st_ctime_ns)


def _sqlite_snapshot(name: str, path: str, *, max_bytes: int,
                     validate: bool) -> "Snapshot | Skip | None":
    """Copy a live database with SQLite's online backup API into memory, check the copy,
    and return its image. The signature (main file and `-wal` together) is taken before
    the copy, so a write that lands meanwhile is seen again by the next run."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return Skip(name, f"unreadable ({exc.strerror})")
    size, mtime_ns = signature(path, st, formats.SQLITE)
    if size > max_bytes:
        return Skip(name, f"too large: {size / 2**20:.1f} MB with its -wal is over the "
                          f"{max_bytes / 2**20:g} MB limit (MEMORY_VAULT_MAX_FILE_MB)")
    try:
        image, rows = _copy_database(path, check=validate, count=True)
    except SnapshotProblem as exc:
        return Skip(name, f"SQLite: {exc}")
    return Snapshot(name, image, fmt=formats.SQLITE, stat_size=size, mtime_ns=mtime_ns,
                    records=rows)


class SnapshotProblem(Exception):
    """The database could not be copied whole (the message says why)."""


def sqlite_image(path: str, *, check: bool = True) -> bytearray:
    """A consistent image of the database at `path` (read-only: the agent's files are never
    written), checked with `PRAGMA integrity_check` when `check`."""
    return _copy_database(path, check=check, count=False)[0]


def _copy_database(path: str, *, check: bool, count: bool) -> tuple[bytearray, int | None]:
    """The image, and its row count when `count`: counted on the copy already open in
    memory, because a second copy of a large database just to count it costs as much as
    the snapshot itself."""
    import sqlite3
    from urllib.parse import quote

    try:
        source = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True,
                                 timeout=SQLITE_BUSY_SECONDS)
    except sqlite3.Error as exc:
        raise SnapshotProblem(f"cannot open it ({exc})") from None
    copy = sqlite3.connect(":memory:")
    try:
        page_size = source.execute("PRAGMA page_size").fetchone()[0]
        copy.execute(f"PRAGMA page_size={int(page_size)}")
        source.backup(copy)  # one step: a read transaction, so one consistent version
        if check:
            result = [row[0] for row in copy.execute("PRAGMA integrity_check").fetchall()]
            if result != ["ok"]:
                raise SnapshotProblem(f"integrity_check failed: {'; '.join(result[:3])}")
        rows = _count_rows(copy) if count else None
        return bytearray(copy.serialize()), rows
    except sqlite3.Error as exc:
        raise SnapshotProblem(f"cannot copy it ({exc})") from None
    finally:
        source.close()
        copy.close()


def _count_rows(db: "sqlite3.Connection") -> int | None:
    from memory_vault.content import records

    try:
        return records.count_rows(db)
    except Exception:  # sqlite3.Error and kin: a count we cannot make is not a failure
        return None


def stored_digest(path: str) -> str:
    """sha256 of what the vault would store for the file at `path` now: a database's image
    (as the backup API copies it), any other file's bytes. Raises OSError, SnapshotProblem."""
    if formats.is_sqlite_file(path):
        return hashlib.sha256(sqlite_image(path, check=False)).hexdigest()
    return file_sha256(path)
