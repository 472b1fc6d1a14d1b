"""Trees: new commits are built from git trees directly, never through a working tree.

The vault's content is data, never a path to follow: someone with push access can put a
symlink where `rAgentShared` should be, or entries named `..` or `.git`, which git refuses to
check out (and `read-tree` refuses to index). So a sync never checks anything out: it splices
its new blobs into the tip's trees with `git ls-tree` and `git mktree`, which carry any
entry as it is, and refuses only when a folder it must write into is not a folder.

The parsers and the splice are pure functions over bytes; `TreeGit` is the one way in.
"""

from collections.abc import Callable

from memory_vault.sources.names import tree_path_problem

TREE_MODE = "040000"
BLOB_MODE = "100644"
SYMLINK_MODE = "120000"


class Entry:
    """One tree entry as git stores it: mode, type, object id."""

    __slots__ = ("kind", "mode", "sha")

    def __init__(self, mode: str, kind: str, sha: str) -> None:
        self.mode = mode
        self.kind = kind
        self.sha = sha

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Entry) and (self.mode, self.kind, self.sha) == (
            other.mode, other.kind, other.sha)

    def __repr__(self) -> str:
        return f"Entry({self.mode} {self.kind} {self.sha})"


class NotAFolder(Exception):
    """A path we must write under is not a folder in the vault (a symlink, a file)."""

    def __init__(self, path: str, entry: Entry) -> None:
        what = "a symbolic link" if entry.mode == SYMLINK_MODE else f"a {entry.kind}"
        super().__init__(f"{path} is {what} in the vault, not a folder")
        self.path = path


# (path components from the root) -> the new entry there, or None to remove it
Changes = dict[tuple[str, ...], "Entry | None"]
ReadTree = Callable[[str], dict[str, Entry]]
MakeTree = Callable[[dict[str, Entry]], str]


def parse_ls_tree(raw: bytes) -> dict[str, Entry]:
    """`git ls-tree -z <tree>` output as name -> Entry (names kept byte-exact).

    >>> parse_ls_tree(b"100644 blob e69de29bb2d1d6434b8b29ae775ad8c2e48c5391\\tx.json\\0")
    {'x.json': Entry(100644 blob e69de29bb2d1d6434b8b29ae775ad8c2e48c5391)}
    """
    entries: dict[str, Entry] = {}
    for record in raw.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, kind, sha = meta.decode("ascii").split(" ")
        entries[name.decode("utf-8", "surrogateescape")] = Entry(mode, kind, sha)
    return entries


def mktree_input(entries: dict[str, Entry]) -> bytes:
    """The `git mktree -z` input for `entries` (mktree sorts them itself)."""
    return b"".join(
        f"{e.mode} {e.kind} {e.sha}\t".encode("ascii")
        + name.encode("utf-8", "surrogateescape") + b"\0"
        for name, e in entries.items())


class Spliced:
    """A new tree, and what could not go into it: changes under a folder that is not a folder
    in the vault (refused, by path), and entries of a rewritten folder that git's own rules
    forbid (dropped: carried by the history, never written again)."""

    __slots__ = ("dropped", "refused", "tree")

    def __init__(self, tree: str, refused: dict[str, str], dropped: list[str]) -> None:
        self.tree = tree
        self.refused = refused
        self.dropped = dropped


def entry_problem(name: str) -> str | None:
    """Why git's fsck (or `git mktree`) rejects `name` as one tree entry, else None.

    >>> entry_problem("x.json"), entry_problem("../x"), entry_problem(".GIT")[:14]
    (None, 'a name holding a slash', 'git cannot hol')
    """
    if "/" in name:
        return "a name holding a slash"
    return tree_path_problem(name)


def splice(read: ReadTree, make: MakeTree, tree: str | None, changes: Changes) -> Spliced:
    """The id of `tree` with `changes` applied, every other entry kept as it was.

    Only the folders on the changed paths are read and rewritten. A change under a path that
    is something else than a folder in the vault (a planted symlink, a file) is refused: we
    never write into or through it; every other change is applied.
    """
    refused: dict[str, str] = {}
    dropped: list[str] = []
    new = _splice(read, make, tree, changes, (), refused, dropped)
    return Spliced(new, refused, dropped)


def _splice(read: ReadTree, make: MakeTree, tree: str | None, changes: Changes,
            where: tuple[str, ...], refused: dict[str, str], dropped: list[str]) -> str:
    entries = read(tree) if tree else {}
    for name in [n for n in entries if entry_problem(n) is not None]:
        dropped.append("/".join((*where, name)))
        del entries[name]
    below: dict[str, Changes] = {}
    for path, entry in changes.items():
        head, rest = path[0], path[1:]
        if rest:
            below.setdefault(head, {})[rest] = entry
        elif entry is None:
            entries.pop(head, None)
        else:
            entries[head] = entry
    for head, sub in below.items():
        existing = entries.get(head)
        if existing is not None and existing.kind != "tree":
            reason = str(NotAFolder("/".join((*where, head)), existing))
            refused.update({"/".join((*where, head, *rest)): reason for rest in sub})
            continue
        new = _splice(read, make, existing.sha if existing else None, sub, (*where, head),
                      refused, dropped)
        entries[head] = Entry(TREE_MODE, "tree", new)
    return make(entries)


def path_changes(raw_diff_tree: bytes) -> Changes:
    """What one commit changed, from `git diff-tree -r -z --raw --no-renames --root`:
    each path (split into components) -> its new entry, or None where it was deleted."""
    fields = raw_diff_tree.split(b"\0")
    changes: Changes = {}
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        if not meta.startswith(b":"):
            continue
        _old_mode, new_mode, _old_sha, new_sha, status = meta[1:].decode("ascii").split(" ")
        parts = tuple(path.decode("utf-8", "surrogateescape").split("/"))
        kind = "commit" if new_mode == "160000" else "blob"
        changes[parts] = None if status.startswith("D") else Entry(new_mode, kind, new_sha)
    return changes
