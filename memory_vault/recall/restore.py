"""restore: bring memory files back from the vault, as of any moment in its history.

Reads straight from commits (never checks anything out), refuses any vault entry that could
write outside the target folder, keeps every file it replaces, and writes atomically.
"""

from __future__ import annotations

import enum
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from memory_vault.content.formats import is_sqlite_file
from memory_vault.errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    UsageError,
    VaultError,
)
from memory_vault.fsutil import (
    compact_utc_stamp,
    fsync_dir,
    temp_name_for,
    unique_path,
    utc_stamp,
)
from memory_vault.logfile import RunLog
from memory_vault.results import command_name
from memory_vault.settings.load import Config
from memory_vault.sources.scan import SQLITE_SIDECARS, is_git_name
from memory_vault.store.trees import SYMLINK_MODE, Entry
from memory_vault.store.vault import Vault, reading


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
                           "kept_as": i.kept_as} for i in self.items]}


def parse_when(text: str) -> float:
    """An ISO 8601 date or date-time as epoch seconds; UTC unless it names an offset.

    A date alone means 00:00 UTC of that day.
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"--at {text!r}: expected an ISO 8601 date or date-time, e.g. 2026-11-24T17:45:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def choose_commit(vault: Vault, tip: str, *, at: str | None, rev: str | None) -> str:
    """The commit to restore: `rev`, else the newest at or before `at`, else the tip."""
    if rev:
        sha = vault.resolve(rev)
        if sha is None:
            raise UsageError(f"--commit {rev}: no such commit in the vault")
        return sha
    if at:
        when = parse_when(at)
        found = vault.newest_at_or_before(tip, when)
        if not found:
            first = vault.first_commit_time(tip)
            since = f" (the first backup is from {utc_stamp(first)})" if first else ""
            raise UsageError(f"--at {at}: there is no backup at or before that time{since}")
        return found
    return tip


def plan_restore(vault: Vault, commit: str, names: list[str], target: str) -> RestorePlan:
    """Decide, without writing anything, what restoring `names` (or all) into `target` does."""
    subdir = vault.config.subdir
    sha, when = vault.commit_time(commit)
    plan = RestorePlan(commit=sha, date=utc_stamp(when), target=os.path.abspath(target))
    _refuse_unfoldered_subdir(vault, sha, subdir)
    entries = vault.entries_under(sha, subdir)
    if names:
        wanted, missing = _select(names, entries, vault.config)
        if missing:
            raise UsageError(
                f"not in the vault at {sha[:12]} ({plan.date}): {', '.join(missing)}"
                f"{_available(entries)}"
            )
        entries = {n: entries[n] for n in wanted}
    for name, entry in sorted(entries.items()):
        plan.items.append(_plan_item(name, entry, plan.target))
    return plan


def _refuse_unfoldered_subdir(vault: Vault, commit: str, subdir: str) -> None:
    """A subdir (or a folder above it) that is a symlink or a file in the vault is refused
    whole: nothing below it is a path we follow."""
    parts = subdir.split("/")
    for depth in range(1, len(parts) + 1):
        path = "/".join(parts[:depth])
        entry = vault.entry_at(commit, path)
        if entry is not None and entry.kind != "tree":
            what = "a symbolic link" if entry.mode == SYMLINK_MODE else f"a {entry.kind}"
            raise VaultError(f"{path} is {what} in the vault at {commit[:12]}, not a folder: "
                             "refused whole, nothing restored (a hostile or broken vault)")


def _select(names: list[str], entries: dict[str, Entry],
            config: Config) -> tuple[list[str], list[str]]:
    """The vault's names the user's names mean: a name in the vault (with or without the
    subdir), a path to the file in the source dir, or a glob (`*_memories.json`)."""
    from fnmatch import fnmatchcase

    wanted: dict[str, None] = {}
    missing = []
    for name in names:
        found = []
        for form in _forms(name, config):
            if any(c in form for c in "*?["):
                found += sorted(e for e in entries if fnmatchcase(e, form))
            elif form in entries:
                found.append(form)
        wanted.update(dict.fromkeys(found))
        if not found:
            missing.append(name)
    return list(wanted), missing


def _forms(name: str, config: Config) -> list[str]:
    name = name.strip()
    forms = [name.removeprefix("./").removeprefix(config.subdir + "/")]
    path = os.path.abspath(os.path.expanduser(name))
    source = os.path.abspath(config.source_dir)
    if path.startswith(source + os.sep):
        forms.append(os.path.relpath(path, source))
    return forms


def _available(entries: dict[str, Entry]) -> str:
    if not entries:
        return " (that version holds no files)"
    names = sorted(entries)
    more = f", ... ({len(names)} in all)" if len(names) > 8 else ""
    return f" (the vault has: {', '.join(names[:8])}{more})"


def _plan_item(name: str, entry: Entry, target: str) -> RestoreItem:
    unsafe = _unsafe_reason(name, entry, target)
    if unsafe:
        return RestoreItem(name, Action.REFUSED, reason=unsafe)
    dest = os.path.join(target, name)
    if os.path.lexists(dest):
        if os.path.isdir(dest) or not os.path.isfile(dest):
            return RestoreItem(name, Action.REFUSED, reason="something other than a file is there")
        if git_blob_id(dest) == entry.sha:
            return RestoreItem(name, Action.UNCHANGED, entry=entry)
        return RestoreItem(name, Action.REPLACE, entry=entry)
    return RestoreItem(name, Action.RESTORE, entry=entry)


def _unsafe_reason(name: str, entry: Entry, target: str) -> str | None:
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
    real_target = os.path.realpath(target)
    if not os.path.realpath(os.path.join(target, name)).startswith(real_target + os.sep):
        return "it would be written outside the target folder"
    return None


def git_blob_id(path: str) -> str:
    """Git's object id for the file's content (streamed): equal ids mean equal bytes."""
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(f"blob {os.path.getsize(path)}\0".encode())
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def run_restore(
    config: Config,
    log: RunLog,
    *,
    names: list[str],
    at: str | None,
    rev: str | None,
    to: str | None,
    dry_run: bool,
    progress: bool,
    announce: Callable[[RestorePlan], None] | None = None,
) -> RestorePlan:
    """The whole `restore` command; a dry run reads a throw-away clone that borrows the
    real one's objects, so that it changes nothing in the data folder. `announce` shows the
    plan before anything is written."""
    if at and rev:
        raise UsageError("--at and --commit cannot be used together")
    if at:
        parse_when(at)  # a bad date is a usage error before any network
    target = os.path.abspath(to or config.source_dir)
    with (tempfile.TemporaryDirectory(prefix="memory-vault-restore-") as scratch,
          reading(config, log, progress=progress,
                  scratch=scratch if dry_run else None) as (vault, tip)):
        if tip is None:
            raise VaultError("the vault is empty: there is nothing to restore")
        commit = choose_commit(vault, tip, at=at, rev=rev)
        plan = plan_restore(vault, commit, names, target)
        plan.dry_run = dry_run
        plan.into_source = target == os.path.abspath(config.source_dir)
        if vault.fresh and config.env_file is None and not dry_run:
            plan.resume_hint = (f"Backups are not set up on this machine yet: `{command_name()} "
                                f"init --source {config.source_dir} --remote "
                                f"{log.redactor.clean(config.remote)}` resumes them.")
        if announce is not None:
            announce(plan)
            plan.announced = True
        if not dry_run:
            os.makedirs(target, exist_ok=True)
            apply_restore(vault, plan)
            log.note(f"restore: {len(plan.to_write)} file(s) from {plan.commit[:12]} "
                     f"({plan.date}) into {target}")
    return plan


def apply_restore(vault: Vault, plan: RestorePlan) -> None:
    """Write the plan: keep each file we replace as `<name>.pre-restore-<stamp>`, then
    replace it atomically (the agent never sees a missing or half-written file)."""
    stamp = compact_utc_stamp()
    for item in plan.to_write:
        if item.entry is None:
            continue
        dest = os.path.join(plan.target, item.name)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if _unsafe_reason(item.name, item.entry, plan.target):  # re-check: the disk may move
            item.action, item.reason = Action.REFUSED, "the target changed under us"
            continue
        mode = 0o600
        kept_base = f"{dest}.pre-restore-{stamp}"
        if item.action is Action.REPLACE:
            mode = stat.S_IMODE(os.stat(dest).st_mode)
            item.kept_as = kept_base = unique_path(kept_base)
            _keep_copy(dest, item.kept_as)
        _write_blob(vault, item.entry.sha, dest, mode, kept_base)


def _write_blob(vault: Vault, sha: str, dest: str, mode: int, kept_base: str) -> None:
    """Stream the blob into a temp file beside `dest` (git writes it, memory stays small),
    make it durable, move a database's stale `-wal`/`-shm` away with the kept copy, and
    rename it into place."""
    tmp = temp_name_for(dest)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        try:
            vault.write_blob(sha, fd)
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
