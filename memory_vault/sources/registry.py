"""Registry: the sources file, `sources.toml` beside the env file, that a person can read and
edit, and that `memory-vault source add` and `source remove` write:

    [claude-code]
    folder = "/home/me/.claude"
    preset = "claude-code"
    files = ["CLAUDE.md", "projects/*/memory/**/*.md"]
    exclude = [".credentials.json"]
    store = false

Read with tomllib once per version of the file (the parsed values are cached as the env
file's are: tomllib costs more than a whole no-change run) and validated like every setting:
a bad entry stops the run with exit 2 and one line naming the file, the source and what is
expected. A source's name is its folder in the vault, `<SUBDIR>/<name>/`.
"""

import os

from memory_vault.errors import ConfigError
from memory_vault.settings import paths
from memory_vault.settings.envfile import cache_file, load_cached, store_cached
from memory_vault.sources.source import Source

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from memory_vault.settings.load import Config

FILE_NAME = "sources.toml"
_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")
HEADER = ("# Memory Vault's sources, besides MEMORY_VAULT_SOURCE_DIR: one table each, kept in "
          "the vault\n# at <MEMORY_VAULT_SUBDIR>/<name>/. Edit freely, or use `memory-vault "
          "source add` and `source remove`.\n")


def sources_file(config: "Config") -> str:
    """`sources.toml` beside the env file in use (or the one `init` writes)."""
    env_file = config.env_file or paths.config_env_file(dict(os.environ))
    return os.path.join(os.path.dirname(env_file), FILE_NAME)


def configured_sources(config: "Config") -> list[Source]:
    """The default source, then every source of the sources file (raises ConfigError)."""
    default = Source("", config.source_dir, config.files, config.exclude)
    return [default, *load_sources(sources_file(config), config)]


def load_sources(path: str, config: "Config") -> list[Source]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ConfigError(f"sources file {path}: cannot read it ({exc.strerror})") from None
    signature = (path, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    cache = cache_file(dict(os.environ), "sources.cache")
    tables = load_cached(cache, signature)
    if tables is None:
        tables = _parse(path)
        store_cached(cache, signature, tables)
    return [_source(path, name, table, config) for name, table in tables.items()]


def _parse(path: str) -> "dict[str, Any]":
    import tomllib

    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"sources file {path}: not valid TOML ({exc})") from None


def _source(path: str, name: str, table: object, config: "Config") -> Source:
    def fail(expected: str) -> ConfigError:
        return ConfigError(f"sources file {path}: source [{name}]: {expected}")

    if not isinstance(table, dict):
        raise fail("expected a table (folder, files, exclude, store, preset)")
    problem = name_problem(name, config.files)
    if problem:
        raise fail(problem)
    folder = table.get("folder")
    if not isinstance(folder, str) or not os.path.isabs(folder) or "\0" in folder:
        raise fail("expected `folder` to be an absolute path")
    files, exclude = (_patterns(table, key, fail) for key in ("files", "exclude"))
    if not files:
        raise fail("expected `files` to name at least one file or glob")
    store, preset = table.get("store", False), table.get("preset", "")
    if not isinstance(store, bool) or not isinstance(preset, str):
        raise fail("expected `store` to be true or false and `preset` a name")
    return Source(name, os.path.normpath(folder), files, exclude, store=store, preset=preset)


def _patterns(table: "dict[str, Any]", key: str, fail: "Any") -> tuple[str, ...]:
    from memory_vault.settings.validate import normalised

    given = table.get(key, [])
    if not isinstance(given, list) or not all(isinstance(p, str) for p in given):
        raise fail(f"expected `{key}` to be a list of names or globs")
    try:
        return normalised(given)
    except ValueError as bad:
        raise fail(f"{bad} in `{key}` must be a name or glob relative to its folder") from None


def name_problem(name: str, default_files: tuple[str, ...]) -> str | None:
    """Why `name` cannot name a source's folder in the vault, else None: lowercase letters,
    digits, `.`, `_` and `-`; not a path the default source's patterns can reach."""
    from memory_vault.sources.patterns import component_match

    if not name or name in (".", "..") or not set(name) <= _NAME_CHARS or name[0] == ".":
        return (f"{name!r} is not a source name (lowercase letters, digits, '.', '_' and '-', "
                "not starting with '.')")
    heads = {p.split("/")[0] for p in default_files}
    if any(head == "**" or component_match(head, name) for head in heads):
        return (f"{name!r} collides with a path of the default source (MEMORY_VAULT_FILES "
                "can name it): choose another name")
    return None


def save_sources(path: str, sources: list[Source]) -> None:
    """Write the sources file (atomically, 0600), one table per named source."""
    import json

    from memory_vault.fsutil import ensure_private_dir, write_atomic

    def strings(values: tuple[str, ...]) -> str:
        return "[" + ", ".join(json.dumps(v) for v in values) + "]"

    blocks = [HEADER]
    for s in sources:
        key = s.name if "." not in s.name else json.dumps(s.name)  # a bare key, if it can be
        blocks.append(f"\n[{key}]\nfolder = {json.dumps(s.folder)}\n"
                      + (f"preset = {json.dumps(s.preset)}\n" if s.preset else "")
                      + f"files = {strings(s.files)}\nexclude = {strings(s.exclude)}\n"
                      f"store = {'true' if s.store else 'false'}\n")
    ensure_private_dir(os.path.dirname(path))
    write_atomic(path, "".join(blocks).encode("utf-8"), durable=True)
