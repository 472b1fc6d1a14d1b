"""Our exceptions: each carries a message for the user and the exit code of the spec.

The CLI turns them into exit codes in one place (`memory_vault.cli`).
"""

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3


class VaultError(Exception):
    """A failure the user can act on; `str(error)` is the one-line message."""

    exit_code = EXIT_FAILED


class ConfigError(VaultError):
    """A bad setting: nothing has been touched yet."""

    exit_code = EXIT_USAGE


class UsageError(VaultError):
    """A bad argument on the command line (an unknown file name, a bad date...)."""

    exit_code = EXIT_USAGE


class LockTimeout(VaultError):
    """Another run kept the lock for longer than we were willing to wait."""


class GitFailed(VaultError):
    """A git command failed; the message is already free of secrets."""


class NetworkError(GitFailed):
    """The remote could not be reached, timed out, or refused our credentials."""
