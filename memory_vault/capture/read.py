"""Reading a plain file whole: the bytes of one version, never a mix of two.

A writer may rewrite a memory file in place while we read it, or replace it by rename; the
bytes kept are the bytes of one version or none at all (read again, a few tries). SQLite
databases are copied by `capture.sqlite` instead.
"""

import hashlib
import os
import stat
import time

from memory_vault.capture.version import Version
from memory_vault.sources.scan import Skip

READ_TRIES = 8
SETTLED_NS = 1_000_000_000  # untouched this long: one read is enough
QUIET_NS = 12_000_000  # no write for this long (over a timestamp tick): a second look counts


def read_version(name: str, path: str, max_bytes: int) -> "Version | Skip | None":
    """The version of the file at `path` (vault path `name`), a Skip, or None (it vanished)."""
    outcome = read_stable(name, path, max_bytes)
    if not isinstance(outcome, tuple):
        return outcome
    data, st = outcome
    return Version.read(name, data, stat_size=st.st_size, mtime_ns=st.st_mtime_ns)


def read_stable(name: str, path: str,
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
