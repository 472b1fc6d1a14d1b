"""Watched: what `watch` waits on: the folder of every source, which paths in it are tracked
(by the source's own patterns and excludes), and the settings whose change changes that set.

A change counts when its path is a tracked file (or a SQLite database's sidecar), or a new
folder that a pattern may reach (files made in it before the watcher saw it are not lost:
the sync scans). The data folder, the clone and the logs never count: a sync's own writes
must not start another sync.
"""

from __future__ import annotations

import os
from pathlib import Path

from memory_vault.settings.load import Config
from memory_vault.sources.patterns import component_match, excluded, path_match
from memory_vault.sources.registry import configured_sources, sources_file
from memory_vault.sources.scan import SQLITE_SIDECARS
from memory_vault.sources.source import Source


def _could_hold(pattern: list[str], parts: list[str]) -> bool:
    """Could a folder at `parts` hold a file the pattern names?

    >>> _could_hold(["projects", "*", "memory", "**", "*.md"], ["projects", "app"])
    True
    """
    if not parts or not pattern or pattern[0] == "**":
        return True
    return component_match(pattern[0], parts[0]) and _could_hold(pattern[1:], parts[1:])


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class Watched:
    """The folders to watch, the ones not there yet, and the test each change is put to."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.sources: list[tuple[str, Source]] = []  # (real folder, source)
        self.missing: list[str] = []
        for source in configured_sources(config):
            if Path(source.folder).is_dir():
                self.sources.append((os.path.realpath(source.folder), source))
            else:
                self.missing.append(source.folder)
        self.ignored = sorted({os.path.realpath(p) for p in (
            config.home, config.clone_dir, config.state_file, config.log_file,
            config.err_file)})
        self.settings_files = [p for p in (config.env_file, sources_file(config)) if p]

    @property
    def roots(self) -> list[str]:
        """The source folders, none inside another when a recursive watch covers those."""
        folders = sorted({folder for folder, _source in self.sources})
        if not self.recursive:
            return folders
        return [f for f in folders if not any(_inside(f, other) for other in folders
                                              if other != f)]

    @property
    def recursive(self) -> bool:
        """Whether a pattern reaches below a source's folder: where none does (the seed's
        names in one folder, which may be a large one), its subfolders are not watched."""
        return any("/" in pattern or "**" in pattern for _folder, source in self.sources
                   for pattern in source.files)

    def counts(self, path: str, *, added: bool = False) -> bool:
        """Is a change at `path` (absolute, as the watcher reports it) one to back up?"""
        if any(_inside(path, ignored) for ignored in self.ignored):
            return False
        for folder, source in self.sources:
            if _inside(path, folder) and path != folder:
                rel = path[len(folder.rstrip(os.sep)) + 1:]
                if self._tracks(source, rel, path, added):
                    return True
        return False

    @staticmethod
    def _tracks(source: Source, rel: str, path: str, added: bool) -> bool:
        parts = rel.split("/")
        if excluded(rel, source.exclude):
            return False
        base = next((rel[: -len(s)] for s in SQLITE_SIDECARS if rel.endswith(s)), rel)
        names = {rel, base}
        if any(path_match(p.split("/"), name.split("/")) for p in source.files
               for name in names):
            return True
        return added and Path(path).is_dir() and any(
            _could_hold(p.split("/"), parts) for p in source.files)

    def signature(self) -> tuple[object, ...]:
        """What changes when the set of watched folders must be made again: the settings
        files, a folder that appears, a watched folder replaced."""
        def stat_of(path: str) -> tuple[int, ...] | None:
            try:
                st = Path(path).stat()
            except OSError:
                return None
            return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns)

        roots = [stat_of(p) for p in self.roots]
        return (tuple(stat_of(p) for p in self.settings_files),
                tuple(Path(p).is_dir() for p in self.missing),
                tuple(st[:2] if st else None for st in roots))
