"""Reading a plain file whole, by descriptor: the bytes of one version, never a mix of two,
and never a file from outside the source dir.

The file is opened once per look, from the source dir's descriptor, one component at a time
with `O_NOFOLLOW` along the path the scan's rule resolved inside the source dir
(`sources.names.resolve`): a symlink swapped in after that check is refused, never
followed. What was opened is checked (`fstat`: a regular file, under the size limit) and
read from that same descriptor. A JSON Lines file over the limit is read the same way, in
pieces (`capture.pieces`), never whole in memory.

A writer may rewrite a memory file in place while we read it, or replace it by rename; the
bytes kept are the bytes of one version or none at all (read again). SQLite databases are
copied by `capture.sqlite` instead.
"""

import errno
import hashlib
import os
import stat
import time

from memory_vault.capture.pieces import Pieces, Reading
from memory_vault.capture.version import Version
from memory_vault.sources.scan import Skip, kind

FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
SWAPPED = ("a symlink took its place (or a folder's on its path) after it was checked; "
           "it is not followed")

# How long a file must have been quiet (no change of size, mtime or ctime) for a read to
# count: longer than any pause a writer makes between the pieces of one version.
SETTLED_NS = 1_000_000_000  # one read is enough
QUIET_NS = 250_000_000  # two agreeing reads are enough
# How long to wait for such a moment: a version written in pieces, then a quiet window.
BUDGET_NS = 3 * QUIET_NS
# Then the former rule, so that a file rewritten without pause still gets through: two
# agreeing reads after a timestamp tick of quiet, a few tries.
TICK_NS = 12_000_000
FALLBACK_TRIES = 8


def open_folder(source_dir: str, relative: str) -> tuple[int, str]:
    """(descriptor of the folder holding `relative`, the file's name in it): walked from
    the source dir's descriptor, each folder opened with `O_NOFOLLOW`. Raises OSError
    (ENOTDIR or ELOOP where a symlink took a folder's place)."""
    fd = os.open(source_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    *folders, leaf = relative.split("/")
    try:
        for part in folders:
            inner = os.open(part, FOLDER_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd, leaf


def open_file(source_dir: str, relative: str) -> tuple[int, int, str]:
    """(folder descriptor, file descriptor, name): `relative` opened with no link
    followed. Raises OSError (ELOOP, ENOTDIR: a symlink where it was checked to be none)."""
    folder, leaf = open_folder(source_dir, relative)
    try:
        return folder, os.open(leaf, FILE_FLAGS, dir_fd=folder), leaf
    except BaseException:
        os.close(folder)
        raise


def problem(name: str, exc: OSError) -> "Skip | None":
    """The skip an error opening or reading means; None when the file is simply gone."""
    if isinstance(exc, FileNotFoundError):
        return None
    if exc.errno in (errno.ENOTDIR, errno.ELOOP):
        return Skip(name, SWAPPED)
    return Skip(name, f"unreadable ({exc.strerror})")


def read_version(name: str, source_dir: str, relative: str, max_bytes: int, *,
                 pieced: Reading | None = None) -> "Version | Skip | None":
    """The version of the file at `relative` inside the source dir (vault path `name`), a
    Skip, or None (it vanished). With `pieced`, a file over the limit is read in pieces
    (the caller knows it may be: `pieces.pieceable`)."""
    outcome = read_stable(name, source_dir, relative, max_bytes, pieced)
    if pieced is not None and not (isinstance(outcome, tuple)
                                   and isinstance(outcome[0], Pieces)):
        pieced.discard()
    if not isinstance(outcome, tuple):
        return outcome
    data, st = outcome
    if isinstance(data, Pieces):
        version = Version(name, size=data.size, sha256=data.sha256, stat_size=st.st_size,
                          mtime_ns=st.st_mtime_ns, ctime_ns=st.st_ctime_ns)
        version.pieces = data.pieces
        return version
    return Version.read(name, data, stat_size=st.st_size, mtime_ns=st.st_mtime_ns,
                        ctime_ns=st.st_ctime_ns)


class Quiet:
    """How long a file has been left alone, as far as anyone can tell: since its change
    time (`st_ctime_ns`, set by the kernel on every write and every `touch`, which cannot
    set it back), or since we first saw it as it is now, by our own clock (a change time
    in the future, from a skewed clock, proves nothing)."""

    __slots__ = ("look", "since")

    def __init__(self) -> None:
        self.look: tuple[int, ...] = ()
        self.since = 0

    def seen(self, st: os.stat_result, started: int, started_wall: int) -> int:
        look = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)
        if look != self.look:
            self.look, self.since = look, started
        return max(started_wall - st.st_ctime_ns, started - self.since)


def read_stable(name: str, source_dir: str, relative: str, max_bytes: int,
                pieced: Reading | None = None
                ) -> "tuple[bytearray | Pieces, os.stat_result] | Skip | None":
    """Read until the bytes are provably one version of the file.

    A stat unchanged around one read cannot prove it: a writer rewriting the file in place
    writes piece by piece, and a read between two pieces sees a stable stat and a mix of
    two versions; two reads within one pause between pieces even agree. So a read counts
    only once the file has been quiet (no change of size, mtime or ctime) for longer than
    such pauses: one read after `SETTLED_NS`, two agreeing reads after `QUIET_NS`. A file
    never that quiet within `BUDGET_NS` falls back to two agreeing reads a timestamp tick
    apart, so that a busy file still gets through, a few tries at most.
    """
    quiet, previous = Quiet(), ""
    deadline = time.monotonic_ns() + BUDGET_NS
    tries = 0
    while tries < FALLBACK_TRIES:
        started, started_wall = time.monotonic_ns(), time.time_ns()
        outcome = _read_once(name, source_dir, relative, max_bytes, pieced)
        if not isinstance(outcome, tuple):
            return outcome
        data, st, whole = outcome
        quiet_for = quiet.seen(st, started, started_wall) if whole else 0
        needed = QUIET_NS if started < deadline else TICK_NS
        digest = "" if not whole else (data.sha256 if isinstance(data, Pieces)
                                        else hashlib.sha256(data).hexdigest())
        if quiet_for >= SETTLED_NS or (digest and digest == previous and quiet_for >= needed):
            return data, st
        previous = digest
        del data, outcome  # one copy in memory at a time: the next look reads it again
        if started >= deadline:
            tries += 1
        time.sleep(_pause(quiet_for, needed, tries))
    return Skip(name, f"kept changing while being read ({FALLBACK_TRIES} tries after "
                      f"{BUDGET_NS / 1e9:g} s)")


def _pause(quiet_for: int, needed: int, tries: int) -> float:
    """Seconds until the file may have been quiet long enough (a short pause when it
    already has: the second look), longer with each try once the budget is spent."""
    return (max(needed - quiet_for, 0) + 2_000_000 + 10_000_000 * tries) / 1e9


def _read_once(name: str, source_dir: str, relative: str, max_bytes: int,
               pieced: Reading | None = None
               ) -> "tuple[bytearray | Pieces, os.stat_result, bool] | Skip | None":
    """(bytes, stat, whether the stat held still around the read and the name still
    leads to the file read), a Skip, or None."""
    try:
        folder, fd, leaf = open_file(source_dir, relative)
    except OSError as exc:
        return problem(name, exc)
    try:
        opened = os.fstat(fd)
        data: bytearray | Pieces | Skip | None
        if pieced is not None and stat.S_ISREG(opened.st_mode) and opened.st_size > max_bytes:
            data = pieced.look(fd, opened.st_size)  # JSON Lines over the limit: in pieces
        else:
            why = shape_problem(opened, max_bytes)
            if why:
                return Skip(name, why)
            data = _read_fd(fd, opened.st_size)
        if isinstance(data, Skip):
            return data
        after = os.fstat(fd)
        current = os.stat(leaf, dir_fd=folder, follow_symlinks=False)
    except OSError as exc:
        return problem(name, exc)
    finally:
        os.close(fd)
        os.close(folder)
    whole = (data is not None and _same_version(opened, after)
             and (current.st_ino, current.st_dev) == (after.st_ino, after.st_dev))
    return (data or bytearray()), after, whole


def shape_problem(st: os.stat_result, max_bytes: int) -> str | None:
    """Why the file opened cannot be backed up as it is, or None."""
    if not stat.S_ISREG(st.st_mode):
        return f"not a regular file ({kind(st.st_mode)})"
    if st.st_size > max_bytes:
        return (
            f"too large: {st.st_size / 2**20:.1f} MB is over the "
            f"{max_bytes / 2**20:g} MB limit (MEMORY_VAULT_MAX_FILE_MB)"
        )
    return None


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
