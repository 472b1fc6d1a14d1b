"""Commits: one sync's versions become one commit on top of our branch.

The versions go into the object store through the blob seam (`blobs`), and their blob ids are
spliced into the tip's tree (`trees.splice`): nothing is checked out, ever. A commit that
changes nothing is not made.

A version read in pieces (`capture.pieces`) is committed as the folder `<path>.pieces/` of
its pieces, and nothing at `<path>`; a plain one as `<path>`, and no such folder: whatever
no longer belongs goes from the tip (the history keeps it). A piece the tip already holds
at its place is not stored again.
"""

from memory_vault.capture import pieces
from memory_vault.capture.version import Version
from memory_vault.fsutil import plural, utc_stamp
from memory_vault.sources.names import tree_path_problem
from memory_vault.store import trees
from memory_vault.store.blobs import IDENTITY, Blobs
from memory_vault.store.repo import Repo
from memory_vault.store.trailers import trailer
from memory_vault.terminal import printable


class Shrink:
    """A version that lost many records, said in its own commit (a trailer, `store.trailers`),
    so that the alarm outlives any local cache."""

    __slots__ = ("after", "before", "path")

    def __init__(self, path: str, before: int, after: int) -> None:
        self.path = path
        self.before = before
        self.after = after

    def trailer(self) -> str:
        return trailer(self.path, self.before, self.after)


class CommitInfo:
    """One sync commit: its sha, subject and the versions it holds that changed."""

    __slots__ = ("files", "parent", "sha", "subject")

    def __init__(self, sha: str, subject: str, files: list[Version],
                 parent: str | None = None) -> None:
        self.sha = sha
        self.subject = subject
        self.files = files
        self.parent = parent  # the commit holding the versions before these


def commit_subject(when: float, count: int) -> str:
    """`Memory vault sync 2026-11-24T17:45:00Z (2 files)`, `(1 file)` for one."""
    return f"Memory vault sync {utc_stamp(when)} ({plural(count, 'file')})"


def commit_message(when: float, files: list[Version],
                   shrinks: list[Shrink] | None = None) -> bytes:
    """The subject, then exactly one line per file with its size and sha256, then, after a
    blank line, a trailer for each shrink alarm."""
    body = "\n".join(f"{printable(v.path)}: {v.size} bytes, sha256 {v.sha256}" for v in files)
    text = f"{commit_subject(when, len(files))}\n\n{body}\n"
    if shrinks:
        text += "\n" + "".join(f"{s.trailer()}\n" for s in shrinks)
    return text.encode("utf-8", "surrogateescape")


def identity_env(name: str, email: str, when: float) -> dict[str, str]:
    date = f"{int(when)} +0000"
    return {
        "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email, "GIT_COMMITTER_DATE": date,
    }


class Built:
    """What the staged versions make of the tip: the tree, the versions it changes, those
    it refused. `Committer.prepare` builds it early; `commit` takes it while it holds."""

    __slots__ = ("files", "parent", "refused", "tree")

    def __init__(self, parent: str | None, tree: str | None, files: list[Version],
                 refused: dict[str, str]) -> None:
        self.parent = parent
        self.tree = tree
        self.files = files
        self.refused = refused


class Committer:
    """Staging versions and committing them, one commit per run."""

    def __init__(self, repo: Repo, blobs: Blobs) -> None:
        self.repo = repo
        self.blobs = blobs
        self._staged: dict[str, Version] = {}
        self._pieces: dict[str, list[str]] = {}  # vault path -> its pieces' blobs, in order
        self._shas: dict[str, str] = {}  # staged blob path -> its id, once stored
        self._built: Built | None = None  # what `prepare` made of the staging, if it holds
        self.refused: dict[str, str] = {}  # vault path -> why the last commit left it out

    def stage(self, version: Version) -> None:
        """Keep one version's bytes for the commit (one file's bytes, or one piece's, in
        memory at a time)."""
        self._built = None
        if version.pieces is None:
            self.blobs.stage(version.path, version.data or b"")
            self._pieces.pop(version.path, None)
        else:
            held = self.tip_pieces(version.path)
            blobs = []
            for number, piece in enumerate(version.pieces, 1):
                if held.get(pieces.piece_name(number)) == piece.blob:
                    blobs.append(piece.blob)  # the same bytes at the same place: kept
                    continue
                self.blobs.stage(pieces.piece_path(version.path, number), piece.read())
                blobs.append("")  # known once stored
            self._pieces[version.path] = blobs
        self._staged[version.path] = version

    def tip_pieces(self, path: str) -> dict[str, str]:
        """The pieces of `path` the tip holds (name -> blob id), when the codec stores the
        bytes as they are (a blob id then names the piece's own bytes)."""
        head = self.repo.head()
        if head is None or self.blobs.codec is not IDENTITY:
            return {}
        folder = f"{self.repo.config.subdir}/{pieces.folder_of(path)}"
        raw = self.repo.git.run("ls-tree", "-z", "--full-tree", head, "--", f"{folder}/").stdout
        return {name.rsplit("/", 1)[-1]: e.sha for name, e in trees.parse_ls_tree(raw).items()
                if e.kind == "blob"}

    def unstage(self, path: str) -> None:
        """Forget what `stage` kept of `path` (a read that did not count after all)."""
        self._built = None
        self._staged.pop(path, None)
        self._pieces.pop(path, None)
        self._shas.pop(path, None)
        self.blobs.unstage(path)

    def drop_staged(self) -> None:
        self._staged = {}
        self._pieces = {}
        self._shas = {}
        self._built = None
        self.blobs.drop_staged()

    def staged(self) -> list[Version]:
        return list(self._staged.values())

    def prepare(self) -> None:
        """Store what is staged and splice it into the tip's tree now, while the run waits
        for a read to be proven: `commit` takes it as it is, unless something is staged or
        unstaged meanwhile, or the tip moved."""
        self._built = self._build()

    def commit(self, when: float, shrinks: list[Shrink] | None = None) -> CommitInfo | None:
        """One commit of what `stage` kept, on top of our branch, if it changes anything.
        A version the vault cannot take (a link or a file where its folder should be) is
        left out, with its reason in `refused`; the others are committed."""
        built = self._built
        if built is None or built.parent != self.repo.head():
            built = self._build()
        self._staged, self._pieces, self._shas, self._built = {}, {}, {}, None
        self.refused = built.refused
        if built.tree is None or not built.files:
            return None
        kept = {v.path for v in built.files}
        message = commit_message(when, built.files, [s for s in shrinks or [] if s.path in kept])
        repo, parent = self.repo, built.parent
        identity = identity_env(repo.config.author_name, repo.config.author_email, when)
        sha = repo.git.run("commit-tree", built.tree, *(["-p", parent] if parent else []),
                           "-F", "-", input_bytes=message, extra_env=identity).text
        repo.git.run("update-ref", repo.local_ref, sha, parent or "0" * 40)
        return CommitInfo(sha, commit_subject(when, len(built.files)), built.files, parent)

    def _build(self) -> Built:
        """The staged versions stored, and spliced into the tip's tree."""
        repo = self.repo
        parent = repo.head()
        refused = {p: why for p in self._staged
                   if (why := _path_problem(p, p in self._pieces)) is not None}
        staged = {p: v for p, v in self._staged.items() if p not in refused}
        if not staged:
            self.blobs.drop_staged()
            return Built(parent, None, [], refused)
        self._shas.update(self.blobs.store())
        subdir = repo.config.subdir
        changes: trees.Changes = {}
        for path in staged:
            where = (*subdir.split("/"), *path.split("/"))
            folder = (*where[:-1], pieces.folder_of(where[-1]))
            if path in self._pieces:
                changes[where] = None
                changes[folder] = trees.Entry(trees.TREE_MODE, "tree", self._pieces_tree(
                    path, self._pieces[path], self._shas))
                continue
            changes[where] = trees.Entry(trees.BLOB_MODE, "blob", self._shas[path])
            if pieces.pieceable(path):
                changes[folder] = None  # once in pieces, now whole
        base = repo.tree_of(parent) if parent else None
        spliced = repo.splice(base, changes)
        refused = {pieces.owner(p.removeprefix(subdir + "/")): why
                   for p, why in spliced.refused.items()}
        changed = ({pieces.owner(p) for p in repo.paths_between(base, spliced.tree)}
                   if spliced.tree != base else set())
        files = [v for path, v in staged.items() if f"{subdir}/{path}" in changed]
        return Built(parent, spliced.tree, files, refused)

    def _pieces_tree(self, path: str, blobs: list[str], shas: dict[str, str]) -> str:
        """The folder of a version's pieces: `000001`, `000002`, ... in order."""
        listing = {pieces.piece_name(number): trees.Entry(
            trees.BLOB_MODE, "blob", blob or shas[pieces.piece_path(path, number)])
            for number, blob in enumerate(blobs, 1)}
        return self.repo.git.run("mktree", "-z", input_bytes=trees.mktree_input(listing)).text

    def last_saved(self, path: str) -> int | None:
        """When the vault last took a version of `path` (epoch seconds), if ever."""
        repo = self.repo
        if not repo.has_commits():
            return None
        where = f"{repo.config.subdir}/{path}"
        out = repo.git.run("log", "-1", "--format=%ct", repo.local_ref, "--", where,
                           pieces.folder_of(where), check=False).text
        return int(out) if out.isdigit() else None


def _path_problem(path: str, pieced: bool) -> str | None:
    """Why the vault cannot hold a file at `path` (git's rule, once more; a name kept for
    pieces), or, in pieces, its folder of pieces."""
    return (tree_path_problem(path) or pieces.reserved_problem(path)
            or (tree_path_problem(pieces.folder_of(path)) if pieced else None))
