"""`init`: write the settings file and create the clone (and the embedded remote)."""

import os

from memory_vault.config import Config
from memory_vault.envfile import user_config_env_file
from memory_vault.envwriter import update_env_file
from memory_vault.lock import RunLock
from memory_vault.logfile import RunLog

INIT_LOCK_WAIT = 60.0


def init_target(env_file_option: str | None, environ: dict[str, str]) -> str:
    """Where `init` writes: --env-file, else $MEMORY_VAULT_ENV_FILE, else the XDG file cron
    finds from $HOME."""
    chosen = env_file_option or environ.get("MEMORY_VAULT_ENV_FILE")
    if chosen:
        return os.path.abspath(os.path.expanduser(chosen))
    return user_config_env_file(environ)


def initialize(config: Config, log: RunLog, *, env_path: str, settings: dict[str, str]) -> None:
    """Record `settings` in `env_path`, then make the vault usable (clone, embedded remote)."""
    from memory_vault.vault import Vault

    update_env_file(env_path, settings)
    lock = RunLock(config.lock_file)
    lock.acquire(wait=INIT_LOCK_WAIT)
    try:
        Vault(config, log, lock_fd=lock.fd).prepare()
    finally:
        lock.release()
    log.info(f"init: settings in {env_path}")
