"""Reach: whether the remote answers, and whether the vault is off this machine (`doctor`).

A remote that answers on this same disk keeps every version, but not from a dead disk or a
lost laptop: the embedded vault, or any path on the memory's own disk, is a note ("no copy
off this machine yet"), a host elsewhere is the real thing.
"""

from pathlib import Path

from memory_vault.errors import KIND_AUTH, KIND_NETWORK, GitFailed, NetworkError
from memory_vault.health.finding import NOTE, OK, PROBLEM, Finding
from memory_vault.results import command_name
from memory_vault.settings.load import Config
from memory_vault.urls import Redactor


class Reach:
    """What was learned of the remote: whether it answered, its branch's tip, and whether
    it is off this machine."""

    __slots__ = ("answers", "embedded", "off_machine", "tip", "url")

    def __init__(self, config: Config) -> None:
        self.url = Redactor.for_remote(config.remote).clean(config.remote)
        self.embedded = config.embedded
        self.answers: bool | None = None  # None: not asked (an embedded vault not made yet)
        self.tip: str | None = None
        self.off_machine = False

    def as_dict(self) -> dict[str, object]:
        return {"url": self.url, "embedded": self.embedded, "answers": self.answers,
                "tip": self.tip, "off_machine": self.off_machine}


def remote_finding(config: Config, reach: Reach) -> Finding:
    """Ask the remote for our branch, bounded by MEMORY_VAULT_GIT_TIMEOUT."""
    from memory_vault.store.probe import ask_remote

    shown = reach.url
    if config.embedded and not Path(config.remote).is_dir():
        return Finding("remote", NOTE, f"the embedded vault {shown} is not made yet",
                       f"`{command_name()} --now` makes it with a first backup")
    try:
        answer = ask_remote(config)
    except GitFailed as exc:
        reach.answers = False
        return Finding("remote", PROBLEM, f"{shown} does not answer: {exc}", _fix(exc, shown))
    reach.answers, reach.tip = True, answer.tip
    branch = config.branch
    return Finding("remote", OK, f"{shown} answers: " + (
        f"its {branch} is at {answer.tip[:12]}" if answer.tip else
        f"it has no {branch} yet (the next sync pushes it)"))


def _fix(exc: GitFailed, shown: str) -> str:
    kind = exc.kind if isinstance(exc, NetworkError) else ""
    if kind == KIND_AUTH:
        return ("check the credentials: the token in MEMORY_VAULT_REMOTE, or the ssh key "
                "(`ssh -T` the host once by hand to accept its key)")
    if kind == KIND_NETWORK:
        return (f"check the network and the host of {shown}; meanwhile backups wait in the "
                "clone and are pushed once it answers")
    return (f"check MEMORY_VAULT_REMOTE: {shown} must be a git repository this user can "
            f"read and write (`git ls-remote {shown}`)")


def copy_finding(config: Config, reach: Reach) -> Finding:
    """Is there a copy off this machine: a remote elsewhere, with pushes on?"""
    shown = reach.url
    todo = (f"create a private repository elsewhere, then `{command_name()} init --remote "
            "URL` (git@github.com:you/memory-vault.git, say): the history moves there")
    place = local_path(config.remote)
    if place is not None:
        vault = "the embedded vault" if config.embedded else "the vault"
        where = ("on the same disk as the memory" if _same_disk(place, config.source_dir)
                 else "on another disk of this machine")
        return Finding("copy", NOTE, f"{vault} {shown} is {where}: no copy off this machine "
                                     "yet", todo)
    reach.off_machine = config.push
    if not config.push:
        return Finding("copy", NOTE, "MEMORY_VAULT_PUSH=false: commits stay in the clone, no "
                                     "copy leaves this machine",
                       "set MEMORY_VAULT_PUSH=true (the next sync pushes what waits)")
    if reach.answers is False:
        return Finding("copy", NOTE, f"the vault is off this machine, at {shown}, which does "
                                     "not answer now: the copy there may be behind (see remote)")
    return Finding("copy", OK, f"the vault is off this machine, at {shown}")


def local_path(remote: str) -> str | None:
    """The folder a remote on this machine is in (a path or a file:// URL); None for a host."""
    if remote.startswith("file://"):
        return remote.removeprefix("file://")
    if "://" in remote or (":" in remote.split("/", 1)[0] and not remote.startswith(".")):
        return None
    return remote


def _same_disk(one: str, other: str) -> bool:
    return _device(one) == _device(other)


def _device(path: str) -> int:
    """The file system of `path`, or of its nearest folder that exists."""
    for place in [Path(path).absolute(), *Path(path).absolute().parents]:
        try:
            return place.stat().st_dev
        except OSError:
            continue
    return -1
