"""Reader: what the vault holds (restore, history, diff, verify): commits, trees, history.

Restore and the reports read the vault only through these methods and the blob seam; git's
output is parsed by the pure functions at the top, unit-tested on literal bytes. A file kept
in pieces (`capture.pieces`) is read as the one file it is: a `Pieced` entry, a `Stored`
version of several blobs; its pieces never show as files of their own.
"""

from memory_vault.capture import pieces
from memory_vault.errors import GitFailed
from memory_vault.store import trees
from memory_vault.store.blobs import Blobs
from memory_vault.store.git.batch import read_objects
from memory_vault.store.pieced import Pieced, Stored, fold_pieces, parse_batch_check
from memory_vault.store.repo import Repo

LOG_FORMAT = "--format=%x1e%H%x1f%ct%x1f%s"
MAX_REPORTED_OBJECTS = 10  # a pack damaged throughout is not listed object by object


class LogEntry:
    """One commit of `git log`: sha, commit time, subject, and the paths it changed."""

    __slots__ = ("paths", "sha", "subject", "when")

    def __init__(self, sha: str, when: int, subject: str, paths: list[str]) -> None:
        self.sha = sha
        self.when = when
        self.subject = subject
        self.paths = paths


def parse_log(raw: bytes) -> list[LogEntry]:
    """`git log -z --name-only LOG_FORMAT` output, newest first.

    >>> [e.paths for e in parse_log(b"\\x1eabc\\x1f1700000000\\x1fsync\\0\\na/b.json\\0")]
    [['a/b.json']]
    """
    entries = []
    for record in raw.decode("utf-8", "surrogateescape").split("\x1e")[1:]:
        header, _, names = record.partition("\0")
        sha, stamp, subject = header.split("\x1f", 2)
        paths = [n for n in names.lstrip("\n").split("\0") if n.strip("\n")]
        entries.append(LogEntry(sha, int(stamp), subject, [p.lstrip("\n") for p in paths]))
    return entries


def parse_ls_tree_recursive(raw: bytes, prefix: str) -> dict[str, trees.Entry]:
    """`git ls-tree -r -z` output below `prefix/`, by path relative to it (raw: nothing in
    these names is trusted yet)."""
    found: dict[str, trees.Entry] = {}
    for record in raw.split(b"\0"):
        if not record:
            continue
        meta, _, path_bytes = record.partition(b"\t")
        mode, kind, sha = meta.decode("ascii").split(" ")
        path = path_bytes.decode("utf-8", "surrogateescape")
        if path.startswith(prefix + "/"):
            found[path[len(prefix) + 1:]] = trees.Entry(mode, kind, sha)
    return found


def parse_dated(text: str) -> list[tuple[str, int]]:
    """`git rev-list --format=%ct` output as (commit, commit time), newest first.

    >>> parse_dated("commit a1\\n20\\ncommit b2\\n10")
    [('a1', 20), ('b2', 10)]
    """
    lines = text.splitlines()
    return [(lines[i].split(" ", 1)[1], int(lines[i + 1])) for i in range(0, len(lines) - 1, 2)]


def at_or_before(line: list[tuple[str, int]], when: int) -> str | None:
    """The newest commit of `line` (newest first) that neither it nor any commit before it
    is dated after `when`.

    >>> at_or_before([("ours", 10), ("theirs", 20), ("root", 5)], 15)  # ours replayed late
    'root'
    >>> at_or_before([("c", 30), ("b", 25), ("a", 20)], 25), at_or_before([("a", 20)], 19)
    ('b', None)
    """
    found = None
    for commit, stamp in reversed(line):  # oldest first
        if stamp > when:
            break
        found = commit
    return found


def parse_object_sizes(raw: bytes) -> list[tuple[str, int]]:
    """`git cat-file --batch-check='%(objectname) %(objectsize)'` output.

    >>> parse_object_sizes(b"a1b2 120\\nc3d4 7\\n")
    [('a1b2', 120), ('c3d4', 7)]
    """
    pairs = (line.split(b" ") for line in raw.splitlines() if line)
    return [(sha.decode("ascii"), int(size)) for sha, size in pairs]


class Reader:
    """What the vault holds, read without changing anything."""

    def __init__(self, repo: Repo, blobs: Blobs) -> None:
        self.repo = repo
        self.blobs = blobs

    def tip(self) -> str | None:
        """The newest state of the vault we know: our branch or the remote's, whichever
        contains the other (the newer commit if they diverged)."""
        local, remote = self.repo.head(), self.repo.ref(self.repo.remote_ref)
        if local is None or remote is None or local == remote:
            return local or remote
        if self.repo.is_ancestor(remote, local):
            return local
        if self.repo.is_ancestor(local, remote):
            return remote
        dates = self.repo.git.run("log", "--no-walk=unsorted", "--format=%ct", local, remote).text
        local_date, remote_date = (int(d) for d in dates.split())
        return local if local_date >= remote_date else remote

    def commit_time(self, rev: str) -> tuple[str, int]:
        """(full sha, commit time in epoch seconds) of a commit."""
        found = self.repo.git.run("log", "-1", "--format=%H %ct", rev, "--").text
        sha, _, when = found.partition(" ")
        return sha, int(when)

    def newest_at_or_before(self, tip: str, when: float) -> str | None:
        """The vault as it was at `when`: the newest commit of the tip's first-parent line
        that neither it nor any commit before it is dated after `when`. A commit dated
        earlier than its parent (replayed by an older release) can never bring back a
        version written after `when`."""
        if when < 0:
            return None
        line = self.repo.git.run("rev-list", "--first-parent", "--format=%ct", tip).text
        return at_or_before(parse_dated(line), int(when))

    def first_commit_time(self, tip: str) -> int | None:
        roots = self.repo.git.run("rev-list", "--max-parents=0", tip).text.split()
        times = [self.commit_time(root)[1] for root in roots]
        return min(times) if times else None

    def entry_at(self, commit: str, path: str) -> trees.Entry | None:
        """The entry `path` names in `commit`'s tree (a folder, file or link), or None."""
        raw = self.repo.git.run("ls-tree", "-z", "--full-tree", commit, "--", path).stdout
        return trees.parse_ls_tree(raw).get(path)  # listed by its full path

    def entries_under(self, commit: str, subdir: str) -> dict[str, trees.Entry]:
        """Every file below `subdir`, listed with `git ls-tree` (which, unlike a checkout,
        stops at no hostile name: each entry is judged on its own later); a file in pieces
        as one `Pieced` entry, the size of each piece known."""
        raw = self.repo.git.run("ls-tree", "-r", "-t", "-z", "--full-tree", commit, "--",
                                f"{subdir}/").stdout
        files = fold_pieces(parse_ls_tree_recursive(raw, subdir))
        pieced = [e for e in files.values() if isinstance(e, Pieced) and e.problem is None]
        if pieced:
            shas = [p.sha for e in pieced for p in e.pieces]
            sizes = dict(zip(shas, self.sizes(shas), strict=True))
            for entry in pieced:
                entry.sizes = [sizes[p.sha] for p in entry.pieces]
        return files

    def sizes(self, shas: list[str]) -> list[int]:
        """The size of each object, asked of git in one call without reading them."""
        listing = "".join(f"{sha}\n" for sha in shas).encode()
        raw = self.repo.git.run("cat-file", "--batch-check=%(objectsize)",
                                input_bytes=listing).stdout
        return [int(size) for size in raw.split()]

    def versions(self, commits: list[str], path: str) -> list[Stored | None]:
        """The version of `path` each commit holds, whole or in pieces (None: absent, or not
        a file); one git for them all, and one more for each set of pieces."""
        if not commits:
            return []
        names = [path, *([pieces.folder_of(path)] if pieces.pieceable(path) else [])]
        if "\n" in path:  # batch-check reads one name a line
            return [self._version_at(c, path) for c in commits]
        asked = "".join(f"{c}:{name}\n" for name in names for c in commits)
        found = parse_batch_check(self.repo.git.run(
            "cat-file", "--batch-check=%(objectname) %(objecttype)",
            input_bytes=asked.encode("utf-8", "surrogateescape")).stdout)
        plain, folders = found[:len(commits)], found[len(commits):] or [None] * len(commits)
        listed: dict[str, Stored | None] = {}
        result: list[Stored | None] = []
        for blob, folder in zip(plain, folders, strict=True):
            if blob is not None and blob[1] == "blob":
                result.append(Stored(blob[0], [blob[0]]))
            elif folder is not None and folder[1] == "tree":
                if folder[0] not in listed:
                    listed[folder[0]] = self._pieces_of(folder[0])
                result.append(listed[folder[0]])
            else:
                result.append(None)
        return result

    def _version_at(self, commit: str, path: str) -> Stored | None:
        entry = self.entry_at(commit, path)
        if entry is not None and entry.kind == "blob":
            return Stored(entry.sha, [entry.sha])
        folder = self.entry_at(commit, pieces.folder_of(path))
        return self._pieces_of(folder.sha) if folder and folder.kind == "tree" else None

    def _pieces_of(self, tree: str) -> Stored | None:
        """The pieces a folder of pieces holds, in order (None: not pieces we can read)."""
        raw = self.repo.git.run("ls-tree", "-z", tree).stdout
        entry = Pieced(trees.Entry(trees.TREE_MODE, "tree", tree), trees.parse_ls_tree(raw))
        return None if entry.problem else Stored(tree, [p.sha for p in entry.pieces])

    def object_size(self, sha: str) -> int:
        """An object's size, asked of git without reading it (`cat-file -s`)."""
        return int(self.repo.git.run("cat-file", "-s", sha).text)

    def history(self, tip: str, path: str, limit: int | None = None) -> list[LogEntry]:
        """Commits touching `path` (a file: whole or in pieces), newest first, each with
        every path it changed."""
        args = ["log", "-z", "--name-only", "--no-renames", "--full-diff", LOG_FORMAT]
        if limit:
            args.append(f"--max-count={limit}")
        paths = [path, *([pieces.folder_of(path)] if pieces.pieceable(path) else [])]
        return parse_log(self.repo.git.run(*args, tip, "--", *paths).stdout)

    def fsck(self, repo_path: str, *, connectivity_only: bool = False) -> str | None:
        """What `git fsck` finds wrong in a repository, or None. `connectivity_only` checks
        that every object the history names is there and linked, without reading blobs:
        its cost grows with the number of commits, not with the bytes they hold."""
        args = ["fsck", "--no-progress", "--no-dangling"]
        if connectivity_only:
            args.append("--connectivity-only")
        result = self.repo.git.run(*args, cwd=repo_path, check=False)
        return None if result.returncode == 0 else self.repo.redactor.clean(result.error_text())

    def object_sizes(self) -> list[tuple[str, int]]:
        """(sha, size) of every object the clone can read, its own and those it borrows, in
        the order they lie in their packs (git reads them fastest that way)."""
        raw = self.repo.git.run("cat-file", "--batch-all-objects", "--unordered",
                           "--batch-check=%(objectname) %(objectsize)").stdout
        return parse_object_sizes(raw)

    def misread_objects(self, shas: list[str]) -> list[str]:
        """Which of `shas` git cannot read back as the bytes their name is the hash of
        (a flipped bit in a pack, a truncated loose object), each with what went wrong."""
        import hashlib

        bad: list[str] = []
        pending = shas
        while pending and len(bad) < MAX_REPORTED_OBJECTS:
            done = 0
            try:
                for sha, kind, data in read_objects(self.repo.git, pending):
                    done += 1
                    digest = hashlib.new("sha1" if len(sha) == 40 else "sha256")
                    digest.update(f"{kind} {len(data)}\0".encode())
                    digest.update(data)
                    if digest.hexdigest() != sha:
                        bad.append(f"object {sha}: its content does not hash to its name")
            except GitFailed as exc:  # git stops at an object it cannot read: go on after it
                bad.append(str(exc))
                done += 1
            pending = pending[done:]
        if pending:
            bad.append(f"{len(pending)} more objects not read after {len(bad)} problems")
        return bad

    def remote_branch(self) -> str | None:
        """The remote's branch tip, asked over the network (raises NetworkError)."""
        listed = self.repo.git.run("ls-remote", "origin", f"refs/heads/{self.repo.branch}",
                              network=True).text
        return listed.split()[0] if listed else None

    def count_commits(self, tip: str, exclude: str | None = None) -> int:
        args = ["rev-list", "--count", tip, *([f"^{exclude}"] if exclude else [])]
        return int(self.repo.git.run(*args).text or 0)
