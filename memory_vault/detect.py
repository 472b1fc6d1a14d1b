"""Which memory files exist, which may have changed, and a stable copy of each that did.

The cheap part (`scan`) uses only `lstat`: a file whose size and mtime equal its `.last_sync`
record is not read. The rest (`take_snapshot`) reads a candidate once, checks that it did not
change while being read (retrying a few times), hashes exactly those bytes and validates them
as JSON. The bytes returned are the bytes the vault will store.
"""

import os
import stat
import time

from memory_vault.state import FileRecord

GLOB_CHARS = "*?["
READ_TRIES = 6
SETTLE_SECONDS = 2.0  # a file modified this recently may still be being written
RACY_NS = 3_000_000_000  # mtimes this close to "now" are not trusted next run


class Skip:
    """A file we could not back up this run, and why (its last good copy stays)."""

    __slots__ = ("name", "reason")

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason


class Snapshot:
    """The bytes of one file as read in one consistent piece."""

    __slots__ = ("data", "mtime_ns", "name", "sha256", "size")

    def __init__(self, name: str, data: bytearray, mtime_ns: int, sha256: str) -> None:
        self.name = name
        self.data = data
        self.size = len(data)
        self.mtime_ns = mtime_ns
        self.sha256 = sha256

    def release(self) -> "Snapshot":
        """Drop the bytes once they are in the clone (size and hash stay)."""
        self.data = bytearray()
        return self

    def record(self, now_ns: int, saved: int) -> FileRecord:
        """The `.last_sync` record; a just-written file is marked to be checked again."""
        mtime = self.mtime_ns if now_ns - self.mtime_ns > RACY_NS else -1
        return FileRecord(self.size, mtime, self.sha256, saved)


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
    """(names present, explicit names absent) for the configured names and globs, in order."""
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
                listing = _list_dir(source_dir)
            hidden_ok = pattern.startswith(".")
            for name in sorted(listing):
                if (hidden_ok or not name.startswith(".")) and wildcard_match(pattern, name):
                    found[name] = None
    return list(found), absent


def _list_dir(folder: str) -> set[str]:
    try:
        return set(os.listdir(folder))
    except OSError:
        return set()


def _glob_module(pattern: str, source_dir: str) -> list[str]:
    import glob

    return sorted(glob.glob(pattern, root_dir=source_dir))


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


def scan(
    patterns: tuple[str, ...],
    source_dir: str,
    records: dict[str, FileRecord],
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
            if stat.S_ISLNK(st.st_mode):
                target = os.path.realpath(path)
                if not target.startswith(real_source + os.sep):
                    result.skips.append(Skip(name, "symlink resolves outside the source dir"))
                    continue
                st = os.stat(target)
        except FileNotFoundError:
            result.absent.append(name)
            continue
        except OSError as exc:
            result.skips.append(Skip(name, f"unreadable ({exc.strerror})"))
            continue
        record = records.get(name)
        if (
            not read_all
            and record is not None
            and stat.S_ISREG(st.st_mode)
            and record.matches(st.st_size, st.st_mtime_ns)
        ):
            result.unchanged += 1
        else:
            result.candidates.append(name)
    if result.absent:
        gone = set(result.absent)
        result.present = [n for n in result.present if n not in gone]
    return result


def take_snapshot(
    name: str, source_dir: str, *, max_bytes: int, validate_json: bool
) -> "Snapshot | Skip | None":
    """A consistent, validated copy of one file; a Skip with the reason; None if it vanished."""
    import hashlib

    path = os.path.join(source_dir, name)
    checks_left = 5
    while True:
        outcome = _read_stable(name, path, max_bytes)
        if not isinstance(outcome, tuple):
            return outcome
        data, mtime_ns = outcome
        problem = _json_problem(data) if validate_json and _is_json(name) else None
        if problem is None:
            return Snapshot(name, data, mtime_ns, hashlib.sha256(data).hexdigest())
        checks_left -= 1
        if checks_left == 0 or time.time_ns() - mtime_ns > SETTLE_SECONDS * 1e9:
            return Skip(name, problem)
        time.sleep(0.3)  # an agent may be half-way through writing it: look again


def _read_stable(name: str, path: str, max_bytes: int) -> "tuple[bytearray, int] | Skip | None":
    """Read until two stats around the read agree: the bytes are one version of the file."""
    for attempt in range(READ_TRIES):
        try:
            before = os.stat(path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return Skip(name, f"unreadable ({exc.strerror})")
        problem = _shape_problem(before, max_bytes)
        if problem:
            return Skip(name, problem)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        except OSError as exc:
            return Skip(name, f"unreadable ({exc.strerror})")
        try:
            opened = os.fstat(fd)
            problem = _shape_problem(opened, max_bytes)
            if problem:
                return Skip(name, problem)
            data = _read_fd(fd, opened.st_size)
            after = os.fstat(fd)
        except OSError as exc:
            return Skip(name, f"unreadable ({exc.strerror})")
        finally:
            os.close(fd)
        if data is not None and _same_version(opened, after) and len(data) == after.st_size:
            return data, after.st_mtime_ns
        time.sleep(0.02 * (attempt + 1))
    return Skip(name, f"kept changing while being read ({READ_TRIES} tries)")


def _shape_problem(st: os.stat_result, max_bytes: int) -> str | None:
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


def _is_json(name: str) -> bool:
    return name.lower().endswith(".json")


def _json_problem(data: bytearray) -> str | None:
    """Why `data` is not JSON, or None. Objects are discarded as parsed to bound memory."""
    if not data or data.isspace():
        return "not valid JSON: the file is empty"
    import json

    try:
        json.loads(data, object_pairs_hook=_discard)
    except RecursionError:
        return "not valid JSON: nested too deeply"
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        return f"not valid JSON: {exc}"
    return None


def _discard(_pairs: object) -> None:
    return None
