"""Probe: whether the remote answers, asked without the clone (`doctor`).

One `git ls-remote` of our branch through the git runner: credentials through the
environment, prompts off, killed at `MEMORY_VAULT_GIT_TIMEOUT`. Nothing is created or
changed, so it can be asked before `init`, and of a clone that is damaged or missing.
"""

from memory_vault.settings.load import Config
from memory_vault.store.git.credentials import remote_credentials
from memory_vault.store.git.runner import GitRunner
from memory_vault.urls import Redactor, split_credentials


class Answer:
    """The remote answered: its branch's tip, or None when it has no such branch yet."""

    __slots__ = ("tip",)

    def __init__(self, tip: str | None) -> None:
        self.tip = tip


def ask_remote(config: Config) -> Answer:
    """List the remote's branch; raises `GitFailed` (a `NetworkError` with its kind when the
    network, the credentials or the host are the trouble) when it does not answer."""
    user, password, origin = remote_credentials(config.remote)
    runner = GitRunner("/", redactor=Redactor.for_remote(config.remote),
                       timeout=config.git_timeout, credentials=(user, password),
                       credential_origin=origin)
    url = split_credentials(config.remote)[0]
    listed = runner.run("ls-remote", "--", url, f"refs/heads/{config.branch}",
                        network=True).text
    return Answer(listed.split()[0] if listed else None)
