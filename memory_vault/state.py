"""The `.last_sync` state: what each file looked like when it was last backed up, and how the
last run went.

A small line-based text format (not JSON: importing `json` costs 5 ms on the cron path, whose
whole budget is about 4 ms). One record per line, tab-separated, names escaped:

    memory-vault-state 2
    success <epoch> <commit>
    run     <epoch> <outcome> <pending pushes>
    error   <message>
    file    <size> <mtime_ns> <sha256> <name>

A file that cannot be read as this format (missing, empty, garbage, an older format) is never
fatal: it loads as an empty state whose `damaged` says why, and the next run rebuilds it by
hashing every file and committing only what differs from the vault.
"""

import os

from memory_vault.fsutil import write_atomic

HEADER = "memory-vault-state 2"
RECHECK = -1  # mtime_ns of a file written too recently to trust its timestamp


class FileRecord:
    """A file as it was read and backed up (or found equal to the vault)."""

    __slots__ = ("mtime_ns", "sha256", "size")

    def __init__(self, size: int, mtime_ns: int, sha256: str) -> None:
        self.size = size
        self.mtime_ns = mtime_ns
        self.sha256 = sha256

    def matches(self, size: int, mtime_ns: int) -> bool:
        return self.mtime_ns != RECHECK and self.size == size and self.mtime_ns == mtime_ns


class State:
    """Everything we remember between runs."""

    __slots__ = (
        "damaged",
        "files",
        "last_commit",
        "last_error",
        "last_outcome",
        "last_run",
        "last_success",
        "pending_push",
    )

    def __init__(self) -> None:
        self.files: dict[str, FileRecord] = {}
        self.last_success = 0  # epoch seconds of the last run that ended ok
        self.last_commit = ""
        self.last_run = 0
        self.last_outcome = ""  # "ok", "partial" or "failed"
        self.pending_push = 0
        self.last_error = ""
        self.damaged: str | None = None

    def dumps(self) -> str:
        lines = [
            HEADER,
            f"success\t{self.last_success}\t{self.last_commit}",
            f"run\t{self.last_run}\t{self.last_outcome}\t{self.pending_push}",
        ]
        if self.last_error:
            lines.append(f"error\t{escape(self.last_error)}")
        for name in sorted(self.files):
            rec = self.files[name]
            lines.append(f"file\t{rec.size}\t{rec.mtime_ns}\t{rec.sha256}\t{escape(name)}")
        return "\n".join(lines) + "\n"


def load_state(path: str) -> State:
    state = State()
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            text = handle.read()
    except FileNotFoundError:
        state.damaged = "missing"
        return state
    except OSError as exc:
        state.damaged = f"unreadable ({exc.strerror})"
        return state
    try:
        _parse_into(state, text)
    except (ValueError, IndexError, KeyError, StopIteration):
        state = State()
        state.damaged = "damaged or from an older format"
    return state


def _parse_into(state: State, text: str) -> None:
    lines = text.split("\n")
    if lines[0] != HEADER:
        raise ValueError("header")
    for line in lines[1:]:
        if not line:
            continue
        kind, _, rest = line.partition("\t")
        fields = rest.split("\t")
        if kind == "file":
            size, mtime_ns, digest = int(fields[0]), int(fields[1]), fields[2]
            if len(digest) != 64 or size < 0:
                raise ValueError("record")
            state.files[unescape(fields[3])] = FileRecord(size, mtime_ns, digest)
        elif kind == "success":
            state.last_success, state.last_commit = int(fields[0]), fields[1]
        elif kind == "run":
            state.last_run, state.last_outcome = int(fields[0]), fields[1]
            state.pending_push = int(fields[2])
        elif kind == "error":
            state.last_error = unescape(rest)
    if not text.endswith("\n"):
        raise ValueError("truncated")


def save_state(path: str, state: State, *, durable: bool = True) -> None:
    """Atomic replace; `durable` (fsync) whenever the file records changed."""
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    data = state.dumps().encode("utf-8", "surrogateescape")
    write_atomic(path, data, durable=durable)


_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}
_UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


def escape(text: str) -> str:
    if not any(c in text for c in _ESCAPES):
        return text
    return "".join(_ESCAPES.get(c, c) for c in text)


def unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out: list[str] = []
    chars = iter(text)
    for c in chars:
        out.append(_UNESCAPES[next(chars)] if c == "\\" else c)
    return "".join(out)
