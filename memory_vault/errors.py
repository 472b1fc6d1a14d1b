"""Our exceptions: each carries a message for the user and the exit code of the spec.

They become exit codes in one place (`memory_vault.cli.guard.run_guarded`).
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT: Ctrl-C, as every shell and backup tool reports it


class VaultError(Exception):
    """A failure the user can act on; `str(error)` is the one-line message."""

    exit_code = EXIT_FAILED


class ConfigError(VaultError):
    """A bad setting: nothing has been touched yet. `variable` names it, when one does."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, variable: str | None = None) -> None:
        super().__init__(message)
        self.variable = variable


class UsageError(VaultError):
    """A bad argument on the command line (an unknown file name, a bad date...)."""

    exit_code = EXIT_USAGE


class Interrupted(VaultError):
    """Ctrl-C (SIGINT) stopped the command; the message says what is safe, in one line."""

    exit_code = EXIT_INTERRUPTED

    def __init__(self, what_is_safe: str) -> None:
        super().__init__(f"interrupted: {what_is_safe}")


class LockTimeout(VaultError):
    """Another run kept the lock for longer than we were willing to wait."""


# What kind of trouble a remote gave us (`status` shows it with git's reason).
KIND_NETWORK = "network"
KIND_AUTH = "authentication"
KIND_REFUSED = "refused by the remote"
KIND_GIT = "git"
KIND_SECRET = "secret-refused"  # noqa: S105 (the host found a secret in what we pushed)


class GitFailed(VaultError):
    """A git command failed; the message is already free of secrets."""

    kind = KIND_GIT


class RemoteDamaged(GitFailed):
    """What the remote gave back is not what Memory Vault wrote there (an encrypted version
    damaged or forged): the message names it. The clone is as good as before: a sync keeps
    its commit for the next run, a restore reads the clone."""


class NetworkError(GitFailed):
    """The remote could not be reached or timed out (`kind` network), refused our
    credentials (authentication), or refused the push (refused by the remote)."""

    def __init__(self, message: str, kind: str = KIND_NETWORK) -> None:
        super().__init__(message)
        self.kind = kind
