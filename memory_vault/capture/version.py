"""Version: one version of one memory file, from the moment it is read to its journal line.

Capture reads its bytes and stat; content names its format and counts its records; the store
commits it by its vault path; the journal keeps it, bytes released, as what the next scan
compares the file with. One type all the way, so that a version never changes shape between
stages. A plain slotted class: the journal loads these on the cron path, where `dataclasses`
costs more than a whole run.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    from memory_vault.capture.pieces import Piece

    class Pending(Protocol):
        """A read taken early (`capture.read.Unconfirmed`, a store's `UnconfirmedSet`)."""

        def confirm(self) -> bool: ...

RECHECK = -1  # mtime_ns of a version written too recently to trust its timestamp
RACY_NS = 3_000_000_000  # an mtime this close to the time it was read is not trusted


class Version:
    """One version of a file: where it lives in the vault, its bytes while held, and facts."""

    __slots__ = ("ctime_ns", "data", "format", "mtime_ns", "note", "path", "pieces",
                 "read_sha256", "records", "saved", "sha256", "size", "stat_size",
                 "unconfirmed")

    def __init__(self, path: str, *, size: int, sha256: str, stat_size: int, mtime_ns: int,
                 fmt: str = "", records: int | None = None, saved: int = 0,
                 data: bytearray | None = None, read_sha256: str = "", ctime_ns: int = 0) -> None:
        self.path = path  # below the vault's subdir; for the default source, its name on disk
        self.data = data  # the bytes read, until they are in the clone
        self.pieces: list[Piece] | None = None  # instead, read in pieces (`capture.pieces`)
        self.size = size  # of the bytes stored
        self.sha256 = sha256  # of the bytes stored
        self.read_sha256 = read_sha256 or sha256  # of the bytes read (a secret redacted since)
        self.stat_size = stat_size  # size and mtime the next scan compares with (SQLite: with
        self.mtime_ns = mtime_ns  # its -wal); RECHECK: read it again next time
        self.ctime_ns = ctime_ns  # its change time, that no program sets back (0: not known)
        self.format = fmt  # a `content.formats` name ("" until content has judged it)
        self.records = records  # how many records it holds (None: unknown)
        self.saved = saved  # epoch seconds of the run that put this version in the vault
        self.note = ""  # a warning its read leaves (a JSON Lines file backed up with bad lines)
        self.unconfirmed: Pending | None = None  # a read still to prove (`capture.read`)

    @classmethod
    def read(cls, path: str, data: bytearray, *, stat_size: int, mtime_ns: int) -> "Version":
        """A version just read: its bytes, hashed once."""
        import hashlib

        return cls(path, size=len(data), sha256=hashlib.sha256(data).hexdigest(),
                   stat_size=stat_size, mtime_ns=mtime_ns, data=data)

    def matches(self, size: int, mtime_ns: int, ctime_ns: int = 0) -> bool:
        """Does a file of this size, mtime and change time still hold this version (without
        reading it)? The change time catches what the mtime hides: a same-size rewrite dated
        back (`cp -p`, `rsync -t`, a restore), as git's index does. 0 on either side (a
        database, whose change time SQLite moves without writing; a journal older than the
        field): not compared."""
        return (self.mtime_ns != RECHECK and self.stat_size == size
                and self.mtime_ns == mtime_ns
                and (not ctime_ns or not self.ctime_ns or ctime_ns == self.ctime_ns))

    def release(self) -> "Version":
        """Drop the bytes once they are in the clone (size and hash stay); a version read in
        pieces drops the private files its pieces waited in."""
        self.data = None
        for piece in self.pieces or ():
            piece.discard()
        self.pieces = None
        return self

    def remembered(self, now_ns: int, saved: int) -> "Version":
        """The journal's copy: no bytes, the run that saved it, and an mtime too close to
        `now_ns` marked to be checked again (a write in the same timestamp tick would hide)."""
        racy = -RACY_NS <= now_ns - self.mtime_ns <= RACY_NS  # a date ahead (a clock, tar
        mtime = RECHECK if racy else self.mtime_ns  # -t) is trusted: a new write moves it
        return Version(self.path, size=self.size, sha256=self.sha256, stat_size=self.stat_size,
                       mtime_ns=mtime, fmt=self.format, records=self.records, saved=saved,
                       read_sha256=self.read_sha256, ctime_ns=self.ctime_ns)
