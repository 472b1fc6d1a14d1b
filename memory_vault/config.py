"""Configuration: command-line option > process environment > env file > default.

Every value is validated here, before anything is touched; a bad one raises `ConfigError`
naming the variable and what it expects. `Config` is a plain slotted class rather than a
dataclass because importing `dataclasses` costs 11 ms on the cron path.
"""

import os

from memory_vault import paths
from memory_vault.envfile import PREFIX, find_env_file, read_env_file
from memory_vault.errors import ConfigError

SEED_FILES = (
    "memory.json",
    "github_copilot_memories.json",
    "gpt4o_memories.json",
    "extendedcontext.json",
    "claude_opus_memories.json",
    "claude_sonnet_memories.json",
    "gemini_pro_memories.json",
    "gpt4_memories.json",
)
DEFAULT_FILES = (*SEED_FILES, "*_memories.json")

# Every variable of the spec with its default as a user would write it ("" = computed).
VARIABLES: dict[str, str] = {
    "MEMORY_VAULT_SOURCE_DIR": "",
    "MEMORY_VAULT_FILES": ",".join(DEFAULT_FILES),
    "MEMORY_VAULT_REMOTE": "",
    "MEMORY_VAULT_HOME": "",
    "MEMORY_VAULT_CLONE_DIR": "",
    "MEMORY_VAULT_SUBDIR": "rAgentShared",
    "MEMORY_VAULT_BRANCH": "main",
    "MEMORY_VAULT_STATE_FILE": "",
    # The spec's paths in /tmp: `logfile` opens them without following links, mode 0600.
    "MEMORY_VAULT_LOG_FILE": "/tmp/memoryvaultsync.log",  # noqa: S108
    "MEMORY_VAULT_ERR_FILE": "/tmp/memoryvaultsync.err",  # noqa: S108
    "MEMORY_VAULT_PUSH": "true",
    "MEMORY_VAULT_VALIDATE_JSON": "true",
    "MEMORY_VAULT_MAX_FILE_MB": "95",
    "MEMORY_VAULT_GIT_TIMEOUT": "60",
    "MEMORY_VAULT_STALE_AFTER": "45",
    "MEMORY_VAULT_AUTHOR_NAME": "Memory Vault",
    "MEMORY_VAULT_AUTHOR_EMAIL": "",
}
_NOT_SETTINGS = {"MEMORY_VAULT_ENV_FILE"}
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_BRANCH_FORBIDDEN = set(" ~^:?*[\\\t\n\r")


class Config:
    """The validated settings of one invocation."""

    __slots__ = (
        "author_email",
        "author_name",
        "branch",
        "clone_dir",
        "embedded",
        "env_file",
        "err_file",
        "files",
        "git_timeout",
        "home",
        "log_file",
        "max_file_bytes",
        "push",
        "remote",
        "source_dir",
        "stale_after_minutes",
        "state_file",
        "subdir",
        "unknown_settings",
        "validate_json",
    )

    def __init__(
        self,
        settings: dict[str, str],
        *,
        cwd: str,
        environ: dict[str, str],
        env_file: str | None = None,
        need_source: bool = True,
    ) -> None:
        self.env_file = env_file
        self.unknown_settings = sorted(k for k in settings if k not in VARIABLES)
        get = _Reader(settings)

        self.source_dir = _folder(get, "MEMORY_VAULT_SOURCE_DIR", cwd, must_exist=need_source)
        self.files = _patterns(get("MEMORY_VAULT_FILES"))
        self.home = _path(get, "MEMORY_VAULT_HOME", cwd) or paths.data_home(environ)
        self.clone_dir = _path(get, "MEMORY_VAULT_CLONE_DIR", cwd) or paths.default_clone(
            self.home)
        self.state_file = _path(get, "MEMORY_VAULT_STATE_FILE", cwd) or (
            paths.default_state_file(self.home))
        self.log_file = _path(get, "MEMORY_VAULT_LOG_FILE", cwd)
        self.err_file = _path(get, "MEMORY_VAULT_ERR_FILE", cwd)
        self.subdir = _subdir(get("MEMORY_VAULT_SUBDIR"))
        self.branch = _branch(get("MEMORY_VAULT_BRANCH"))
        remote = _remote(get("MEMORY_VAULT_REMOTE"), cwd)
        self.embedded = remote is None
        self.remote = remote or paths.embedded_vault(self.home)
        self.push = _boolean(get, "MEMORY_VAULT_PUSH")
        self.validate_json = _boolean(get, "MEMORY_VAULT_VALIDATE_JSON")
        self.max_file_bytes = int(_positive(get, "MEMORY_VAULT_MAX_FILE_MB", "megabytes") * 2**20)
        self.git_timeout = _positive(get, "MEMORY_VAULT_GIT_TIMEOUT", "seconds")
        self.stale_after_minutes = _positive(get, "MEMORY_VAULT_STALE_AFTER", "minutes")
        self.author_name = _identity(get, "MEMORY_VAULT_AUTHOR_NAME")
        self.author_email = _identity(get, "MEMORY_VAULT_AUTHOR_EMAIL") or (
            f"memory-vault@{os.uname().nodename or 'localhost'}"
        )
        for name, path in (("MEMORY_VAULT_HOME", self.home), ("MEMORY_VAULT_CLONE_DIR",
                                                                self.clone_dir)):
            if os.path.exists(path) and not os.path.isdir(path):
                raise ConfigError(f"{name}={path}: exists and is not a folder")

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
        from memory_vault.redact import remote_identity

        return (remote_identity(self.remote), self.branch, self.subdir)

    @property
    def lock_file(self) -> str:
        return paths.lock_file(self.home)

    @property
    def vault_dir(self) -> str:
        """`<clone>/<SUBDIR>`: where the copies live in the working tree."""
        return os.path.join(self.clone_dir, self.subdir)


class _Reader:
    """Looks a variable up in the merged settings, falling back to the spec's default."""

    __slots__ = ("settings",)

    def __init__(self, settings: dict[str, str]) -> None:
        self.settings = settings

    def __call__(self, name: str) -> str:
        value = self.settings.get(name)
        return (VARIABLES[name] if value is None else value).strip()


def load_config(
    *,
    options: dict[str, str] | None = None,
    env_file_option: str | None = None,
    environ: dict[str, str] | None = None,
    cwd: str | None = None,
    need_source: bool = True,
    search_env_file: bool = True,
) -> Config:
    """Merge the four sources by precedence and validate the result."""
    environ = dict(os.environ) if environ is None else environ
    cwd = cwd or os.getcwd()
    env_file = find_env_file(env_file_option, environ, cwd, search=search_env_file)
    settings: dict[str, str] = read_env_file(env_file, environ) if env_file else {}
    settings = {**settings, **_from_environ(environ), **(options or {})}
    return Config(settings, cwd=cwd, environ=environ, env_file=env_file,
                  need_source=need_source)


def _from_environ(environ: dict[str, str]) -> dict[str, str]:
    return {
        k: v for k, v in environ.items() if k.startswith(PREFIX) and k not in _NOT_SETTINGS
    }


def _path(get: _Reader, name: str, cwd: str) -> str:
    value = get(name)
    if not value:
        return ""
    if "\n" in value or "\0" in value:
        raise ConfigError(f"{name}: expected a path on one line")
    return os.path.normpath(os.path.join(cwd, os.path.expanduser(value)))


def _folder(get: _Reader, name: str, cwd: str, *, must_exist: bool) -> str:
    path = _path(get, name, cwd) or cwd
    if must_exist and not os.path.isdir(path):
        what = "is not a folder" if os.path.exists(path) else "no such folder"
        raise ConfigError(f"{name}={path}: {what} (expected the folder holding the memory files)")
    return path


def _patterns(value: str) -> tuple[str, ...]:
    patterns = tuple(p.strip() for p in value.split(",") if p.strip())
    if not patterns:
        raise ConfigError("MEMORY_VAULT_FILES is empty: expected comma-separated names or globs")
    for pattern in patterns:
        parts = pattern.replace("\\", "/").split("/")
        if pattern.startswith(("/", "~")) or ".." in parts or ".git" in parts:
            raise ConfigError(
                f"MEMORY_VAULT_FILES: {pattern!r} must be a name or glob relative to the "
                "source dir (no absolute path, '..' or '.git')"
            )
    return patterns


def _subdir(value: str) -> str:
    parts = [p for p in value.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or value.startswith(("/", "~")) or ".." in parts or ".git" in parts:
        raise ConfigError(
            f"MEMORY_VAULT_SUBDIR={value!r}: expected a relative folder name inside the vault "
            "(no absolute path, '..' or '.git')"
        )
    return "/".join(parts)


def _branch(value: str) -> str:
    bad = (
        not value
        or value.startswith(("-", "/", "."))
        or value.endswith(("/", ".lock", "."))
        or ".." in value
        or "@{" in value
        or "//" in value
        or any(c in _BRANCH_FORBIDDEN or ord(c) < 32 for c in value)
    )
    if bad:
        raise ConfigError(f"MEMORY_VAULT_BRANCH={value!r}: expected a valid git branch name")
    return value


def _remote(value: str, cwd: str) -> str | None:
    if not value:
        return None
    if value.startswith("-") or any(c in value for c in "\n\r\0"):
        raise ConfigError(
            "MEMORY_VAULT_REMOTE: expected a git URL or path (one line, not starting with '-')"
        )
    if "://" in value or (":" in value.split("/", 1)[0] and not value.startswith(".")):
        return value  # a URL, or scp-like user@host:path
    return os.path.normpath(os.path.join(cwd, os.path.expanduser(value)))


def _boolean(get: _Reader, name: str) -> bool:
    value = get(name).lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={get(name)!r}: expected true or false")


def _positive(get: _Reader, name: str, unit: str) -> float:
    raw = get(name)
    try:
        number = float(raw)
    except ValueError:
        number = -1.0
    if not (0 < number < float("inf")):
        raise ConfigError(f"{name}={raw!r}: expected a positive number of {unit}")
    return number


def _identity(get: _Reader, name: str) -> str:
    value = get(name)
    if any(c in value for c in "<>\n\r\0"):
        raise ConfigError(f"{name}={value!r}: expected one line without '<' or '>'")
    if name.endswith("_NAME") and not value:
        raise ConfigError(f"{name} is empty: expected the commit author's name")
    return value
