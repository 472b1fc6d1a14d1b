"""Journal cache: `.last_sync`, what each file looked like when backed up and how runs went.

Only a cache: every record can be rebuilt from the files and the vault, and a lost or damaged
file costs one run that reads everything. It carries a format version; an older format is
migrated (`journal.migrations`), never read as empty, so an upgrade keeps its open alarms; a
newer one (a downgrade) is left alone with a clear error. A small line-based text format (not
JSON: importing `json` costs more than a whole no-change cron run). One record a line,
tab-separated, names escaped:

    memory-vault-state 5
    written <epoch> <program version>
    vault   <remote without credentials> <branch> <subdir>
    success <epoch> <commit>               (the last run that backed up all it could)
    head    <commit>                       (the commit that holds the versions recorded)
    run     <epoch> <outcome> <pending pushes>
    error   <message>
    push    <kind> <message>           (the last push failure, until a push succeeds)
    file    <stat size> <mtime_ns> <size> <sha256> <saved epoch> <format> <records or -1>
            <sha256 of the bytes read, when a secret was redacted, else -> <ctime_ns> <path>
    alarm   <path> <records before> <records after> <commit> <previous commit> <epoch>
    skip    <path> <saved epoch> <reason>   (each file the last run could not back up;
                                             saved 0: the vault has never had it)
    tolerate <path> <sha256>               (a JSON Lines file's torn lines, seen twice: the
                                             hash of its bytes up to the last of them)
    secret  <path> <rule> <fingerprint> <where>   (each one redacted in the vault's copy)
    gone    <path> <saved epoch>            (tracked files deleted from their source since;
                                             the vault keeps them)
    rewritten <epoch> <what we had pushed> <the remote's new tip>   (until `ack`)

The state of another vault (the user moved to another remote, branch or subdir) is set aside
the same way as a damaged one: its records say nothing about what this vault holds.
"""

import os

from memory_vault import __version__
from memory_vault.capture.version import Version
from memory_vault.errors import ConfigError
from memory_vault.fsutil import write_atomic
from memory_vault.shortcut import last_unchanged_run

FORMAT = 5
HEADER_PREFIX = "memory-vault-state "
# What a loaded journal was (module constants: `enum` costs import time on the cron path).
FOUND = 0
MISSING = 1  # no file yet: a first run
DAMAGED = 2  # unreadable, garbage, truncated
FOREIGN = 3  # the journal of another remote, branch or subdir
OUTCOME_OK = "ok"
OUTCOME_PARTIAL = "partial"
OUTCOME_FAILED = "failed"

Vault = tuple[str, str, str]  # remote identity, branch, subdir


class JournalTooNew(ConfigError):
    """`.last_sync` was written by a newer Memory Vault: left alone, exit 2."""


class SkipNote:
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


class Journal:
    """Everything remembered between runs."""

    __slots__ = ("alarms", "condition", "damaged", "files", "gone", "last_commit",
                 "last_error", "last_outcome", "last_run", "last_success", "migrated_from",
                 "other_vault", "pending_push", "push_error", "push_error_kind", "rewritten",
                 "secrets", "skips", "success_commit", "tolerated", "vault")

    def __init__(self) -> None:
        self.vault: Vault = ("", "", "")
        self.files: dict[str, Version] = {}  # by vault path
        self.skips: dict[str, SkipNote] = {}  # what the last run could not back up
        self.alarms: dict[str, Alarm] = {}  # open shrink alarms, until `ack`
        self.gone: dict[str, int] = {}  # deleted from their source since saved (epoch)
        self.tolerated: dict[str, str] = {}  # JSON Lines files whose torn lines were seen
        self.secrets: dict[str, list[tuple[str, str, str]]] = {}  # redacted: rule, fp, where
        self.last_success = 0  # epoch seconds of the last run that backed up all it could
        self.success_commit = ""  # the vault's commit at that run
        self.last_commit = ""  # the commit that holds the versions recorded here
        self.last_run = 0
        self.last_outcome = ""  # OUTCOME_OK, OUTCOME_PARTIAL or OUTCOME_FAILED
        self.pending_push = 0
        self.last_error = ""
        self.push_error_kind = ""
        self.push_error = ""
        self.condition = FOUND
        self.damaged: str | None = None  # why the condition is not FOUND, for a person
        self.other_vault: Vault | None = None  # what a foreign journal described
        self.migrated_from = 0  # the format it was read from, when older than FORMAT
        self.rewritten: tuple[int, str, str] | None = None  # the remote dropped our pushes

    def dumps(self, now: int) -> str:
        lines = [f"{HEADER_PREFIX}{FORMAT}", f"written\t{now}\t{__version__}",
                 "vault\t" + "\t".join(escape(part) for part in self.vault),
                 f"success\t{self.last_success}\t{self.success_commit}",
                 f"head\t{self.last_commit}",
                 f"run\t{self.last_run}\t{self.last_outcome}\t{self.pending_push}"]
        if self.last_error:
            lines.append(f"error\t{escape(self.last_error)}")
        if self.push_error:
            lines.append(f"push\t{escape(self.push_error_kind)}\t{escape(self.push_error)}")
        for path in sorted(self.files):
            v = self.files[path]
            count = -1 if v.records is None else v.records
            read = v.read_sha256 if v.read_sha256 != v.sha256 else "-"
            lines.append(f"file\t{v.stat_size}\t{v.mtime_ns}\t{v.size}\t{v.sha256}\t{v.saved}\t"
                         f"{v.format}\t{count}\t{read}\t{v.ctime_ns}\t{escape(path)}")
        for path in sorted(self.alarms):
            a = self.alarms[path]
            lines.append(f"alarm\t{escape(path)}\t{a.before}\t{a.after}\t{a.commit}\t"
                         f"{a.previous}\t{a.when}")
        for path in sorted(self.skips):
            note = self.skips[path]
            lines.append(f"skip\t{escape(path)}\t{note.saved}\t{escape(note.reason)}")
        for path in sorted(self.secrets):
            lines += [f"secret\t{escape(path)}\t{rule}\t{fp}\t{escape(where)}"
                      for rule, fp, where in self.secrets[path]]
        for path in sorted(self.tolerated):
            lines.append(f"tolerate\t{escape(path)}\t{self.tolerated[path]}")
        for path in sorted(self.gone):
            lines.append(f"gone\t{escape(path)}\t{self.gone[path]}")
        if self.rewritten is not None:
            lines.append("rewritten\t" + "\t".join(map(str, self.rewritten)))
        return "\n".join(lines) + "\n"


def load_journal(path: str, vault: Vault | None = None) -> Journal:
    """The journal at `path`, migrated to this format; when it describes another vault than
    `vault`, an empty journal whose `damaged` says so. Raises JournalTooNew."""
    journal = Journal()
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            text, version = handle.read(), os.fstat(handle.fileno())
    except FileNotFoundError:
        journal.condition, journal.damaged = MISSING, "missing"
        return journal
    except OSError as exc:
        journal.condition, journal.damaged = DAMAGED, f"unreadable ({exc.strerror})"
        return journal
    try:
        _parse_into(journal, text, path, vault)
    except (ValueError, IndexError, KeyError, StopIteration):
        journal = Journal()
        journal.condition, journal.damaged = DAMAGED, "damaged"
    if vault is not None and journal.damaged is None and journal.vault != vault:
        other = journal.vault
        journal = Journal()
        journal.condition = FOREIGN
        journal.damaged = f"the state of another vault ({describe_vault(other)})"
        journal.other_vault = other
    quiet = last_unchanged_run(path, version)  # a run since, replayed by the shortcut
    if quiet > journal.last_run and journal.last_outcome == OUTCOME_OK:
        journal.last_run = journal.last_success = quiet
    return journal


def describe_last_good(saved: int) -> str:
    """The truth about a skipped file's copy in the vault, for its error line."""
    if saved:
        from memory_vault.fsutil import utc_stamp

        return f"the vault keeps its version of {utc_stamp(saved)}"
    return "it has never been backed up"


def describe_vault(vault: Vault) -> str:
    remote, branch, subdir = vault
    return f"{remote or '?'}, branch {branch or '?'}, folder {subdir or '?'}"


def _parse_into(journal: Journal, text: str, path: str, vault: Vault | None) -> None:
    if not text.endswith("\n"):
        raise ValueError("truncated")
    lines = text.split("\n")[:-1]
    if not lines[0].startswith(HEADER_PREFIX):
        raise ValueError("header")
    found = int(lines[0][len(HEADER_PREFIX):])
    if found > FORMAT:
        raise JournalTooNew(
            f"MEMORY_VAULT_STATE_FILE={path!r}: written by a newer Memory Vault (format "
            f"{found}; this one reads up to {FORMAT}): left as it is; upgrade Memory Vault, or "
            "move the file away to start a new one (its open shrink alarms would be lost)")
    body = lines[1:]
    if found < FORMAT:
        from memory_vault.journal.migrations import migrate

        body = migrate(found, body, vault)
        journal.migrated_from = found
    files = journal.files
    for line in body:
        if line.startswith("file\t"):
            _parse_file(files, line.split("\t"))
        elif line:
            _parse_line(journal, line)


def _parse_file(files: dict[str, Version], fields: list[str]) -> None:
    """A `file` line, split: a machine's journal holds thousands, read by every cron run."""
    stat_size, size, digest, name = int(fields[1]), int(fields[3]), fields[4], fields[-1]
    if len(digest) != 64 or stat_size < 0 or size < 0:
        raise ValueError("record")
    records, name = int(fields[7]), unescape(name) if "\\" in name else name
    files[name] = Version(name, size=size, sha256=digest, stat_size=stat_size,
                          mtime_ns=int(fields[2]), fmt=fields[6], saved=int(fields[5]),
                          records=None if records < 0 else records,
                          read_sha256="" if fields[8] == "-" else fields[8],
                          ctime_ns=int(fields[9]))


def _parse_line(journal: Journal, line: str) -> None:
    kind, _, rest = line.partition("\t")
    fields = rest.split("\t")
    if kind == "alarm":
        journal.alarms[unescape(fields[0])] = Alarm(int(fields[1]), int(fields[2]),
                                                    fields[3], fields[4], int(fields[5]))
    elif kind == "skip":
        journal.skips[unescape(fields[0])] = SkipNote(unescape(fields[2]), int(fields[1]))
    elif kind == "secret":
        journal.secrets.setdefault(unescape(fields[0]), []).append(
            (fields[1], fields[2], unescape(fields[3])))
    elif kind == "tolerate":
        journal.tolerated[unescape(fields[0])] = fields[1]
    elif kind == "gone":
        journal.gone[unescape(fields[0])] = int(fields[1])
    elif kind == "head":
        journal.last_commit = fields[0]
    elif kind == "vault":
        remote, branch, subdir = (unescape(f) for f in fields)
        journal.vault = (remote, branch, subdir)
    elif kind == "push":
        journal.push_error_kind, journal.push_error = unescape(fields[0]), unescape(fields[1])
    elif kind == "success":
        journal.last_success = int(fields[0])
        # No success, no commit of one (releases before `head` wrote the last commit here).
        journal.success_commit = fields[1] if journal.last_success else ""
        journal.last_commit = journal.last_commit or fields[1]  # formats before `head`
    elif kind == "run":
        journal.last_run, journal.last_outcome = int(fields[0]), fields[1]
        journal.pending_push = int(fields[2])
    elif kind == "error":
        journal.last_error = unescape(rest)
    elif kind == "rewritten":
        journal.rewritten = (int(fields[0]), fields[1], fields[2])


def save_journal(path: str, journal: Journal, *, now: int, durable: bool = True) -> None:
    """Atomic replace; `durable` (fsync) when the records changed; the folder made if missing."""
    data = journal.dumps(now).encode("utf-8", "surrogateescape")
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
    if "\\" not in text and "\t" not in text and "\n" not in text and "\r" not in text:
        return text  # nearly every name: four scans in C, where a generator cost 5x more
    return "".join(_ESCAPES.get(c, c) for c in text)


def unescape(text: str) -> str:
    if "\\" not in text:
        return text
    chars = iter(text)  # a backslash takes the character after it along
    return "".join(_UNESCAPES[next(chars)] if c == "\\" else c for c in chars)
