"""Scan: which memory files exist in the source dir, and which may have changed.

Only `lstat` and friends: a file whose size and mtime (for SQLite, together with its `-wal`)
equal its `.last_sync` record is not read. This is the cron no-change path, so it imports
nothing beyond `os` and `stat` (not even `formats`) unless a pattern needs `glob`.
"""

import os
import stat

from memory_vault.sources.names import unholdable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Protocol

    class Known(Protocol):
        """What the journal remembers of a file: enough to tell it has not changed."""

        format: str

        def matches(self, size: int, mtime_ns: int, /) -> bool: ...

GLOB_CHARS = "*?["
SQLITE_SIDECARS = ("-wal", "-shm", "-journal")  # SQLite's own files beside a database
# `formats.SQLITE`, spelled here so that a no-change run need not load `formats` (a unit test
# keeps the two equal).
SQLITE = "sqlite"


class Skip:
    """A file we could not back up this run, and why (its last good copy stays)."""

    __slots__ = ("name", "reason")

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason


class Scan:
    """The result of looking at the source dir without reading any file."""

    __slots__ = ("absent", "candidates", "present", "skips", "unchanged")

    def __init__(self) -> None:
        self.present: list[str] = []  # every tracked name found
        self.absent: list[str] = []  # names listed explicitly but not there
        self.candidates: list[str] = []  # names that must be read
        self.unchanged = 0
        self.skips: list[Skip] = []


def expand(patterns: tuple[str, ...], source_dir: str) -> tuple[list[str], list[str]]:
    """(names present, explicit names absent) for the configured names and globs, in order.

    Globs match files only (a folder named like a memory file is not one), may name
    subfolders (`memory-bank/*.md`), and `**` matches zero or more folders. A SQLite
    database's `-wal`/`-shm`/`-journal` files go with it, never on their own.
    """
    listing: set[str] | None = None
    found: dict[str, None] = {}
    absent: list[str] = []
    for pattern in patterns:
        if not any(c in pattern for c in GLOB_CHARS):
            if os.path.lexists(os.path.join(source_dir, pattern)):
                found[pattern] = None
            else:
                absent.append(pattern)
        elif "/" in pattern or "[" in pattern:
            for name in _glob_module(pattern, source_dir):
                found[name] = None
        else:
            if listing is None:
                listing = _list_files(source_dir)
            hidden_ok = pattern.startswith(".")
            for name in sorted(listing):
                if (hidden_ok or not name.startswith(".")) and wildcard_match(pattern, name):
                    found[name] = None
    return [n for n in found if not _sidecar_of_another(n, found)], absent


def _sidecar_of_another(name: str, found: dict[str, None]) -> bool:
    return any(name.endswith(s) and name[: -len(s)] in found for s in SQLITE_SIDECARS)


def _list_files(folder: str) -> set[str]:
    try:
        return {e.name for e in os.scandir(folder) if not e.is_dir()}
    except OSError:
        return set()


def _glob_module(pattern: str, source_dir: str) -> list[str]:
    import glob

    names = glob.glob(pattern, root_dir=source_dir, recursive=True)
    return sorted(n for n in names if not os.path.isdir(os.path.join(source_dir, n)))


def wildcard_match(pattern: str, name: str) -> bool:
    """fnmatch for `*` and `?` without importing `re` (5 ms on the cron path)."""
    p = n = 0
    star, mark = -1, 0
    while n < len(name):
        if p < len(pattern) and pattern[p] in ("?", name[n]):
            p += 1
            n += 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark = p, n
            p += 1
        elif star >= 0:
            p = star + 1
            mark += 1
            n = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def signature(path: str, st: os.stat_result, fmt: str) -> tuple[int, int]:
    """(size, mtime_ns) that changes whenever the content may have: a SQLite database's
    committed data may live only in its `-wal`, so that file counts too."""
    if fmt != SQLITE:
        return st.st_size, st.st_mtime_ns
    try:
        wal = os.stat(path + "-wal")
    except OSError:
        return st.st_size, st.st_mtime_ns
    return st.st_size + wal.st_size, max(st.st_mtime_ns, wal.st_mtime_ns)


def scan(
    patterns: tuple[str, ...],
    source_dir: str,
    records: "Mapping[str, Known]",
    *,
    read_all: bool,
) -> Scan:
    """Sort tracked files into unchanged (by size+mtime) and candidates, without reading."""
    result = Scan()
    result.present, result.absent = expand(patterns, source_dir)
    real_source = os.path.realpath(source_dir)
    for name in result.present:
        path = os.path.join(source_dir, name)
        try:
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode) or "/" in name:
                if not _inside(os.path.realpath(path), real_source):
                    result.skips.append(Skip(name, "symlink resolves outside the source dir"))
                    continue
                st = os.stat(path)
        except FileNotFoundError:
            result.absent.append(name)
            continue
        except OSError as exc:
            result.skips.append(Skip(name, f"unreadable ({exc.strerror})"))
            continue
        why = unholdable(name)
        if why is not None:
            result.skips.append(Skip(name, why))
            continue
        record = records.get(name)
        if (
            not read_all
            and record is not None
            and stat.S_ISREG(st.st_mode)
            and record.matches(*signature(path, st, record.format))
        ):
            result.unchanged += 1
        else:
            result.candidates.append(name)
    if result.absent:
        gone = set(result.absent)
        result.present = [n for n in result.present if n not in gone]
    return result


def _inside(path: str, folder: str) -> bool:
    return path.startswith(folder + os.sep)
