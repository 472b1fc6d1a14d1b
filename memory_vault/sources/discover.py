"""Discover: the agent memory on this machine, found where each agent keeps it: the home
folder's agents (`~` is `$HOME`); the project folders named and those found below them
(bounded), matched with the project presets; the MCP memory server's file, where a client's
config points `MEMORY_FILE_PATH` or in the npx cache. A client's config may hold secrets: it
is read for that one path, and nothing else of it is kept or printed."""

import json
import os
import shlex
import stat
from collections import deque
from itertools import islice
from pathlib import Path

from memory_vault.errors import EXIT_OK
from memory_vault.logfile import RunLog
from memory_vault.results import command_name
from memory_vault.sources import preset as presets
from memory_vault.sources import registry
from memory_vault.sources.patterns import GLOB_CHARS, Matches
from memory_vault.sources.source import Source

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from memory_vault.settings.load import Config

MAX_DEPTH = 3  # folders below a DIR searched for projects
MAX_FOLDERS = 2_000  # folders looked at under one DIR
MAX_CONFIG_BYTES = 32 * 2**20
SKIPPED = {"node_modules", "__pycache__", "site-packages", "venv", "dist", "build", "target"}
MEM0_QDRANT = "/tmp/qdrant"  # noqa: S108 - mem0's default vector store
SERVER = "server-memory"  # @modelcontextprotocol/server-memory, mcp-server-memory
PACKAGE = "node_modules/@modelcontextprotocol/server-memory/dist"
NPX_CACHE = "${npm_config_cache:-~/.npm}/_npx"
GLOBAL_MODULES = (("~/.npm-global/lib", PACKAGE), ("~/.nvm/versions/node", f"*/lib/{PACKAGE}"),
                  ("/usr/local/lib", PACKAGE), ("/opt/homebrew/lib", PACKAGE))
# Where MCP clients keep their servers, by the key that holds them (`~/.claude.json` also
# under each of its `projects`); then the same in a project folder.
HOME_CONFIGS = {
    "mcpServers": ("~/.config/Claude/claude_desktop_config.json", "~/.claude.json",
                   "~/Library/Application Support/Claude/claude_desktop_config.json",
                   "~/.cursor/mcp.json", "~/.codeium/windsurf/mcp_config.json",
                   "${GEMINI_CLI_HOME:-~}/.gemini/settings.json"),
    "servers": ("~/.config/Code/User/mcp.json", "~/Library/Application Support/Code/User/mcp.json"),
    "mcp_servers": ("${CODEX_HOME:-~/.codex}/config.toml",),
}
PROJECT_CONFIGS = ((".mcp.json", "mcpServers"), (".cursor/mcp.json", "mcpServers"),
                   (".vscode/mcp.json", "servers"))
_REQUIRED = {"qdrant": "collection"}  # a store's folder must hold this too


class Found:
    """One store of agent memory found on disk."""

    __slots__ = ("agent", "command", "deletes", "files", "folder", "formats", "found_by",
                 "matched", "names", "partial", "preset", "size", "tracked")

    def __init__(self, preset: str, agent: str, folder: str, *, files: int = 0, size: int = 0,
                 formats: tuple[str, ...] = (), tracked: bool = False, command: str = "",
                 found_by: str = "", deletes: str = "", partial: bool = False) -> None:
        self.preset, self.agent, self.folder = preset, agent, folder
        self.files, self.size, self.formats, self.tracked = files, size, formats, tracked
        self.command = command  # the `source add` line that tracks it
        self.found_by = found_by  # "home", the DIR, a client's config, "the npx cache"
        self.deletes = deletes  # when the agent deletes its own files
        self.partial = partial  # the count stopped at the scan limit
        self.names: tuple[str, ...] = ()  # the patterns a source of it takes (mcp-memory)
        self.matched: tuple[str, ...] = ()  # the files counted

    def as_dict(self) -> dict[str, object]:
        return {"preset": self.preset, "agent": self.agent, "folder": self.folder,
                "files": self.files, "size": self.size, "formats": list(self.formats),
                "tracked": self.tracked, "command": self.command, "found_by": self.found_by,
                "deletes": self.deletes, "partial": self.partial}


class DiscoverResult:
    """What `discover` found, and what `--add` added."""

    __slots__ = ("added", "exit_code", "found")

    def __init__(self, found: list[Found], added: list[str]) -> None:
        self.found, self.added, self.exit_code = found, added, EXIT_OK

    def as_dict(self) -> dict[str, object]:
        return {"found": [f.as_dict() for f in self.found], "added": self.added}


def run_discover(config: "Config", log: RunLog, dirs: list[str], *,
                 add: bool) -> DiscoverResult:
    """The whole `discover` command."""
    sources = registry.configured_sources(config)
    found: dict[tuple[str, str, tuple[str, ...]], Found] = {}
    for item in _search(log, dirs):
        found.setdefault((item.preset, item.folder, item.names), item)
    for item in found.values():
        item.tracked = _tracked(item, sources)
    added = _add(config, log, [f for f in found.values() if not f.tracked]) if add else []
    return DiscoverResult(list(found.values()), added)


def _search(log: RunLog, dirs: list[str]) -> "Iterator[Found]":
    every = _every()
    for p in every.values():
        folder = p.folder()
        if folder and not p.project:
            yield _found(p, folder, "home")
            if p.name == "mem0" and _is_store(every["qdrant"], Path(MEM0_QDRANT)):
                yield _found(every["qdrant"], MEM0_QDRANT, "mem0's default vector store")
    projects = [p for p in every.values() if p.project]
    configs: list[tuple[Path, str, Path | None]] = [
        (Path(presets.expand(c)), key, None) for key, cs in HOME_CONFIGS.items() for c in cs]
    for given in dirs:
        root = Path(given).expanduser().absolute()
        if not root.is_dir():
            log.warning(f"discover: {given} is not a folder")
            continue
        for project in _walk(root):
            configs += [(project / name, key, project) for name, key in PROJECT_CONFIGS]
            for p in projects:
                if _is_store(p, project) if p.store else _holds(p, project):
                    yield _found(p, str(project), str(root))
    yield from _memory_server(log, every["mcp-memory"], configs)


def _walk(root: Path) -> "Iterator[Path]":
    """`root` and the folders below it, breadth first, `MAX_DEPTH` deep and `MAX_FOLDERS`
    in all; never a hidden folder, a link, a dependency or a build folder."""
    queue, seen = deque([(root, 0)]), 0
    while queue and seen < MAX_FOLDERS:
        folder, depth = queue.popleft()
        seen += 1
        yield folder
        if depth >= MAX_DEPTH:
            continue
        try:
            entries = sorted(islice(folder.iterdir(), 10 * MAX_FOLDERS))
        except OSError:
            continue
        queue.extend((e, depth + 1) for e in entries
                     if e.name[0] != "." and e.name not in SKIPPED and not e.is_symlink()
                     and e.is_dir())


def _holds(p: presets.Preset, folder: Path) -> bool:
    return any(not is_dir for is_dir in Matches(str(folder), p.files, p.exclude).found.values())


def _is_store(p: presets.Preset, folder: Path) -> bool:
    """A store's folder holds each file its preset names outright (and its marker)."""
    named = [f for f in p.files if not any(c in f for c in GLOB_CHARS)]
    marker = _REQUIRED.get(p.name)
    return (folder.is_dir() and all((folder / f).is_file() for f in named)
            and (marker is None or (folder / marker).exists()) and _holds(p, folder))


def _found(p: presets.Preset, folder: str, found_by: str,
           names: tuple[str, ...] = ()) -> Found:
    real = os.path.realpath(folder)
    matches = Matches(real, names or p.files, p.exclude)
    matched, size = [], 0
    for name, is_dir in matches.found.items():
        try:
            st = (Path(real) / name).stat()
        except OSError:
            continue
        if not is_dir and stat.S_ISREG(st.st_mode):
            matched.append(name)
            size += st.st_size
    command = f"{command_name()} source add {shlex.quote(real)} --preset {p.name}"
    if names:
        command += " --files " + shlex.quote(",".join(names))
    item = Found(p.name, p.agent, real, files=len(matched), size=size, formats=p.formats,
                 command=command, found_by=found_by, deletes=p.deletes,
                 partial=bool(matches.overflow))
    item.names, item.matched = names, tuple(matched)
    return item


def _tracked(item: Found, sources: list[Source]) -> bool:
    """Does a configured source hold it: one of its folder with its preset, or one whose
    patterns reach the files found?"""
    for source in sources:
        if os.path.realpath(source.folder) != item.folder:
            continue
        if source.preset == item.preset and not item.names:
            return True
        if set(item.matched) & set(Matches(item.folder, source.files, source.exclude).found):
            return True
    return False


def _every() -> dict[str, presets.Preset]:
    return {p.name: p for p in map(presets.load, presets.names()) if p is not None}


def _memory_server(log: RunLog, p: presets.Preset,
                   configs: list[tuple[Path, str, Path | None]]) -> "Iterator[Found]":
    """The MCP memory server's file: wherever a client's config points it, else in the
    package's own folder (the npx cache, a global install)."""
    packages = [(d, "the npx cache") for d in _globbed(presets.expand(NPX_CACHE), f"*/{PACKAGE}")]
    for lib, pattern in GLOBAL_MODULES:
        packages += [(d, "a global npm install") for d in _globbed(presets.expand(lib), pattern)]
    for path, key, project in configs:
        for value in _file_paths(log, path, key):
            if project is not None:
                value = value.replace("${workspaceFolder}", str(project))
            if "${" in value:
                continue
            targets = [Path(value)] if Path(value).is_absolute() else [
                d / value for d, _ in packages]
            for target in targets:
                if target.is_file():
                    yield _found(p, str(target.parent), str(path), (target.name,))
    for folder, where in packages:
        for name in p.files:
            if (folder / name).is_file():
                yield _found(p, str(folder), where, (name,))


def _globbed(root: str, pattern: str) -> list[Path]:
    base = Path(root)
    return sorted(d for d in base.glob(pattern) if d.is_dir()) if base.is_dir() else []


def _file_paths(log: RunLog, path: Path, key: str) -> list[str]:
    """`MEMORY_FILE_PATH` of each memory server in one client's config (nothing else of it
    is looked at); an unreadable config is a warning naming the file."""
    try:
        if not path.is_file():
            return []
        if path.stat().st_size > MAX_CONFIG_BYTES:
            raise ValueError("too large to be a config")
        text = path.read_text(encoding="utf-8")
        data = _parse(text, toml=path.suffix == ".toml")
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not valid JSON or TOML"
        log.warning(f"discover: cannot read {path} ({reason}); skipped")
        return []
    projects = data.get("projects") if isinstance(data, dict) else None
    out = []
    for table in [data, *(projects.values() if isinstance(projects, dict) else ())]:
        servers = table.get(key) if isinstance(table, dict) else None
        for server in servers.values() if isinstance(servers, dict) else ():
            if not isinstance(server, dict):
                continue
            words = [server.get("command"), *(server.get("args") or [])]
            env = server.get("env")
            if any(isinstance(w, str) and SERVER in w for w in words) and isinstance(env, dict):
                value = env.get("MEMORY_FILE_PATH")
                if isinstance(value, str) and value and "\0" not in value:
                    out.append(value)
    return out


def _parse(text: str, *, toml: bool) -> object:
    import re
    import tomllib

    if toml:
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            raise ValueError("not TOML") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError:  # VS Code's JSON with comments and trailing commas
        strings = r'"(?:\\.|[^"\\])*"'
        text = re.sub(strings + r"|//[^\n]*|/\*.*?\*/",
                      lambda m: m[0] if m[0][0] == '"' else "", text, flags=re.DOTALL)
        return json.loads(re.sub(strings + r"|,(\s*[}\]])", lambda m: m[1] or m[0], text))


def _add(config: "Config", log: RunLog, untracked: list[Found]) -> list[str]:
    """Each untracked store as a source of the sources file, named after its preset."""
    if not untracked:
        return []
    path = registry.sources_file(config)
    existing = registry.load_sources(path, config)
    taken = {s.name for s in existing}
    added: list[str] = []
    every = _every()
    for item in untracked:
        p = every[item.preset]
        name = next((n for n in (p.name, *(f"{p.name}-{i}" for i in range(2, 1000)))
                     if n not in taken and registry.name_problem(n, config.files) is None), None)
        if name is None:
            log.warning(f"discover: no free source name for {item.folder} ({p.name})")
            continue
        taken.add(name)
        existing.append(Source(name, item.folder, item.names or p.files, p.exclude,
                               store=p.store, preset=p.name))
        added.append(name)
        item.tracked = True
        log.info(f"discover: added source {name}: {item.folder}")
    registry.save_sources(path, existing)
    return added
