"""Store step: a store (Chroma, LanceDB, Qdrant, mem0: a folder of files that only make sense
together) read as one consistent set, or not at all.

Every file of the set is read (SQLite through its backup API); then every file is checked
unchanged (size, mtime, ctime, inode); a set that moved while it was read is read again, a
few tries. A set that cannot be read whole is one skip: the vault keeps the last whole set.
"""

import os

from memory_vault.capture.version import Version
from memory_vault.pipeline.capture import capture
from memory_vault.sources.scan import Skip
from memory_vault.sources.source import Source

SET_TRIES = 4


def capture_store(source: Source, members: list[str], *, max_bytes: int,
                  validate: bool) -> "list[Version] | Skip":
    """Every file of the store `source` (by vault path), read as one consistent set."""
    for _attempt in range(SET_TRIES):
        before = _looks(source, members)
        versions: list[Version] = []
        for path in members:
            found = capture(source.relative(path) or path, source.folder,
                            max_bytes=max_bytes, validate=validate)
            if isinstance(found, Skip):
                return Skip(source.name, f"a store, kept whole: {path} could not be read "
                                         f"({found.reason}); the vault keeps the last whole set")
            if found is not None:
                found.path = path
                versions.append(found)
        if _looks(source, members) == before:
            return versions
    return Skip(source.name, f"a store, kept whole: it kept changing while being read "
                             f"({SET_TRIES} tries); the vault keeps the last whole set")


def _looks(source: Source, members: list[str]) -> list[tuple[int, ...] | None]:
    """What each file of the set looks like now (None: gone)."""
    looks: list[tuple[int, ...] | None] = []
    for path in members:
        try:
            st = os.stat(source.disk_path(path))
        except OSError:
            looks.append(None)
            continue
        looks.append((st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    return looks
