"""Work tree: the clone shows the backup, its files under the subdir equal to the tip and
`git status` in it clean (SPEC step 6: "copies changed files into the clone's rAgentShared/").

Commits are never made from the work tree (they are spliced from trees, `store.trees`), so
the work tree is only a view, brought to the tip after each commit: the files that changed
since the tip it last showed are written from the vault, with the refusal of links restore
has (a folder on the way that is a link, a name git forbids: not written, a warning); the
index follows the tip (the stat of a few files written is left for `git status` to take),
and paths outside the subdir (another machine's folder, say) are marked skip-worktree, so
that `git status` has nothing to report.
"""

import contextlib
import os

from memory_vault.store import trees
from memory_vault.store.blobs import Blobs
from memory_vault.store.repo import Repo

SHOWN_REF = "refs/memory-vault/shown"  # the tip the work tree last showed
# Up to this many paths changed, they are asked of git by name, and the stat of the files
# written is left for `git status` to refresh: a refresh of the whole index stats every
# file of the clone (15 ms of 5,000), for one transcript appended to (issue 26).
FEW_PATHS = 64
_ZERO = "0" * 40


class WorkTree:
    """The clone's index and its files under the subdir, kept equal to the tip."""

    def __init__(self, repo: Repo, blobs: Blobs) -> None:
        self.repo = repo
        self.blobs = blobs

    def update(self) -> None:
        repo = self.repo
        tip = repo.head()
        shown = repo.ref(SHOWN_REF)
        if tip is None or tip == shown:
            return
        if shown is not None and not repo.is_ancestor(shown, tip):
            shown = None  # a rewritten branch: show every path again
        paths = sorted(repo.paths_between(shown, tip))
        entries = self._entries(tip, paths)
        self._write_index(paths, entries)
        visible = [(p, e) for p, e in entries.items() if self._belongs(p, e)]
        hidden = [p for p, e in entries.items() if not self._belongs(p, e)]
        # One git for every blob (a first sync shows thousands: a process each cost more
        # than the files' bytes); one version in memory at a time.
        blobs = self.blobs.iterate([e.sha for _, e in visible])
        for (path, entry), data in zip(visible, blobs, strict=True):
            if not self._show(path, entry, data):
                hidden.append(path)
        if hidden:
            repo.git.run("update-index", "-z", "--skip-worktree", "--stdin",
                         input_bytes=b"".join(p.encode("utf-8", "surrogateescape") + b"\0"
                                              for p in hidden))
        for path in (p for p in paths if p not in entries):
            self._remove(path)
        if len(paths) > FEW_PATHS:  # a first sync: `git status` would hash every file
            repo.git.run("update-index", "-q", "--refresh", check=False)
        repo.git.run("update-ref", SHOWN_REF, tip)

    def _entries(self, tip: str, paths: list[str]) -> dict[str, trees.Entry]:
        """The entries the tip holds at `paths` (a path absent from the tip was removed)."""
        if not paths:
            return {}
        named = ("--", *paths) if len(paths) <= FEW_PATHS else ()
        raw = self.repo.git.run("ls-tree", "-r", "-z", "--full-tree", tip, *named,
                                extra_env={"GIT_LITERAL_PATHSPECS": "1"}).stdout
        wanted = set(paths)
        return {p: e for p, e in trees.parse_ls_tree(raw).items() if p in wanted}

    def _write_index(self, paths: list[str], entries: dict[str, trees.Entry]) -> None:
        lines = []
        for path in paths:
            if any(trees.entry_problem(part) for part in path.split("/")):
                continue  # git keeps no such path in an index: nothing to show
            entry = entries.get(path)
            line = f"{entry.mode} {entry.sha}\t" if entry else f"0 {_ZERO}\t"
            lines.append(line.encode() + path.encode("utf-8", "surrogateescape") + b"\0")
        if lines:
            self.repo.git.run("update-index", "-z", "--index-info", input_bytes=b"".join(lines))

    def _belongs(self, path: str, entry: trees.Entry) -> bool:
        """Is the entry's file part of the view? (False: hidden, skip-worktree.)"""
        prefix = self.repo.config.subdir + "/"
        return (path.startswith(prefix) and entry.kind == "blob"
                and entry.mode != trees.SYMLINK_MODE
                and not any(trees.entry_problem(part) for part in path.split("/")))

    def _show(self, path: str, entry: trees.Entry, data: bytes) -> bool:
        """Write the entry's file; False: a folder on its way is not a plain folder."""
        parts = path.split("/")
        try:
            folder = self._open_folder(parts[:-1])
        except OSError as exc:
            self.repo.log.warning(f"{path}: not shown in the clone's work tree: a folder on "
                                  f"its way is not a plain folder ({exc.strerror})")
            return False
        try:
            self._write(folder, parts[-1], entry, data)
        finally:
            os.close(folder)
        return True

    def _open_folder(self, parts: list[str]) -> int:
        """The folder of the work tree at `parts`, made if missing, walked without following
        a single link (O_NOFOLLOW at every step)."""
        fd = os.open(self.repo.config.clone_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        for part in parts:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o700, dir_fd=fd)
            try:
                step = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                               dir_fd=fd)
            finally:
                os.close(fd)
            fd = step
        return fd

    def _write(self, folder: int, name: str, entry: trees.Entry, data: bytes) -> None:
        """The blob into a new file beside `name`, renamed over it (a link there is replaced,
        never followed)."""
        tmp = f".mv-worktree-{os.getpid()}-{os.urandom(4).hex()}"
        mode = 0o755 if entry.mode == "100755" else 0o644
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     mode, dir_fd=folder)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
            os.rename(tmp, name, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            os.unlink(tmp, dir_fd=folder)
            raise

    def _remove(self, path: str) -> None:
        """A file the tip no longer holds leaves the view (only a plain file, never a link's
        target)."""
        parts = path.split("/")
        if not path.startswith(self.repo.config.subdir + "/") or any(
                trees.entry_problem(part) for part in parts):
            return
        try:
            folder = self._open_folder(parts[:-1])
        except OSError:
            return
        with contextlib.suppress(OSError):
            os.unlink(parts[-1], dir_fd=folder)
        os.close(folder)
