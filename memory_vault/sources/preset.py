"""Preset: what one agent (or vector store) keeps where, in a form `source add --preset`
writes into the sources file, and `discover` looks for.

Each preset is a module of `sources/presets/` holding one `PRESET`, found by name (as
borgmatic finds its hooks): adding an agent is adding a file. Folders are written as the
agent's documentation names them (`~`, `$VARIABLE` and `${VARIABLE:-default}` expanded);
the first that exists is the one backed up.
"""

import os


class Preset:
    """An agent's memory on disk: folders, patterns, what is never backed up, and why."""

    __slots__ = ("agent", "deletes", "docs", "exclude", "files", "folders", "formats", "name",
                 "project", "store")

    def __init__(self, name: str, agent: str, *, folders: tuple[str, ...],
                 files: tuple[str, ...], exclude: tuple[str, ...] = (),
                 formats: tuple[str, ...] = (), store: bool = False, deletes: str = "",
                 docs: str = "", project: bool = False) -> None:
        self.name = name  # the preset's and, by default, the source's name
        self.agent = agent  # as people call it
        self.folders = folders  # where it lives; project presets: inside a project folder
        self.files = files
        self.exclude = exclude  # credentials, caches, logs: never read
        self.formats = formats
        self.store = store  # a set of files committed whole or not at all
        self.deletes = deletes  # when the agent deletes its own files, and the setting
        self.docs = docs  # where these paths come from
        self.project = project  # its folder is a project's (given to `source add DIR`)

    def folder(self, environ: dict[str, str] | None = None) -> str | None:
        """The first of its folders that exists on this machine (None: not installed)."""
        for candidate in self.folders:
            path = expand(candidate, environ)
            if path and os.path.isdir(path):
                return path
        return None


def expand(folder: str, environ: dict[str, str] | None = None) -> str:
    """`~` and `$VARIABLE` / `${VARIABLE:-default}` in a preset's folder."""
    env = dict(os.environ) if environ is None else environ
    out, i = [], 0
    while i < len(folder):
        if folder.startswith("${", i) and "}" in folder[i:]:
            end = folder.index("}", i)
            name, _, default = folder[i + 2:end].partition(":-")
            out.append(env.get(name) or expand(default, env))
            i = end + 1
        elif folder[i] == "$":
            j = i + 1
            while j < len(folder) and (folder[j].isalnum() or folder[j] == "_"):
                j += 1
            out.append(env.get(folder[i + 1:j], ""))
            i = j
        else:
            out.append(folder[i])
            i += 1
    text = "".join(out)
    home = env.get("HOME") or os.path.expanduser("~")
    return home + text[1:] if text == "~" or text.startswith("~/") else text


def names() -> list[str]:
    """Every preset, by name."""
    import pkgutil

    from memory_vault.sources import presets

    return sorted(m.name.replace("_", "-") for m in pkgutil.iter_modules(presets.__path__))


def load(name: str) -> Preset | None:
    import importlib

    if name not in names():
        return None
    module = importlib.import_module(f"memory_vault.sources.presets.{name.replace('-', '_')}")
    preset = module.PRESET
    return preset if isinstance(preset, Preset) else None
