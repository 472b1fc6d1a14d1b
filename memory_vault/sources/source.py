"""Source: one folder backed up, its patterns and excludes, and where the vault keeps it.

The default source (`MEMORY_VAULT_SOURCE_DIR`, `MEMORY_VAULT_FILES`, `MEMORY_VAULT_EXCLUDE`)
is stored at `<SUBDIR>/`, as it always was; each source recorded in the sources file
(`sources.registry`) at `<SUBDIR>/<name>/`. A file's vault path is how every command names it.
Plain slotted class: the cron path builds these.
"""


class Source:
    """A folder, what in it is memory, what is not, and its name in the vault."""

    __slots__ = ("exclude", "files", "folder", "name", "preset", "store")

    def __init__(self, name: str, folder: str, files: tuple[str, ...],
                 exclude: tuple[str, ...] = (), *, store: bool = False,
                 preset: str = "") -> None:
        self.name = name  # "" for the default source
        self.folder = folder  # absolute
        self.files = files
        self.exclude = exclude
        self.store = store  # one consistent set: committed whole or not at all
        self.preset = preset

    def vault_path(self, rel: str) -> str:
        """`claude-code/CLAUDE.md` for `CLAUDE.md` of the source `claude-code`."""
        return f"{self.name}/{rel}" if self.name else rel

    def relative(self, vault_path: str) -> str | None:
        """The path inside the folder of a vault path this source holds, else None."""
        if not self.name:
            return vault_path
        prefix = self.name + "/"
        return vault_path[len(prefix):] if vault_path.startswith(prefix) else None

    def disk_path(self, vault_path: str) -> str:
        import os

        return os.path.join(self.folder, self.relative(vault_path) or vault_path)


def owner(sources: "list[Source]", vault_path: str) -> Source:
    """The source a vault path belongs to: the named one whose name starts it, else the
    default source."""
    for source in sources:
        if source.name and vault_path.startswith(source.name + "/"):
            return source
    return sources[0]


def nothing_tracked(sources: "list[Source]") -> str:
    """The one line for a run that found no tracked file in any source: when the source dir
    holds files after all, the file list is the likely cause, not the folder."""
    default, *named = sources
    where = (f"in {default.folder} (MEMORY_VAULT_FILES={','.join(default.files)})"
             + "".join(f", nor in {s.folder} (source {s.name})" for s in named))
    others = files_in(default.folder)
    if not others:
        return (f"none of the tracked files exists {where}: nothing was backed up; is "
                "MEMORY_VAULT_SOURCE_DIR right?")
    shown = ", ".join(others[:SHOWN]) + (" ..." if len(others) > SHOWN else "")
    return (f"none of the tracked files exists {where}: nothing was backed up; the folder "
            f"holds other files ({shown}) that no pattern matches: is MEMORY_VAULT_FILES "
            "right?")


SHOWN = 5  # files named in a message
LOOKED_AT = 1000  # folder entries `files_in` looks at, at most


def files_in(folder: str) -> list[str]:
    """Up to `SHOWN` + 1 regular files in `folder` or below it (hidden folders left out),
    by their path inside it, looking at no more than `LOOKED_AT` entries."""
    import os

    found: list[str] = []
    looked = 0
    pending = [""]
    while pending and len(found) <= SHOWN and looked < LOOKED_AT:
        rel = pending.pop(0)
        try:
            entries = sorted(os.scandir(os.path.join(folder, rel)), key=lambda e: e.name)
        except OSError:
            continue
        for entry in entries:
            looked += 1
            name = f"{rel}/{entry.name}" if rel else entry.name
            if entry.is_dir(follow_symlinks=False):
                if not entry.name.startswith("."):
                    pending.append(name)
            elif entry.is_file(follow_symlinks=False) and ".pre-restore-" not in entry.name:
                found.append(name)
    return found[:SHOWN + 1]
