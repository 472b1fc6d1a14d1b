"""Pieced: a file the vault keeps in pieces (`capture.pieces`), read back as the one file it
is: a `Pieced` entry in a listing, a `Stored` version of several blobs in order.

Pure functions over what git lists, unit-tested on literal entries; `store.read` asks git.
Entries under `<path>.pieces/` never show as files of their own: a listing folds them into
`<path>`, and pieces that are not exactly `000001` to `N`, plain files, are a reason to refuse
the file (a hostile or broken vault), never something to follow.
"""

from memory_vault.capture import pieces
from memory_vault.store import trees


class Pieced(trees.Entry):
    """A file the vault keeps in pieces: one entry standing for them, in order (`sizes`
    filled by `Reader.entries_under`), or the reason they cannot be read as one file."""

    __slots__ = ("pieces", "problem", "sizes")

    def __init__(self, folder: trees.Entry | None, members: dict[str, trees.Entry]) -> None:
        super().__init__(trees.BLOB_MODE, "blob", folder.sha if folder else "")
        order = pieces.in_order(list(members))
        self.pieces = [members[name] for name in order or []]
        self.sizes: list[int] = []
        self.problem = None if (
            order and folder is not None and folder.kind == "tree"
            and all(e.kind == "blob" and e.mode == trees.BLOB_MODE for e in self.pieces)
        ) else "its pieces in the vault are not the plain files 000001, 000002, ... in order"


def fold_pieces(found: dict[str, trees.Entry]) -> dict[str, trees.Entry]:
    """A listing (`git ls-tree -r -t`) as files: folders left out, and the entries under
    `<path>.pieces/` as one `Pieced` entry at `<path>` (unless a plain `<path>` is there
    too, which wins: pieces never show as files of their own)."""
    files: dict[str, trees.Entry] = {}
    members: dict[str, dict[str, trees.Entry]] = {}
    folders: dict[str, trees.Entry] = {}
    for path, entry in found.items():
        whole = pieces.owner(path)
        if whole == path:
            if entry.kind != "tree":
                files[path] = entry
        elif path == pieces.folder_of(whole):
            folders[whole] = entry
        else:
            members.setdefault(whole, {})[path[len(pieces.folder_of(whole)) + 1:]] = entry
    for whole in {**folders, **members}:
        if whole not in files:
            files[whole] = Pieced(folders.get(whole), members.get(whole, {}))
    return files


class Stored:
    """One version of a file in a commit: its blob, or the blobs of its pieces in order;
    `key` names it for caches (the blob, or the tree of the pieces)."""

    __slots__ = ("blobs", "key")

    def __init__(self, key: str, blobs: list[str]) -> None:
        self.key = key
        self.blobs = blobs


def parse_batch_check(raw: bytes) -> list[tuple[str, str] | None]:
    """`git cat-file --batch-check='%(objectname) %(objecttype)'` output, a line per name
    asked: (object id, type), or None where the name is missing.

    >>> parse_batch_check(b"a1b2 blob\\nHEAD:x missing\\n")
    [('a1b2', 'blob'), None]
    """
    found: list[tuple[str, str] | None] = []
    for line in raw.decode("utf-8", "surrogateescape").split("\n")[:-1]:
        sha, _, kind = line.rpartition(" ")
        known = kind in ("blob", "tree", "commit", "tag") and sha.isalnum()
        found.append((sha, kind) if known else None)
    return found
