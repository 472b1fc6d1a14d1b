"""Store step: a store (Chroma, LanceDB, Qdrant, mem0: a folder of files that only make sense
together) read as one consistent set, or not at all.

The set is listed, then awaited until it has been left alone for `QUIET_NS` (no file's change
time newer; `WAIT_NS` at most): `capture.read`'s rule for two agreeing reads of one file, the
looks before and after the read being the two. Then every file is read (SQLite through its
backup API) but those whose size and mtime are still their journal record's (the scan's own
rule: an HNSW index a burst of writes to the database left alone is not read again, nor
scanned for secrets), and the set is looked at again: the same files (none appeared, none
vanished), each with the same size, mtime, ctime and inode (a database with its `-wal` and
`-journal`, whose ctime SQLite itself moves when run as root: their size, mtime and inode),
and each database's `PRAGMA data_version` unchanged on a connection held open across the
read, which a timestamp tick cannot hide. A set that moved is read again, a few tries; a
set that cannot be read whole is one skip: the vault keeps the last whole set. A sync reads
it `early`, before the wait, and proves it later (`UnconfirmedSet`) or reads it again.

Memory: the versions must wait until the set is verified before any is staged. A set of up to
`HOLD_BYTES` waits in memory; the rest of a larger one waits in a private temporary folder,
one file's bytes in memory at a time, and is read back as each version is staged (the cost:
writing and reading those bytes once more, in `$TMPDIR`, removed when the set is handed over).
"""

import os
import time

from memory_vault.capture.read import QUIET_NS
from memory_vault.capture.sqlite import CopyProblem, Watch, is_sqlite_inside
from memory_vault.capture.version import Version
from memory_vault.pipeline.capture import capture
from memory_vault.sources.scan import SQLITE_SIDECARS, Skip, scan_source, signature
from memory_vault.sources.source import Source

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from memory_vault.capture.version import Pending

    Check = Callable[[Version], "Version | Skip"]

SET_TRIES = 4
WAIT_NS = 2_000_000_000  # how long one try waits for such a moment before reading anyway
POLL_SECONDS = 0.05
HOLD_BYTES = 256 * 2**20  # a set up to this size waits in memory; beyond, on disk
WATCHED = tuple(s for s in SQLITE_SIDECARS if s != "-shm")  # readers write the -shm
KEPT_WHOLE = "a store, kept whole"
KEEPS = "the vault keeps the last whole set"

Look = tuple[int, ...] | None


class StoreSet:
    """The versions of one verified set, handed over one at a time: those held in memory,
    then those set aside on disk, each read back as it is taken."""

    def __init__(self) -> None:
        self.held: list[Version] = []
        self.spooled: list[tuple[Version, str]] = []
        self.spool: str | None = None
        self.held_bytes = 0

    def add(self, version: Version) -> None:
        if version.data is None or self.held_bytes + version.size <= HOLD_BYTES:
            self.held.append(version)
            self.held_bytes += version.size
            return
        if self.spool is None:
            import tempfile

            self.spool = tempfile.mkdtemp(prefix="memory-vault-store-")  # mode 0700
        path = os.path.join(self.spool, str(len(self.spooled)))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            view = memoryview(version.data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        version.data = None
        self.spooled.append((version, path))

    def __len__(self) -> int:
        return len(self.held) + len(self.spooled)

    def __iter__(self) -> "Iterator[Version]":
        try:
            while self.held:
                yield self.held.pop(0)
            while self.spooled:
                version, path = self.spooled.pop(0)
                with open(path, "rb") as f:
                    version.data = bytearray(f.read())
                os.unlink(path)
                yield version
        finally:
            self.discard()

    def discard(self) -> None:
        self.held, self.spooled = [], []
        if self.spool is not None:
            import shutil

            shutil.rmtree(self.spool, ignore_errors=True)
            self.spool = None


def capture_store(source: Source, members: list[str], *, max_bytes: int,
                  validate: bool, check: "Check | None" = None,
                  known: "Mapping[str, Version] | None" = None,
                  early: bool = False) -> "StoreSet | Skip":
    """Every file of the store `source`, as one consistent set (iterated, one version at a
    time, by vault path), or one Skip naming the store. `members` are the files the plan
    found; the set is listed again, since it may have changed since. `check` (the secret
    step) sees each version as it is read: one it refuses keeps the whole set out. A file
    whose size and mtime are those of its record in `known` (the journal's) is not read:
    its version in the set is that record, as for a file outside a store (`sources.scan`),
    and the looks around the read still hold it to the set. `early`: a set written a
    moment ago is read at once, its versions `unconfirmed` (an `UnconfirmedSet`), instead
    of waiting for it to be quiet first."""
    del members  # listed again at each try, and compared with itself
    why = "it kept changing while being read"
    for attempt in range(SET_TRIES):
        listed = _listing(source)
        if isinstance(listed, Skip):
            return listed
        if not (early and attempt == 0):
            _await_quiet(source, listed)
        outcome = _read_once(source, listed, max_bytes=max_bytes, validate=validate,
                             check=check, known=known or {}, early=early and attempt == 0)
        if isinstance(outcome, StoreSet):
            return outcome
        if outcome is not None:  # a file that cannot be read, in a set that held still
            return Skip(source.name, f"{KEPT_WHOLE}: {outcome}; {KEEPS}")
        time.sleep(0.1 * (attempt + 1))
    return Skip(source.name, f"{KEPT_WHOLE}: {why} ({SET_TRIES} tries); {KEEPS}")


def _listing(source: Source) -> "list[str] | Skip":
    """The set's files now, by vault path; a Skip when one of them cannot be held."""
    scan = scan_source(source, {}, read_all=True)
    if scan.skips:
        first = scan.skips[0]
        return Skip(source.name, f"{KEPT_WHOLE}: {first.name} cannot be backed up "
                                 f"({first.reason}); {KEEPS}")
    return scan.present


def _read_once(source: Source, listed: list[str], *, max_bytes: int, validate: bool,
               check: "Check | None" = None, known: "Mapping[str, Version] | None" = None,
               early: bool = False) -> "StoreSet | str | None":
    """The set read once: a StoreSet when it held still, the reason a file of a set that
    held still could not be read, or None (it moved: read it again). `early`: a set that
    held still but had not been quiet long enough is handed over `unconfirmed`."""
    watches: list[Watch] = []
    found = StoreSet()
    try:
        before, since = _looks(source, listed), time.monotonic_ns()
        for path in listed:
            relative = source.relative(path) or path
            if before[path] is not None and is_sqlite_inside(source.folder, relative):
                watches.append(Watch(source.folder, relative))
        for path in listed:
            unread = _unchanged(source, path, (known or {}).get(path))
            if unread is not None:
                found.add(unread)
                continue
            version = capture(source.relative(path) or path, source.folder,
                              max_bytes=max_bytes, validate=validate, early=early)
            if not isinstance(version, Version):
                if _moved(source, listed, before, watches):
                    return None
                return f"{path} could not be read ({version.reason})" if version else None
            version.path = path
            checked = check(version) if check is not None else version
            if isinstance(checked, Skip):
                return checked.reason
            found.add(checked)
        if _moved(source, listed, before, watches):
            return None
        quiet = time.time_ns() - (time.monotonic_ns() - since) - _newest(before)
        members = (*found.held, *(v for v, _path in found.spooled))
        if early and (quiet < QUIET_NS or any(v.unconfirmed for v in members)):
            pending = UnconfirmedSet(source, listed, before, watches, since, quiet)
            watches = []  # held open until it is proven
            for version in members:
                if version.unconfirmed is not None:  # a file's own second read, too
                    pending.files.append(version.unconfirmed)
                version.unconfirmed = pending
        kept, found = found, StoreSet()
        return kept
    except (OSError, CopyProblem) as exc:
        if _moved(source, listed, {}, watches):
            return None
        return f"it could not be read ({exc})"
    finally:
        found.discard()
        for watch in watches:
            watch.close()


def _unchanged(source: Source, path: str, record: Version | None) -> Version | None:
    """The journal's version of `path` when the file still has its size and mtime (a
    database with its -wal), without its bytes; else None: it must be read."""
    if record is None:
        return None
    disk = source.disk_path(path)
    try:
        looks = signature(disk, os.stat(disk, follow_symlinks=False), record.format)
    except OSError:
        return None
    if not record.matches(*looks):
        return None
    return Version(path, size=record.size, sha256=record.sha256, stat_size=record.stat_size,
                   mtime_ns=record.mtime_ns, fmt=record.format, records=record.records,
                   saved=record.saved, read_sha256=record.read_sha256,
                   ctime_ns=record.ctime_ns)


def _moved(source: Source, listed: list[str], before: "dict[str, Look]",
           watches: list[Watch]) -> bool:
    """Did any file of the set change, appear or vanish since `before` was taken?"""
    if not before or _listing(source) != listed or _looks(source, listed) != before:
        return True
    return not all(w.unchanged() for w in watches)


def _looks(source: Source, listed: list[str]) -> "dict[str, Look]":
    """What each file of the set looks like now: size, mtime, ctime and inode of the file,
    then of a database's -wal and -journal (-1s: none); None: the file is gone."""
    looks: dict[str, Look] = {}
    for path in listed:
        disk = source.disk_path(path)
        look: list[int] = []
        for suffix in ("", *WATCHED):
            try:
                st = os.stat(disk + suffix, follow_symlinks=False)
            except OSError as exc:
                look += (-1 if isinstance(exc, FileNotFoundError) else -2,) * 4
                continue
            # A sidecar's change time is its mtime: SQLite run as root chowns the -wal it
            # opens, our own read included, which moves nothing but the ctime.
            changed = st.st_ctime_ns if not suffix else st.st_mtime_ns
            look += (st.st_size, st.st_mtime_ns, changed, st.st_ino)
        looks[path] = tuple(look) if look[0] != -1 else None
    return looks


class UnconfirmedSet:
    """A set that held still while read, not quiet for `QUIET_NS` before: it counts once
    `confirm` finds it quiet that long and as before the read (the watches held open)."""

    __slots__ = ("before", "files", "listed", "ready_ns", "result", "since", "source",
                 "watches")

    def __init__(self, source: Source, listed: list[str], before: "dict[str, Look]",
                 watches: list[Watch], since: int, quiet: int) -> None:
        self.source = source
        self.listed = listed
        self.before = before
        self.watches = watches
        self.since = since  # monotonic: when the set was first seen as it is
        self.ready_ns = since + max(QUIET_NS - quiet, 0)
        self.result: bool | None = None  # once confirmed, for every version of the set
        self.files: list[Pending] = []  # its files' own reads taken early

    def confirm(self) -> bool:
        if self.result is None:
            time.sleep(max(self.ready_ns - time.monotonic_ns(), 0) / 1e9)
            try:
                quiet = max(time.time_ns() - _newest(self.before),
                            time.monotonic_ns() - self.since)
                self.result = (quiet >= QUIET_NS and all(f.confirm() for f in self.files)
                               and not _moved(self.source, self.listed, self.before,
                                              self.watches))
            finally:
                for watch in self.watches:
                    watch.close()
                self.watches = []
        return self.result


def _newest(looks: "dict[str, Look]") -> int:
    """The latest change time (a sidecar's mtime) the looks hold."""
    return max((max(look[2::4]) for look in looks.values() if look), default=0)


def _await_quiet(source: Source, listed: list[str]) -> None:
    """Wait until no file of the set has changed for `QUIET_NS`, by its change time or by
    our own clock (a change time ahead of ours proves nothing), `WAIT_NS` at most."""
    started = time.monotonic_ns()
    seen, since = _looks(source, listed), started
    while True:
        now = time.monotonic_ns()
        if max(time.time_ns() - _newest(seen), now - since) >= QUIET_NS or (
                now - started >= WAIT_NS):
            return
        time.sleep(POLL_SECONDS)
        looks = _looks(source, listed)
        if looks != seen:
            seen, since = looks, time.monotonic_ns()
