"""The `.last_sync` state: what each file looked like when it was last backed up, and how the
last run went.

A small line-based text format (not JSON: importing `json` costs 5 ms on the cron path, whose
whole budget is about 4 ms). One record per line, tab-separated, names escaped:

    memory-vault-state 3
    vault   <remote without credentials> <branch> <subdir>
    success <epoch> <commit>
    run     <epoch> <outcome> <pending pushes>
    error   <message>
    push    <kind> <message>           (the last push failure, until a push succeeds)
    file    <size> <mtime_ns> <sha256> <saved epoch> <format> <records or -1> <name>
    alarm   <name> <records before> <records after> <commit> <previous commit> <epoch>
    skip    <name> <saved epoch> <reason>   (each file the last run could not back up;
                                             saved 0: the vault has never had it)

A file that cannot be read as this format (missing, empty, garbage, an older format) is never
fatal: it loads as an empty state whose `condition` says which case and `damaged` why, and
the next run rebuilds it by hashing every file and committing only what differs from the
vault. So does the state of another vault (the user moved to another remote, branch or
subdir): its records say nothing about what the configured vault holds.
"""

import os

from memory_vault.fsutil import write_atomic

HEADER = "memory-vault-state 3"
# What a loaded state file was (module constants: `enum` costs import time on the cron path).
GOOD = 0
MISSING = 1  # no file yet: a first run
DAMAGED = 2  # unreadable, garbage, truncated, an older format
OTHER_VAULT = 3  # the state of another remote, branch or subdir
RECHECK = -1  # mtime_ns of a file written too recently to trust its timestamp


class FileRecord:
    """A file as it was read and backed up (or found equal to the vault)."""

    __slots__ = ("format", "mtime_ns", "records", "saved", "sha256", "size")

    def __init__(self, size: int, mtime_ns: int, sha256: str, saved: int = 0,
                 fmt: str = "", records: int | None = None) -> None:
        self.size = size  # size and mtime as the scan sees them (SQLite: with its -wal)
        self.mtime_ns = mtime_ns
        self.sha256 = sha256  # of the bytes stored in the vault
        self.saved = saved  # epoch seconds of the run that put this version in the vault
        self.format = fmt  # a `formats` name
        self.records = records  # how many records that version holds (None: unknown)

    def matches(self, size: int, mtime_ns: int) -> bool:
        return self.mtime_ns != RECHECK and self.size == size and self.mtime_ns == mtime_ns


class Skipped:
    """A file the last run could not back up: why, and when the vault last took a version
    of it (0: never)."""

    __slots__ = ("reason", "saved")

    def __init__(self, reason: str, saved: int) -> None:
        self.reason = reason
        self.saved = saved


class Alarm:
    """A version that lost many records: still committed, flagged until `ack`."""

    __slots__ = ("after", "before", "commit", "previous", "when")

    def __init__(self, before: int, after: int, commit: str, previous: str, when: int) -> None:
        self.before = before
        self.after = after
        self.commit = commit  # the commit holding the shrunk version
        self.previous = previous  # the commit holding the version before it
        self.when = when

    @property
    def lost_percent(self) -> int:
        return 100 if not self.before else round(100 * (self.before - self.after) / self.before)


class State:
    """Everything we remember between runs."""

    __slots__ = (
        "alarms",
        "condition",
        "damaged",
        "files",
        "last_commit",
        "last_error",
        "last_outcome",
        "last_run",
        "last_success",
        "other_vault",
        "pending_push",
        "push_error",
        "push_error_kind",
        "skips",
        "vault",
    )

    def __init__(self) -> None:
        self.vault: tuple[str, str, str] = ("", "", "")  # remote identity, branch, subdir
        self.files: dict[str, FileRecord] = {}
        self.skips: dict[str, Skipped] = {}  # what the last run could not back up
        self.alarms: dict[str, Alarm] = {}  # open shrink alarms, until `ack`
        self.last_success = 0  # epoch seconds of the last run that ended ok
        self.last_commit = ""
        self.last_run = 0
        self.last_outcome = ""  # OUTCOME_OK, OUTCOME_PARTIAL or OUTCOME_FAILED
        self.pending_push = 0
        self.last_error = ""
        self.push_error_kind = ""
        self.push_error = ""
        self.condition = GOOD
        self.damaged: str | None = None  # why the condition is not GOOD, for a person
        self.other_vault: tuple[str, str, str] | None = None  # what a foreign state described

    def dumps(self) -> str:
        lines = [
            HEADER,
            "vault\t" + "\t".join(escape(part) for part in self.vault),
            f"success\t{self.last_success}\t{self.last_commit}",
            f"run\t{self.last_run}\t{self.last_outcome}\t{self.pending_push}",
        ]
        if self.last_error:
            lines.append(f"error\t{escape(self.last_error)}")
        if self.push_error:
            lines.append(f"push\t{escape(self.push_error_kind)}\t{escape(self.push_error)}")
        for name in sorted(self.files):
            rec = self.files[name]
            count = -1 if rec.records is None else rec.records
            lines.append(f"file\t{rec.size}\t{rec.mtime_ns}\t{rec.sha256}\t{rec.saved}\t"
                         f"{rec.format}\t{count}\t{escape(name)}")
        for name in sorted(self.alarms):
            a = self.alarms[name]
            lines.append(f"alarm\t{escape(name)}\t{a.before}\t{a.after}\t{a.commit}\t"
                         f"{a.previous}\t{a.when}")
        for name in sorted(self.skips):
            skipped = self.skips[name]
            lines.append(f"skip\t{escape(name)}\t{skipped.saved}\t{escape(skipped.reason)}")
        return "\n".join(lines) + "\n"


OUTCOME_OK = "ok"
OUTCOME_PARTIAL = "partial"
OUTCOME_FAILED = "failed"


def load_state(path: str, vault: tuple[str, str, str] | None = None) -> State:
    """The state at `path`; when it describes another vault than `vault`, an empty state
    whose `damaged` says so (its records do not tell what this vault holds)."""
    state = State()
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            text = handle.read()
    except FileNotFoundError:
        state.condition, state.damaged = MISSING, "missing"
        return state
    except OSError as exc:
        state.condition, state.damaged = DAMAGED, f"unreadable ({exc.strerror})"
        return state
    try:
        _parse_into(state, text)
    except (ValueError, IndexError, KeyError, StopIteration):
        state = State()
        state.condition, state.damaged = DAMAGED, "damaged or from an older format"
    if vault is not None and state.damaged is None and state.vault != vault:
        other = state.vault
        state = State()
        state.condition = OTHER_VAULT
        state.damaged = f"the state of another vault ({describe_vault(other)})"
        state.other_vault = other
    return state


def describe_last_good(saved: int) -> str:
    """The truth about a skipped file's copy in the vault, for its error line."""
    if saved:
        from memory_vault.fsutil import utc_stamp

        return f"the vault keeps its version of {utc_stamp(saved)}"
    return "it has never been backed up"


def describe_vault(vault: tuple[str, str, str]) -> str:
    remote, branch, subdir = vault
    return f"{remote or '?'}, branch {branch or '?'}, folder {subdir or '?'}"


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
            size, mtime_ns, digest, saved = int(fields[0]), int(fields[1]), fields[2], int(
                fields[3])
            if len(digest) != 64 or size < 0:
                raise ValueError("record")
            records = int(fields[5])
            state.files[unescape(fields[6])] = FileRecord(
                size, mtime_ns, digest, saved, fields[4], None if records < 0 else records)
        elif kind == "alarm":
            state.alarms[unescape(fields[0])] = Alarm(int(fields[1]), int(fields[2]),
                                                      fields[3], fields[4], int(fields[5]))
        elif kind == "skip":
            state.skips[unescape(fields[0])] = Skipped(unescape(fields[2]), int(fields[1]))
        elif kind == "vault":
            remote, branch, subdir = (unescape(f) for f in fields)
            state.vault = (remote, branch, subdir)
        elif kind == "push":
            state.push_error_kind, state.push_error = unescape(fields[0]), unescape(fields[1])
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
    """Atomic replace; `durable` (fsync) whenever the file records changed. Its folder is
    made only when it is missing (96 runs a day find it there)."""
    data = state.dumps().encode("utf-8", "surrogateescape")
    try:
        write_atomic(path, data, durable=durable)
    except FileNotFoundError:
        folder = os.path.dirname(path)
        if not folder or os.path.isdir(folder):
            raise
        os.makedirs(folder, mode=0o700, exist_ok=True)
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
