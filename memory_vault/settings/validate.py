"""Validate: the rule each setting's value must meet, and the one line that says it does not.

A `Reader` looks a variable up in the merged settings (an old name standing for its new one)
and words the error for a bad value: the name the user wrote, where it came from (the
command line, the environment, which env file) and what is expected. Every check runs before
anything is touched.
"""

import os

from memory_vault.errors import ConfigError
from memory_vault.settings.schema import MAX_NAME_BYTES, RENAMED, VARIABLES

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_BRANCH_FORBIDDEN = set(" ~^:?*[\\\x7f")


class Reader:
    """Looks a variable up in the merged settings (an old name standing for its new one),
    and words the error for a bad value: the name the user wrote and where it came from."""

    __slots__ = ("origins", "settings")

    def __init__(self, settings: dict[str, str], origins: dict[str, str]) -> None:
        self.settings = settings
        self.origins = origins

    def _source(self, name: str) -> str:
        """The name under which the value was given (the new name, else an old one)."""
        if name in self.settings:
            return name
        return next((old for old, new in RENAMED.items()
                     if new == name and old in self.settings), name)

    def __call__(self, name: str) -> str:
        value = self.settings.get(self._source(name))
        return (VARIABLES[name] if value is None else value).strip()

    def fail(self, name: str, expected: str, *, shown: str | None = None) -> None:
        source = self._source(name)
        where = self.origins.get(source, "the default") if source in self.settings else (
            "the default")
        value = self(name) if shown is None else shown
        raise ConfigError(f"{source}={value!r} (from {where}): {expected}", source)


def regular_file(path: str) -> bool:
    import stat

    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def path(get: Reader, name: str, cwd: str) -> str:
    value = get(name)
    if not value:
        return ""
    if "\n" in value or "\0" in value:
        get.fail(name, "expected a path on one line")
    return os.path.normpath(os.path.join(cwd, os.path.expanduser(value)))


def folder(get: Reader, name: str, cwd: str, *, must_exist: bool) -> str:
    found = path(get, name, cwd) or cwd
    if must_exist and not os.path.isdir(found):
        what = "is not a folder" if os.path.exists(found) else "no such folder"
        get.fail(name, f"{what} (expected the folder holding the memory files)", shown=found)
    return found


def patterns(get: Reader, name: str = "MEMORY_VAULT_FILES", *,
             required: bool = True) -> tuple[str, ...]:
    """The patterns of a list setting (FILES, EXCLUDE) in one spelling; a pattern that cannot
    be made a relative path inside the source dir is refused, naming it."""
    given = [p.strip() for p in get(name).split(",") if p.strip()]
    if required and not given:
        get.fail(name, "is empty: expected comma-separated names or globs")
    try:
        return normalised(given)
    except ValueError as bad:
        get.fail(name, f"{bad} must be a name or glob relative to the source dir (no "
                 "absolute path, '..' or '.git')")
    raise AssertionError  # unreachable: fail raises


def normalised(given: "list[str] | tuple[str, ...]") -> tuple[str, ...]:
    """`./x.json`, `sub//x.json` and `a/./b` name the same files as `x.json`, `sub/x.json`
    and `a/b`, and the vault must store them by that one path (git refuses `.` and empty
    components). ValueError(the pattern) for one that cannot be a relative path.

    >>> normalised(["./m.json", "sub//x.json", "m.json"])
    ('m.json', 'sub/x.json')
    """
    found: dict[str, None] = {}
    for pattern in given:
        parts = [p for p in pattern.split("/") if p not in ("", ".")]
        checked = [p for part in parts for p in part.split("\\")]
        if (pattern.startswith(("/", "~")) or not parts or ".." in checked
                or any(p.rstrip(". ").lower() in (".git", "git~1") for p in checked)):
            raise ValueError(repr(pattern))
        found["/".join(parts)] = None
    return tuple(found)


def subdir(get: Reader) -> str:
    name = "MEMORY_VAULT_SUBDIR"
    value = get(name)
    parts = [p for p in value.replace("\\", "/").split("/") if p not in ("", ".")]
    bad = (
        not parts
        or value.startswith(("/", "~", ":"))
        or ".." in parts
        or ".git" in (p.lower() for p in parts)
        or any(len(p.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for p in parts)
        or any(ord(c) < 32 or c == "\x7f" for c in value)
    )
    if bad:
        get.fail(name, "expected a relative folder name inside the vault (no absolute path, "
                 "'..', '.git', pathspec magic such as ':(top)', control characters or a "
                 f"name over {MAX_NAME_BYTES} bytes)")
    return "/".join(parts)


def branch(get: Reader) -> str:
    """A name `git check-ref-format --branch` accepts (its rules, without starting git)."""
    name = "MEMORY_VAULT_BRANCH"
    value = get(name)
    components = value.split("/")
    bad = (
        not value
        or value == "@"
        or value.startswith("-")
        or value.endswith(".")
        or ".." in value
        or "@{" in value
        or any(c in _BRANCH_FORBIDDEN or ord(c) < 32 for c in value)
        or any(not c or c.startswith(".") or c.endswith(".lock") for c in components)
    )
    if bad:
        get.fail(name, "expected a valid git branch name (as `git check-ref-format "
                 "--branch` accepts)")
    return value


def remote(get: Reader, cwd: str) -> str | None:
    name = "MEMORY_VAULT_REMOTE"
    value = get(name)
    if not value:
        return None
    if value.startswith("-") or any(c in value for c in "\n\r\0"):
        get.fail(name, "expected a git URL or path (one line, not starting with '-')")
    if "://" in value or (":" in value.split("/", 1)[0] and not value.startswith(".")):
        return value  # a URL, or scp-like user@host:path
    return os.path.normpath(os.path.join(cwd, os.path.expanduser(value)))


def choice(get: Reader, name: str, allowed: tuple[str, ...]) -> str:
    value = get(name).lower()
    if value not in allowed:
        get.fail(name, f"expected one of {', '.join(allowed)}")
    return value


def boolean(get: Reader, name: str) -> bool:
    value = get(name).lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    get.fail(name, "expected true or false")
    raise AssertionError  # unreachable: fail raises


def number(get: Reader, name: str, unit: str, *, maximum: float,
            zero: bool = False) -> float:
    raw = get(name)
    try:
        number = float(raw)
    except ValueError:
        number = -1.0
    low_ok = number >= 0 if zero else number > 0
    if not (low_ok and number <= maximum):
        kind = "a number" if zero else "a positive number"
        get.fail(name, f"expected {kind} of {unit}, at most {maximum:g}")
    return number


def ping_url(get: Reader) -> str:
    name = "MEMORY_VAULT_PING_URL"
    value = get(name)
    if value and (not value.startswith(("http://", "https://"))
                  or any(c.isspace() or ord(c) < 32 for c in value)):
        get.fail(name, "expected an http:// or https:// URL")
    return value


def identity(get: Reader, name: str) -> str:
    value = get(name)
    if any(c in value for c in "<>\n\r\0"):
        get.fail(name, "expected one line without '<' or '>'")
    if name.endswith("_NAME") and not value:
        get.fail(name, "is empty: expected the commit author's name")
    return value


_BECH32 = set("qpzry9x8gf2tvdw0s3jn54khce6mua7l")
AGE_KEY_LENGTH = 62  # "age1" and 58 bech32 characters: an X25519 public key


def encryption(get: Reader, *, embedded: bool) -> str:
    """`age`, or "" (off). The embedded vault lies beside the plain clone: encrypting it
    would protect nothing, so encryption asks for a remote of its own."""
    name = "MEMORY_VAULT_ENCRYPT"
    value = get(name).lower()
    if value in ("", "off", "none", "false", "no"):
        return ""
    if value != "age":
        get.fail(name, "expected age or off")
    if embedded:
        get.fail(name, "encrypts what reaches the remote: set MEMORY_VAULT_REMOTE too (the "
                 "embedded vault lies beside the plain clone on this machine)")
    return value


def recipients(get: Reader) -> tuple[str, ...]:
    """Age public keys, comma-separated, each `age1` and 58 bech32 characters."""
    name = "MEMORY_VAULT_RECIPIENTS"
    keys = [k.strip() for k in get(name).split(",") if k.strip()]
    for key in keys:
        if (len(key) != AGE_KEY_LENGTH or not key.startswith("age1")
                or not set(key[4:]) <= _BECH32):
            get.fail(name, f"{key[:12]}... is not an age public key (expected age1 and 58 "
                     "lowercase letters and digits, comma-separated)")
    return tuple(keys)
