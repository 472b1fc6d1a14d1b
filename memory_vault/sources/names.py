"""Names: the one rule for the paths of memory files, git's own: what git and the vault can
hold, checked where a name is first met (the scan) and wherever one is written.

Only plain string work: this module is on the cron path.
"""


def is_git_name(part: str) -> bool:
    """A path component git treats as its own folder: `.git` in any case, with the
    trailing dots or spaces and the 8.3 short name (`git~1`) that some file systems fold
    into it. Git refuses such entries, and a vault must never write one."""
    folded = part.rstrip(". ").lower()
    return folded in (".git", "git~1")


def unholdable(name: str) -> str | None:
    """Why git or a vault cannot hold this file name, or None."""
    if any(is_git_name(part) for part in name.split("/")):
        return "git cannot hold a path with a '.git' folder in it"
    if any(len(part.encode("utf-8", "surrogateescape")) > 255 for part in name.split("/")):
        return "a name over 255 bytes"
    return None
