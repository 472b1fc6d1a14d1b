"""Repo: the clone of the backup repository, its git runner, and the reads every part needs.

Each part of the vault (`clone`, `commit`, `remote`, `compact`, `read`) holds a reference to
the one `Repo` of a run and asks it for refs and trees; `store.vault.Vault` composes them.
"""

import os

from memory_vault.logfile import RunLog
from memory_vault.settings.load import Config
from memory_vault.store import tracking, trees
from memory_vault.store.git import model
from memory_vault.store.git.credentials import ignored_password, remote_credentials
from memory_vault.store.git.runner import GitRunner
from memory_vault.urls import Redactor, split_credentials


class Repo:
    """The clone of the backup repository and the git that runs in it."""

    def __init__(self, config: Config, log: RunLog, *, lock_fd: int | None = None) -> None:
        self.config = config
        self.log = log
        self.branch = config.branch
        self.redactor = Redactor.for_remote(config.remote)
        self.origin_url = split_credentials(config.remote)[0]
        user, password, credential_origin = remote_credentials(config.remote)
        if (ignored := ignored_password(config.remote)) is not None:
            log.warning(ignored)
        self.git = GitRunner(
            config.clone_dir,
            redactor=self.redactor,
            # The embedded vault is this machine's disk, not a network: no deadline (a first
            # sync of a machine, gigabytes, spends minutes in git's own delta search).
            timeout=None if config.embedded else config.git_timeout,
            keep_fds=(lock_fd,) if lock_fd is not None else (),
            credentials=(user, password),
            credential_origin=credential_origin,
        )
        self.fresh = False  # True when this run (re)created or retargeted the clone
        self.seed_from: str | None = None  # a clone whose objects and refs a new one borrows
        self.unreachable: str | None = None  # why the remote could not be fetched, if so
        self.progress = False  # show git's progress meter (a person at a terminal)

    @property
    def shown_remote(self) -> str:
        """The remote's URL as we may print it (credentials masked)."""
        return self.redactor.clean(self.config.remote)

    @property
    def git_dir(self) -> str:
        return os.path.join(self.config.clone_dir, ".git")

    @property
    def local_ref(self) -> str:
        return tracking.local_ref(self.branch)

    @property
    def remote_ref(self) -> str:
        return tracking.remote_ref(self.branch)

    def ref(self, ref: str) -> str | None:
        """The sha a ref of the clone points to (no git process)."""
        return model.read_ref(self.config.clone_dir, ref)

    def head(self) -> str | None:
        """The tip of our branch in the clone."""
        return self.ref(self.local_ref)

    def has_commits(self) -> bool:
        return self.head() is not None

    def is_ancestor(self, older: str, newer: str) -> bool:
        return tracking.is_ancestor(self.git, older, newer)

    def resolve(self, rev: str) -> str | None:
        """The full sha of a commit named any way git understands, or None."""
        if rev.startswith("-"):
            return None
        result = self.git.run("rev-parse", "-q", "--verify", f"{rev}^{{commit}}", check=False)
        return result.text if result.returncode == 0 else None

    def tree_of(self, commit: str) -> str:
        return self.git.run("rev-parse", f"{commit}^{{tree}}").text

    def paths_between(self, base: str | None, tip: str) -> set[str]:
        """Paths that differ between two trees or commits (every path of `tip` without a
        base)."""
        if base:
            out = self.git.run("diff", "--name-only", "-z", "--no-renames", base, tip).stdout
        else:
            out = self.git.run("ls-tree", "-r", "-z", "--name-only", tip).stdout
        return {p for p in out.decode("utf-8", "surrogateescape").split("\0") if p}

    def splice(self, tree: str | None, changes: trees.Changes) -> trees.Spliced:
        """`trees.splice` with this clone's git. Entries of the vault that git's rules forbid
        (someone pushed them) are dropped from the folders we rewrite, with a warning, so
        that they can block no later backup."""
        spliced = trees.splice(self._read_tree, self._make_tree, tree, changes)
        for path in spliced.dropped:
            self.log.warning(f"{path}: an entry git forbids (a hostile or broken vault) is "
                             "left out of the new tip; the history keeps it")
        return spliced

    def _read_tree(self, tree: str) -> dict[str, trees.Entry]:
        return trees.parse_ls_tree(self.git.run("ls-tree", "-z", tree).stdout)

    def _make_tree(self, entries: dict[str, trees.Entry]) -> str:
        return self.git.run("mktree", "-z", input_bytes=trees.mktree_input(entries)).text
