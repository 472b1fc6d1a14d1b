"""Names: the one rule for the paths of memory files, git's own: what git and the vault can
hold, checked where a name is first met (the scan) and wherever one is written.

Git's `fsck` (and a remote with `receive.fsckObjects`) refuses a tree holding an empty name,
`.` or `..`, or `.git` in any spelling a file system folds into it; a vault that once
committed such a path could never push again. So the scan never lets such a name through
and the store asks the same question of every path it writes (`tree_path_problem`).

A name must also lead somewhere inside the source dir: `resolve` says where, links and all.

Only plain string work and `os.path`: this module is on the cron path.
"""

import os

MAX_NAME_BYTES = 255  # the longest file name Linux, macOS and Windows all hold
# Code points HFS+ ignores when it compares names: `.g\u200cit` is `.git` on a Mac (git's
# is_hfs_dotgit).
_HFS_IGNORED = frozenset("\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                         "\u206a\u206b\u206c\u206d\u206e\u206f\ufeff")


def is_git_name(part: str) -> bool:
    """A path component git treats as its own folder: `.git` in any case, with the
    trailing dots or spaces and the 8.3 short name (`git~1`) that NTFS folds into it, or
    the invisible code points HFS+ ignores. Git refuses such entries; a vault never
    writes one."""
    if not _HFS_IGNORED.isdisjoint(part):
        part = "".join(c for c in part if c not in _HFS_IGNORED)
    folded = part.rstrip(". ").lower()
    return folded in (".git", "git~1")


def tree_path_problem(path: str) -> str | None:
    """Why git's fsck would reject `path` (components joined by `/`) as a tree entry's
    path, else None: an empty component (`a//b`, a leading or trailing `/`), `.` or `..`,
    `.git` in any spelling, a NUL byte, or a component over 255 bytes."""
    if not path:
        return "an empty path"
    if "\0" in path:
        return "a NUL byte in the name"
    for part in path.split("/"):
        problem = _component_problem(part)
        if problem is not None:
            return problem
    return None


def _component_problem(part: str) -> str | None:
    if not part:
        return "an empty path component ('//', or a leading or trailing '/')"
    if part in (".", ".."):
        return f"a '{part}' path component"
    if is_git_name(part):
        return "git cannot hold a path with a '.git' folder in it"
    if len(part) * 4 > MAX_NAME_BYTES and len(part.encode("utf-8", "surrogateescape")) > (
            MAX_NAME_BYTES):  # UTF-8 spends at most 4 bytes a character
        return f"a name over {MAX_NAME_BYTES} bytes"
    return None


def unholdable(name: str, folders: "dict[str, str | None] | None" = None) -> str | None:
    """Why git or a vault cannot hold this file name, or None (the scan's question).
    `folders` keeps the answer for each folder met: a scan asks of every file, and the
    files of one folder share all of its path but the last name."""
    folder, _, last = name.rpartition("/")
    if folders is None or not folder:
        return tree_path_problem(name)
    if folder not in folders:
        folders[folder] = tree_path_problem(folder)
    return folders[folder] or tree_path_problem(last)


def resolve(source_dir: str, name: str) -> str | None:
    """`name`'s path relative to the source dir with every symlink on it resolved, when it
    stays inside the source dir, else None. The capture opens this path from the source
    dir's descriptor with no link followed, so a link swapped in later is refused."""
    return inside(os.path.realpath(os.path.join(source_dir, name)),
                  os.path.realpath(source_dir))


def inside(path: str, folder: str) -> str | None:
    """`path` relative to `folder` (both real, absolute), or None when it is not strictly
    inside. The root folder `/` holds every other path."""
    prefix = folder if folder.endswith(os.sep) else folder + os.sep
    return path[len(prefix):] if path.startswith(prefix) and path != prefix else None
