"""Trailers: the shrink alarms (and purges) the vault's commits carry, read with git alone.

A sync that commits a version which lost many records says so in that commit
(`Shrink-Alarm: <path> <before> -> <after>`), so that the alarm outlives a crash between the
commit and the journal, and a lost or foreign journal. Read without GitPython: `status`
asks too. Paths are quoted reversibly (backslash, then control characters as `\\xNN`).
"""

from memory_vault.store.git.runner import GitRunner

ALARM_TRAILER = "Shrink-Alarm"
PURGE_TRAILER = "Secret-Purged"  # `secrets purge` rewrote the history before this commit
_FORMAT = "--format=%x1e%H%x1f%P%x1f%ct%x1f%B"


class AlarmTrailer:
    """One alarm as its commit states it."""

    __slots__ = ("after", "before", "commit", "parent", "path", "when")

    def __init__(self, commit: str, parent: str, when: int, path: str, before: int,
                 after: int) -> None:
        self.commit = commit
        self.parent = parent
        self.when = when
        self.path = path
        self.before = before
        self.after = after


def quote(path: str) -> str:
    """`a\\nb.json` -> `a\\\\x0ab.json`: one line, and `unquote` gives the name back."""
    out = path.replace("\\", "\\\\")
    return "".join(c if " " <= c < "\x7f" or c > "\x9f" else f"\\x{ord(c):02x}" for c in out)


def unquote(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        if text[i] == "\\" and text[i + 1:i + 2] == "\\":
            out.append("\\")
            i += 2
        elif text[i] == "\\" and text[i + 1:i + 2] == "x":
            out.append(chr(int(text[i + 2:i + 4], 16)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def trailer(path: str, before: int, after: int) -> str:
    return f"{ALARM_TRAILER}: {before} -> {after} {quote(path)}"


def parse_alarms(raw: bytes) -> list[AlarmTrailer]:
    """The alarms of `git log _FORMAT` output, newest commit first.

    >>> raw = b"\\x1ec1\\x1fp1\\x1f9\\x1fsync\\n\\nShrink-Alarm: 9 -> 1 m.json\\n"
    >>> [(a.path, a.before, a.after, a.parent) for a in parse_alarms(raw)]
    [('m.json', 9, 1, 'p1')]
    """
    found = []
    for record in raw.decode("utf-8", "surrogateescape").split("\x1e")[1:]:
        commit, parents, when, body = record.split("\x1f", 3)
        for line in body.splitlines():
            if not line.startswith(f"{ALARM_TRAILER}: "):
                continue
            before, _arrow, after, path = line[len(ALARM_TRAILER) + 2:].split(" ", 3)
            found.append(AlarmTrailer(commit, parents.split(" ")[0], int(when), unquote(path),
                                      int(before), int(after)))
    return found


def alarms_since(git: GitRunner, tip: str, since: str | None) -> list[AlarmTrailer]:
    """The alarms of the commits of `tip` that `since` does not hold (all without it)."""
    args = ["log", _FORMAT, f"--grep=^{ALARM_TRAILER}: ", tip]
    if since:
        args.append(f"^{since}")
    return parse_alarms(git.run(*args, "--").stdout)


def purged_between(git: GitRunner, tip: str, since: str | None) -> bool:
    """Does a commit of `tip` that `since` lacks say that a purge rewrote the history?"""
    args = ["log", "-1", "--format=%H", f"--grep=^{PURGE_TRAILER}: ", tip]
    if since:
        args.append(f"^{since}")
    return bool(git.run(*args, "--").text)
