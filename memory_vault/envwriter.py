"""Writing settings into an env file (for `init`), keeping everything else in it."""

import os

from memory_vault.fsutil import ensure_private_dir, write_atomic

_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-:@%+~,=")


def quote(value: str) -> str:
    """A dotenv value that reads back as `value` (single quotes are taken literally)."""
    if value and all(c in _SAFE for c in value):
        return value
    if "'" not in value:
        return f"'{value}'"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def update_env_file(path: str, values: dict[str, str]) -> None:
    """Set `values` in the env file at `path` (created 0600), replacing earlier lines."""
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        lines = ["# Memory Vault settings (see .env.example for every variable)"]
    pending = dict(values)
    out: list[str] = []
    for line in lines:
        key = line.strip().removeprefix("export ").split("=", 1)[0].strip()
        if "=" in line and key in values:
            if key in pending:
                out.append(f"{key}={quote(pending.pop(key))}")
            continue
        out.append(line)
    out.extend(f"{key}={quote(value)}" for key, value in pending.items())
    folder = os.path.dirname(path)
    if folder:
        ensure_private_dir(folder)
    write_atomic(path, ("\n".join(out) + "\n").encode("utf-8"), durable=True, mode=0o600)
