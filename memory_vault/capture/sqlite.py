"""Copying a live SQLite database: one consistent version through SQLite's online backup API.

mem0, LangGraph and their peers keep memory in SQLite, often in WAL mode, while they write.
The backup API copies one committed version in one read transaction (WAL or rollback journal,
a writer committing meanwhile), into memory, where `PRAGMA integrity_check` checks the copy.
The agent's files are opened read-only and never written.
"""

import hashlib
import os
import stat

from memory_vault.capture.read import open_file, problem
from memory_vault.capture.version import Version
from memory_vault.sources.scan import SQLITE, SQLITE_SIDECARS, Skip, kind

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable

SQLITE_HEADER = b"SQLite format 3\x00"
SQLITE_BUSY_SECONDS = 10.0
PROC_FDS = "/proc/self/fd"


class CopyProblem(Exception):
    """The database could not be copied whole (the message says why)."""


def is_sqlite_file(path: str) -> bool:
    """Does the file start with SQLite's header? (16 bytes read, nothing else)"""
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


def is_sqlite_inside(source_dir: str, relative: str) -> bool:
    """`is_sqlite_file` for the file at `relative` in the source dir, opened as
    `capture.read` opens it (no link followed)."""
    try:
        folder, fd, _ = open_file(source_dir, relative)
    except OSError:
        return False
    try:
        return stat.S_ISREG(os.fstat(fd).st_mode) and os.read(fd, 16) == SQLITE_HEADER
    finally:
        os.close(fd)
        os.close(folder)


def read_database(name: str, source_dir: str, relative: str, *, max_bytes: int, check: bool,
                  count: "Callable[[sqlite3.Connection], int | None] | None" = None,
                  ) -> "Version | Skip | None":
    """The version of the database at `relative` in the source dir (vault path `name`).

    It is opened and checked by descriptor like any file; SQLite then gets its folder's
    descriptor as a path (`/proc/self/fd/N/name`), so that it finds the `-wal` beside it,
    and every file SQLite opened is checked to be one we checked: SQLite resolves that path
    to a name again, and a symlink swapped in meanwhile is refused, not copied. Its
    signature (main file and `-wal` together) is taken before the copy, so that a write
    landing meanwhile is seen by the next run. `count` counts its records on the copy
    already open (a second copy would cost as much as the first)."""
    try:
        folder, fd, leaf = open_file(source_dir, relative)
    except OSError as exc:
        return problem(name, exc)
    try:
        checked = Checked(folder, fd, leaf)
        why = checked.problem(max_bytes)
        if why:
            return Skip(name, why)
        image, rows = copy_database(checked.path(source_dir, relative), check=check,
                                    count=count, guard=checked.guard())
    except OSError as exc:
        return problem(name, exc)
    except CopyProblem as exc:
        return Skip(name, f"SQLite: {exc}")
    finally:
        os.close(fd)
        os.close(folder)
    version = Version.read(name, image, stat_size=checked.size, mtime_ns=checked.mtime_ns)
    version.format, version.records = SQLITE, rows
    return version


class Checked:
    """A database opened by descriptor and checked, with its `-wal`, `-shm` and
    `-journal` as they are in its folder (never through a link): the only files SQLite may
    read for it."""

    def __init__(self, folder: int, fd: int, leaf: str) -> None:
        self.folder, self.leaf = folder, leaf
        self.stat = os.fstat(fd)
        self.sidecars = self.look()
        wal = self.sidecars.get("-wal")
        self.size = self.stat.st_size + (wal.st_size if wal else 0)
        self.mtime_ns = max(self.stat.st_mtime_ns, wal.st_mtime_ns if wal else 0)

    def look(self) -> "dict[str, os.stat_result]":
        found = {}
        for suffix in SQLITE_SIDECARS:
            try:
                found[suffix] = os.stat(self.leaf + suffix, dir_fd=self.folder,
                                        follow_symlinks=False)
            except FileNotFoundError:
                continue
        return found

    def problem(self, max_bytes: int) -> str | None:
        if not stat.S_ISREG(self.stat.st_mode):
            return f"not a regular file ({kind(self.stat.st_mode)})"
        for suffix, st in self.sidecars.items():
            if not stat.S_ISREG(st.st_mode):
                return f"its {suffix} file is not a regular file ({kind(st.st_mode)})"
        if self.size > max_bytes:
            return (f"too large: {self.size / 2**20:.1f} MB with its -wal is over the "
                    f"{max_bytes / 2**20:g} MB limit (MEMORY_VAULT_MAX_FILE_MB)")
        return None

    def path(self, source_dir: str, relative: str) -> str:
        """The name SQLite is given: by the folder's descriptor where /proc has one."""
        if os.path.isdir(PROC_FDS):
            return f"{PROC_FDS}/{self.folder}/{self.leaf}"
        return os.path.join(os.path.realpath(source_dir), relative)

    def guard(self) -> "Callable[[], None]":
        """A check, for after the copy, that SQLite read the files checked and no other."""
        before = open_descriptors()

        def check() -> None:
            after = open_descriptors()
            ours = _identity(self.stat)
            if before is None or after is None:  # no list of descriptors: the name at least
                read = {_identity(os.stat(self.leaf, dir_fd=self.folder,
                                          follow_symlinks=False))}
            else:
                read = {_identity(st) for st in map(os.fstat, after - before)
                        if stat.S_ISREG(st.st_mode)}
            allowed = {ours} | {_identity(st) for st in (*self.sidecars.values(),
                                                         *self.look().values())}
            if ours not in read or not read <= allowed:
                raise CopyProblem("SQLite opened another file than the one checked (a "
                                  "symlink swapped in?); it is not copied")

        return check


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def open_descriptors() -> set[int] | None:
    """This process's open file descriptors, or None where no system lists them."""
    for where in (PROC_FDS, "/dev/fd"):
        try:
            listed = os.listdir(where)
        except OSError:
            continue
        return {int(n) for n in listed if n.isdigit() and _is_open(int(n))}
    return None


def _is_open(fd: int) -> bool:
    """(The descriptor `listdir` itself used is listed, and closed by now.)"""
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


class Watch:
    """A read-only connection to the database at `relative`, opened as `read_database`
    opens it and held across the read of a set of files (`pipeline.store`): its
    `PRAGMA data_version` changes once any other connection commits, which a timestamp
    tick may hide. Raises OSError, CopyProblem."""

    def __init__(self, source_dir: str, relative: str) -> None:
        import sqlite3
        from urllib.parse import quote

        self.folder, fd, leaf = open_file(source_dir, relative)
        try:
            checked = Checked(folder=self.folder, fd=fd, leaf=leaf)
            guard = checked.guard()
            self.db = sqlite3.connect(f"file:{quote(checked.path(source_dir, relative))}"
                                      "?mode=ro", uri=True, timeout=SQLITE_BUSY_SECONDS)
            self.first = self.version()
            guard()
        except sqlite3.Error as exc:
            self.close()
            raise CopyProblem(f"cannot open it ({exc})") from None
        except BaseException:
            self.close()
            raise
        finally:
            os.close(fd)

    def version(self) -> int:
        """`PRAGMA data_version` now (-1 when it cannot be read: a change, to be safe)."""
        import sqlite3

        try:
            return int(self.db.execute("PRAGMA data_version").fetchone()[0])
        except sqlite3.Error:
            return -1

    def unchanged(self) -> bool:
        """Has no other connection committed since the watch began?"""
        return self.first != -1 and self.version() == self.first

    def close(self) -> None:
        if getattr(self, "db", None) is not None:
            self.db.close()
        if self.folder >= 0:
            os.close(self.folder)
            self.folder = -1


def sqlite_image(path: str, *, check: bool = True) -> bytearray:
    """A consistent image of the database at `path`, checked when `check`."""
    return copy_database(path, check=check)[0]


def copy_database(path: str, *, check: bool,
                  count: "Callable[[sqlite3.Connection], int | None] | None" = None,
                  guard: "Callable[[], None] | None" = None,
                  ) -> tuple[bytearray, int | None]:
    """The image, and what `count` says of the copy (None without it). `guard`, called
    once the copy is made and before anything is read from it, may refuse it."""
    import sqlite3
    from urllib.parse import quote

    copy = sqlite3.connect(":memory:")
    try:
        source = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True,
                                 timeout=SQLITE_BUSY_SECONDS)
    except sqlite3.Error as exc:
        copy.close()
        raise CopyProblem(f"cannot open it ({exc})") from None
    try:
        page_size = source.execute("PRAGMA page_size").fetchone()[0]
        copy.execute(f"PRAGMA page_size={int(page_size)}")
        source.backup(copy)  # one step: a read transaction, so one consistent version
        if guard is not None:
            guard()
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
