"""Pieces: a JSON Lines file over MEMORY_VAULT_MAX_FILE_MB, read as line-aligned pieces each
under the limit, and the names the vault keeps them by.

Hosts refuse files over 100 MB, and an agent's transcript grows past that. Such a file (named
`.jsonl` or `.ndjson`: its name says so, nothing is read to know) is stored as
`<path>.pieces/000001`, `000002`, ..., never at `<path>` itself. Pieces are cut greedily at
line boundaries from the start of the file, so that while the file only grows every piece but
the last stays byte for byte the same and git keeps it once. A line longer than the limit
cannot be cut: the file is skipped with that reason.

The read is `capture.read`'s (by descriptor, the quiet rules, looks again), streamed: a piece
at a time in memory, hashed (the whole file's sha256, each piece's git blob id), judged by
the caller's `judge` (its lines checked and counted) and spilled to a private file (`Spill`)
until the store takes it. A piece the look before read the same (equal bytes up to its end)
is neither judged nor spilled again.
"""

import contextlib
import hashlib
import os
from collections.abc import Callable

from memory_vault.fsutil import ensure_private_dir
from memory_vault.sources.scan import Skip

SUFFIXES = (".jsonl", ".ndjson")
FOLDER = ".pieces"  # `<path>.pieces/` holds the pieces of `<path>`
CHUNK = 1 << 20  # bytes asked of one read(2)


def pieceable(name: str) -> bool:
    """May this file be stored in pieces once over the limit (JSON Lines, by its name)?"""
    return name.lower().endswith(SUFFIXES)


def folder_of(path: str) -> str:
    return path + FOLDER


def piece_name(number: int) -> str:
    """`000001` for the first piece (numbered from 1)."""
    return f"{number:06d}"


def piece_path(path: str, number: int) -> str:
    return f"{folder_of(path)}/{piece_name(number)}"


def owner(path: str) -> str:
    """The file a vault path belongs to: `a/x.jsonl` for `a/x.jsonl.pieces/000002` and for
    `a/x.jsonl.pieces`; any other path is its own.

    >>> owner("a/x.jsonl.pieces/000002"), owner("x.ndjson.pieces"), owner("y.json.pieces/1")
    ('a/x.jsonl', 'x.ndjson', 'y.json.pieces/1')
    """
    parts = path.split("/")
    for index, part in enumerate(parts):
        if part.endswith(FOLDER) and pieceable(part[:-len(FOLDER)]):
            return "/".join([*parts[:index], part[:-len(FOLDER)]])
    return path


def reserved_problem(path: str) -> str | None:
    """Why a memory file cannot be stored at `path`: its name is the vault's for pieces."""
    whole = owner(path)
    if whole == path:
        return None
    return (f"its name is where the vault keeps the pieces of {whole} (a JSON Lines file "
            "over MEMORY_VAULT_MAX_FILE_MB): it cannot be stored there; exclude it")


def in_order(names: list[str]) -> list[str] | None:
    """The pieces' names in order when they are exactly `000001` to `N`, else None."""
    wanted = [piece_name(number) for number in range(1, len(names) + 1)]
    return wanted if set(names) == set(wanted) else None


class At:
    """Where a piece lies in its file: its number (from 1), how many lines come before it,
    whether it is the last piece, and the sha256 of every byte before it (a copy to use)."""

    __slots__ = ("last", "lines_before", "number", "prefix")

    def __init__(self, number: int, lines_before: int, last: bool,
                 prefix: "hashlib._Hash") -> None:
        self.number = number
        self.lines_before = lines_before
        self.last = last
        self.prefix = prefix


Judge = Callable[[bytes, At], object]  # what the caller makes of one piece (its verdict)


class Piece:
    """One piece of a version: its size, git blob id and verdict, and the private file its
    bytes wait in until the store takes them (None: kept nowhere, a dry run)."""

    __slots__ = ("blob", "end", "size", "spill", "verdict")

    def __init__(self, size: int, blob: str, end: str, spill: str | None,
                 verdict: object) -> None:
        self.size = size
        self.blob = blob  # git's id of these bytes as a blob
        self.end = end  # sha256 of the file up to this piece's end: equal means equal bytes
        self.spill = spill
        self.verdict = verdict

    def read(self) -> bytes:
        """The piece's bytes, back from its private file."""
        if self.spill is None:
            raise OSError(f"a piece read for a dry run has no bytes kept ({self.blob})")
        fd = os.open(self.spill, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as handle:
            data = handle.read()
        if len(data) != self.size:
            raise OSError(f"the spilled piece {self.spill} lost bytes")
        return data

    def replace(self, data: bytes) -> None:
        """Keep other bytes for this piece instead (its secrets redacted): its file, size and
        blob id follow; `end` still names what was read."""
        if self.spill is None:
            raise OSError(f"a piece read for a dry run has no bytes kept ({self.blob})")
        fd = os.open(self.spill, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        self.size = len(data)
        self.blob = hashlib.sha1(b"blob %d\0" % len(data) + data,
                                 usedforsecurity=False).hexdigest()

    def discard(self) -> None:
        if self.spill is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.spill)
            self.spill = None


class Pieces:
    """A version read in pieces: the whole file's size and sha256, its pieces in order."""

    __slots__ = ("pieces", "sha256", "size")

    def __init__(self, pieces: list[Piece], sha256: str, size: int) -> None:
        self.pieces = pieces
        self.sha256 = sha256
        self.size = size


class Spill:
    """The private folder pieces wait in until the store takes them (None: nowhere). Made on
    first use, when the files a killed run left there are swept."""

    def __init__(self, folder: str | None) -> None:
        self.folder = folder
        self.made = 0

    @classmethod
    def under(cls, data_folder: str) -> "Spill":
        """The spill of a run whose data folder (MEMORY_VAULT_HOME) is `data_folder`."""
        return cls(os.path.join(data_folder, "spill"))

    def write(self, data: bytes) -> str | None:
        if self.folder is None:
            return None
        if not self.made:
            ensure_private_dir(self.folder)
            self._sweep(self.folder)
        self.made += 1
        path = os.path.join(self.folder, f"{os.getpid()}-{self.made}-{os.urandom(4).hex()}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
        os.close(fd)
        return path

    @staticmethod
    def _sweep(folder: str) -> None:
        """Remove what a run that is gone left (its process id leads each name)."""
        for name in os.listdir(folder):
            pid = name.split("-", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, name))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process: alive
        return True
    return True


class Reading:
    """One file read in pieces, look after look: what `capture.read` asks of each look."""

    def __init__(self, name: str, max_bytes: int, spill: Spill, judge: Judge) -> None:
        self.name = name
        self.max_bytes = max_bytes
        self.spill = spill
        self.judge = judge
        self.kept: list[Piece] = []  # the last look's pieces (reused by the next look)

    def look(self, fd: int, size: int) -> "Pieces | Skip | None":
        """The file read from `fd` in pieces: exactly `size` bytes then its end; None when
        it grew or shrank meanwhile; a Skip when a line is longer than the limit."""
        limit = self.max_bytes
        whole = hashlib.sha256()
        previous, self.kept = self.kept, []
        buffer = bytearray()
        got = lines = 0
        try:
            while True:
                while len(buffer) < limit and got < size:
                    chunk = os.read(fd, min(CHUNK, limit - len(buffer), size - got))
                    if not chunk:
                        return None
                    buffer += chunk
                    got += len(chunk)
                last = got == size
                if last and os.read(fd, 1):
                    return None
                cut = len(buffer) if last else buffer.rfind(b"\n") + 1
                if not cut:
                    return Skip(self.name, self.too_long(got - len(buffer)))
                piece = bytes(buffer[:cut])
                del buffer[:cut]
                at = At(len(self.kept) + 1, lines, last, whole.copy())
                whole.update(piece)
                self.kept.append(self._piece(piece, at, whole.hexdigest(), previous))
                lines += piece.count(b"\n")
                if last:
                    return Pieces(list(self.kept), whole.hexdigest(), size)
        finally:
            reused = {id(p) for p in self.kept}
            for old in previous:
                if id(old) not in reused:
                    old.discard()

    def _piece(self, data: bytes, at: At, end: str, previous: list[Piece]) -> Piece:
        before = previous[at.number - 1] if at.number <= len(previous) else None
        if before is not None and before.end == end and before.size == len(data):
            return before  # the same bytes the look before read
        blob = hashlib.sha1(b"blob %d\0" % len(data), usedforsecurity=False)
        blob.update(data)
        verdict = self.judge(data, at)
        return Piece(len(data), blob.hexdigest(), end, self.spill.write(data), verdict)

    def too_long(self, offset: int) -> str:
        return (f"too large: over the {self.max_bytes / 2**20:g} MB limit "
                f"(MEMORY_VAULT_MAX_FILE_MB), and the line at byte {offset} is longer than "
                "the limit, so the file cannot be stored in pieces cut between lines")

    def take(self) -> None:
        """The last look's pieces now belong to the version made of them."""
        self.kept = []

    def discard(self) -> None:
        """Nothing read is kept: every spilled piece goes."""
        for piece in self.kept:
            piece.discard()
        self.kept = []
