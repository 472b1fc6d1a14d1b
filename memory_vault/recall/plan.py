"""Restore plan: what bringing files back would do to each one, decided before any write.

The vault's content is data, never a path to follow: an entry that is a link, absolute, holds
`..` or `.git`, or would land outside the target is refused with its reason; a file that
differs is kept before it is replaced; an equal one is left alone. A file the vault keeps in
pieces is one item (`store.pieced.Pieced`), compared piece by piece.
"""

from __future__ import annotations

import enum
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from memory_vault.errors import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, UsageError, VaultError
from memory_vault.fsutil import utc_stamp
from memory_vault.settings.load import Config
from memory_vault.sources.names import is_git_name
from memory_vault.sources.source import Source, owner
from memory_vault.store.pieced import Pieced
from memory_vault.store.trees import SYMLINK_MODE, Entry
from memory_vault.store.vault import Vault


class Action(enum.Enum):
    """What restoring does to one file."""

    RESTORE = "restore"  # absent here: written
    REPLACE = "replace"  # differs: kept as .pre-restore-<stamp>, then written
    UNCHANGED = "unchanged"  # already equal: left alone
    REFUSED = "refused"  # unsafe: never written


@dataclass
class RestoreItem:
    """One file of the plan: what will happen to it, and why."""

    name: str  # path below the vault's subdir
    action: Action
    entry: Entry | None = None
    reason: str = ""
    kept_as: str | None = None
    dest: str | None = None  # where it is written: the file a link in the target names
    root: str = ""  # the folder it is written in, and must stay inside
    rel: str = ""  # its path inside `root`
    redacted: list[tuple[str, str]] = field(default_factory=list)  # placeholders: rule, fp


@dataclass
class RestorePlan:
    commit: str
    date: str
    target: str
    items: list[RestoreItem] = field(default_factory=list)
    dry_run: bool = False
    into_source: bool = True  # restored into the agents' own folder (they must restart)
    resume_hint: str | None = None  # a new machine: how to start backing up again
    announced: bool = False  # the plan was shown before the work
    failed: list[RestoreItem] = field(default_factory=list)  # refused while being written

    @property
    def refused(self) -> list[RestoreItem]:
        return [i for i in self.items if i.action is Action.REFUSED]

    @property
    def to_write(self) -> list[RestoreItem]:
        return [i for i in self.items if i.action in (Action.RESTORE, Action.REPLACE)]

    @property
    def exit_code(self) -> int:
        """3 when some entries were refused, 1 when all were; else 0."""
        if not self.refused:
            return EXIT_OK
        return EXIT_FAILED if len(self.refused) == len(self.items) else EXIT_PARTIAL

    def as_dict(self) -> dict[str, object]:
        return {"commit": self.commit, "date": self.date, "target": self.target,
                "dry_run": self.dry_run,
                "files": [{"name": i.name, "action": i.action.value, "reason": i.reason or None,
                           "kept_as": i.kept_as,
                           "secrets_not_restored": [{"rule": r, "fingerprint": fp}
                                                    for r, fp in i.redacted]}
                          for i in self.items]}


Placement = Callable[[str], tuple[str, str]]  # vault path -> (folder, path inside it)


def into(folder: str) -> Placement:
    """Every file at its vault path inside one folder (`--to DIR`, verify's test restore)."""
    root = os.path.abspath(folder)
    return lambda path: (root, path)


def into_sources(configured: list[Source]) -> Placement:
    """Each file back into the folder of the source it belongs to."""
    def place(path: str) -> tuple[str, str]:
        source = owner(configured, path)
        return os.path.abspath(source.folder), source.relative(path) or path

    return place


def plan_restore(vault: Vault, commit: str, names: list[str], target: str,
                 place: Placement | None = None,
                 configured: list[Source] | None = None) -> RestorePlan:
    """Decide, without writing anything, what restoring `names` (or all) does: each file
    where `place` puts it (by default at its vault path inside `target`)."""
    subdir = vault.config.subdir
    sha, when = vault.reader.commit_time(commit)
    plan = RestorePlan(commit=sha, date=utc_stamp(when), target=os.path.abspath(target))
    place = place or into(target)
    _refuse_unfoldered_subdir(vault, sha, subdir)
    entries = vault.reader.entries_under(sha, subdir)
    if names:
        wanted, missing = _select(names, entries, vault.config, configured or [])
        if missing:
            raise UsageError(
                f"not in the vault at {sha[:12]} ({plan.date}): {', '.join(missing)}"
                f"{_available(entries)}"
            )
        entries = {n: entries[n] for n in wanted}
    for name, entry in sorted(entries.items()):
        plan.items.append(_plan_item(name, entry, *place(name)))
    return plan


def _refuse_unfoldered_subdir(vault: Vault, commit: str, subdir: str) -> None:
    """A subdir (or a folder above it) that is a symlink or a file in the vault is refused
    whole: nothing below it is a path we follow."""
    parts = subdir.split("/")
    for depth in range(1, len(parts) + 1):
        path = "/".join(parts[:depth])
        entry = vault.reader.entry_at(commit, path)
        if entry is not None and entry.kind != "tree":
            what = "a symbolic link" if entry.mode == SYMLINK_MODE else f"a {entry.kind}"
            raise VaultError(f"{path} is {what} in the vault at {commit[:12]}, not a folder: "
                             "refused whole, nothing restored (a hostile or broken vault)")


def _select(names: list[str], entries: dict[str, Entry], config: Config,
            configured: list[Source]) -> tuple[list[str], list[str]]:
    """The vault's names the user's names mean: a name in the vault (with or without the
    subdir), a path to the file in a source's folder, or a glob (`*_memories.json`)."""
    from fnmatch import fnmatchcase

    wanted: dict[str, None] = {}
    missing = []
    for name in names:
        found = []
        for form in vault_forms(name, config, configured):
            if any(c in form for c in "*?["):
                found += sorted(e for e in entries if fnmatchcase(e, form))
            elif form in entries:
                found.append(form)
        wanted.update(dict.fromkeys(found))
        if not found:
            missing.append(name)
    return list(wanted), missing


def vault_forms(name: str, config: Config, configured: list[Source]) -> list[str]:
    """The vault paths a file named by a user may mean: as given (without `./` or the
    subdir), and as the path on disk of a file inside a source's folder."""
    name = name.strip()
    forms = [name.removeprefix("./").removeprefix(config.subdir + "/")]
    path = os.path.abspath(os.path.expanduser(name))
    for source in configured or [Source("", config.source_dir, config.files)]:
        folder = os.path.abspath(source.folder)
        if path.startswith(folder + os.sep):
            forms.append(source.vault_path(os.path.relpath(path, folder)))
    return forms


def vault_path_of(name: str, config: Config, configured: list[Source]) -> str:
    """The one vault path a file named by a user means (its path on disk, inside a
    source's folder, wins over the name as typed)."""
    return vault_forms(name, config, configured)[-1]


def _available(entries: dict[str, Entry]) -> str:
    if not entries:
        return " (that version holds no files)"
    names = sorted(entries)
    more = f", ... ({len(names)} in all)" if len(names) > 8 else ""
    return f" (the vault has: {', '.join(names[:8])}{more})"


def _plan_item(name: str, entry: Entry, root: str, rel: str) -> RestoreItem:
    """What restoring one entry does; a name the disk cannot hold is refused with its
    reason, and the other files still go ahead."""
    try:
        item = _decide(name, entry, root, rel)
    except OSError as exc:
        item = RestoreItem(name, Action.REFUSED, reason=f"cannot be written here "
                                                         f"({exc.strerror or exc})")
    item.root, item.rel = root, rel
    return item


def _decide(name: str, entry: Entry, target: str, rel: str) -> RestoreItem:
    unsafe = unsafe_reason(rel, entry, target)
    if unsafe:
        return RestoreItem(name, Action.REFUSED, reason=unsafe)
    dest = os.path.join(target, rel)
    if os.path.islink(dest):  # a memory file kept through a link: restore what it names
        dest = os.path.realpath(dest)
        if not dest.startswith(os.path.realpath(target) + os.sep):
            return RestoreItem(name, Action.REFUSED, reason="it is a link to a file outside "
                                                             "the target folder")
    if os.path.lexists(dest):
        if os.path.isdir(dest) or not os.path.isfile(dest):
            return RestoreItem(name, Action.REFUSED, reason="something other than a file is there")
        if same_bytes(dest, entry):
            return RestoreItem(name, Action.UNCHANGED, entry=entry, dest=dest)
        return RestoreItem(name, Action.REPLACE, entry=entry, dest=dest)
    return RestoreItem(name, Action.RESTORE, entry=entry, dest=dest)


def unsafe_reason(name: str, entry: Entry, target: str) -> str | None:
    """Why writing this vault entry could escape `target` or plant a link; None if safe."""
    parts = name.split("/")
    if name.startswith(("/", "\\")) or any(
            p in ("", ".", "..") or "\0" in p or ".." in p.split("\\") for p in parts):
        return "unsafe path in the vault (absolute, '..' or '.')"
    if any(is_git_name(p) for p in parts):
        return "a '.git' entry in the vault (never written: git would obey it)"
    if entry.mode == SYMLINK_MODE:
        return "it is a symbolic link in the vault"
    if entry.kind != "blob":
        return "it is not a file in the vault"
    if isinstance(entry, Pieced) and entry.problem:
        return entry.problem
    real_target = os.path.realpath(target)
    if not os.path.realpath(os.path.join(target, name)).startswith(real_target + os.sep):
        return "it would be written outside the target folder"
    return None


def git_blob_id(path: str) -> str:
    """Git's object id for the file's content (streamed): equal ids mean equal bytes."""
    with open(path, "rb") as handle:
        return _blob_id(handle, os.path.getsize(path))


def same_bytes(path: str, entry: Entry) -> bool:
    """Does the file at `path` hold the bytes of the vault's entry? A file in pieces is
    compared a piece at a time, each against its blob id (streamed)."""
    if not isinstance(entry, Pieced):
        return git_blob_id(path) == entry.sha
    if len(entry.sizes) != len(entry.pieces) or os.path.getsize(path) != sum(entry.sizes):
        return False
    with open(path, "rb") as handle:
        return all(_blob_id(handle, size) == piece.sha
                   for piece, size in zip(entry.pieces, entry.sizes, strict=True))


def _blob_id(handle: BinaryIO, size: int) -> str:
    """Git's blob id of the next `size` bytes of `handle`."""
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(f"blob {size}\0".encode())
    left = size
    while left:
        chunk = handle.read(min(left, 1 << 20))
        if not chunk:
            break
        digest.update(chunk)
        left -= len(chunk)
    return digest.hexdigest()
