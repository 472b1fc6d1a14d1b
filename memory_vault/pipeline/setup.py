"""`init`: pin the settings cron needs in the env file, then create the clone (and the
embedded remote).

Cron runs with a bare environment and HOME from the password database, so whatever the
person's shell decided (the source dir, a remote, a data folder, XDG variables) must be
written down, as absolute paths: otherwise cron backs up something else into a second vault.
"""

import os
from collections.abc import Callable
from pathlib import Path

from memory_vault.errors import EXIT_OK, EXIT_PARTIAL, NetworkError
from memory_vault.logfile import RunLog
from memory_vault.pipeline.lock import RunLock
from memory_vault.settings import paths
from memory_vault.settings.envfile import update_env_file
from memory_vault.settings.load import Config
from memory_vault.settings.schema import VARIABLES

INIT_LOCK_WAIT = 60.0
# Settings that are paths, and the Config attribute holding each one made absolute.
PATH_SETTINGS = {
    "MEMORY_VAULT_SOURCE_DIR": "source_dir",
    "MEMORY_VAULT_HOME": "home",
    "MEMORY_VAULT_CLONE_DIR": "clone_dir",
    "MEMORY_VAULT_STATE_FILE": "state_file",
    "MEMORY_VAULT_LOG_FILE": "log_file",
    "MEMORY_VAULT_ERR_FILE": "err_file",
    "MEMORY_VAULT_IDENTITY": "identity_file",
}
ALWAYS_PINNED = ("MEMORY_VAULT_SOURCE_DIR", "MEMORY_VAULT_HOME")


class InitResult:
    """What `init` saved where, and whether the remote answered (exit 3 when it did not)."""

    __slots__ = ("clone", "discovered", "embedded", "env_path", "identity", "identity_created",
                 "problem", "public_key", "remote", "source", "written")

    def __init__(self, config: Config, env_path: str, written: dict[str, str],
                 problem: str | None, remote_shown: str) -> None:
        self.source = config.source_dir
        self.remote = remote_shown  # credentials masked
        self.embedded = config.embedded
        self.clone = config.clone_dir
        self.env_path = env_path
        self.written = written
        self.problem = problem  # why the remote could not be reached, if it could not
        self.discovered: list[str] = []  # sources `--discover` added
        self.identity = config.identity_file if config.encrypt else None
        self.public_key: str | None = None  # an encrypted vault's: shared with a fleet
        self.identity_created = False  # created now: say once how to keep it safe

    @property
    def reachable(self) -> bool:
        return self.problem is None

    @property
    def exit_code(self) -> int:
        return EXIT_OK if self.reachable else EXIT_PARTIAL

    def as_dict(self) -> dict[str, object]:
        return {"source": self.source, "remote": self.remote, "embedded": self.embedded,
                "clone": self.clone, "settings": self.env_path,
                "saved": sorted(self.written), "remote_problem": self.problem,
                "discovered": self.discovered, "identity": self.identity,
                "public_key": self.public_key, "identity_created": self.identity_created}


def init_target(env_file_option: str | None, environ: dict[str, str]) -> str:
    """Where `init` writes: --env-file, else $MEMORY_VAULT_ENV_FILE, else the XDG file cron
    finds from $HOME."""
    chosen = env_file_option or environ.get("MEMORY_VAULT_ENV_FILE")
    if chosen:
        return str(Path(chosen).expanduser().absolute())
    return paths.config_env_file(environ)


def init_options(env_path: str, *, remote: str | None, source: str | None,
                 files: str | None = None, exclude: str | None = None,
                 encrypt: bool = False) -> dict[str, str]:
    """The settings `init`'s options give: --remote, --files, --exclude, --encrypt, and
    --source (else the current folder, unless the environment or the env file already names
    one)."""
    options: dict[str, str] = {"MEMORY_VAULT_ENCRYPT": "age"} if encrypt else {}
    if source is not None or not _configured("MEMORY_VAULT_SOURCE_DIR", env_path):
        options["MEMORY_VAULT_SOURCE_DIR"] = str(Path(source or ".").expanduser().absolute())
    for name, value in (("MEMORY_VAULT_REMOTE", remote), ("MEMORY_VAULT_FILES", files),
                        ("MEMORY_VAULT_EXCLUDE", exclude)):
        if value is not None:
            options[name] = value
    return options


# `init`'s options, in the order a hint writes them; every other setting is passed the way
# `init` also reads it, as a variable of its environment.
INIT_OPTIONS = {"MEMORY_VAULT_SOURCE_DIR": "--source", "MEMORY_VAULT_REMOTE": "--remote",
                "MEMORY_VAULT_FILES": "--files", "MEMORY_VAULT_EXCLUDE": "--exclude"}


def init_command(config: Config, environ: dict[str, str], program: str,
                 clean: Callable[[str], str]) -> str:
    """The `init` command that pins the settings a command without an env file ran with
    (all from its environment): the source dir, the remote, and each `MEMORY_VAULT_*`
    variable set, paths absolute, credentials masked by `clean`. Typed in another shell, it
    backs up what this one restored, into the same vault."""
    import shlex

    values = {name: value.strip() for name, value in environ.items()
              if name in VARIABLES and value.strip()}
    for name, attribute in PATH_SETTINGS.items():
        if name in values or name == "MEMORY_VAULT_SOURCE_DIR":
            values[name] = str(getattr(config, attribute))
    values.pop("MEMORY_VAULT_REMOTE", None)
    if not config.embedded:
        values["MEMORY_VAULT_REMOTE"] = config.remote
    prefix = [f"{name}={shlex.quote(clean(value))}" for name, value in sorted(values.items())
              if name not in INIT_OPTIONS]
    options = [f"{option} {shlex.quote(clean(values[name]))}"
               for name, option in INIT_OPTIONS.items() if name in values]
    return " ".join([*prefix, program, "init", *options])


def _configured(name: str, env_path: str) -> bool:
    if os.environ.get(name):
        return True
    if not Path(env_path).is_file():
        return False
    from memory_vault.settings.envfile import read_env_file

    return bool(read_env_file(env_path, dict(os.environ)).get(name))


def settings_to_write(config: Config, options: dict[str, str],
                      environ: dict[str, str]) -> dict[str, str]:
    """Every setting this `init` used (its options, the environment) as validated, paths
    absolute; the source dir and the data folder always."""
    used = {n for n in VARIABLES if options.get(n) or environ.get(n, "").strip()}
    used.update(ALWAYS_PINNED)
    if config.encrypt:  # cron must find the same identity, whatever its HOME and XDG
        used.add("MEMORY_VAULT_IDENTITY")
    values: dict[str, str] = {}
    for name in sorted(used):
        if name in PATH_SETTINGS:
            values[name] = str(getattr(config, PATH_SETTINGS[name]))
        elif name == "MEMORY_VAULT_REMOTE":
            if not config.embedded:
                values[name] = config.remote
        else:
            values[name] = (options.get(name) or environ[name]).strip()
    return values


def _prepare_vault(config: Config, log: RunLog) -> str | None:
    """The clone and the embedded remote made; None, or why the remote cannot be reached."""
    from memory_vault.store.vault import Vault

    lock = RunLock(config.lock_file)
    lock.acquire(wait=INIT_LOCK_WAIT)
    try:
        vault = Vault(config, log, lock_fd=lock.fd)
        vault.prepare()
        problem = vault.repo.unreachable
        if problem is None and not config.embedded:
            try:
                vault.remote.probe_remote()
            except NetworkError as exc:
                problem = str(exc)
                log.warning(f"the remote cannot be reached yet: {exc}; backups wait in the "
                            "clone and are pushed once it answers")
        vault.done()
    finally:
        lock.release()
    return problem


def initialize(config: Config, log: RunLog, *, env_path: str, options: dict[str, str],
               discover: bool = False) -> InitResult:
    """Record the settings in `env_path`, then make the vault usable (clone, embedded
    remote) and check that the remote answers."""
    written = settings_to_write(config, options, dict(os.environ))
    public_key, created = None, False
    if config.encrypt:  # before the vault: fetching an encrypted remote needs the identity
        from memory_vault.store.crypt.keys import create_identity

        public_key, created = create_identity(config.identity_file)
        if created:
            log.info(f"init: created the age identity {config.identity_file}")
    try:
        update_env_file(env_path, written)
        problem = _prepare_vault(config, log)
    except BaseException:
        if created:  # the result that says how to keep it safe will not be shown: say it here
            log.error(f"init: keep a copy of the new age identity {config.identity_file} "
                      "somewhere safe, off this machine: without it nobody can read the vault")
        raise
    log.info(f"init: settings in {env_path}")
    result = InitResult(config, env_path, written, problem, log.redactor.clean(config.remote))
    result.public_key, result.identity_created = public_key, created
    if discover:  # every agent's memory on this machine, tracked from the first run
        from memory_vault.sources.discover import run_discover

        config.env_file = env_path  # the sources file goes beside the env file just written
        result.discovered = run_discover(config, log, [config.source_dir], add=True).added
    return result
