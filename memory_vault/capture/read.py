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
                 pieced: Reading | None = None, early: bool = False
                 ) -> "Version | Skip | None":
    """The version of the file at `relative` inside the source dir (vault path `name`), a
    Skip, or None (it vanished). With `pieced`, a file over the limit is read in pieces
    (the caller knows it may be: `pieces.pieceable`). `early`: a whole read of a file not
    quiet long enough yet is returned at once, `unconfirmed` (`confirm` it before it
    counts), instead of waiting here for the read that would agree with it."""
    outcome = read_stable(name, source_dir, relative, max_bytes, pieced, early=early)
    if pieced is not None and not (isinstance(outcome, tuple)
                                   and isinstance(outcome[0], Pieces)):
        pieced.discard()
    if not isinstance(outcome, tuple):
        return outcome
    data, st, digest, unconfirmed = outcome
    if isinstance(data, Pieces):
        version = Version(name, size=data.size, sha256=data.sha256, stat_size=st.st_size,
                          mtime_ns=st.st_mtime_ns, ctime_ns=st.st_ctime_ns)
        version.pieces = data.pieces
        return version
    version = Version(name, size=len(data), sha256=digest, stat_size=st.st_size,
                      mtime_ns=st.st_mtime_ns, data=data, ctime_ns=st.st_ctime_ns)
    version.unconfirmed = unconfirmed
    return version


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


class Unconfirmed:
    """A whole read of a file not quiet for `QUIET_NS` yet: its bytes may be judged and
    staged meanwhile, and count once `confirm`ed by the second of two agreeing reads."""

    __slots__ = ("digest", "max_bytes", "quiet", "ready_ns", "relative", "source_dir")

    def __init__(self, source_dir: str, relative: str, max_bytes: int, digest: str,
                 quiet: Quiet, ready_ns: int) -> None:
        self.source_dir = source_dir
        self.relative = relative
        self.max_bytes = max_bytes
        self.digest = digest  # sha256 of the bytes read
        self.quiet = quiet  # the file's look when read, and since when it has had it
        self.ready_ns = ready_ns  # monotonic: when it may have been quiet long enough

    def confirm(self) -> bool:
        """Once the file may have been quiet for `QUIET_NS`: does a read of it now, streamed
        through sha256 (no second copy in memory), agree with this one, the file having
        kept its look (size, mtime, ctime, inode) all along? False: the bytes taken early
        do not count; read the file again."""
        time.sleep(max(self.ready_ns - time.monotonic_ns(), 0) / 1e9)
        started, started_wall = time.monotonic_ns(), time.time_ns()
        try:
            folder, fd, leaf = open_file(self.source_dir, self.relative)
        except OSError:
            return False
        try:
            opened = os.fstat(fd)
            if shape_problem(opened, self.max_bytes):
                return False
            digest = _hash_fd(fd, opened.st_size)
            after = os.fstat(fd)
            current = os.stat(leaf, dir_fd=folder, follow_symlinks=False)
        except OSError:
            return False
        finally:
            os.close(fd)
            os.close(folder)
        return (digest == self.digest and _same_version(opened, after)
                and (current.st_ino, current.st_dev) == (after.st_ino, after.st_dev)
                and self.quiet.seen(after, started, started_wall) >= QUIET_NS)


ReadOutcome = tuple["bytearray | Pieces", os.stat_result, str, "Unconfirmed | None"]


def read_stable(name: str, source_dir: str, relative: str, max_bytes: int,
                pieced: Reading | None = None, *, early: bool = False
                ) -> "ReadOutcome | Skip | None":
    """Read until the bytes are provably one version of the file: (the bytes, their stat,
    their sha256, and, with `early`, what is left to prove, or None).

    A stat unchanged around one read cannot prove it: a writer rewriting the file in place
    writes piece by piece, and a read between two pieces sees a stable stat and a mix of
    two versions; two reads within one pause between pieces even agree. So a read counts
    only once the file has been quiet (no change of size, mtime or ctime) for longer than
    such pauses: one read after `SETTLED_NS`, two agreeing reads after `QUIET_NS`. A file
    never that quiet within `BUDGET_NS` falls back to two agreeing reads a timestamp tick
    apart, so that a busy file still gets through, a few tries at most. With `early`, the
    first whole read of a file not quiet for `QUIET_NS` yet is returned with the
    `Unconfirmed` second read still to make (`confirm`), instead of waiting for it here.
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
            return data, st, digest, None
        if early and digest and not isinstance(data, Pieces):
            ready = time.monotonic_ns() + int(_pause(quiet_for, QUIET_NS, 0) * 1e9)
            return data, st, digest, Unconfirmed(source_dir, relative, max_bytes, digest,
                                                 quiet, ready)
        previous = digest
        del data, outcome  # one copy in memory at a time: the next look reads it again
        if started >= deadline:
            tries += 1
        time.sleep(_pause(quiet_for, needed, tries))
    return Skip(name, f"kept changing while being read ({FALLBACK_TRIES} tries after "
                      f"{BUDGET_NS / 1e9:g} s)")


def _hash_fd(fd: int, size: int) -> str | None:
    """The sha256 of exactly `size` bytes then EOF (None: the size moved), in pieces."""
    digest = hashlib.sha256()
    buffer = bytearray(min(size, 1 << 20) or 1)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = os.readv(fd, [view[:min(len(buffer), size - got)]])
        if n == 0:
            return None
        digest.update(view[:n])
        got += n
    view.release()
    return None if os.read(fd, 1) else digest.hexdigest()


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
