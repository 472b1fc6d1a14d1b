"""Restore writer: a version of a file put on disk, atomically, keeping what it replaces.

Each file is streamed from the vault into a temp file beside its place (memory stays small
whatever its size; a file kept in pieces, each piece in order), made durable, and renamed
over the old one, which is first kept as `<name>.pre-restore-<stamp>`; a restored database
leaves no stale `-wal`/`-shm` beside it.
"""

from __future__ import annotations

import os
import shutil
import stat

from memory_vault.capture.sqlite import is_sqlite_file
from memory_vault.errors import Interrupted
from memory_vault.fsutil import compact_utc_stamp, fsync_dir, temp_name_for, unique_path
from memory_vault.recall.plan import Action, RestoreItem, RestorePlan, unsafe_reason
from memory_vault.sources.scan import SQLITE_SIDECARS
from memory_vault.store.pieced import Pieced
from memory_vault.store.trees import Entry
from memory_vault.store.vault import Vault


def apply_restore(vault: Vault, plan: RestorePlan) -> None:
    """Write the plan: keep each file we replace as `<name>.pre-restore-<stamp>`, then
    replace it atomically (the agent never sees a missing or half-written file). A file
    that cannot be written is refused with its reason; the others are still restored.
    Ctrl-C stops it between two files, or inside one (left as it was): the line says which
    files were written."""
    stamp = compact_utc_stamp()
    written: list[RestoreItem] = []
    for item in plan.to_write:
        try:
            _apply(vault, plan, item, stamp, written)
        except KeyboardInterrupt:
            raise Interrupted(_what_is_safe(plan, written, stamp)) from None
        except OSError as exc:
            item.action = Action.REFUSED
            item.reason = f"cannot be written here ({exc.strerror or exc})"
        if item.action is Action.REFUSED:
            plan.failed.append(item)


def _what_is_safe(plan: RestorePlan, written: list[RestoreItem], stamp: str) -> str:
    """`restored a.json and b.json (what they replaced is kept as ...); 3 others left as
    they were`, or that nothing was changed."""
    if not written:
        return "nothing was changed"
    names = [item.name for item in written]
    said = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    kept = (f" (the files they replaced are kept beside them as <name>.pre-restore-{stamp})"
            if any(item.kept_as for item in written) else "")
    left = len(plan.to_write) - len(written)
    return f"restored {said}{kept}; {left} other file(s) left as they were"


def _apply(vault: Vault, plan: RestorePlan, item: RestoreItem, stamp: str,
           written: list[RestoreItem]) -> None:
    if item.entry is None:
        return
    root, rel = item.root or plan.target, item.rel or item.name
    dest = item.dest or os.path.join(root, rel)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    if unsafe_reason(rel, item.entry, root):  # re-check: the disk may move
        item.action, item.reason = Action.REFUSED, "the target changed under us"
        return
    mode = 0o600
    kept_base = f"{dest}.pre-restore-{stamp}"
    if item.action is Action.REPLACE:
        mode = stat.S_IMODE(os.stat(dest).st_mode)
        item.kept_as = kept_base = unique_path(kept_base)
        _keep_copy(dest, item.kept_as)
    _write_blob(vault, item.entry, dest, mode, kept_base)
    written.append(item)
    item.redacted = _placeholders(dest)


def _placeholders(path: str) -> list[tuple[str, str]]:
    """The secrets a restored file holds only as placeholders (the vault never had them)."""
    from memory_vault.content.secrets import placeholders

    found: dict[tuple[str, str], None] = {}
    with open(path, "rb") as handle:
        tail = b""
        for chunk in iter(lambda: handle.read(1 << 24), b""):
            found.update(dict.fromkeys(placeholders(tail + chunk)))
            tail = chunk[-128:]  # a placeholder cut by the chunk's end is read again
    return list(found)


def _write_blob(vault: Vault, entry: Entry, dest: str, mode: int, kept_base: str) -> None:
    """Stream the blob (or each piece, in order) into a temp file beside `dest` (git writes
    it, memory stays small), make it durable, move a database's stale `-wal`/`-shm` away
    with the kept copy, and rename it into place."""
    shas = [p.sha for p in entry.pieces] if isinstance(entry, Pieced) else [entry.sha]
    tmp = temp_name_for(dest)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        try:
            for sha in shas:
                vault.blobs.stream(sha, fd)
            os.fchmod(fd, mode)
            os.fsync(fd)
        finally:
            os.close(fd)
        if is_sqlite_file(tmp):
            _move_sidecars(dest, kept_base)
        os.replace(tmp, dest)
    except BaseException:
        if os.path.lexists(tmp):
            os.unlink(tmp)
        raise
    fsync_dir(os.path.dirname(dest))


def _move_sidecars(dest: str, kept_base: str) -> None:
    """A restored database must not meet the `-wal` of the one it replaces (SQLite would
    replay it into the restored pages): each sidecar goes with the kept copy."""
    for suffix in SQLITE_SIDECARS:
        if os.path.lexists(dest + suffix):
            os.replace(dest + suffix, unique_path(kept_base + suffix))


def _keep_copy(path: str, kept: str) -> None:
    try:
        os.link(path, kept)
    except OSError:
        shutil.copy2(path, kept)
