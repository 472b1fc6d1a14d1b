"""Load: command-line option > process environment > env file > default, validated.

Every value is validated (`settings.validate`) before anything is touched; a bad one raises
`ConfigError` naming the variable, where it came from and what it expects. `Config` is a
plain slotted class rather than a dataclass because importing `dataclasses` costs 11 ms on
the cron path.
"""

import os

from memory_vault.settings import paths
from memory_vault.settings import validate as check
from memory_vault.settings.envfile import PREFIX, find_env_file, read_env_file
from memory_vault.settings.schema import MAX_TIMEOUT_SECONDS, RENAMED, VARIABLES

# Not settings: where the settings are, and the checkout script's own hand-over to its .venv
# (`sync_memory_vault.py` sets it for the Python it starts).
_NOT_SETTINGS = {"MEMORY_VAULT_ENV_FILE", "MEMORY_VAULT_NO_REEXEC"}
COMMAND_LINE = "the command line"
ENVIRONMENT = "the environment"


class Config:
    """The validated settings of one invocation."""

    __slots__ = (
        "author_email",
        "author_name",
        "branch",
        "clone_dir",
        "embedded",
        "encrypt",
        "env_file",
        "err_file",
        "exclude",
        "files",
        "git_timeout",
        "home",
        "identity_file",
        "log_file",
        "max_file_bytes",
        "origins",
        "ping_url",
        "push",
        "recipients",
        "remote",
        "secrets",
        "shrink_alert",
        "source_dir",
        "stale_after_minutes",
        "state_file",
        "subdir",
        "unknown_settings",
        "validate",
    )

    def __init__(
        self,
        settings: dict[str, str],
        *,
        cwd: str,
        environ: dict[str, str],
        env_file: str | None = None,
        need_source: bool = True,
        origins: dict[str, str] | None = None,
    ) -> None:
        self.env_file = env_file
        self.origins = origins or {}  # name as given -> where it came from (`doctor`)
        self.unknown_settings = sorted(
            k for k in settings if k not in VARIABLES and k not in RENAMED)
        get = check.Reader(settings, origins or {})
        self.source_dir = check.folder(get, "MEMORY_VAULT_SOURCE_DIR", cwd, must_exist=need_source)
        self.files = check.patterns(get)
        self.exclude = check.patterns(get, "MEMORY_VAULT_EXCLUDE", required=False)
        self.home = check.path(get, "MEMORY_VAULT_HOME", cwd) or paths.data_home(environ)
        self.clone_dir = check.path(get, "MEMORY_VAULT_CLONE_DIR", cwd) or paths.default_clone(
            self.home)
        self.state_file = check.path(get, "MEMORY_VAULT_STATE_FILE", cwd) or (
            paths.default_state_file(self.home))
        self.log_file = check.path(get, "MEMORY_VAULT_LOG_FILE", cwd)
        self.err_file = check.path(get, "MEMORY_VAULT_ERR_FILE", cwd)
        self.subdir = check.subdir(get)
        self.branch = check.branch(get)
        remote = check.remote(get, cwd)
        self.embedded = remote is None
        self.remote = remote or paths.embedded_vault(self.home)
        self.push = check.boolean(get, "MEMORY_VAULT_PUSH")
        self.validate = check.boolean(get, "MEMORY_VAULT_VALIDATE")
        self.max_file_bytes = int(check.number(get, "MEMORY_VAULT_MAX_FILE_MB", "megabytes",
                                          maximum=1e6) * 2**20)
        self.git_timeout = check.number(get, "MEMORY_VAULT_GIT_TIMEOUT", "seconds",
                                   maximum=MAX_TIMEOUT_SECONDS)
        self.stale_after_minutes = check.number(get, "MEMORY_VAULT_STALE_AFTER", "minutes",
                                           maximum=1e7)
        self.shrink_alert = check.number(get, "MEMORY_VAULT_SHRINK_ALERT", "percent", maximum=100,
                                    zero=True)
        self.ping_url = check.ping_url(get)
        self.secrets = check.choice(get, "MEMORY_VAULT_SECRETS", ("redact", "refuse", "off"))
        self.encrypt = check.encryption(get, embedded=self.embedded)
        self.identity_file = check.path(get, "MEMORY_VAULT_IDENTITY", cwd) or (
            paths.identity_file(environ))
        self.recipients = check.recipients(get)
        self.author_name = check.identity(get, "MEMORY_VAULT_AUTHOR_NAME")
        self.author_email = check.identity(get, "MEMORY_VAULT_AUTHOR_EMAIL") or (
            f"memory-vault@{os.uname().nodename or 'localhost'}"
        )
        self._check_places(get)

    def _check_places(self, get: check.Reader) -> None:
        """Folders that must be folders, a state file that must be a file, and a clone that
        must not be the embedded vault (or sit inside it)."""
        for name, path in (("MEMORY_VAULT_HOME", self.home),
                           ("MEMORY_VAULT_CLONE_DIR", self.clone_dir)):
            if os.path.exists(path) and not os.path.isdir(path):
                get.fail(name, "exists and is not a folder", shown=path)
        if os.path.lexists(self.state_file) and not check.regular_file(self.state_file):
            get.fail("MEMORY_VAULT_STATE_FILE", "is not a regular file (expected a file "
                     "Memory Vault may replace)", shown=self.state_file)
        if self.embedded:
            vault = os.path.realpath(self.remote)
            clone = os.path.realpath(self.clone_dir)
            if clone == vault or clone.startswith(vault + os.sep) or vault.startswith(
                    clone + os.sep):
                get.fail("MEMORY_VAULT_CLONE_DIR", f"overlaps the embedded vault {self.remote} "
                         "(expected a folder of its own)", shown=self.clone_dir)

    def with_clone_dir(self, clone_dir: str) -> "Config":
        """The same settings with another clone (a throw-away clone for a dry run)."""
        copy = object.__new__(Config)
        for name in Config.__slots__:
            setattr(copy, name, getattr(self, name))
        copy.clone_dir = clone_dir
        return copy

    @property
    def vault_identity(self) -> tuple[str, str, str]:
        """What `.last_sync` describes: the remote (without credentials), branch, subdir."""
        from memory_vault.urls import remote_identity

        return (remote_identity(self.remote), self.branch, self.subdir)

    @property
    def acks_file(self) -> str:
        return paths.acks_file(self.home)

    @property
    def lock_file(self) -> str:
        return paths.lock_file(self.home)


def load_config(
    *,
    options: dict[str, str] | None = None,
    env_file_option: str | None = None,
    environ: dict[str, str] | None = None,
    cwd: str | None = None,
    need_source: bool = True,
    search_env_file: bool = True,
) -> Config:
    """Merge the four sources by precedence, remembering where each value came from, and
    validate the result."""
    environ = dict(os.environ) if environ is None else environ
    cwd = cwd or os.getcwd()
    env_file = find_env_file(env_file_option, environ, cwd, search=search_env_file)
    layers = [
        (read_env_file(env_file, environ) if env_file else {}, f"the env file {env_file}"),
        (_from_environ(environ), ENVIRONMENT),
        (options or {}, COMMAND_LINE),
    ]
    settings: dict[str, str] = {}
    origins: dict[str, str] = {}
    for values, origin in layers:
        for name, value in values.items():
            settings[name] = value
            origins[name] = origin
    return Config(settings, cwd=cwd, environ=environ, env_file=env_file,
                  need_source=need_source, origins=origins)


def _from_environ(environ: dict[str, str]) -> dict[str, str]:
    return {
        k: v for k, v in environ.items() if k.startswith(PREFIX) and k not in _NOT_SETTINGS
    }


