"""Settings: command-line option > process environment > env file > default, validated.

`SETTINGS` is the one table of every variable (its default as a user would write it and one
line of help); `.env.example` and the README's table are generated from it and a test keeps
them equal. Every value is validated here, before anything is touched; a bad one raises
`ConfigError` naming the variable, where it came from and what it expects. `Config` is a
plain slotted class rather than a dataclass because importing `dataclasses` costs 11 ms on
the cron path.
"""

import os

from memory_vault.errors import ConfigError
from memory_vault.settings import paths
from memory_vault.settings.envfile import PREFIX, find_env_file, read_env_file

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
DEFAULT_FILES = (*SEED_FILES, "*_memories.json", "memory.jsonl")
MAX_TIMEOUT_SECONDS = 86400.0  # a day: anything larger is a typo, and overflows timers
MAX_NAME_BYTES = 255  # a file or folder name, on every file system we know


class Setting:
    """One variable: its name, its default as a user would write it ("" = computed or
    none), a one-line description and, for computed defaults, what the default is."""

    __slots__ = ("default", "help", "name", "shown_default")

    def __init__(self, name: str, default: str, help_text: str, shown_default: str = ""):
        self.name = name
        self.default = default
        self.help = help_text
        self.shown_default = shown_default or (f"`{default}`" if default else "none")


SETTINGS = (
    Setting("MEMORY_VAULT_SOURCE_DIR", "", "folder that holds the memory files",
            "current directory"),
    Setting("MEMORY_VAULT_FILES", ",".join(DEFAULT_FILES),
            "comma-separated names or glob patterns, relative to the source dir; they may "
            "name subfolders (`memory-bank/*.md`) and `**` matches zero or more folders",
            "the eight files of the seed, plus `*_memories.json` and `memory.jsonl`"),
    Setting("MEMORY_VAULT_REMOTE", "", "git URL or path of the backup repository",
            "embedded: a bare repository `$MEMORY_VAULT_HOME/vault.git`, created on first use"),
    Setting("MEMORY_VAULT_HOME", "", "data folder: clone, state, lock",
            "`$XDG_DATA_HOME/memory-vault` (`~/.local/share/memory-vault`)"),
    Setting("MEMORY_VAULT_CLONE_DIR", "", "the local clone", "`$MEMORY_VAULT_HOME/clone`"),
    Setting("MEMORY_VAULT_SUBDIR", "rAgentShared", "folder inside the vault"),
    Setting("MEMORY_VAULT_BRANCH", "main", "branch"),
    Setting("MEMORY_VAULT_STATE_FILE", "", "the `.last_sync` file",
            "`$MEMORY_VAULT_HOME/.last_sync`"),
    # The spec's paths in /tmp: `logfile` opens them without following links, mode 0600.
    Setting("MEMORY_VAULT_LOG_FILE", "/tmp/memoryvaultsync.log", "info log"),  # noqa: S108
    Setting("MEMORY_VAULT_ERR_FILE", "/tmp/memoryvaultsync.err", "error log"),  # noqa: S108
    Setting("MEMORY_VAULT_PUSH", "true", "push after commit (`true`/`false`)"),
    Setting("MEMORY_VAULT_VALIDATE", "true",
            "skip files that do not validate in their format; `MEMORY_VAULT_VALIDATE_JSON`, "
            "the old name, is still read"),
    Setting("MEMORY_VAULT_MAX_FILE_MB", "95", "larger files are skipped (hosts reject >100 MB)"),
    Setting("MEMORY_VAULT_GIT_TIMEOUT", "60",
            "seconds allowed for one network operation"),
    Setting("MEMORY_VAULT_STALE_AFTER", "45",
            "minutes after which `status` calls the backup stale"),
    Setting("MEMORY_VAULT_SHRINK_ALERT", "50",
            "percent of its records a file may lose in one version before it raises a "
            "shrink alarm; `0` turns it off"),
    Setting("MEMORY_VAULT_PING_URL", "",
            "heartbeat URL pinged by each sync (healthchecks.io and its peers: `URL/start`, "
            "`URL`, `URL/fail`)"),
    Setting("MEMORY_VAULT_AUTHOR_NAME", "Memory Vault", "commit author's name"),
    Setting("MEMORY_VAULT_AUTHOR_EMAIL", "", "commit author's email",
            "`memory-vault@<hostname>`"),
)
VARIABLES: dict[str, str] = {s.name: s.default for s in SETTINGS}
_NOT_SETTINGS = {"MEMORY_VAULT_ENV_FILE"}
RENAMED = {"MEMORY_VAULT_VALIDATE_JSON": "MEMORY_VAULT_VALIDATE"}  # old name -> new name
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_BRANCH_FORBIDDEN = set(" ~^:?*[\\\x7f")
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
        "env_file",
        "err_file",
        "files",
        "git_timeout",
        "home",
        "log_file",
        "max_file_bytes",
        "ping_url",
        "push",
        "remote",
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
        self.unknown_settings = sorted(
            k for k in settings if k not in VARIABLES and k not in RENAMED)
        get = _Reader(settings, origins or {})
        self.source_dir = _folder(get, "MEMORY_VAULT_SOURCE_DIR", cwd, must_exist=need_source)
        self.files = _patterns(get)
        self.home = _path(get, "MEMORY_VAULT_HOME", cwd) or paths.data_home(environ)
        self.clone_dir = _path(get, "MEMORY_VAULT_CLONE_DIR", cwd) or paths.default_clone(
            self.home)
        self.state_file = _path(get, "MEMORY_VAULT_STATE_FILE", cwd) or (
            paths.default_state_file(self.home))
        self.log_file = _path(get, "MEMORY_VAULT_LOG_FILE", cwd)
        self.err_file = _path(get, "MEMORY_VAULT_ERR_FILE", cwd)
        self.subdir = _subdir(get)
        self.branch = _branch(get)
        remote = _remote(get, cwd)
        self.embedded = remote is None
        self.remote = remote or paths.embedded_vault(self.home)
        self.push = _boolean(get, "MEMORY_VAULT_PUSH")
        self.validate = _boolean(get, "MEMORY_VAULT_VALIDATE")
        self.max_file_bytes = int(_number(get, "MEMORY_VAULT_MAX_FILE_MB", "megabytes",
                                          maximum=1e6) * 2**20)
        self.git_timeout = _number(get, "MEMORY_VAULT_GIT_TIMEOUT", "seconds",
                                   maximum=MAX_TIMEOUT_SECONDS)
        self.stale_after_minutes = _number(get, "MEMORY_VAULT_STALE_AFTER", "minutes",
                                           maximum=1e7)
        self.shrink_alert = _number(get, "MEMORY_VAULT_SHRINK_ALERT", "percent", maximum=100,
                                    zero=True)
        self.ping_url = _ping_url(get)
        self.author_name = _identity(get, "MEMORY_VAULT_AUTHOR_NAME")
        self.author_email = _identity(get, "MEMORY_VAULT_AUTHOR_EMAIL") or (
            f"memory-vault@{os.uname().nodename or 'localhost'}"
        )
        self._check_places(get)

    def _check_places(self, get: "_Reader") -> None:
        """Folders that must be folders, a state file that must be a file, and a clone that
        must not be the embedded vault (or sit inside it)."""
        for name, path in (("MEMORY_VAULT_HOME", self.home),
                           ("MEMORY_VAULT_CLONE_DIR", self.clone_dir)):
            if os.path.exists(path) and not os.path.isdir(path):
                get.fail(name, "exists and is not a folder", shown=path)
        if os.path.lexists(self.state_file) and not _regular_file(self.state_file):
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
    def lock_file(self) -> str:
        return paths.lock_file(self.home)


class _Reader:
    """Looks a variable up in the merged settings (an old name standing for its new one),
    and words the error for a bad value: the name the user wrote and where it came from."""

    __slots__ = ("origins", "settings")

    def __init__(self, settings: dict[str, str], origins: dict[str, str]) -> None:
        self.settings = settings
        self.origins = origins

    def _source(self, name: str) -> str:
        """The name under which the value was given (the new name, else an old one)."""
        if name in self.settings:
            return name
        return next((old for old, new in RENAMED.items()
                     if new == name and old in self.settings), name)

    def __call__(self, name: str) -> str:
        value = self.settings.get(self._source(name))
        return (VARIABLES[name] if value is None else value).strip()

    def fail(self, name: str, expected: str, *, shown: str | None = None) -> None:
        source = self._source(name)
        where = self.origins.get(source, "the default") if source in self.settings else (
            "the default")
        value = self(name) if shown is None else shown
        raise ConfigError(f"{source}={value!r} (from {where}): {expected}")


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


def _regular_file(path: str) -> bool:
    import stat

    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _path(get: _Reader, name: str, cwd: str) -> str:
    value = get(name)
    if not value:
        return ""
    if "\n" in value or "\0" in value:
        get.fail(name, "expected a path on one line")
    return os.path.normpath(os.path.join(cwd, os.path.expanduser(value)))


def _folder(get: _Reader, name: str, cwd: str, *, must_exist: bool) -> str:
    path = _path(get, name, cwd) or cwd
    if must_exist and not os.path.isdir(path):
        what = "is not a folder" if os.path.exists(path) else "no such folder"
        get.fail(name, f"{what} (expected the folder holding the memory files)", shown=path)
    return path


def _patterns(get: _Reader) -> tuple[str, ...]:
    name = "MEMORY_VAULT_FILES"
    patterns = tuple(p.strip() for p in get(name).split(",") if p.strip())
    if not patterns:
        get.fail(name, "is empty: expected comma-separated names or globs")
    for pattern in patterns:
        parts = pattern.replace("\\", "/").split("/")
        if pattern.startswith(("/", "~")) or ".." in parts or ".git" in parts:
            get.fail(name, f"{pattern!r} must be a name or glob relative to the source dir "
                     "(no absolute path, '..' or '.git')")
    return patterns


def _subdir(get: _Reader) -> str:
    name = "MEMORY_VAULT_SUBDIR"
    value = get(name)
    parts = [p for p in value.replace("\\", "/").split("/") if p not in ("", ".")]
    bad = (
        not parts
        or value.startswith(("/", "~", ":"))
        or ".." in parts
        or ".git" in (p.lower() for p in parts)
        or any(len(p.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for p in parts)
        or any(ord(c) < 32 or c == "\x7f" for c in value)
    )
    if bad:
        get.fail(name, "expected a relative folder name inside the vault (no absolute path, "
                 "'..', '.git', pathspec magic such as ':(top)', control characters or a "
                 f"name over {MAX_NAME_BYTES} bytes)")
    return "/".join(parts)


def _branch(get: _Reader) -> str:
    """A name `git check-ref-format --branch` accepts (its rules, without starting git)."""
    name = "MEMORY_VAULT_BRANCH"
    value = get(name)
    components = value.split("/")
    bad = (
        not value
        or value == "@"
        or value.startswith("-")
        or value.endswith(".")
        or ".." in value
        or "@{" in value
        or any(c in _BRANCH_FORBIDDEN or ord(c) < 32 for c in value)
        or any(not c or c.startswith(".") or c.endswith(".lock") for c in components)
    )
    if bad:
        get.fail(name, "expected a valid git branch name (as `git check-ref-format "
                 "--branch` accepts)")
    return value


def _remote(get: _Reader, cwd: str) -> str | None:
    name = "MEMORY_VAULT_REMOTE"
    value = get(name)
    if not value:
        return None
    if value.startswith("-") or any(c in value for c in "\n\r\0"):
        get.fail(name, "expected a git URL or path (one line, not starting with '-')")
    if "://" in value or (":" in value.split("/", 1)[0] and not value.startswith(".")):
        return value  # a URL, or scp-like user@host:path
    return os.path.normpath(os.path.join(cwd, os.path.expanduser(value)))


def _boolean(get: _Reader, name: str) -> bool:
    value = get(name).lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    get.fail(name, "expected true or false")
    raise AssertionError  # unreachable: fail raises


def _number(get: _Reader, name: str, unit: str, *, maximum: float,
            zero: bool = False) -> float:
    raw = get(name)
    try:
        number = float(raw)
    except ValueError:
        number = -1.0
    low_ok = number >= 0 if zero else number > 0
    if not (low_ok and number <= maximum):
        kind = "a number" if zero else "a positive number"
        get.fail(name, f"expected {kind} of {unit}, at most {maximum:g}")
    return number


def _ping_url(get: _Reader) -> str:
    name = "MEMORY_VAULT_PING_URL"
    value = get(name)
    if value and (not value.startswith(("http://", "https://"))
                  or any(c.isspace() or ord(c) < 32 for c in value)):
        get.fail(name, "expected an http:// or https:// URL")
    return value


def _identity(get: _Reader, name: str) -> str:
    value = get(name)
    if any(c in value for c in "<>\n\r\0"):
        get.fail(name, "expected one line without '<' or '>'")
    if name.endswith("_NAME") and not value:
        get.fail(name, "is empty: expected the commit author's name")
    return value
