"""Model: a repository's refs, HEAD and config, read without changing anything.

Refs and HEAD are read from the repository's own files (a loose ref, else `packed-refs`; a
symbolic ref followed): no process, no library. The config is read by git itself (`git
config --list` of the repository's file, its includes followed), through the runner, so
that its syntax is git's own. GitPython did this before; its import alone cost 40 ms of
every sync that had something to commit (issue 26).
"""

import os

from memory_vault.errors import GitFailed
from memory_vault.store.git.runner import GitRunner

_HEX = frozenset("0123456789abcdef")
_TRUE = ("true", "yes", "on", "1")
_SYMBOLIC_DEPTH = 5  # git's own limit on symbolic refs pointing at symbolic refs


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


def git_dir_of(path: str) -> tuple[str, bool] | None:
    """(the git directory, whether it is bare) of the repository at `path`, or None: a
    work tree's `.git` (a folder, or a file naming one), else `path` itself when it is a
    git directory (a bare repository)."""
    dot = os.path.join(path, ".git")
    if os.path.isfile(dot):
        try:
            with open(dot, encoding="utf-8") as handle:
                line = handle.readline()
        except (OSError, UnicodeDecodeError):
            return None
        if not line.startswith("gitdir: "):
            return None
        dot = os.path.join(path, line[len("gitdir: "):].strip())
    if _is_git_dir(dot):
        return dot, False
    return (path, True) if _is_git_dir(path) else None


def _is_git_dir(folder: str) -> bool:
    return (os.path.isdir(os.path.join(folder, "objects"))
            and os.path.isdir(os.path.join(folder, "refs"))
            and os.path.isfile(os.path.join(folder, "HEAD")))


def read_ref(repo_path: str, ref: str) -> str | None:
    """The sha a ref points to (loose or packed), or None; no git process."""
    found = git_dir_of(repo_path)
    if found is None:
        return None
    git_dir = found[0]
    for _ in range(_SYMBOLIC_DEPTH):
        value = _loose(git_dir, ref)
        if value is None:
            return _packed(git_dir, ref)
        if not value.startswith("ref: "):
            return value if _is_sha(value) else None
        ref = value[len("ref: "):].strip()
    return None


def _loose(git_dir: str, ref: str) -> str | None:
    if ".." in ref.split("/"):
        return None
    try:
        with open(os.path.join(git_dir, ref), encoding="utf-8") as handle:
            return handle.read().strip()
    except (OSError, UnicodeDecodeError):  # none there (or a folder of refs): not loose
        return None


def _packed(git_dir: str, ref: str) -> str | None:
    try:
        with open(os.path.join(git_dir, "packed-refs"), encoding="utf-8") as handle:
            for line in handle:
                sha, _, name = line.rstrip("\n").partition(" ")
                if name == ref and _is_sha(sha):
                    return sha
    except (OSError, UnicodeDecodeError):
        return None
    return None


def _is_sha(value: str) -> bool:
    return len(value) in (40, 64) and set(value) <= _HEX


def config_of(runner: GitRunner, git_dir: str) -> dict[str, str]:
    """The repository's own config (its includes followed), by git: `section.key` (and
    `section.subsection.key`) -> the last value set. Raises GitFailed when git cannot
    read it."""
    path = os.path.join(git_dir, "config")
    if not os.path.isfile(path):
        return {}
    out = runner.run("config", "-z", "--includes", "--file", path, "--list",
                     cwd=git_dir).stdout.decode("utf-8", "surrogateescape")
    config = {}
    for record in out.split("\0"):
        if record:
            key, _, value = record.partition("\n")
            config[key] = value
    return config


def tuning_version(runner: GitRunner, repo_path: str) -> str:
    found = git_dir_of(repo_path)
    if found is None:
        return ""
    try:
        return config_of(runner, found[0]).get("memory-vault.tuning", "")
    except GitFailed:
        return ""


def inspect_clone(runner: GitRunner, path: str) -> CloneFacts:
    facts = CloneFacts()
    found = git_dir_of(path)
    if found is None:
        facts.problem = "it is not a git repository"
        return facts
    git_dir, bare = found
    try:
        config = config_of(runner, git_dir)
        head = _head(git_dir)
    except (OSError, GitFailed) as exc:
        facts.problem = f"it cannot be read ({exc})"
        return facts
    facts.bare = bare or config.get("core.bare", "").lower() in _TRUE
    facts.origin_url = config.get("remote.origin.url")
    facts.head_ref = head
    facts.tuning = config.get("memory-vault.tuning", "")
    facts.sealed = config.get("memory-vault.sealed", "").lower() == "true"
    return facts


def _head(git_dir: str) -> str | None:
    """The ref HEAD names (None: detached). Raises OSError when there is no HEAD."""
    head = os.path.join(git_dir, "HEAD")
    if os.path.islink(head):  # the symlink HEAD of an old git
        return os.readlink(head)
    with open(head, encoding="utf-8", errors="replace") as handle:
        value = handle.read().strip()
    return value[len("ref: "):].strip() if value.startswith("ref: ") else None
