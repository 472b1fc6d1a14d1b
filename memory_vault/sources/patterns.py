"""Patterns: the names and globs of a source, matched against its folder without `re`.

`*` and `?` within one path component, `[...]` through `fnmatch` (only a pattern that has one
pays for `re`), `**` for zero or more folders. A search never follows a folder link with
`**`, enters each folder once, and stops after `SCAN_LIMIT` entries. Excludes use the same
syntax and win over any include: an excluded file is never read. Only `os`: the cron path.
"""

import os

from memory_vault.shortcut import Looks

GLOB_CHARS = "*?["
SCAN_LIMIT = 100_000  # folder entries one expansion may visit: a huge tree costs no more


class Matches:
    """What the patterns name in the source dir, in order: files, and folders a glob
    matched (reported, never silently dropped), names listed but absent, and the patterns
    whose search hit `SCAN_LIMIT`.

    `**` matches zero or more folders but never enters a symlinked folder, and enters each
    folder once: a link loop (`sub/loop -> ..`) is walked past, not followed forever. A
    wildcard or a literal name may cross a symlinked folder (the scan then checks it
    resolves inside the source dir); the pattern's own depth bounds that.
    """

    __slots__ = ("absent", "cut", "exclude", "excluding", "found", "listings", "looks",
                 "overflow", "root", "short", "visited")

    def __init__(self, root: str, patterns: tuple[str, ...],
                 exclude: tuple[str, ...] = (), looks: Looks | None = None) -> None:
        self.root = root
        self.looks = looks or Looks(record=False)  # every path looked at, for the shortcut
        self.exclude = exclude
        # The excludes split once, by their first component: a plain name there can only
        # match a path that starts with it ("" holds those that start with a wildcard).
        self.excluding: dict[str, list[list[str]]] = {}
        for pattern in exclude:
            parts = pattern.split("/")
            head = "" if any(c in parts[0] for c in GLOB_CHARS) else parts[0]
            self.excluding.setdefault(head, []).append(parts)
        self.found: dict[str, bool] = {}  # name -> is a folder
        self.absent: list[str] = []
        self.overflow: list[str] = []
        self.listings: dict[str, list[tuple[str, bool, bool]]] = {}
        self.visited = 0
        self.short: set[str] = set()  # folders whose listing `SCAN_LIMIT` cut short
        self.cut = False  # the pattern being expanded met one of them
        for pattern in patterns:
            self.add(pattern)

    def add(self, pattern: str) -> None:
        if not any(c in pattern for c in GLOB_CHARS):
            if self.excludes(pattern):
                return
            if self.looks.lexists(self.disk(pattern)):
                self.found[pattern] = False  # named: the scan's stat tells what it is
            else:
                self.absent.append(pattern)
            return
        self.cut = False
        out: list[tuple[str, bool]] = []
        self.match(pattern.split("/"), "", out)
        for name, is_dir in sorted(set(out)):
            if name not in self.found and not self.excludes(name):
                self.found[name] = is_dir
        if self.cut:
            self.overflow.append(pattern)

    def excludes(self, name: str) -> bool:
        """`excluded`, asking only the patterns that can match: a scan asks it of each file."""
        if not self.excluding:
            return False
        parts = name.split("/")
        return any(path_match(p, parts) for head in ("", parts[0])
                   for p in self.excluding.get(head, ()))

    def disk(self, name: str) -> str:
        return os.path.join(self.root, name)

    def match(self, parts: list[str], folder: str, out: list[tuple[str, bool]]) -> None:
        """Add to `out` (name, is a folder) of what `parts` match below `folder`. (A list
        handed down, not generators: a file found five folders deep was passed up through
        five `yield from`, and a machine's scan finds thousands.)"""
        head, rest = parts[0], parts[1:]
        if head == "**":
            self.globstar(rest, folder, set(), out)
        elif not any(c in head for c in GLOB_CHARS):
            path = _join(folder, head)
            if rest and self.looks.isdir(self.disk(path)):
                self.match(rest, path, out)
            elif not rest and self.looks.lexists(self.disk(path)):
                out.append((path, self.looks.isdir(self.disk(path))))
        else:
            for name, is_dir, _ in self.listing(folder):
                if (head[0] == "." or name[0] != ".") and component_match(head, name):
                    if not rest:
                        out.append((_join(folder, name), is_dir))
                    elif is_dir:
                        self.match(rest, _join(folder, name), out)

    def globstar(self, rest: list[str], folder: str, seen: set[tuple[int, int]],
                 out: list[tuple[str, bool]]) -> None:
        """`**`: this folder and each real folder below it, hidden ones excepted."""
        if rest:
            self.match(rest, folder, out)
        else:
            out.extend((_join(folder, n), False) for n, d, _ in self.listing(folder)
                       if not d and n[0] != ".")
        if not seen:
            self.first_visit(folder, seen)
        for name, is_dir, is_link in self.listing(folder):
            path = _join(folder, name)
            if is_dir and not is_link and name[0] != "." and self.first_visit(path, seen):
                self.globstar(rest, path, seen, out)

    def first_visit(self, folder: str, seen: set[tuple[int, int]]) -> bool:
        """Is this the first time this `**` enters `folder`? (A bind mount can loop.)"""
        try:
            st = self.looks.lstat(self.disk(folder) if folder else self.root)
        except OSError:
            return False
        if (st.st_dev, st.st_ino) in seen:
            return False
        seen.add((st.st_dev, st.st_ino))
        return True

    def listing(self, folder: str) -> list[tuple[str, bool, bool]]:
        """(name, is a folder (through a link too), is a link) of each entry, listed once
        per scan and counted against `SCAN_LIMIT`; a listing the limit cut short marks the
        pattern being expanded."""
        cached = self.listings.get(folder)
        if cached is None:
            cached = self.listings[folder] = self.list_folder(folder)
        self.cut = self.cut or folder in self.short
        return cached

    def list_folder(self, folder: str) -> list[tuple[str, bool, bool]]:
        entries: list[tuple[str, bool, bool]] = []
        path = self.disk(folder) if folder else self.root
        self.looks.note(path, follow=True)  # its mtime changes with every entry's name
        try:
            with os.scandir(path) as found:
                for entry in found:
                    self.visited += 1
                    if self.visited > SCAN_LIMIT:
                        self.short.add(folder)
                        break
                    if entry.is_symlink():  # what it points at may change, the folder not
                        self.looks.note(entry.path, follow=True)
                    entries.append((entry.name, _is_dir(entry), entry.is_symlink()))
        except OSError:
            pass
        return entries


def _is_dir(entry: "os.DirEntry[str]") -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


def component_match(pattern: str, name: str) -> bool:
    """One path component against one pattern component: `*` and `?` here, without `re`;
    a `[...]` class through `fnmatch` (only a pattern that has one pays for `re`)."""
    if "[" in pattern:
        import fnmatch

        return fnmatch.fnmatchcase(name, pattern)
    return wildcard_match(pattern, name)


def wildcard_match(pattern: str, name: str) -> bool:
    """fnmatch for `*` and `?` without importing `re` (5 ms on the cron path). The common
    shapes, a plain name and one `*` (`*.jsonl`, `rollout-*`), are string comparisons: a
    scan meets every file of its folders with them."""
    if "?" not in pattern:
        star = pattern.find("*")
        if star < 0:
            return pattern == name
        if pattern.find("*", star + 1) < 0:
            head, tail = pattern[:star], pattern[star + 1:]
            return (len(name) >= len(head) + len(tail) and name.startswith(head)
                    and name.endswith(tail))
    p = n = 0
    star, mark = -1, 0
    while n < len(name):
        if p < len(pattern) and pattern[p] in ("?", name[n]):
            p += 1
            n += 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark = p, n
            p += 1
        elif star >= 0:
            p = star + 1
            mark += 1
            n = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


def excluded(path: str, patterns: tuple[str, ...]) -> bool:
    """Does any exclude pattern match `path`, or a folder it lies in?"""
    return any(path_match(p.split("/"), path.split("/")) for p in patterns)


def path_match(pattern: list[str], parts: list[str]) -> bool:
    """A pattern's components against a path's (`**` for zero or more folders); a pattern
    that matches a folder of the path matches the path too (`cache` excludes `cache/x`).

    >>> path_match(["**", "*.json"], ["a", "b", "x.json"]), path_match(["a"], ["a", "x"])
    (True, True)
    """
    if not pattern:
        return True  # the pattern named a folder the path lies in
    if not parts:
        return all(p == "**" for p in pattern)
    head = pattern[0]
    if head == "**":
        return path_match(pattern[1:], parts) or path_match(pattern, parts[1:])
    return component_match(head, parts[0]) and path_match(pattern[1:], parts[1:])
