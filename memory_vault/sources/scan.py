"""Scan: which memory files exist in the source dir, and which may have changed.

Only `lstat` and friends: a file whose size and mtime (for SQLite, together with its `-wal`)
equal its `.last_sync` record is not read. This is the cron no-change path, so it imports
nothing beyond `os` and `stat` (not even `formats`, nor `re`: globs are matched here).
"""

import os
import stat

from memory_vault.sources.names import inside, unholdable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping
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
SCAN_LIMIT = 100_000  # folder entries one expansion may visit: a huge tree costs no more
OUTSIDE = "symlink resolves outside the source dir"
_KINDS = {stat.S_IFDIR: "a directory", stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a device",
          stat.S_IFBLK: "a device", stat.S_IFSOCK: "a socket", stat.S_IFLNK: "a symlink"}


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


class Matches:
    """What the patterns name in the source dir, in order: files, and folders a glob
    matched (reported, never silently dropped), names listed but absent, and the patterns
    whose search hit `SCAN_LIMIT`.

    `**` matches zero or more folders but never enters a symlinked folder, and enters each
    folder once: a link loop (`sub/loop -> ..`) is walked past, not followed forever. A
    wildcard or a literal name may cross a symlinked folder (the scan then checks it
    resolves inside the source dir); the pattern's own depth bounds that.
    """

    __slots__ = ("absent", "cut", "found", "listings", "overflow", "root", "short", "visited")

    def __init__(self, root: str, patterns: tuple[str, ...]) -> None:
        self.root = root
        self.found: dict[str, bool] = {}  # name -> is a folder
        self.absent: list[str] = []
        self.overflow: list[str] = []
        self.listings: dict[str, list[tuple[str, bool, bool]]] = {}
        self.visited = 0
        self.short: set[str] = set()  # folders whose listing `SCAN_LIMIT` cut short
        self.cut = False  # the pattern being expanded met one of them
        for pattern in patterns:
            self.add(pattern)

    def add(self, pattern: str) -> None:
        if not any(c in pattern for c in GLOB_CHARS):
            if os.path.lexists(self.disk(pattern)):
                self.found[pattern] = False  # named: the scan's stat tells what it is
            else:
                self.absent.append(pattern)
            return
        self.cut = False
        for name, is_dir in sorted(set(self.match(pattern.split("/"), ""))):
            self.found.setdefault(name, is_dir)
        if self.cut:
            self.overflow.append(pattern)

    def disk(self, name: str) -> str:
        return os.path.join(self.root, name)

    def match(self, parts: list[str], folder: str) -> "Iterator[tuple[str, bool]]":
        head, rest = parts[0], parts[1:]
        if head == "**":
            yield from self.globstar(rest, folder, set())
        elif not any(c in head for c in GLOB_CHARS):
            path = _join(folder, head)
            if rest and os.path.isdir(self.disk(path)):
                yield from self.match(rest, path)
            elif not rest and os.path.lexists(self.disk(path)):
                yield path, os.path.isdir(self.disk(path))
        else:
            for name, is_dir, _ in self.listing(folder):
                if (head[0] == "." or name[0] != ".") and component_match(head, name):
                    if not rest:
                        yield _join(folder, name), is_dir
                    elif is_dir:
                        yield from self.match(rest, _join(folder, name))

    def globstar(self, rest: list[str], folder: str,
                 seen: set[tuple[int, int]]) -> "Iterator[tuple[str, bool]]":
        """`**`: this folder and each real folder below it, hidden ones excepted."""
        if rest:
            yield from self.match(rest, folder)
        else:
            yield from ((_join(folder, n), False) for n, d, _ in self.listing(folder)
                        if not d and n[0] != ".")
        if not seen:
            self.first_visit(folder, seen)
        for name, is_dir, is_link in self.listing(folder):
            path = _join(folder, name)
            if is_dir and not is_link and name[0] != "." and self.first_visit(path, seen):
                yield from self.globstar(rest, path, seen)

    def first_visit(self, folder: str, seen: set[tuple[int, int]]) -> bool:
        """Is this the first time this `**` enters `folder`? (A bind mount can loop.)"""
        try:
            st = os.lstat(self.disk(folder) if folder else self.root)
        except OSError:
            return False
        if (st.st_dev, st.st_ino) in seen:
            return False
        seen.add((st.st_dev, st.st_ino))
        return True

    def listing(self, folder: str) -> list[tuple[str, bool, bool]]:
        """(name, is a folder (through a link too), is a link) of each entry, listed once
        per scan and counted against `SCAN_LIMIT`; a listing the limit cut short marks the
        pattern being expanded."""
        cached = self.listings.get(folder)
        if cached is None:
            cached = self.listings[folder] = self.list_folder(folder)
        self.cut = self.cut or folder in self.short
        return cached

    def list_folder(self, folder: str) -> list[tuple[str, bool, bool]]:
        entries: list[tuple[str, bool, bool]] = []
        try:
            with os.scandir(self.disk(folder) if folder else self.root) as found:
                for entry in found:
                    self.visited += 1
                    if self.visited > SCAN_LIMIT:
                        self.short.add(folder)
                        break
                    entries.append((entry.name, _is_dir(entry), entry.is_symlink()))
        except OSError:
            pass
        return entries


def _is_dir(entry: "os.DirEntry[str]") -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def expand(patterns: tuple[str, ...], source_dir: str) -> tuple[list[str], list[str]]:
    """(names present, explicit names absent) for the configured names and globs, in
    order: each name given that exists, each file a glob matches (the folders it matches
    are the scan's skips). A SQLite database's `-wal`/`-shm`/`-journal` go with it."""
    matches = Matches(source_dir, patterns)
    return [n for n in _tracked(matches) if not matches.found[n]], matches.absent


def _tracked(matches: Matches) -> list[str]:
    return [n for n in matches.found if not _sidecar_of_another(n, matches.found)]


def _sidecar_of_another(name: str, found: "Mapping[str, bool]") -> bool:
    return any(name.endswith(s) and name[: -len(s)] in found for s in SQLITE_SIDECARS)


def component_match(pattern: str, name: str) -> bool:
    """One path component against one pattern component: `*` and `?` here, without `re`;
    a `[...]` class through `fnmatch` (only a pattern that has one pays for `re`)."""
    if "[" in pattern:
        import fnmatch

        return fnmatch.fnmatchcase(name, pattern)
    return wildcard_match(pattern, name)


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


def scan(patterns: tuple[str, ...], source_dir: str, records: "Mapping[str, Known]", *,
         read_all: bool) -> Scan:
    """Sort tracked files into unchanged (by size+mtime) and candidates, without reading;
    anything that cannot be backed up is a skip with its reason, never a silent gap."""
    result = Scan()
    matches = Matches(source_dir, patterns)
    result.present, result.absent = _tracked(matches), matches.absent
    result.skips = [Skip(p, f"its search stopped after {SCAN_LIMIT} folder entries; files "
                         "past them were not looked at (name the files more narrowly)")
                    for p in matches.overflow]
    real_source = os.path.realpath(source_dir)
    for name in result.present:
        st = _look(result, name, source_dir, real_source)
        if st is None:
            continue
        record = records.get(name)
        if (not read_all and record is not None and record.matches(
                *signature(os.path.join(source_dir, name), st, record.format))):
            result.unchanged += 1
        else:
            result.candidates.append(name)
    if result.absent:
        gone = set(result.absent)
        result.present = [n for n in result.present if n not in gone]
    return result


def _look(result: Scan, name: str, source_dir: str, real_source: str) -> os.stat_result | None:
    """The stat of a file that may be read, else None with a skip or an absence noted."""
    why = unholdable(name)
    if why is not None:
        result.skips.append(Skip(name, why))
        return None
    path = os.path.join(source_dir, name)
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode) or "/" in name:
            if inside(os.path.realpath(path), real_source) is None:
                result.skips.append(Skip(name, OUTSIDE))
                return None
            st = os.stat(path)
    except FileNotFoundError:
        result.absent.append(name)
        return None
    except OSError as exc:
        result.skips.append(Skip(name, f"unreadable ({exc.strerror})"))
        return None
    if not stat.S_ISREG(st.st_mode):
        result.skips.append(Skip(name, f"not a regular file ({kind(st.st_mode)})"))
        return None
    return st


def kind(mode: int) -> str:
    """What a file that is not a regular one is, in words."""
    return _KINDS.get(stat.S_IFMT(mode), "not a file")
