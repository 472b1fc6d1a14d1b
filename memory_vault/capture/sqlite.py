"""Copying a live SQLite database: one consistent version through SQLite's online backup API.

mem0, LangGraph and their peers keep memory in SQLite, often in WAL mode, while they write.
The backup API copies one committed version in one read transaction (WAL or rollback journal,
a writer committing meanwhile), into memory, where `PRAGMA integrity_check` checks the copy.
The agent's files are opened read-only and never written.
"""

import hashlib
import os

from memory_vault.capture.version import Version
from memory_vault.sources.scan import SQLITE, Skip, signature

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable

SQLITE_HEADER = b"SQLite format 3\x00"
SQLITE_BUSY_SECONDS = 10.0


class CopyProblem(Exception):
    """The database could not be copied whole (the message says why)."""


def is_sqlite_file(path: str) -> bool:
    """Does the file start with SQLite's header? (16 bytes read, nothing else)"""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        return os.read(fd, 16) == SQLITE_HEADER
    finally:
        os.close(fd)


def read_database(name: str, path: str, *, max_bytes: int, check: bool,
                  count: "Callable[[sqlite3.Connection], int | None] | None" = None,
                  ) -> "Version | Skip | None":
    """The version of the database at `path`; its signature (main file and `-wal` together)
    is taken before the copy, so that a write landing meanwhile is seen by the next run.
    `count` counts its records on the copy already open (a second copy would cost as much
    as the first)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return Skip(name, f"unreadable ({exc.strerror})")
    size, mtime_ns = signature(path, st, SQLITE)
    if size > max_bytes:
        return Skip(name, f"too large: {size / 2**20:.1f} MB with its -wal is over the "
                          f"{max_bytes / 2**20:g} MB limit (MEMORY_VAULT_MAX_FILE_MB)")
    try:
        image, rows = copy_database(path, check=check, count=count)
    except CopyProblem as exc:
        return Skip(name, f"SQLite: {exc}")
    version = Version.read(name, image, stat_size=size, mtime_ns=mtime_ns)
    version.format, version.records = SQLITE, rows
    return version


def sqlite_image(path: str, *, check: bool = True) -> bytearray:
    """A consistent image of the database at `path`, checked when `check`."""
    return copy_database(path, check=check)[0]


def copy_database(path: str, *, check: bool,
                  count: "Callable[[sqlite3.Connection], int | None] | None" = None,
                  ) -> tuple[bytearray, int | None]:
    """The image, and what `count` says of the copy (None without it)."""
    import sqlite3
    from urllib.parse import quote

    try:
        source = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True,
                                 timeout=SQLITE_BUSY_SECONDS)
    except sqlite3.Error as exc:
        raise CopyProblem(f"cannot open it ({exc})") from None
    copy = sqlite3.connect(":memory:")
    try:
        page_size = source.execute("PRAGMA page_size").fetchone()[0]
        copy.execute(f"PRAGMA page_size={int(page_size)}")
        source.backup(copy)  # one step: a read transaction, so one consistent version
        if check:
            result = [row[0] for row in copy.execute("PRAGMA integrity_check").fetchall()]
            if result != ["ok"]:
                raise CopyProblem(f"integrity_check failed: {'; '.join(result[:3])}")
        rows = _count_quietly(count, copy) if count is not None else None
        return bytearray(copy.serialize()), rows
    except sqlite3.Error as exc:
        raise CopyProblem(f"cannot copy it ({exc})") from None
    finally:
        source.close()
        copy.close()


def _count_quietly(count: "Callable[[sqlite3.Connection], int | None]",
                   db: "sqlite3.Connection") -> int | None:
    try:
        return count(db)
    except Exception:  # sqlite3.Error and kin: a count we cannot make is not a failure
        return None


def stored_digest(path: str) -> str:
    """sha256 of what the vault would store for the file at `path` now: a database's image
    (as the backup API copies it), any other file's bytes. Raises OSError, CopyProblem."""
    if is_sqlite_file(path):
        return hashlib.sha256(sqlite_image(path, check=False)).hexdigest()
    from memory_vault.fsutil import file_sha256

    return file_sha256(path)
