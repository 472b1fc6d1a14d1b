"""Pushing: our commits to the remote, replayed on top of it when it moved on.

Not `git rebase`: a textual merge of two versions of a JSON file can produce a file neither
side wrote. Each of our commits instead sets its files to our exact blobs on top of theirs,
so ours becomes the tip and theirs stays in history.
"""

import random
import time

from memory_vault.errors import GitFailed
from memory_vault.store import tracking, trees
from memory_vault.store.git.runner import GitRunner
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

    def unpushed(self) -> int:
        """Commits on our branch the remote does not have (as far as we last heard)."""
        return tracking.ahead(self.repo.git, self.repo.local_ref, self.repo.remote_ref)

    def on_remote(self, sha: str) -> bool:
        """Is `sha` on the remote's branch, as the last fetch or push saw it?"""
        return self.repo.is_ancestor(sha, self.repo.remote_ref)

    def push(self) -> None:
        """Push our branch; when the remote moved on, replay ours on top and try again."""
        spec = f"{self.repo.local_ref}:refs/heads/{self.repo.branch}"
        for _attempt in range(PUSH_TRIES):
            result = self.repo.git.run("push", "--porcelain", "--no-verify", "origin", spec,
                                  network=True, check=False, progress=self.repo.progress)
            if result.returncode == 0:
                return
            if not was_rejected(result.stdout + result.stderr):
                raise self.repo.git.failure(result, network=True)
            if _attempt:
                time.sleep(random.uniform(0, BACKOFF_SECONDS * _attempt))  # noqa: S311
            self.replay_onto_remote()
        raise GitFailed(f"the remote kept moving: push still rejected after {PUSH_TRIES} tries")

    def probe_remote(self) -> None:
        """Ask the remote for our branch (raises NetworkError when it does not answer)."""
        self.repo.git.run("ls-remote", "origin", f"refs/heads/{self.repo.branch}", network=True)

    def fetch(self) -> None:
        fetch_branch(self.repo.git, progress=self.repo.progress)

    def replay_onto_remote(self) -> None:
        """Fetch, then re-create our unpushed commits on top of the remote branch."""
        self.fetch()
        theirs, ours = self.repo.ref(self.repo.remote_ref), self.repo.head()
        if theirs is None:
            return  # an empty remote: the next push sends our whole history
        if ours is None:
            self.repo.git.run("update-ref", self.repo.local_ref, theirs)
            return
        mine = self.repo.git.run("rev-list", "--reverse", ours, f"^{theirs}").text.split()
        base = self.repo.git.run("merge-base", ours, theirs, check=False).text
        theirs_changed = self.repo.paths_between(base or None, theirs)
        tip, overlap = theirs, set[str]()
        for commit in mine:
            changes = trees.path_changes(self.repo.git.run(
                "diff-tree", "-r", "-z", "--raw", "--no-renames", "--root", "--no-commit-id",
                commit).stdout)
            overlap.update(p for p in ("/".join(path) for path in changes)
                           if p in theirs_changed)
            tip = self._recommit(commit, self.repo.splice(self.repo.tree_of(tip), changes), tip)
        self.repo.git.run("update-ref", self.repo.local_ref, tip, ours)
        self._warn_replayed(len(mine) if tip != theirs else 0, overlap)

    def _recommit(self, commit: str, tree: str, parent: str) -> str:
        """`commit` again, with its message and identity, as `tree` on top of `parent`."""
        message = self.repo.git.run("log", "-1", "--format=%B", commit).stdout
        fields = self.repo.git.run("log", "-1", "--format=%an%x00%ae%x00%ad%x00%cn%x00%ce%x00%cd",
                              "--date=raw", commit).text
        return self.repo.git.run("commit-tree", tree, "-p", parent, "-F", "-", input_bytes=message,
                            extra_env=identity_of(fields)).text

    def _warn_replayed(self, count: int, overlap: set[str]) -> None:
        if count:
            self.repo.log.warning(f"the remote had commits we did not; replayed our {count} "
                             "unpushed commit(s) on top of them")
        for path in sorted(overlap):
            self.repo.log.warning(f"{path} was changed both here and on the remote: our version "
                             "is now the tip, theirs stays in history")
