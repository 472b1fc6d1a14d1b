"""Effective settings: each setting's value in force and where it came from (`doctor`).

The value is the validated one the program uses (paths absolute, a computed default filled
in, credentials masked); the origin is the layer that gave it, as `settings.load` recorded
it: an option, the environment, the env file (which one), or the default.
"""

from collections.abc import Callable

from memory_vault.settings.load import COMMAND_LINE, ENVIRONMENT, Config
from memory_vault.settings.schema import RENAMED, SETTINGS
from memory_vault.urls import Redactor

OPTION, FROM_ENVIRONMENT, ENV_FILE, DEFAULT = "option", "environment", "env file", "default"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _number(value: float) -> str:
    return f"{value:g}"


# Each setting's value as the program uses it (a new setting needs its row: a test says so).
VALUES: dict[str, Callable[[Config], str]] = {
    "MEMORY_VAULT_SOURCE_DIR": lambda c: c.source_dir,
    "MEMORY_VAULT_FILES": lambda c: ",".join(c.files),
    "MEMORY_VAULT_EXCLUDE": lambda c: ",".join(c.exclude),
    "MEMORY_VAULT_REMOTE": lambda c: c.remote,
    "MEMORY_VAULT_HOME": lambda c: c.home,
    "MEMORY_VAULT_CLONE_DIR": lambda c: c.clone_dir,
    "MEMORY_VAULT_SUBDIR": lambda c: c.subdir,
    "MEMORY_VAULT_BRANCH": lambda c: c.branch,
    "MEMORY_VAULT_STATE_FILE": lambda c: c.state_file,
    "MEMORY_VAULT_LOG_FILE": lambda c: c.log_file,
    "MEMORY_VAULT_ERR_FILE": lambda c: c.err_file,
    "MEMORY_VAULT_PUSH": lambda c: _flag(c.push),
    "MEMORY_VAULT_VALIDATE": lambda c: _flag(c.validate),
    "MEMORY_VAULT_MAX_FILE_MB": lambda c: _number(c.max_file_bytes / 2**20),
    "MEMORY_VAULT_GIT_TIMEOUT": lambda c: _number(c.git_timeout),
    "MEMORY_VAULT_STALE_AFTER": lambda c: _number(c.stale_after_minutes),
    "MEMORY_VAULT_SHRINK_ALERT": lambda c: _number(c.shrink_alert),
    "MEMORY_VAULT_SECRETS": lambda c: c.secrets,
    "MEMORY_VAULT_ENCRYPT": lambda c: c.encrypt or "off",
    "MEMORY_VAULT_IDENTITY": lambda c: c.identity_file,
    "MEMORY_VAULT_RECIPIENTS": lambda c: ",".join(c.recipients),
    "MEMORY_VAULT_PING_URL": lambda c: c.ping_url,
    "MEMORY_VAULT_AUTHOR_NAME": lambda c: c.author_name,
    "MEMORY_VAULT_AUTHOR_EMAIL": lambda c: c.author_email,
}


class Effective:
    """One setting in force: its value, the name it was given under (an old name, say),
    where it came from, and the env file when it came from one."""

    __slots__ = ("file", "given_as", "name", "origin", "value")

    def __init__(self, name: str, value: str, origin: str, *, given_as: str,
                 file: str | None) -> None:
        self.name = name
        self.value = value
        self.origin = origin
        self.given_as = given_as
        self.file = file

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "value": self.value, "origin": self.origin,
                "file": self.file, **({"given_as": self.given_as}
                                      if self.given_as != self.name else {})}


def effective_settings(config: Config) -> list[Effective]:
    """Every setting of the schema, in its order."""
    mask = Redactor.for_remote(config.remote, config.ping_url).clean
    found = []
    for setting in SETTINGS:
        name = setting.name
        given_as = name if name in config.origins else next(
            (old for old, new in RENAMED.items() if new == name and old in config.origins), name)
        origin = _origin(config.origins.get(given_as))
        found.append(Effective(name, mask(VALUES[name](config)), origin, given_as=given_as,
                               file=config.env_file if origin == ENV_FILE else None))
    return found


def _origin(recorded: str | None) -> str:
    if recorded is None:
        return DEFAULT
    return {COMMAND_LINE: OPTION, ENVIRONMENT: FROM_ENVIRONMENT}.get(recorded, ENV_FILE)


def as_the_job_sees(env_file: str | None, environ: dict[str, str]) -> Config:
    """The settings a scheduled job runs with: a bare environment (HOME, no MEMORY_VAULT_*
    or XDG variables), started in HOME, reading `env_file` (else the one found from HOME).
    Raises ConfigError as the job would fail."""
    from memory_vault.settings import paths
    from memory_vault.settings.load import load_config

    home = paths.home_dir(environ)
    kept = ("HOME", "USER", "LOGNAME", "PATH")
    bare: dict[str, str] = {k: environ[k] for k in kept if k in environ}
    return load_config(env_file_option=env_file, environ=bare, cwd=home)


def differences(here: Config, job: Config) -> list[str]:
    """The settings whose value the job does not share with this command."""
    return [s.name for s in SETTINGS if VALUES[s.name](here) != VALUES[s.name](job)]
