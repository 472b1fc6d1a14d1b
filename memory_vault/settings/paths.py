"""Paths: every location Memory Vault reads or writes by default, from HOME and XDG.

One place, so that a person's shell, cron (a bare environment, HOME from the password
database) and the tests agree on where things are. Only `os` is imported: this module is on
the cron path.
"""

import os

APP = "memory-vault"


def home_dir(environ: dict[str, str]) -> str:
    return environ.get("HOME") or os.path.expanduser("~")


def _xdg(environ: dict[str, str], variable: str, *fallback: str) -> str:
    base = environ.get(variable)
    if not base or not os.path.isabs(base):  # the XDG spec: relative values are ignored
        base = os.path.join(home_dir(environ), *fallback)
    return os.path.join(base, APP)


def data_home(environ: dict[str, str]) -> str:
    """`$XDG_DATA_HOME/memory-vault`: the default MEMORY_VAULT_HOME (clone, state, lock)."""
    return _xdg(environ, "XDG_DATA_HOME", ".local", "share")


def config_env_file(environ: dict[str, str]) -> str:
    """`$XDG_CONFIG_HOME/memory-vault/.env`: where `init` writes and cron finds settings."""
    return os.path.join(_xdg(environ, "XDG_CONFIG_HOME", ".config"), ".env")


def identity_file(environ: dict[str, str]) -> str:
    """`$XDG_CONFIG_HOME/memory-vault/identity.txt`: the age identity of an encrypted vault."""
    return os.path.join(_xdg(environ, "XDG_CONFIG_HOME", ".config"), "identity.txt")


def cache_dir(environ: dict[str, str]) -> str:
    """`$XDG_CACHE_HOME/memory-vault`: things that only save time (the parsed env file)."""
    return _xdg(environ, "XDG_CACHE_HOME", ".cache")


def state_dir(environ: dict[str, str]) -> str:
    """`$XDG_STATE_HOME/memory-vault`: where the logs go when /tmp refuses them."""
    return _xdg(environ, "XDG_STATE_HOME", ".local", "state")


def embedded_vault(home: str) -> str:
    return os.path.join(home, "vault.git")


def default_clone(home: str) -> str:
    return os.path.join(home, "clone")


def default_state_file(home: str) -> str:
    return os.path.join(home, ".last_sync")


def allowed_secrets_file(env_file: str | None, environ: dict[str, str]) -> str:
    """`secrets-allowed` beside the env file: the fingerprints a person said are no secret."""
    return os.path.join(os.path.dirname(env_file or config_env_file(environ)),
                        "secrets-allowed")


def acks_file(home: str) -> str:
    """Where `ack` records the shrink alarms a person closed (a fact, not a cache)."""
    return os.path.join(home, "acks")


def lock_file(home: str) -> str:
    return os.path.join(home, "sync.lock")


def set_aside_clones(clone_dir: str) -> list[str]:
    """Clones put aside because they were damaged: `<clone>.set-aside-<stamp>[-n]`."""
    parent, name = os.path.split(clone_dir)
    try:
        entries = os.listdir(parent or ".")
    except OSError:
        return []
    prefix = f"{name}.set-aside-"
    return sorted(os.path.join(parent, e) for e in entries if e.startswith(prefix))
