"""Refusal: a push the host turned down because it found a secret, read from its own words.

GitHub's push protection (GH013, formerly GH009) and GitLab's secret push protection name
each secret's rule, commit and `path:line`; a plain pre-receive hook that scans for secrets
says less, often only that it found one. Either way the queue must drain: the caller redacts
the commits the remote lacks and pushes again. Pure functions over git's output, unit-tested
on the hosts' verbatim messages; an unblock URL they print is never followed.
"""

import re

from memory_vault.errors import KIND_SECRET, GitFailed

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_GITHUB = re.compile(r"GH013: Repository rule violations found|GH009: Secrets detected|"
                     r"Push cannot contain secrets")
_GITLAB = "PUSH BLOCKED: Secrets detected"
_COMMIT_LINE = re.compile(r"-\s*commit:\s*([0-9a-f]{7,40})\b")
_PATH_LINE = re.compile(r"path:\s*(.+):(\d+)\s*$")
_GITLAB_COMMIT = re.compile(r"found the following secrets in commit:\s*([0-9a-f]{6,40})")
_GITLAB_PATH = re.compile(r"--\s+(.+?):(\d+)\s*(?:\|\s*)?(\S.*)$")
_DECLINED = ("[remote rejected]", "hook declined", "declined", "rejected")
_SECRET_WORDS = ("secret", "credential", "api key", "token", "private key")


class Location:
    """Where the host says a secret is: its rule (in the host's words), commit, path, line."""

    __slots__ = ("commit", "line", "path", "rule")

    def __init__(self, rule: str, commit: str, path: str, line: int) -> None:
        self.rule = rule
        self.commit = commit
        self.path = path
        self.line = line

    def __repr__(self) -> str:
        return f"Location({self.rule!r}, {self.commit[:12]}, {self.path}:{self.line})"


class Refusal:
    """The host refused a push for a secret; `said` is its reason, one line, for `status`."""

    __slots__ = ("locations", "said")

    def __init__(self, locations: list[Location], said: str) -> None:
        self.locations = locations
        self.said = said


def _remote_lines(output: str) -> list[str]:
    lines = []
    for raw in output.splitlines():
        line = _ANSI.sub("", raw)
        lines.append((line[7:] if line.startswith("remote:") else line).strip())
    return lines


def parse(output: bytes) -> Refusal | None:
    """The refusal in a failed push's output, when the host refused it for a secret."""
    said = output.decode("utf-8", "replace")
    lines = _remote_lines(said)
    if _GITHUB.search(said):
        first = next(line for line in lines if _GITHUB.search(line))
        return Refusal(_github(lines), f"the host's push protection found a secret "
                                       f"({first.removeprefix('error: ')[:200]})")
    if _GITLAB in said:
        return Refusal(_gitlab(lines), "the host's secret push protection found a secret "
                                       f"({_GITLAB})")
    lowered = said.lower()
    if any(word in lowered for word in _DECLINED):
        remote = [line for line in lines if line and any(
            word in line.lower() for word in _SECRET_WORDS)]
        if remote:
            return Refusal([], f"the remote refused the push: {remote[0][:200]}")
    return None


def _github(lines: list[str]) -> list[Location]:
    """GitHub names the rule above `locations:`, then `- commit: <sha>` and `path: p:line`
    pairs. Its rules are drawn with dashes that some terminals mangle: only letters count."""
    found, rule, previous, commit = [], "", "", ""
    for line in lines:
        if line == "locations:":
            rule = re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9)]+$", "", previous)
        if rule and (match := _COMMIT_LINE.match(line)):
            commit = match.group(1)
        elif rule and commit and (match := _PATH_LINE.match(line)):
            found.append(Location(rule, commit, match.group(1), int(match.group(2))))
        previous = line or previous
    return found


def _gitlab(lines: list[str]) -> list[Location]:
    """GitLab names the commit once, then `-- path:line | rule` (older: without the bar)."""
    found, commit = [], ""
    for line in lines:
        if match := _GITLAB_COMMIT.search(line):
            commit = match.group(1)
        elif commit and (match := _GITLAB_PATH.match(line)):
            found.append(Location(match.group(3).strip(), commit, match.group(1),
                                  int(match.group(2))))
    return found


class SecretRefused(GitFailed):
    """A push the host refused for a secret; the message names each one it said where."""

    kind = KIND_SECRET

    def __init__(self, refusal: Refusal) -> None:
        where = "; ".join(f"{loc.rule} in {loc.path} line {loc.line} (commit {loc.commit[:12]})"
                          for loc in refusal.locations[:3])
        more = len(refusal.locations) - 3
        super().__init__(f"{refusal.said}{': ' + where if where else ''}"
                         f"{f' and {more} more' if more > 0 else ''}")
        self.refusal = refusal
