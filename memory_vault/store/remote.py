"""Pushing: our commits to the remote, replayed on top of it when it moved on.

Not `git rebase`: a textual merge of two versions of a JSON file can produce a file neither
side wrote. Each of our commits instead sets its files to our exact blobs on top of theirs,
so ours becomes the tip and theirs stays in history.
"""

import random
import time

from memory_vault.errors import GitFailed
from memory_vault.store import refusal, tracking, trailers, trees
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
        target = f"refs/heads/{self.repo.branch}"
        spec = f"{self.repo.local_ref}:{target}"
        for _attempt in range(PUSH_TRIES):
            seen = self.repo.ref(self.repo.remote_ref)
            if seen is not None and not self.repo.is_ancestor(seen, self.repo.local_ref):
                self.replay_onto_remote()  # ours must build on theirs: the lease never forces
                seen = self.repo.ref(self.repo.remote_ref)
            lease = f"--force-with-lease={target}:{seen or ''}"
            result = self.repo.git.run("push", "--porcelain", "--no-verify", lease, "origin",
                                       spec, network=True, check=False,
                                       progress=self.repo.progress)
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
        fetch_branch(self.repo.git, progress=self.repo.progress)

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
