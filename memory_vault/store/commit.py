"""Committing: one sync's snapshots become one commit on top of our branch.

The bytes are staged in a private folder of the clone's git directory (never in a working
tree, which a hostile vault could redirect), hashed into the object store in one git call,
and spliced into the tip's tree (`trees.splice`): nothing is checked out, ever.
"""

import os
import shutil
from typing import Any

from memory_vault.capture.snapshot import Snapshot
from memory_vault.errors import VaultError
from memory_vault.fsutil import plural, utc_stamp
from memory_vault.store import trees
from memory_vault.store.repo import VaultBase

STAGING = "memory-vault-staging"


class CommitInfo:
    """One sync commit: its sha, subject and the files it changed as (name, size, sha256)."""

    __slots__ = ("files", "parent", "sha", "subject")

    def __init__(self, sha: str, subject: str, files: list[tuple[str, int, str]],
                 parent: str | None = None) -> None:
        self.sha = sha
        self.subject = subject
        self.files = files
        self.parent = parent  # the commit holding the versions before these


def commit_subject(when: float, count: int) -> str:
    """`Memory vault sync 2026-11-24T17:45:00Z (2 files)`, `(1 file)` for one."""
    return f"Memory vault sync {utc_stamp(when)} ({plural(count, 'file')})"


def printable(name: str) -> str:
    """A file name for one line of a commit message: control characters escaped, so that
    a name cannot forge another line.

    >>> printable("a\\nb.json")
    'a\\\\x0ab.json'
    """
    if all(" " <= c != "\x7f" for c in name):
        return name
    return "".join(c if " " <= c != "\x7f" else f"\\x{ord(c):02x}" for c in name)


def commit_message(when: float, files: list[tuple[str, int, str]]) -> bytes:
    """The subject, then exactly one line per file with its size and sha256."""
    body = "\n".join(f"{printable(name)}: {size} bytes, sha256 {digest}"
                     for name, size, digest in files)
    return f"{commit_subject(when, len(files))}\n\n{body}\n".encode("utf-8", "surrogateescape")


def identity_env(name: str, email: str, when: float) -> dict[str, str]:
    date = f"{int(when)} +0000"
    return {
        "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email, "GIT_COMMITTER_DATE": date,
    }


class Commits(VaultBase):
    """Staging snapshots and committing them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._staged: dict[str, tuple[str, int, str]] = {}  # name -> copy, size, sha256

    @property
    def stage_dir(self) -> str:
        return os.path.join(self.git_dir, STAGING)

    def stage(self, snap: Snapshot) -> None:
        """Keep one snapshot's bytes for the commit (one file's bytes in memory at a time)."""
        staged = self._staged
        os.makedirs(self.stage_dir, mode=0o700, exist_ok=True)
        path = staged[snap.name][0] if snap.name in staged else os.path.join(
            self.stage_dir, str(len(staged)))
        try:
            if os.path.lexists(path):
                os.unlink(path)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            try:
                view = memoryview(snap.data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
        except OSError as exc:
            raise VaultError(f"cannot write into the clone {self.config.clone_dir}: "
                             f"{exc.strerror or exc}") from exc
        staged[snap.name] = (path, snap.size, snap.sha256)

    def drop_staged(self) -> None:
        self._staged = {}
        shutil.rmtree(self.stage_dir, ignore_errors=True)

    def commit(self, when: float) -> CommitInfo | None:
        """One commit of what `stage` kept, on top of our branch, if it changes anything."""
        staged, self._staged = self._staged, {}
        if not staged:
            return None
        listing = "".join(f"{path}\n" for path, _, _ in staged.values()).encode()
        shas = self.git.run("hash-object", "-w", "--no-filters", "--stdin-paths",
                            input_bytes=listing).text.split()
        self.drop_staged()
        subdir = tuple(self.config.subdir.split("/"))
        changes: trees.Changes = {
            (*subdir, *name.split("/")): trees.Entry(trees.BLOB_MODE, "blob", sha)
            for name, sha in zip(staged, shas, strict=True)}
        parent = self.head()
        base = self.tree_of(parent) if parent else None
        tree = self.splice(base, changes)
        changed = self.paths_between(base, tree) if tree != base else set()
        files = [(name, size, digest) for name, (_, size, digest) in staged.items()
                 if f"{self.config.subdir}/{name}" in changed]
        if not files:
            return None
        message = commit_message(when, files)
        identity = identity_env(self.config.author_name, self.config.author_email, when)
        sha = self.git.run("commit-tree", tree, *(["-p", parent] if parent else []), "-F", "-",
                           input_bytes=message, extra_env=identity).text
        self.git.run("update-ref", self.local_ref, sha, parent or "0" * 40)
        return CommitInfo(sha, commit_subject(when, len(files)), files, parent)

    def last_saved(self, name: str) -> int | None:
        """When the vault last took a version of `name` (epoch seconds), if ever."""
        if not self.has_commits():
            return None
        out = self.git.run("log", "-1", "--format=%ct", self.local_ref, "--",
                           f"{self.config.subdir}/{name}", check=False).text
        return int(out) if out.isdigit() else None
