"""The git vault: the embedded remote, the clone, commits and pushes.

Imported only when a run has something to write or push: it pulls in GitPython, whose import
alone costs more than a whole cron run that finds nothing to do.
"""

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import git

from memory_vault import trees
from memory_vault.config import Config
from memory_vault.errors import GitFailed, NetworkError, VaultError
from memory_vault.fsutil import (
    compact_utc_stamp,
    ensure_private_dir,
    plural,
    unique_path,
    utc_stamp,
)
from memory_vault.gitrun import GitRunner
from memory_vault.lock import RunLock
from memory_vault.logfile import RunLog
from memory_vault.redact import Redactor, remote_identity, split_credentials
from memory_vault.snapshot import Snapshot

PUSH_TRIES = 3
READ_LOCK_WAIT = 60.0
# Compaction: repack when what sits outside the main pack (loose objects, small packs from
# pushes) exceeds this share of it, or the floor, or these counts.
COMPACT_SHARE = 0.25
COMPACT_FLOOR = 256 * 1024
COMPACT_MAX_LOOSE = 256
COMPACT_MAX_PACKS = 8
_STALE_LOCKS = ("index.lock", "HEAD.lock", "ORIG_HEAD.lock", "config.lock", "packed-refs.lock",
                "shallow.lock", "FETCH_HEAD.lock")
_REJECTED = ("[rejected]", "non-fast-forward", "fetch first", "stale info")
_OTHER_REMOTE = "it is the clone of another remote"


def commit_subject(when: float, count: int) -> str:
    """`Memory vault sync 2026-11-24T17:45:00Z (2 files)`, `(1 file)` for one."""
    return f"Memory vault sync {utc_stamp(when)} ({plural(count, 'file')})"


def printable(name: str) -> str:
    """A file name for one line of a commit message: control characters escaped, so that
    a name cannot forge another line."""
    if all(" " <= c != "\x7f" for c in name):
        return name
    return "".join(c if " " <= c != "\x7f" else f"\\x{ord(c):02x}" for c in name)



class CommitInfo:
    """One sync commit: its sha, subject and the files it changed as (name, size, sha256)."""

    __slots__ = ("files", "sha", "subject")

    def __init__(self, sha: str, subject: str, files: list[tuple[str, int, str]]) -> None:
        self.sha = sha
        self.subject = subject
        self.files = files


# Settings of every repository we own. Durable commits; no automatic gc (we compact
# ourselves, off the no-change path); bounded memory: files over 32 MB are stored whole and
# streamed instead of delta-compressed in memory, and the delta search keeps small windows
# and caches (the previous version of a file sorts next to it, so a window of 4 finds it).
TUNING: dict[tuple[str, str], str] = {
    ("gc", "auto"): "0",
    ("core", "fsync"): "committed",
    ("core", "bigFileThreshold"): "32m",
    ("core", "deltaBaseCacheLimit"): "8m",
    ("pack", "window"): "4",
    ("pack", "windowMemory"): "12m",
    ("pack", "deltaCacheSize"): "1m",
    ("repack", "writeBitmaps"): "false",
    # No reflogs: they would keep naming commits that a rewritten embedded vault dropped at
    # its next repack (the clone borrows those objects), and `git fsck` would fail for good.
    ("core", "logAllRefUpdates"): "false",
}
EMBEDDED_TUNING: dict[tuple[str, str], str] = {
    ("receive", "unpackLimit"): "1",  # keep each push as a pack: its deltas are reused later
    ("receive", "autogc"): "false",
}
TUNING_VERSION = "4"


def tune(repo: "git.Repo", extra: dict[tuple[str, str], str] | None = None) -> None:
    """Apply TUNING (once per TUNING_VERSION: repositories made by older versions too)."""
    reader = repo.config_reader()
    if str(reader.get_value("memory-vault", "tuning", "")) == TUNING_VERSION:
        return
    with repo.config_writer() as cw:
        for (section, key), value in {**TUNING, **(extra or {})}.items():
            cw.set_value(section, key, value)
        cw.set_value("memory-vault", "tuning", TUNING_VERSION)
    shutil.rmtree(os.path.join(repo.git_dir, "logs"), ignore_errors=True)


class ObjectUsage:
    """Bytes and counts of a repository's object store."""

    __slots__ = ("loose_bytes", "loose_count", "packs")

    def __init__(self) -> None:
        self.loose_bytes = 0
        self.loose_count = 0
        self.packs: list[int] = []  # size of each pack (with its index)


def object_usage(git_dir: str) -> ObjectUsage:
    usage = ObjectUsage()
    objects = os.path.join(git_dir, "objects")
    if not os.path.isdir(objects):
        return usage
    for entry in os.scandir(objects):
        if len(entry.name) == 2 and entry.is_dir():
            for loose in os.scandir(entry.path):
                usage.loose_count += 1
                usage.loose_bytes += loose.stat().st_size
    pack_dir = os.path.join(objects, "pack")
    if os.path.isdir(pack_dir):
        for entry in os.scandir(pack_dir):
            if entry.name.endswith(".pack"):
                idx = entry.path[:-5] + ".idx"
                size = entry.stat().st_size
                usage.packs.append(size + (os.path.getsize(idx) if os.path.exists(idx) else 0))
    return usage


class Vault:
    """The clone of the backup repository, with everything a run needs to do to it."""

    def __init__(self, config: Config, log: RunLog, *, lock_fd: int | None = None) -> None:
        self.config = config
        self.log = log
        self.branch = config.branch
        self.redactor = Redactor.for_remote(config.remote)
        self.origin_url, user, password = split_credentials(config.remote)
        self.git = GitRunner(
            config.clone_dir,
            redactor=self.redactor,
            timeout=config.git_timeout,
            keep_fds=(lock_fd,) if lock_fd is not None else (),
            credentials=(user, password),
        )
        self.fresh = False  # True when this run (re)created or retargeted the clone
        self.seed_from: str | None = None  # a clone whose objects and refs a new one borrows
        self.unreachable: str | None = None  # why the remote could not be fetched, if so
        self.progress = False  # show git's progress meter (a person at a terminal)
        self._staged: dict[str, tuple[str, int, str]] = {}  # name -> staged copy, size, sha256
        self._repo: git.Repo | None = None

    # -- set-up and repair -------------------------------------------------------------

    def prepare(self) -> None:
        """Make sure the clone exists, is ours and on our branch, and holds nothing a killed
        run left half-done (git locks, staged copies). Nothing is ever checked out: commits
        are built from trees (see `trees`)."""
        ensure_private_dir(self.config.home)
        if self.config.embedded:
            self.ensure_embedded_remote()
        self._ensure_clone()
        shutil.rmtree(self._stage_dir, ignore_errors=True)

    def done(self) -> None:
        """The run finished: its staged copies go."""
        shutil.rmtree(self._stage_dir, ignore_errors=True)

    @property
    def _stage_dir(self) -> str:
        return os.path.join(self.config.clone_dir, ".git", "memory-vault-staging")

    def _ensure_clone(self) -> bool:
        """Repair what a killed run left, and (re)create the clone if it is missing or not
        the clone of our remote and branch (a damaged one is set aside, never deleted).
        Returns True when a killed run's git locks had to be removed."""
        self._sweep_half_made_clones()
        stale = self._clear_stale_locks(os.path.join(self.config.clone_dir, ".git"))
        problem = self._clone_problem()
        if problem == _OTHER_REMOTE:
            self._retarget()
            self.fresh = True
        elif problem is not None:
            if problem != "missing":
                self._set_aside(problem)
            self._create_clone()
            self.fresh = True
        return stale

    def ensure_embedded_remote(self) -> None:
        """The bare repository under $MEMORY_VAULT_HOME used when no remote is configured."""
        path = self.config.remote
        if os.path.isfile(os.path.join(path, "HEAD")):
            self._clear_stale_locks(path)
            repo = git.Repo(path)
            tune(repo, EMBEDDED_TUNING)
            repo.close()
            return
        ensure_private_dir(path)
        repo = git.Repo.init(path, bare=True, initial_branch=self.branch)
        tune(repo, EMBEDDED_TUNING)
        repo.close()
        self.log.info(f"created the embedded vault {path}")

    def _clone_problem(self) -> str | None:
        clone = self.config.clone_dir
        if not os.path.isdir(clone) or not os.listdir(clone):
            return "missing"
        try:
            repo = git.Repo(clone)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            return "it is not a git repository"
        try:
            if repo.bare or repo.working_tree_dir is None:
                return "it is a bare repository"
            if not repo.remotes or "origin" not in [r.name for r in repo.remotes]:
                return "it has no origin remote"
            url = repo.remote("origin").url
            if remote_identity(url) != remote_identity(self.config.remote):
                return _OTHER_REMOTE
            if url != self.origin_url:  # an older version stored the token: take it out
                with repo.config_writer() as cw:
                    cw.set_value('remote "origin"', "url", self.origin_url)
                self.log.info("took the credentials out of the clone's remote URL")
            if repo.head.is_detached:
                return "its HEAD is detached"
            if repo.head.reference.path != f"refs/heads/{self.branch}":
                return f"it is on {repo.head.reference.path}, not refs/heads/{self.branch}"
            tune(repo)
        except (ValueError, OSError, git.GitError) as exc:
            return f"it cannot be read ({exc})"
        finally:
            repo.close()
        return None

    def _set_aside(self, problem: str) -> None:
        clone = self._ours_or_raise(problem)
        aside = unique_path(f"{clone}.set-aside-{compact_utc_stamp()}")
        os.rename(clone, aside)
        self.log.warning(f"the clone {clone} was damaged ({problem}); kept it as {aside} "
                         "and cloned the vault afresh")

    def _ours_or_raise(self, problem: str) -> str:
        clone = self.config.clone_dir
        if not self._is_ours(clone):
            raise VaultError(
                f"MEMORY_VAULT_CLONE_DIR={clone} is not usable ({problem}) and is not a "
                "Memory Vault clone: move it away or choose another folder"
            )
        return clone

    def _retarget(self) -> None:
        """The user moved the vault to another remote: keep the clone and its history, point
        it at the new remote, and bring its branch there (pushed whole to an empty remote,
        our commits replayed on top of a non-empty one). Its borrowed objects (the embedded
        vault's) are copied in first, so the clone stands on its own."""
        with git.Repo(self.config.clone_dir) as repo:
            old = repo.remote("origin").url
        self._ours_or_raise(f"its origin is {self.redactor.clean(old)}")
        alternates = os.path.join(self.config.clone_dir, ".git", "objects", "info",
                                  "alternates")
        if os.path.exists(alternates) and not self.config.embedded:
            self.git.run("repack", "-a", "-d", "-q")
            os.unlink(alternates)
        self.git.run("config", "remote.origin.url", self.origin_url)
        for ref in self.git.run("for-each-ref", "--format=%(refname)",
                                "refs/remotes/origin/").text.split():
            self.git.run("update-ref", "-d", ref)
        self.log.warning(f"the remote changed from {self.redactor.clean(old)} to "
                         f"{self.redactor.clean(self.config.remote)}: the vault's history "
                         "moves there and every file is compared again")
        try:
            self._replay_onto_remote()
        except NetworkError as exc:
            self.unreachable = str(exc)
            self.log.warning(f"{exc}; the history moves to the new remote when it is back")

    def _is_ours(self, clone: str) -> bool:
        home = os.path.realpath(self.config.home)
        if os.path.realpath(clone).startswith(home + os.sep):
            return True
        try:
            with open(os.path.join(clone, ".git", "config"), encoding="utf-8") as handle:
                return "[memory-vault]" in handle.read()
        except OSError:
            return False

    def _sweep_half_made_clones(self) -> None:
        parent, name = os.path.split(self.config.clone_dir)
        if not os.path.isdir(parent):
            return
        for entry in os.listdir(parent):
            if entry.startswith(f"{name}.tmp-"):
                shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)

    def _create_clone(self) -> None:
        """Build the clone beside its final place, then rename: a kill leaves no half clone."""
        clone = self.config.clone_dir
        tmp = f"{clone}.tmp-{os.getpid()}"
        ensure_private_dir(os.path.dirname(clone))
        shutil.rmtree(tmp, ignore_errors=True)
        repo = git.Repo.init(tmp, initial_branch=self.branch)
        os.chmod(tmp, 0o700)
        b = self.branch
        with repo.config_writer() as cw:
            cw.set_value("memory-vault", "clone", "true")
            cw.set_value("core", "hooksPath", "/dev/null")
            cw.set_value("commit", "gpgSign", "false")
            cw.set_value('remote "origin"', "url", self.origin_url)
            cw.set_value('remote "origin"', "fetch", f"+refs/heads/{b}:refs/remotes/origin/{b}")
            cw.set_value(f'branch "{b}"', "remote", "origin")
            cw.set_value(f'branch "{b}"', "merge", f"refs/heads/{b}")
        tune(repo)
        repo.close()
        borrowed = []
        if self.config.embedded:
            # Borrow the embedded vault's objects instead of copying them: one copy on disk.
            borrowed.append(os.path.join(os.path.abspath(self.config.remote), "objects"))
        if self.seed_from:
            borrowed.append(os.path.join(self.seed_from, ".git", "objects"))
        if borrowed:
            alternates = os.path.join(tmp, ".git", "objects", "info", "alternates")
            with open(alternates, "w", encoding="utf-8") as handle:
                handle.write("".join(f"{path}\n" for path in borrowed))
        runner = self.git.at(tmp)
        if self.seed_from:
            self._copy_refs(self.git.at(self.seed_from), runner)
        try:
            _fetch(runner, progress=self.progress)
        except NetworkError as exc:
            self.unreachable = str(exc)
            self.log.warning(f"cannot reach the remote {self.redactor.clean(self.config.remote)} "
                             f"({exc}); backing up into a new local clone, pushed when the "
                             "remote is back")
        if runner.run("rev-parse", "-q", "--verify", f"refs/remotes/origin/{b}^{{commit}}",
                      check=False).returncode == 0:
            runner.run("update-ref", f"refs/heads/{b}", f"refs/remotes/origin/{b}")
        os.rename(tmp, clone)
        self.log.info(f"created the clone {clone} of {self.redactor.clean(self.config.remote)}")

    def _copy_refs(self, source: GitRunner, target: GitRunner) -> None:
        """Start from what another clone knew (a dry run works on a scratch clone, which
        must see what the real one holds even when the remote cannot be reached)."""
        for ref in (f"refs/heads/{self.branch}", f"refs/remotes/origin/{self.branch}"):
            sha = source.run("rev-parse", "-q", "--verify", f"{ref}^{{commit}}",
                             check=False).text
            if sha:
                target.run("update-ref", ref, sha)

    def _clear_stale_locks(self, git_dir: str) -> bool:
        """Remove git locks and temp files left by a killed run; True if there were any.

        Safe because we hold the run lock and every git we start inherits it: a lock file
        found now belongs to a process that no longer exists.
        """
        if not os.path.isdir(git_dir):
            return False
        stale = [os.path.join(git_dir, name) for name in _STALE_LOCKS]
        for sub in ("refs", "logs"):
            for root, _dirs, files in os.walk(os.path.join(git_dir, sub)):
                stale.extend(os.path.join(root, f) for f in files if f.endswith(".lock"))
        objects = os.path.join(git_dir, "objects")
        for folder in (objects, os.path.join(objects, "pack")):
            if os.path.isdir(folder):
                stale.extend(
                    os.path.join(folder, f)
                    for f in os.listdir(folder)
                    if f.startswith(("tmp_", "incoming-", ".tmp-"))
                )
        found = False
        for path in stale:
            if os.path.lexists(path):
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)
                self.log.warning(f"removed {path}, left behind by an interrupted run")
                found = True
        return found

    # -- committing --------------------------------------------------------------------

    def has_commits(self) -> bool:
        return self.head() is not None

    def head(self) -> str | None:
        """The tip of our branch in the clone."""
        return self._ref(f"refs/heads/{self.branch}")

    def _ref(self, ref: str) -> str | None:
        """The sha a ref points to, read by GitPython from the ref files (no git process)."""
        try:
            return str(git.SymbolicReference.dereference_recursive(self._model, ref))
        except (ValueError, OSError):
            return None

    @property
    def _model(self) -> "git.Repo":
        if self._repo is None:
            self._repo = git.Repo(self.config.clone_dir)
        return self._repo

    def _resolve(self, ref: str) -> str | None:
        result = self.git.run("rev-parse", "-q", "--verify", f"{ref}^{{commit}}", check=False)
        return result.text if result.returncode == 0 else None

    def stage(self, snap: Snapshot) -> None:
        """Keep one snapshot's bytes for the commit, in a private folder of the clone's git
        directory (never in a working tree, which a hostile vault could redirect)."""
        os.makedirs(self._stage_dir, mode=0o700, exist_ok=True)
        path = os.path.join(self._stage_dir, str(len(self._staged)))
        if snap.name in self._staged:
            path = self._staged[snap.name][0]
            os.unlink(path)
        try:
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
        self._staged[snap.name] = (path, snap.size, snap.sha256)

    def commit(self, when: float) -> CommitInfo | None:
        """One commit of what `stage` kept, on top of our branch, if it changes anything.

        Blobs go straight into the object store; the new tree is the tip's tree with our
        files spliced in (`trees.splice`), every other entry carried as it is.
        """
        staged, self._staged = self._staged, {}
        if not staged:
            return None
        listing = "".join(f"{path}\n" for path, _, _ in staged.values()).encode()
        shas = self.git.run("hash-object", "-w", "--no-filters", "--stdin-paths",
                            input_bytes=listing).text.split()
        shutil.rmtree(self._stage_dir, ignore_errors=True)
        subdir = tuple(self.config.subdir.split("/"))
        changes: trees.Changes = {
            (*subdir, *name.split("/")): trees.Entry(trees.BLOB_MODE, "blob", sha)
            for name, sha in zip(staged, shas, strict=True)}
        parent = self.head()
        base = self._tree_of(parent) if parent else None
        tree = self._splice(base, changes)
        if tree == base:
            return None
        changed = set(self._paths_between(base, tree))
        files = [(name, size, digest) for name, (_, size, digest) in staged.items()
                 if f"{self.config.subdir}/{name}" in changed]
        if not files:
            return None
        subject = commit_subject(when, len(files))
        body = "\n".join(f"{printable(name)}: {size} bytes, sha256 {digest}"
                         for name, size, digest in files)
        message = f"{subject}\n\n{body}\n".encode("utf-8", "surrogateescape")
        sha = self.git.run("commit-tree", tree, *(["-p", parent] if parent else []), "-F", "-",
                           input_bytes=message, extra_env=self._identity_env(when)).text
        self.git.run("update-ref", f"refs/heads/{self.branch}", sha, parent or "0" * 40)
        return CommitInfo(sha, subject, files)

    def _tree_of(self, commit: str) -> str:
        return self.git.run("rev-parse", f"{commit}^{{tree}}").text

    def _splice(self, tree: str | None, changes: "trees.Changes") -> str:
        """`trees.splice` with this clone's git; a folder on our path that is not a folder
        in the vault (a planted symlink) refuses the whole commit, the history kept."""
        try:
            return trees.splice(self._read_tree, self._make_tree, tree, changes)
        except trees.NotAFolder as exc:
            raise VaultError(
                f"refused to write into the vault: {exc} (a hostile or broken vault: someone "
                "pushed it; nothing was written through it and the history is kept; fix the "
                "remote's tip)") from None

    def _read_tree(self, tree: str) -> dict[str, "trees.Entry"]:
        return trees.parse_ls_tree(self.git.run("ls-tree", "-z", tree).stdout)

    def _make_tree(self, entries: dict[str, "trees.Entry"]) -> str:
        return self.git.run("mktree", "-z", input_bytes=trees.mktree_input(entries)).text

    def last_saved(self, name: str) -> int | None:
        """When the vault last took a version of `name` (epoch seconds), if ever."""
        if not self.has_commits():
            return None
        out = self.git.run("log", "-1", "--format=%ct", f"refs/heads/{self.branch}", "--",
                           f"{self.config.subdir}/{name}", check=False).text
        return int(out) if out.isdigit() else None

    def _identity_env(self, when: float) -> dict[str, str]:
        date = f"{int(when)} +0000"
        name, email = self.config.author_name, self.config.author_email
        return {
            "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email,
            "GIT_COMMITTER_DATE": date,
        }

    # -- pushing -------------------------------------------------------------------------

    def unpushed(self) -> int:
        """Commits on our branch the remote does not have (as far as we last heard)."""
        local = f"refs/heads/{self.branch}"
        if self._ref(local) is None:
            return 0
        args = ["rev-list", "--count", local]
        if self._ref(f"refs/remotes/origin/{self.branch}") is not None:
            args.append(f"^refs/remotes/origin/{self.branch}")
        return int(self.git.run(*args).text or 0)

    def on_remote(self, sha: str) -> bool:
        """Is `sha` on the remote's branch, as the last fetch or push saw it?"""
        remote = self._ref(f"refs/remotes/origin/{self.branch}")
        return remote is not None and self.is_ancestor(sha, remote)

    def push(self) -> None:
        """Push our branch; when the remote moved on, replay ours on top and try again."""
        b = self.branch
        for _attempt in range(PUSH_TRIES):
            result = self.git.run("push", "--porcelain", "--no-verify", "origin",
                                  f"refs/heads/{b}:refs/heads/{b}", network=True, check=False)
            if result.returncode == 0:
                return
            said = (result.stdout + result.stderr).decode("utf-8", "replace")
            if not any(word in said for word in _REJECTED):
                raise self.git.failure(result, network=True)
            self._replay_onto_remote()
        raise GitFailed(f"the remote kept moving: push still rejected after {PUSH_TRIES} tries")

    def probe_remote(self) -> None:
        """Ask the remote for our branch (raises NetworkError when it does not answer)."""
        self.git.run("ls-remote", "origin", f"refs/heads/{self.branch}", network=True)

    def fetch(self) -> None:
        _fetch(self.git, progress=self.progress)

    # -- keeping it compact --------------------------------------------------------------

    def maintain(self) -> None:
        """Keep the vault small on disk, at a cost bounded by what the run itself wrote.

        Each push lands in the embedded vault as a small pack holding the new versions as
        deltas (plus the full base git appends to complete a thin pack). Once those small
        packs and loose objects add up to a quarter of the main pack, everything is repacked
        into one, reusing the deltas already computed: mostly a copy, no new delta search.
        Geometric growth keeps the amortised cost proportional to the bytes committed. The
        clone borrows the embedded vault's objects, so its own copies go once pushed.
        """
        if self.config.embedded:
            self._compact(self.config.remote)
            self.git.run("prune-packed", "-q")
        self._compact(os.path.join(self.config.clone_dir, ".git"))

    def _compact(self, git_dir: str) -> None:
        usage = object_usage(git_dir)
        main = max(usage.packs, default=0)
        outside = usage.loose_bytes + sum(usage.packs) - main
        if (outside > max(COMPACT_SHARE * main, COMPACT_FLOOR)
                or usage.loose_count > COMPACT_MAX_LOOSE or len(usage.packs) > COMPACT_MAX_PACKS):
            # The embedded vault keeps what a rewrite made unreachable (no version is lost,
            # and the clone may still borrow it); the clone drops only its own leftovers.
            keep = ["--keep-unreachable"] if git_dir == self.config.remote else []
            self.git.run("repack", "-a", "-d", "-l", "-q", "--no-write-bitmap-index", *keep,
                         cwd=git_dir)
            if git_dir == self.config.remote:
                self.git.run("prune-packed", "-q", cwd=git_dir)

    # -- reading (restore, history, verify) -----------------------------------------------

    def open_for_reading(self, *, fetch: bool = True) -> str | None:
        """Bring the clone up to date with the remote; return the tip to read (None: empty).

        A missing or damaged clone (the machine crashed) is cloned afresh; an unreachable
        remote falls back to the local clone with a warning.
        """
        if self.config.embedded and not os.path.isfile(os.path.join(self.config.remote, "HEAD")):
            raise VaultError(
                f"there is no vault at {self.config.remote}: nothing was backed up on this "
                "machine (set MEMORY_VAULT_REMOTE to the backup repository)"
            )
        if self.seed_from is None:
            ensure_private_dir(self.config.home)
        self._ensure_clone()
        if not self.fresh and fetch:
            try:
                self.fetch()
            except NetworkError as exc:
                self.log.warning(f"{exc}; reading the local clone, which may be behind")
        return self.tip()

    def tip(self) -> str | None:
        """The newest state of the vault we know: our branch or the remote's, whichever
        contains the other (the newer commit if they diverged)."""
        local = self._ref(f"refs/heads/{self.branch}")
        remote = self._ref(f"refs/remotes/origin/{self.branch}")
        if local is None or remote is None or local == remote:
            return local or remote
        if self.is_ancestor(remote, local):
            return local
        if self.is_ancestor(local, remote):
            return remote
        dates = self.git.run("log", "--no-walk=unsorted", "--format=%ct", local, remote).text
        local_date, remote_date = (int(d) for d in dates.split())
        return local if local_date >= remote_date else remote

    def is_ancestor(self, older: str, newer: str) -> bool:
        return self.git.run("merge-base", "--is-ancestor", older, newer,
                            check=False).returncode == 0

    def resolve_commit(self, rev: str) -> str | None:
        """The full sha of `rev` (anything git understands), or None."""
        if rev.startswith("-"):
            return None
        return self._resolve(rev)

    def commit_time(self, rev: str) -> tuple[str, int]:
        """(full sha, commit time in epoch seconds) of a commit."""
        sha, _, when = self.git.run("log", "-1", "--format=%H %ct", rev, "--").text.partition(" ")
        return sha, int(when)

    def _replay_onto_remote(self) -> None:
        """Re-create our unpushed commits on top of the remote branch, whole files only.

        Not `git rebase`: a textual merge of two versions of a JSON file can produce a file
        neither side wrote. Each of our commits instead sets its files to our exact blobs on
        top of theirs, so ours becomes the tip and theirs stays in history.
        """
        self.fetch()
        b = self.branch
        theirs = self._ref(f"refs/remotes/origin/{b}")
        ours = self._ref(f"refs/heads/{b}")
        if theirs is None:
            return  # an empty remote: the next push sends our whole history
        if ours is None:
            self.git.run("update-ref", f"refs/heads/{b}", theirs)
            return
        mine = self.git.run("rev-list", "--reverse", ours, f"^{theirs}").text.split()
        base = self.git.run("merge-base", ours, theirs, check=False).text
        theirs_changed = self._paths_between(base or None, theirs)
        tip = theirs
        overlap: set[str] = set()
        for commit in mine:
            changes = trees.path_changes(self.git.run(
                "diff-tree", "-r", "-z", "--raw", "--no-renames", "--root", "--no-commit-id",
                commit).stdout)
            overlap.update(p for p in ("/".join(path) for path in changes)
                           if p in theirs_changed)
            tree = self._splice(self._tree_of(tip), changes)
            tip = self.git.run("commit-tree", tree, "-p", tip, "-F", "-",
                               input_bytes=self._message_of(commit),
                               extra_env=self._original_identity(commit)).text
        self.git.run("update-ref", f"refs/heads/{b}", tip, ours)
        if mine and tip != theirs:
            self.log.warning(
                f"the remote had commits we did not; replayed our {len(mine)} unpushed "
                "commit(s) on top of them"
            )
        for path in sorted(overlap):
            self.log.warning(
                f"{path} was changed both here and on the remote: our version is now the "
                "tip, theirs stays in history"
            )

    def _paths_between(self, base: str | None, tip: str) -> set[str]:
        if base:
            out = self.git.run("diff", "--name-only", "-z", "--no-renames", base, tip).stdout
        else:
            out = self.git.run("ls-tree", "-r", "-z", "--name-only", tip).stdout
        return {p for p in out.decode("utf-8", "surrogateescape").split("\0") if p}

    def _message_of(self, commit: str) -> bytes:
        return self.git.run("log", "-1", "--format=%B", commit).stdout

    def _original_identity(self, commit: str) -> dict[str, str]:
        fields = self.git.run("log", "-1", "--format=%an%x00%ae%x00%ad%x00%cn%x00%ce%x00%cd",
                              "--date=raw", commit).text.split("\0")
        keys = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE",
                "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE")
        return dict(zip(keys, fields, strict=True))


@contextmanager
def reading(
    config: Config, log: RunLog, *, fetch: bool = True, progress: bool = False,
    scratch: str | None = None,
) -> Iterator[tuple[Vault, str | None]]:
    """The vault, current with the remote, and its tip, under the run lock (restore,
    history and verify touch the clone, so they wait for a running sync to finish).

    With `scratch` (a dry run), a throw-away clone in that folder borrows the real clone's
    objects and refs, and nothing in the data folder is created or changed.
    """
    lock = RunLock(config.lock_file)
    lock.acquire(wait=READ_LOCK_WAIT, create=scratch is None)
    try:
        real_clone = config.clone_dir
        if scratch is not None:
            config = config.with_clone_dir(os.path.join(scratch, "clone"))
        vault = Vault(config, log, lock_fd=lock.fd)
        vault.progress = progress
        if scratch is not None:
            vault.seed_from = real_clone if os.path.isdir(
                os.path.join(real_clone, ".git")) else ""
        yield vault, vault.open_for_reading(fetch=fetch)
    finally:
        lock.release()


def _fetch(runner: GitRunner, *, progress: bool = False) -> None:
    """Fetch our branch; an empty remote (no branch yet) is not an error."""
    args = ("fetch", "origin") if progress else ("fetch", "-q", "origin")
    result = runner.run(*args, network=True, check=False, progress=progress)
    if result.returncode != 0 and b"couldn't find remote ref" not in result.stderr:
        raise runner.failure(result, network=True)
