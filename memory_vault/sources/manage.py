"""Managing sources: `source add`, `source list` and `source remove`, which edit the sources
file a person can also edit by hand.

A source is checked when it is added, as a setting is: a folder that does not exist, an
unknown preset, a name that collides with another source or with a path of the default
source is refused with exit 2 and one line saying what is expected.
"""

import os

from memory_vault.errors import EXIT_OK, UsageError
from memory_vault.logfile import RunLog
from memory_vault.results import Done, command_name
from memory_vault.sources.registry import (
    load_sources,
    name_problem,
    save_sources,
    sources_file,
)
from memory_vault.sources.source import Source

TYPE_CHECKING = False
if TYPE_CHECKING:
    from memory_vault.settings.load import Config

# A source without a preset or patterns: the memory formats at its top level.
MEMORY_FILES = ("*.json", "*.jsonl", "*.ndjson", "*.md", "*.mdc", "*.db", "*.sqlite",
                "*.sqlite3")


class SourceRequest:
    """What `source add` was asked."""

    __slots__ = ("exclude", "files", "folder", "name", "preset", "store")

    def __init__(self, folder: str, *, name: str | None = None, preset: str | None = None,
                 files: str | None = None, exclude: str | None = None,
                 store: bool = False) -> None:
        self.folder = folder
        self.name = name
        self.preset = preset
        self.files = files
        self.exclude = exclude
        self.store = store


class SourceList:
    """The sources of the sources file."""

    __slots__ = ("exit_code", "sources")

    def __init__(self, sources: list[Source]) -> None:
        self.sources = sources
        self.exit_code = EXIT_OK

    def as_dict(self) -> dict[str, object]:
        return {"sources": [described(s) for s in self.sources]}


def described(source: Source) -> dict[str, object]:
    return {"name": source.name, "folder": source.folder, "preset": source.preset or None,
            "files": list(source.files), "exclude": list(source.exclude),
            "store": source.store}


class SourceChanged(Done):
    """The source `source add` added or `source remove` removed, and the sources file."""

    __slots__ = ("added", "file", "removed")

    def __init__(self, lines: list[str], file: str, *, added: Source | None = None,
                 removed: str | None = None) -> None:
        super().__init__(EXIT_OK, lines)
        self.file = file
        self.added = added
        self.removed = removed

    def as_dict(self) -> object:
        return {"added": described(self.added) if self.added else None,
                "removed": self.removed, "sources_file": self.file, "lines": self.lines}


def run_source_add(config: "Config", log: RunLog, request: SourceRequest) -> SourceChanged:
    path = sources_file(config)
    existing = load_sources(path, config)
    source = _new_source(request, config)
    if any(s.name == source.name for s in existing):
        raise UsageError(f"a source named {source.name!r} exists already ({path}); "
                         "choose another with --name")
    problem = name_problem(source.name, config.files)
    if problem:
        raise UsageError(f"--name: {problem}")
    save_sources(path, [*existing, source])
    log.info(f"source add: {source.name} = {source.folder} ({path})")
    return SourceChanged([
        f"Added the source {source.name}: {source.folder}, kept in the vault at "
        f"{config.subdir}/{source.name}/",
        f"  files:   {', '.join(source.files)}",
        *([f"  exclude: {', '.join(source.exclude)}"] if source.exclude else []),
        *(["  a store: committed whole or not at all"] if source.store else []),
        f"Next: `{command_name()} --now` backs it up."], path, added=source)


def _new_source(request: SourceRequest, config: "Config") -> Source:
    from memory_vault.settings.validate import normalised
    from memory_vault.sources.preset import Preset, load, names

    folder = os.path.realpath(os.path.abspath(os.path.expanduser(request.folder)))
    if not os.path.isdir(folder):
        raise UsageError(f"{request.folder}: no such folder (expected the folder holding the "
                         "agent's memory)")
    preset: Preset | None = None
    if request.preset:
        preset = load(request.preset)
        if preset is None:
            raise UsageError(f"--preset {request.preset}: no such preset (there are: "
                             f"{', '.join(names())})")
    store = request.store or (preset.store if preset else False)
    try:
        files = normalised(_split(request.files)) if request.files else (
            preset.files if preset else ("**",) if store else MEMORY_FILES)
        exclude = normalised(_split(request.exclude)) if request.exclude else (
            preset.exclude if preset else ())
    except ValueError as bad:
        raise UsageError(f"{bad} must be a name or glob relative to the folder") from None
    name = request.name or (preset.name if preset else _name_from(folder))
    return Source(name, folder, files, exclude, store=store, preset=preset.name if preset
                  else "")


def _split(patterns: str) -> list[str]:
    return [p.strip() for p in patterns.split(",") if p.strip()]


def _name_from(folder: str) -> str:
    """`~/.claude` -> `claude`: a folder's name made a source name."""
    base = os.path.basename(folder.rstrip(os.sep)).lstrip(".").lower()
    return "".join(c if c.isalnum() or c in "._-" else "-" for c in base) or "source"


def run_source_list(config: "Config", log: RunLog) -> SourceList:
    return SourceList(load_sources(sources_file(config), config))


def run_source_remove(config: "Config", log: RunLog, name: str) -> SourceChanged:
    path = sources_file(config)
    existing = load_sources(path, config)
    kept = [s for s in existing if s.name != name]
    if len(kept) == len(existing):
        raise UsageError(f"no source named {name!r}" + (
            f" (there are: {', '.join(s.name for s in existing)})" if existing else
            " (none is configured)"))
    save_sources(path, kept)
    log.info(f"source remove: {name} ({path})")
    return SourceChanged([f"Stopped tracking the source {name}; the vault keeps its history "
                          f"at {config.subdir}/{name}/."], path, removed=name)
