"""The env file: found, read (python-dotenv is the one parser), and written by `init`.

python-dotenv costs about 22 ms to import, three times the budget of a cron run with nothing
to do. So the parsed values are cached (marshal, in the user's cache folder) keyed by the
file's path, size, mtime, ctime and inode, the way Python caches bytecode: dotenv parses each
version of the file once, and a file that interpolates `${VARS}` is never cached because its
values depend on the environment.
"""

import marshal
import os

from memory_vault.errors import ConfigError
from memory_vault.fsutil import ensure_private_dir, read_private, write_atomic
from memory_vault.settings import paths

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PREFIX = "MEMORY_VAULT_"
_CACHE_FORMAT = 1
Signature = tuple[str, int, int, int, int]  # path, size, mtime_ns, ctime_ns, inode


def find_env_file(
    option: str | None, environ: dict[str, str], cwd: str, *, search: bool = True
) -> str | None:
    """The spec's search order: --env-file, $MEMORY_VAULT_ENV_FILE, the XDG file.

    Never `./.env`: that one belongs to whatever project lives in the current folder, and
    its settings (or its absence) must not change which vault a command sees. `search=False`
    takes only an explicit --env-file (for `init` writing a new one).
    """
    if not search:
        return os.path.abspath(os.path.join(cwd, option)) if option else None
    for given, name in ((option, "--env-file"), (environ.get("MEMORY_VAULT_ENV_FILE"), None)):
        if given:
            path = os.path.join(cwd, os.path.expanduser(given))
            if not os.path.isfile(path):
                label = name or "MEMORY_VAULT_ENV_FILE"
                raise ConfigError(f"{label}={given}: no such file (expected an env file)",
                                  label)
            return os.path.abspath(path)
    candidate = paths.config_env_file(environ)
    return os.path.abspath(candidate) if os.path.isfile(candidate) else None


def read_env_file(path: str, environ: dict[str, str]) -> dict[str, str]:
    """The MEMORY_VAULT_* settings of `path`, from the cache when the file is unchanged."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise ConfigError(f"env file {path}: cannot read it ({exc.strerror})") from None
    signature: Signature = (path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    cache_path = cache_file(environ, "envfile.cache")
    cached = load_cached(cache_path, signature)
    if cached is not None:
        return cached
    values, cacheable = _parse(path)
    if cacheable:
        store_cached(cache_path, signature, values)
    return values


def _parse(path: str) -> tuple[dict[str, str], bool]:
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ConfigError(f"env file {path}: cannot read it ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"env file {path}: not UTF-8 text") from None

    import io

    from dotenv import dotenv_values

    parsed = dotenv_values(stream=io.StringIO(text), interpolate=True)
    values = {k: v for k, v in parsed.items() if k.startswith(PREFIX) and v is not None}
    return values, "$" not in text


def cache_file(environ: dict[str, str], name: str) -> str:
    """Where a parsed settings file is cached (marshal, in the user's cache folder)."""
    return os.path.join(paths.cache_dir(environ), name)


def load_cached(cache_path: str, signature: Signature) -> "dict[str, Any] | None":
    data = read_private(cache_path)  # ours alone: a planted file must not set a remote
    if data is None:
        return None
    try:
        # Our own file in the user's private cache folder, validated below.
        fmt, cached_signature, values = marshal.loads(data)  # noqa: S302
    except (ValueError, EOFError, TypeError):
        return None
    if fmt != _CACHE_FORMAT or tuple(cached_signature) != signature:
        return None
    if not isinstance(values, dict):
        return None
    return values


def store_cached(cache_path: str, signature: Signature, values: "Any") -> None:
    """Best effort: a cache we cannot write only costs time."""
    try:
        ensure_private_dir(os.path.dirname(cache_path))
        write_atomic(cache_path, marshal.dumps((_CACHE_FORMAT, signature, values)), durable=False)
    except OSError:
        pass


_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-:@%+~,=")
# python-dotenv expands ${NAME} even in single quotes and has no escape for it; an empty,
# never-set name with a default of "$" reads back as a literal "$".
_LITERAL_DOLLAR_BRACE = "${:-$}{"


def quote(value: str) -> str:
    """A dotenv value that python-dotenv reads back as exactly `value`.

    >>> quote("/srv/agents\\")
    "'/srv/agents\\\\'"
    """
    if value and all(c in _SAFE for c in value):
        return value
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return "'" + escaped.replace("${", _LITERAL_DOLLAR_BRACE) + "'"


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
