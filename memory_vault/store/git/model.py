"""Model: the one module that uses GitPython, and only to read (refs, config, HEAD).

Reading a ref or a config value with GitPython costs no process; everything that changes a
repository, or could touch the network, goes through `gitrun` instead, whose rules (no
prompt, a timeout, the run lock inherited, secrets redacted) hold for every git we start.
"""

import os

# Without git on PATH, GitPython raises at import; let our runner say it in one line instead.
os.environ.setdefault("GIT_PYTHON_REFRESH", "quiet")

import git


class CloneFacts:
    """What a folder holds, as far as being our clone goes."""

    __slots__ = ("bare", "head_ref", "origin_url", "problem", "sealed", "tuning")

    def __init__(self) -> None:
        self.problem: str | None = None  # why it cannot be read as a repository
        self.bare = False
        self.origin_url: str | None = None
        self.head_ref: str | None = None  # None: detached
        self.tuning = ""
        self.sealed = False  # its remote is an encrypted vault (`memory-vault.sealed`)


def read_ref(repo_path: str, ref: str) -> str | None:
    """The sha a ref points to (loose or packed), or None; no git process."""
    try:
        with git.Repo(repo_path) as repo:
            return str(git.SymbolicReference.dereference_recursive(repo, ref))
    except (ValueError, OSError, git.GitError):
        return None


def tuning_version(repo_path: str) -> str:
    try:
        with git.Repo(repo_path) as repo:
            return str(repo.config_reader().get_value("memory-vault", "tuning", ""))
    except (OSError, ValueError, git.GitError):
        return ""


def inspect_clone(path: str) -> CloneFacts:
    facts = CloneFacts()
    try:
        repo = git.Repo(path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        facts.problem = "it is not a git repository"
        return facts
    try:
        facts.bare = repo.bare or repo.working_tree_dir is None
        if "origin" in [r.name for r in repo.remotes]:
            facts.origin_url = repo.remote("origin").url
        facts.head_ref = None if repo.head.is_detached else repo.head.reference.path
        config = repo.config_reader()
        facts.tuning = str(config.get_value("memory-vault", "tuning", ""))
        facts.sealed = str(config.get_value("memory-vault", "sealed", "")).lower() == "true"
    except (ValueError, OSError, git.GitError) as exc:
        facts.problem = f"it cannot be read ({exc})"
    finally:
        repo.close()
    return facts
