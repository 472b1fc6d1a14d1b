"""Pushing: our commits to the remote, replayed on top of it when it moved on.

Not `git rebase`: a textual merge of two versions of a JSON file can produce a file neither
side wrote. Each of our commits instead sets its files to our exact blobs on top of theirs,
so ours becomes the tip and theirs stays in history.
"""

import random
import time
from typing import Protocol

from memory_vault.errors import ConfigError, GitFailed
from memory_vault.store import refusal, tracking, trailers, trees
from memory_vault.store.git.runner import GitResult, GitRunner
from memory_vault.store.repo import Repo

PUSH_TRIES = 8  # machines sharing a vault push at once: each try may be beaten by another
BACKOFF_SECONDS = 0.25
REJECTED = ("[rejected]", "non-fast-forward", "fetch first", "stale info")
_IDENTITY_KEYS = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE",
                  "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_COMMITTER_DATE")


def fetch_branch(runner: GitRunner, *, progress: bool = False) -> None:
    """Fetch our branch; an empty remote (no branch yet) is not an error."""
    args = ("fetch", "origin") if progress else ("fetch", "-q", "origin")
    result = runner.run(*args, network=True, check=False, progress=progress)
    if result.returncode != 0 and b"couldn't find remote ref" not in result.stderr:
        raise runner.failure(result, network=True)


class Transport(Protocol):
    """How the clone's branch reaches the remote and comes back: plain git (`Plain`), or
    encrypted bundles (`store.crypt.sealed.Sealed`). Either way the plain remote-tracking
    ref ends up holding what the remote has."""

    def ready(self) -> None: ...

    def configure(self, runner: GitRunner) -> None: ...

    def forget(self, runner: GitRunner) -> None: ...

    def fetch(self, runner: GitRunner) -> None: ...

    def send(self, seen: str | None, *, rewrite: bool = False) -> GitResult: ...


SEALED_MARK = "memory-vault.sealed"  # the clone's config says its remote is encrypted


class Plain:
    """Plain git: fetch the branch, push it with a lease on what we saw of the remote."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    def ready(self) -> None:
        return None

    def configure(self, runner: GitRunner) -> None:
        branch = self.repo.branch
        runner.run("config", "remote.origin.fetch", f"+refs/heads/{branch}:{self.repo.remote_ref}")
        runner.run("config", "--unset-all", SEALED_MARK, check=False)

    def forget(self, runner: GitRunner) -> None:
        return None

    def fetch(self, runner: GitRunner) -> None:
        from memory_vault.store.git import model

        before = model.read_ref(runner.cwd, self.repo.remote_ref)
        fetch_branch(runner, progress=self.repo.progress)
        if model.read_ref(runner.cwd, self.repo.remote_ref) != before:
            refuse_sealed(runner, self.repo.remote_ref)

    def send(self, seen: str | None, *, rewrite: bool = False) -> GitResult:
        target = f"refs/heads/{self.repo.branch}"
        return self.repo.git.run("push", "--porcelain", "--no-verify",
                                 f"--force-with-lease={target}:{seen or ''}", "origin",
                                 f"{self.repo.local_ref}:{target}", network=True, check=False,
                                 progress=self.repo.progress)


def refuse_sealed(runner: GitRunner, remote_ref: str) -> None:
    """A plain clone must never build on an encrypted remote's branch (its commits would
    push plain memory next to the encrypted bundles)."""
    from memory_vault.store.git import model

    tip = model.read_ref(runner.cwd, remote_ref)
    if tip is None or runner.run("cat-file", "-e", f"{tip}:bundle.age",
                                 check=False).returncode != 0:
        return
    runner.run("update-ref", "-d", remote_ref)
    raise ConfigError("the remote holds an encrypted vault: set MEMORY_VAULT_ENCRYPT=age and "
                      "MEMORY_VAULT_IDENTITY to read and write it", "MEMORY_VAULT_ENCRYPT")


def transport_of(repo: Repo) -> Transport:
    if repo.config.encrypt:
        from memory_vault.store.crypt.sealed import Sealed

        return Sealed(repo)
    return Plain(repo)


def was_rejected(output: bytes) -> bool:
    """Did `git push` say the remote moved on (as opposed to refusing us)?"""
    said = output.decode("utf-8", "replace")
    return any(word in said for word in REJECTED)


def identity_of(log_fields: str) -> dict[str, str]:
    """The environment that re-creates a commit's author and committer, from
    `git log --format=%an%x00%ae%x00%ad%x00%cn%x00%ce%x00%cd --date=raw`."""
    return dict(zip(_IDENTITY_KEYS, log_fields.split("\0"), strict=True))


class Remote:
    """Talking to the remote: fetch, push, replay, and what we know of its branch."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self.transport = transport_of(repo)
        self.rewritten: tuple[str, str] | None = None  # (what we had pushed, their new tip)
        self.refused: dict[str, str] = {}  # vault path -> why a replay left it out

    def unpushed(self) -> int:
        """Commits on our branch the remote does not have (as far as we last heard), not
        counting what we pushed once and a rewrite of the remote took out."""
        return tracking.ahead(self.repo.git, self.repo.local_ref, self.repo.remote_ref)

    def on_remote(self, sha: str) -> bool:
        """Is `sha` on the remote's branch, as the last fetch or push saw it?"""
        return self.repo.is_ancestor(sha, self.repo.remote_ref)

    def push(self) -> None:
        """Push our branch; when the remote moved on, replay ours on top and try again.

        The push holds a lease on what we last saw of the remote's branch: a remote that went
        back (rewritten, purged) refuses it even where a fast-forward would pass, so that the
        history it dropped is never sent back; the replay then sends only what it lacks.
        """
        for _attempt in range(PUSH_TRIES):
            seen = self.repo.ref(self.repo.remote_ref)
            if seen is not None and not self.repo.is_ancestor(seen, self.repo.local_ref):
                self.replay_onto_remote()  # ours must build on theirs: the lease never forces
                seen = self.repo.ref(self.repo.remote_ref)
            result = self.transport.send(seen)
            if result.returncode == 0:
                self.repo.git.run("update-ref", tracking.PUSHED_REF, self.repo.local_ref)
                return
            if not was_rejected(result.stdout + result.stderr):
                if (found := refusal.parse(result.stderr + result.stdout)) is not None:
                    found.said = self.repo.redactor.clean(found.said)
                    raise refusal.SecretRefused(found)
                raise self.repo.git.failure(result, network=True)
            if _attempt:
                time.sleep(random.uniform(0, BACKOFF_SECONDS * _attempt))  # noqa: S311
            self.replay_onto_remote()
        raise GitFailed(f"the remote kept moving: push still rejected after {PUSH_TRIES} tries")

    def probe_remote(self) -> None:
        """Ask the remote for our branch (raises NetworkError when it does not answer)."""
        self.repo.git.run("ls-remote", "origin", f"refs/heads/{self.repo.branch}", network=True)

    def fetch(self) -> None:
        self.transport.fetch(self.repo.git)

    def replay_onto_remote(self) -> None:
        """Fetch, then re-create our unpushed commits on top of the remote branch.

        Only what the remote lacks and we never pushed is replayed: when the remote no longer
        holds what we pushed (someone rewrote it, say to purge a secret), the commits it
        dropped are not sent back; the rewrite is noted (`rewritten`) for `status`.
        """
        self.fetch()
        theirs, ours = self.repo.ref(self.repo.remote_ref), self.repo.head()
        if theirs is None:
            return  # an empty remote: the next push sends our whole history
        if ours is None:
            self.repo.git.run("update-ref", self.repo.local_ref, theirs)
            return
        pushed = self.repo.ref(tracking.PUSHED_REF)
        if pushed is not None and not self.repo.is_ancestor(pushed, theirs):
            if trailers.purged_between(self.repo.git, theirs, pushed):
                self.repo.log.warning(
                    "the remote's history was rewritten by `secrets purge` (on this or "
                    "another machine): only what it lacks is replayed, the rest stays out")
            else:
                self.rewritten = (pushed, theirs)
                self.repo.log.warning(
                    f"the remote no longer holds {pushed[:12]}, which this machine pushed: it "
                    "was rewritten; only what it lacks since is replayed, the rest stays out")
        exclude = [f"^{theirs}", *([f"^{pushed}"] if pushed else [])]
        mine = self.repo.git.run("rev-list", "--reverse", ours, *exclude).text.split()
        base = self.repo.git.run("merge-base", ours, theirs, check=False).text
        theirs_changed = self.repo.paths_between(base or None, theirs)
        tip, overlap = theirs, set[str]()
        for commit in mine:
            changes = trees.path_changes(self.repo.git.run(
                "diff-tree", "-r", "-z", "--raw", "--no-renames", "--root", "--no-commit-id",
                commit).stdout)
            overlap.update(p for p in ("/".join(path) for path in changes)
                           if p in theirs_changed)
            base = self.repo.tree_of(tip)
            spliced = self.repo.splice(base, changes)
            prefix = self.repo.config.subdir + "/"
            self.refused.update({p.removeprefix(prefix): why for p, why in spliced.refused.items()})
            if spliced.tree != base:  # a replay that changes nothing makes no empty commit
                tip = self._recommit(commit, spliced.tree, tip)
        self.repo.git.run("update-ref", self.repo.local_ref, tip, ours)
        self._warn_replayed(len(mine) if tip != theirs else 0, overlap)

    def _recommit(self, commit: str, tree: str, parent: str) -> str:
        """`commit` again, as `tree` on top of `parent`: its message and author kept, the
        time of the replay as its committer date, so that the history's dates never go
        back in time (`restore --at` relies on them)."""
        git = self.repo.git
        message = git.run("log", "-1", "--format=%B", commit).stdout
        fields = git.run("log", "-1", "--format=%an%x00%ae%x00%ad%x00%cn%x00%ce%x00%cd",
                         "--date=raw", commit).text
        identity = identity_of(fields)
        identity["GIT_COMMITTER_DATE"] = f"{int(time.time())} +0000"
        return git.run("commit-tree", tree, "-p", parent, "-F", "-", input_bytes=message,
                       extra_env=identity).text

    def _warn_replayed(self, count: int, overlap: set[str]) -> None:
        if count:
            self.repo.log.warning(f"the remote had commits we did not; replayed our {count} "
                             "unpushed commit(s) on top of them")
        for path in sorted(overlap):
            self.repo.log.warning(f"{path} was changed both here and on the remote: our version "
                             "is now the tip, theirs stays in history")
