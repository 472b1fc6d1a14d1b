"""The clone: made, checked, repaired, moved to another remote, set aside when damaged.

A clone is built beside its final place and renamed into it (a kill leaves no half clone);
git locks a killed run left are removed (the run lock proves no other git is inside); a
clone of another remote is retargeted (the user moved the vault), a damaged one set aside
under a name that never collides, never deleted.
"""

import os
import shutil

from memory_vault.errors import ConfigError, NetworkError, VaultError
from memory_vault.fsutil import compact_utc_stamp, ensure_private_dir, unique_path
from memory_vault.store import tracking
from memory_vault.store.compact import CLONE_TUNING, EMBEDDED_TUNING, tune
from memory_vault.store.crypt.chain import CHAIN_FILE
from memory_vault.store.crypt.sealed import FETCHED_REF as SEALED_REF
from memory_vault.store.git import model
from memory_vault.store.git.runner import GitRunner
from memory_vault.store.remote import Remote
from memory_vault.store.repo import Repo
from memory_vault.urls import remote_identity

STALE_LOCKS = ("index.lock", "HEAD.lock", "ORIG_HEAD.lock", "config.lock", "packed-refs.lock",
               "shallow.lock", "FETCH_HEAD.lock")
MISSING = "missing"
PLAIN_LEFT = "memory-vault.plainRemote"  # the plain remote a switch to encryption left

OTHER_REMOTE = "it is the clone of another remote"


# In the embedded vault another git (a push from elsewhere, a person) may be inside: its lock
# files and quarantine folders are removed only once older than any live git keeps them.
SHARED_LOCK_AGE = 600.0
SHARED_TEMP_AGE = 86400.0


def stale_git_files(git_dir: str) -> list[str]:
    """Git locks and temp files in `git_dir` that only a killed git leaves behind."""
    if not os.path.isdir(git_dir):
        return []
    found = [os.path.join(git_dir, name) for name in STALE_LOCKS]
    for sub in ("refs", "logs"):
        for root, _dirs, files in os.walk(os.path.join(git_dir, sub)):
            found.extend(os.path.join(root, f) for f in files if f.endswith(".lock"))
    objects = os.path.join(git_dir, "objects")
    for folder in (objects, os.path.join(objects, "pack")):
        if os.path.isdir(folder):
            found.extend(os.path.join(folder, f) for f in os.listdir(folder)
                         if f.startswith(("tmp_", "incoming-", ".tmp-")))
    return [path for path in found if os.path.lexists(path)]


class Clone:
    """Making sure there is a usable clone of the configured remote."""

    def __init__(self, repo: Repo, remote: Remote) -> None:
        self.repo = repo
        self.remote = remote

    def ensure_clone(self) -> None:
        """(Re)create, retarget or repair the clone as needed (`fresh` tells if it was)."""
        self._sweep_half_made_clones()
        self.clear_stale_locks(self.repo.git_dir)
        problem = self._clone_problem()
        if problem == OTHER_REMOTE:
            self._retarget()
            self.repo.fresh = True
        elif problem is not None:
            if problem != MISSING:
                self._set_aside(problem)
            self._create_clone()
            self.repo.fresh = True

    def ensure_embedded_remote(self) -> None:
        """The bare repository under $MEMORY_VAULT_HOME used when no remote is configured."""
        path = self.repo.config.remote
        if not os.path.isfile(os.path.join(path, "HEAD")):
            ensure_private_dir(path)
            self.repo.git.at(path).run("init", "-q", "--bare",
                                       f"--initial-branch={self.repo.branch}")
            self.repo.log.info(f"created the embedded vault {path}")
        else:  # our run lock proves nothing about another git inside it: only old leftovers
            self.clear_stale_locks(path, older_than=True)
        tune(self.repo.git, path, EMBEDDED_TUNING)

    def _clone_problem(self) -> str | None:
        clone = self.repo.config.clone_dir
        if not os.path.isdir(clone) or not os.listdir(clone):
            return MISSING
        facts = model.inspect_clone(self.repo.git, clone)
        if facts.problem is not None:
            return facts.problem
        if facts.bare:
            return "it is a bare repository"
        if facts.origin_url is None:
            return "it has no origin remote"
        if (remote_identity(facts.origin_url) != remote_identity(self.repo.config.remote)
                or facts.sealed != bool(self.repo.config.encrypt)):
            return OTHER_REMOTE
        if facts.head_ref != self.repo.local_ref:
            return "its HEAD is detached" if facts.head_ref is None else (
                f"it is on {facts.head_ref}, not {self.repo.local_ref}")
        head = self.repo.head()
        if head is not None and self.repo.git.run("cat-file", "-e", f"{head}^{{commit}}",
                                             check=False).returncode != 0:
            return f"its branch tip {head[:12]} is missing from its objects"
        if facts.origin_url != self.repo.origin_url:  # an older version stored the token there
            self.repo.git.run("config", "remote.origin.url", self.repo.origin_url)
            self.repo.log.info("took the credentials out of the clone's remote URL")
        tune(self.repo.git, clone, CLONE_TUNING, current=facts.tuning)
        return None

    def _set_aside(self, problem: str) -> None:
        clone = self._ours_or_raise(problem)
        aside = unique_path(f"{clone}.set-aside-{compact_utc_stamp()}")
        os.rename(clone, aside)
        self.repo.log.warning(f"the clone {clone} was damaged ({problem}); kept it as {aside} "
                         "and cloned the vault afresh")

    def _ours_or_raise(self, problem: str) -> str:
        clone = self.repo.config.clone_dir
        home = os.path.realpath(self.repo.config.home)
        ours = os.path.realpath(clone).startswith(home + os.sep)
        if not ours:
            try:
                with open(os.path.join(clone, ".git", "config"), encoding="utf-8") as handle:
                    ours = "[memory-vault]" in handle.read()
            except OSError:
                ours = False
        if not ours:
            raise VaultError(
                f"MEMORY_VAULT_CLONE_DIR={clone} is not usable ({problem}) and is not a "
                "Memory Vault clone: move it away or choose another folder")
        return clone

    def _retarget(self) -> None:
        """The user moved the vault to another remote: keep the clone and its history, point
        it at the new remote, and bring its branch there (pushed whole to an empty remote,
        our commits replayed on top of a non-empty one). Its borrowed objects (the embedded
        vault's) are copied in first, so the clone stands on its own."""
        facts = model.inspect_clone(self.repo.git, self.repo.config.clone_dir)
        old = facts.origin_url or "?"
        self._ours_or_raise(f"its origin is {self.repo.redactor.clean(old)}")
        if remote_identity(old) == remote_identity(self.repo.config.remote):
            self._refuse_other_kind(facts.sealed)
        alternates = os.path.join(self.repo.git_dir, "objects", "info", "alternates")
        if os.path.exists(alternates) and not self.repo.config.embedded:
            self.repo.git.run("repack", "-a", "-d", "-q")
            os.unlink(alternates)
        self.repo.git.run("config", "remote.origin.url", self.repo.origin_url)
        # What we knew of the old remote, and what we pushed there, says nothing of the new.
        for ref in self.repo.git.run("for-each-ref", "--format=%(refname)",
                                     "refs/remotes/origin/", tracking.PUSHED_REF).text.split():
            self.repo.git.run("update-ref", "-d", ref)
        transport = self.remote.transport
        transport.forget(self.repo.git)
        transport.configure(self.repo.git)
        shown_old = self.repo.redactor.clean(old)
        if self.repo.config.encrypt and not facts.sealed:  # left for the user to delete
            self.repo.git.run("config", PLAIN_LEFT, shown_old)
            self.repo.log.warning(
                f"the vault is now encrypted (MEMORY_VAULT_ENCRYPT=age): its history moves to "
                f"{self.repo.shown_remote}, encrypted; the plain remote {shown_old} is left "
                "as it is: delete it once you no longer need it")
        else:
            self.repo.log.warning(f"the remote changed from {shown_old} to "
                                  f"{self.repo.shown_remote}: the vault's history "
                                  "moves there and every file is compared again")
        try:
            self.remote.replay_onto_remote()
        except NetworkError as exc:
            self.repo.unreachable = str(exc)
            self.repo.log.warning(f"{exc}; the history moves to the new remote when it is back")

    def _refuse_other_kind(self, sealed: bool) -> None:
        """The same remote, another kind of vault: what it holds cannot change kind."""
        if sealed and self.repo.ref(SEALED_REF) is not None:
            raise ConfigError("the remote holds an encrypted vault: set MEMORY_VAULT_ENCRYPT="
                              "age and MEMORY_VAULT_IDENTITY to read and write it",
                              "MEMORY_VAULT_ENCRYPT")
        if not sealed and self.repo.ref(self.repo.remote_ref) is not None:
            raise ConfigError(
                f"MEMORY_VAULT_ENCRYPT=age, but the remote {self.repo.shown_remote} holds a "
                "plain vault: to encrypt it, set MEMORY_VAULT_REMOTE to a new, empty "
                "repository (the history moves there, encrypted)", "MEMORY_VAULT_ENCRYPT")

    def _sweep_half_made_clones(self) -> None:
        parent, name = os.path.split(self.repo.config.clone_dir)
        if os.path.isdir(parent):
            for entry in os.listdir(parent):
                if entry.startswith(f"{name}.tmp-"):
                    shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)

    def _create_clone(self) -> None:
        """Build the clone beside its final place, then rename: a kill leaves no half clone.
        Nothing is checked out (commits are made from trees): only the refs are set."""
        clone = self.repo.config.clone_dir
        tmp = f"{clone}.tmp-{os.getpid()}"
        ensure_private_dir(os.path.dirname(clone))
        shutil.rmtree(tmp, ignore_errors=True)
        ensure_private_dir(tmp)
        runner = self.repo.git.at(tmp)
        runner.run("init", "-q", f"--initial-branch={self.repo.branch}")
        self._configure(runner, tmp)
        self._borrow_objects(tmp)
        if self.repo.seed_from:
            self._copy_refs(self.repo.git.at(self.repo.seed_from), runner)
        try:
            self.remote.transport.fetch(runner)
        except NetworkError as exc:
            self.repo.unreachable = str(exc)
            self.repo.log.warning(f"cannot reach the remote {self.repo.shown_remote} "
                             f"({exc}); backing up into a new local clone, pushed when the "
                             "remote is back")
        theirs = runner.run("rev-parse", "-q", "--verify", f"{self.repo.remote_ref}^{{commit}}",
                            check=False)
        if theirs.returncode == 0:
            runner.run("update-ref", self.repo.local_ref, theirs.text)
        os.rename(tmp, clone)
        self.repo.log.info(f"created the clone {clone} of {self.repo.shown_remote}")

    def _configure(self, runner: GitRunner, path: str) -> None:
        b = self.repo.branch
        for key, value in (("memory-vault.clone", "true"), ("core.hooksPath", "/dev/null"),
                           ("commit.gpgSign", "false"), ("remote.origin.url", self.repo.origin_url),
                           (f"branch.{b}.remote", "origin"),
                           (f"branch.{b}.merge", f"refs/heads/{b}")):
            runner.run("config", key, value)
        self.remote.transport.configure(runner)
        tune(self.repo.git, path, CLONE_TUNING)

    def _borrow_objects(self, path: str) -> None:
        """Borrow the embedded vault's objects (and a dry run's real clone's) instead of
        copying them: one copy on disk."""
        borrowed = []
        if self.repo.config.embedded:
            borrowed.append(os.path.join(os.path.abspath(self.repo.config.remote), "objects"))
        if self.repo.seed_from:
            borrowed.append(os.path.join(self.repo.seed_from, ".git", "objects"))
        if borrowed:
            alternates = os.path.join(path, ".git", "objects", "info", "alternates")
            with open(alternates, "w", encoding="utf-8") as handle:
                handle.write("".join(f"{folder}\n" for folder in borrowed))

    def _copy_refs(self, source: GitRunner, target: GitRunner) -> None:
        """Start from what another clone knew (a dry run works on a scratch clone, which
        must see what the real one holds even when the remote cannot be reached)."""
        for ref in (self.repo.local_ref, self.repo.remote_ref, SEALED_REF):
            sha = source.run("rev-parse", "-q", "--verify", f"{ref}^{{commit}}",
                             check=False).text
            if sha:
                target.run("update-ref", ref, sha)
        chain = os.path.join(source.cwd, ".git", CHAIN_FILE)
        if os.path.isfile(chain):  # what the real clone applied of an encrypted remote
            shutil.copyfile(chain, os.path.join(target.cwd, ".git", CHAIN_FILE))

    def clear_stale_locks(self, git_dir: str, *, older_than: bool = False) -> None:
        """Remove git locks and temp files left by a killed run.

        In the clone, safe because we hold the run lock and every git we start inherits it:
        a lock file found now belongs to a process that no longer exists. In the embedded
        vault (`older_than`), only those older than any live git keeps them.
        """
        import time

        now = time.time()
        for path in stale_git_files(git_dir):
            if older_than:
                limit = SHARED_TEMP_AGE if os.path.isdir(path) else SHARED_LOCK_AGE
                if now - os.lstat(path).st_mtime < limit:
                    continue
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
            self.repo.log.warning(f"removed {path}, left behind by an interrupted run")
