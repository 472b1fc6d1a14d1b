"""Tracking: how our branch stands against the remote's, as the last fetch or push saw it.

Asked of git alone, no GitPython, so that `status` (a monitoring check, run often) costs a
Python start and two short git processes. A ref that does not exist yet is an answer here,
not an error: no local branch has nothing to push, no remote branch lacks everything.
"""

from memory_vault.store.git.runner import GitRunner

PUSHED_REF = "refs/memory-vault/pushed"  # the last tip this clone pushed


def local_ref(branch: str) -> str:
    return f"refs/heads/{branch}"


def remote_ref(branch: str) -> str:
    """Where the clone keeps what it last saw of the remote's branch."""
    return f"refs/remotes/origin/{branch}"


def ahead(git: GitRunner, local_ref: str, remote_ref: str) -> int:
    """Commits on `local_ref` that `remote_ref` does not have (a damaged clone raises: a
    count it cannot make must not read as "nothing to push")."""
    result = git.run("rev-list", "--count", "--ignore-missing", local_ref, f"^{remote_ref}",
                     f"^{PUSHED_REF}")
    return int(result.text or 0)


def is_ancestor(git: GitRunner, older: str, newer: str) -> bool:
    """Is commit `older` in the history of `newer` (`newer` may be a ref that does not
    exist yet: then no)?"""
    return git.run("merge-base", "--is-ancestor", older, newer, check=False).returncode == 0
