"""Scan: which memory files exist in the source dir, and which may have changed.

Only `lstat` and friends: a file whose size and mtime (for SQLite, together with its `-wal`)
equal its `.last_sync` record is not read. This is the cron no-change path, so it imports
nothing beyond `os` and `stat` (not even `formats`, nor `re`: globs are matched here).
"""

import os
import stat

from memory_vault.shortcut import Looks
from memory_vault.sources.names import inside, unholdable
from memory_vault.sources.patterns import SCAN_LIMIT, Matches

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Protocol

    from memory_vault.sources.source import Source

    class Known(Protocol):
        """What the journal remembers of a file: enough to tell it has not changed."""

        format: str

        def matches(self, size: int, mtime_ns: int, ctime_ns: int = 0, /) -> bool: ...

SQLITE_SIDECARS = ("-wal", "-shm", "-journal")  # SQLite's own files beside a database
# `formats.SQLITE`, spelled here so that a no-change run need not load `formats` (a unit test
# keeps the two equal).
SQLITE = "sqlite"
OUTSIDE = "symlink resolves outside the source dir"
_KINDS = {stat.S_IFDIR: "a directory", stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a device",
          stat.S_IFBLK: "a device", stat.S_IFSOCK: "a socket", stat.S_IFLNK: "a symlink"}


class Skip:
    """A file we could not back up this run, and why (its last good copy stays); the hash of
    what was read, when something was."""

    __slots__ = ("name", "reason", "sha256")

    def __init__(self, name: str, reason: str, sha256: str = "") -> None:
        self.name = name
        self.reason = reason
        self.sha256 = sha256


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
    """(names present, explicit names absent) for the configured names and globs, in
    order: each name given that exists, each file a glob matches (the folders it matches
    are the scan's skips). A SQLite database's `-wal`/`-shm`/`-journal` go with it."""
    matches = Matches(source_dir, patterns)
    return [n for n in _tracked(matches) if not matches.found[n]], matches.absent


def _tracked(matches: Matches) -> list[str]:
    found = matches.found
    return [n for n in found
            if not (n.endswith(SQLITE_SIDECARS) and _sidecar_of_another(n, found))]


def _sidecar_of_another(name: str, found: "Mapping[str, bool]") -> bool:
    return any(name.endswith(s) and name[: -len(s)] in found for s in SQLITE_SIDECARS)


def signature(path: str, st: os.stat_result, fmt: str,
              looks: Looks | None = None) -> tuple[int, int, int]:
    """(size, mtime_ns, ctime_ns) that changes whenever the content may have: a SQLite
    database's committed data may live only in its `-wal`, so that file counts too (and
    its change time does not: SQLite moves it without writing)."""
    if fmt != SQLITE:
        return st.st_size, st.st_mtime_ns, st.st_ctime_ns
    try:
        wal = (looks or Looks(record=False)).stat(path + "-wal")
    except OSError:
        return st.st_size, st.st_mtime_ns, 0
    return st.st_size + wal.st_size, max(st.st_mtime_ns, wal.st_mtime_ns), 0


def scan(patterns: tuple[str, ...], source_dir: str, records: "Mapping[str, Known]", *,
         read_all: bool, exclude: tuple[str, ...] = (), looks: Looks | None = None) -> Scan:
    """Sort tracked files into unchanged (by size+mtime) and candidates, without reading;
    anything that cannot be backed up is a skip with its reason, never a silent gap.
    `looks` gathers every path looked at (the shortcut's stamp)."""
    result = Scan()
    looks = looks or Looks(record=False)
    looks.note(source_dir, follow=False)
    looks.note(source_dir, follow=True)
    matches = Matches(source_dir, patterns, exclude, looks)
    result.present, result.absent = _tracked(matches), matches.absent
    result.skips = [Skip(p, f"its search stopped after {SCAN_LIMIT} folder entries; files "
                         "past them were not looked at (name the files more narrowly)")
                    for p in matches.overflow]
    real_source = os.path.realpath(source_dir)
    folders: dict[str, bool] = {}  # folder -> resolves inside the source dir
    problems: dict[str, str | None] = {}  # folder -> why git cannot hold its path
    for name in result.present:
        st = _look(result, name, source_dir, real_source, folders, problems, looks)
        if st is None:
            continue
        record = records.get(name)
        if (not read_all and record is not None and record.matches(
                *signature(os.path.join(source_dir, name), st, record.format, looks))):
            result.unchanged += 1
        else:
            result.candidates.append(name)
    if result.absent:
        gone = set(result.absent)
        result.present = [n for n in result.present if n not in gone]
    return result


def scan_source(source: "Source", records: "Mapping[str, Known]", *, read_all: bool,
                looks: Looks | None = None) -> Scan:
    """`scan` of one source, every name given as its vault path (`<name>/<path>`)."""
    if not source.name:
        return scan(source.files, source.folder, records, read_all=read_all,
                    exclude=source.exclude, looks=looks)
    prefix = source.name + "/"
    own = {k[len(prefix):]: v for k, v in records.items() if k.startswith(prefix)}
    result = scan(source.files, source.folder, own, read_all=read_all, exclude=source.exclude,
                  looks=looks)
    for names in (result.present, result.absent, result.candidates):
        names[:] = [prefix + n for n in names]
    for skip in result.skips:
        skip.name = prefix + skip.name
    return result


MEMORY_SUFFIXES = (".json", ".jsonl", ".ndjson", ".md", ".markdown", ".mdc", ".db", ".sqlite",
                   ".sqlite3")


def untracked(source: "Source") -> list[str]:
    """Files whose name says memory (JSON, JSON Lines, Markdown, SQLite) at the source's top
    level, or in a folder its patterns reach, that no pattern or exclude covers (vault
    paths): memory that would otherwise be left out in silence."""
    from memory_vault.sources.patterns import excluded

    folders = {""} | {p.rsplit("/", 1)[0] for p in source.files
                      if "/" in p and not any(c in p.rsplit("/", 1)[0] for c in "*?[")}
    covered = set(Matches(source.folder, source.files).found)
    found = []
    for folder in sorted(folders):
        try:
            entries = sorted(os.scandir(os.path.join(source.folder, folder)),
                             key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            name = f"{folder}/{entry.name}" if folder else entry.name
            if (entry.name.lower().endswith(MEMORY_SUFFIXES) and entry.is_file()
                    and not entry.name.startswith(".") and name not in covered
                    and not excluded(name, source.exclude)):
                found.append(source.vault_path(name))
    return found


def _look(result: Scan, name: str, source_dir: str, real_source: str,
          folders: dict[str, bool], problems: "dict[str, str | None]",
          looks: Looks) -> os.stat_result | None:
    """The stat of a file that may be read, else None with a skip or an absence noted."""
    why = unholdable(name, problems)
    if why is not None:
        result.skips.append(Skip(name, why))
        return None
    path = os.path.join(source_dir, name)
    try:
        st = looks.lstat(path)
        if "/" in name and not _folder_inside(name.rpartition("/")[0], source_dir,
                                              real_source, folders, looks):
            result.skips.append(Skip(name, OUTSIDE))
            return None
        if stat.S_ISLNK(st.st_mode):
            if inside(os.path.realpath(path), real_source) is None:
                result.skips.append(Skip(name, OUTSIDE))
                return None
            st = looks.stat(path)
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


def _folder_inside(folder: str, source_dir: str, real_source: str,
                   folders: dict[str, bool], looks: Looks) -> bool:
    """Does `folder` (a path below the source dir, which may cross a linked folder) resolve
    inside it? Asked once per folder a scan meets: a file lies where its folder resolves
    to (a realpath per file cost a stat per path component). Each folder on the way is
    looked at: a link swapped in for one changes what the scan finds."""
    known = folders.get(folder)
    if known is None:
        for end, char in enumerate(folder + "/"):
            if char == "/":
                looks.note(os.path.join(source_dir, folder[:end]), follow=False)
        real = os.path.realpath(os.path.join(source_dir, folder))
        known = folders[folder] = real == real_source or inside(real, real_source) is not None
    return known


def kind(mode: int) -> str:
    """What a file that is not a regular one is, in words."""
    return _KINDS.get(stat.S_IFMT(mode), "not a file")
