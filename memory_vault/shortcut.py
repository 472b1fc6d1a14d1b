"""Shortcut: a cron run that would find nothing changed, known by `stat` alone.

A no-change run of the whole program loads the settings, the sources, the journal and the
pipeline, about thirty modules: half again the start of Python itself. Yet what it decides
depends only on what it looked at. So a clean no-change run of the cron lane (`entry`)
leaves a stamp, in the user's cache folder, named after the invocation (the env file asked
for, the working folder, the MEMORY_VAULT_*, HOME and XDG variables, the version): every
path the run looked at (each tracked file, each folder it listed, each name it found
absent, the env and sources files, the journal, the clone) with its `stat` signature. The
next run with the same invocation stats those paths again; when every one is as it was, the
run it would make is the one already made: it writes the same lines to the log, marks the
time beside the journal (`<journal>.unchanged`, whose readers take it as the last run and
the last success, `journal.cache`), and ends. Anything else (a signature that differs, a
stamp that is missing or unreadable) runs the program as before, which writes a new stamp;
a run of another invocation (`--now`, another folder) rewrites the journal, and so costs
this one a run of the whole program, once.

Only the stamp of a run that logged nothing above INFO, pinged no monitor and exited 0 is
written, and only when nothing it looked at changed within `RACY_SECONDS` of its start: a
change in the same timestamp tick as the look would otherwise hide (git's "racy clean"
rule). The inode change time is in every signature, and no program can set it back.

Only `os` and `marshal`: this module is what a no-change cron run imports.
"""

import marshal
import os

from memory_vault import __version__
from memory_vault.fsutil import ensure_private_dir, read_private, write_atomic
from memory_vault.logfile import RunLog

FORMAT = 3  # 2: the log's label (whose lines they are) is kept too; 3: what was seen
RACY_SECONDS = 2  # a FAT file system keeps mtimes to 2 s; every other one, finer
KEPT_STAMPS = 16  # stamps of other invocations (folders, env files) kept in the cache
MARK_SUFFIX = ".unchanged"
NAME_PRIME = 2**128 - 159  # the largest prime below 2^128
STAMP_PREFIX = "unchanged-"
_PLACES = ("HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")

Signature = tuple[int, int, int, int, int, int] | None  # mode, dev, ino, size, mtime, ctime


class Looks:
    """The paths a run looked at, each with whether the look followed a link and the
    signature it saw (the stamp keeps what was seen, never a later `stat`: a write between
    the look and the stamp must not be taken as seen); without `record`, plain `os` calls
    (a run that writes no stamp)."""

    __slots__ = ("seen",)

    def __init__(self, *, record: bool = True) -> None:
        self.seen: dict[tuple[str, bool], Signature] | None = {} if record else None

    def note(self, path: str, *, follow: bool) -> None:
        """A look at `path` about to be made (a folder about to be listed): seen as it is."""
        if self.seen is not None and (path, follow) not in self.seen:
            self.seen[(path, follow)] = signature(path, follow)

    def lexists(self, path: str) -> bool:
        if self.seen is None:
            return os.path.lexists(path)
        self.note(path, follow=False)
        return self.seen[(path, False)] is not None

    def isdir(self, path: str) -> bool:
        if self.seen is None:
            return os.path.isdir(path)
        self.note(path, follow=True)
        seen = self.seen[(path, True)]
        return seen is not None and seen[0] & 0o170000 == 0o040000  # S_ISDIR

    def lstat(self, path: str) -> os.stat_result:
        st = os.lstat(path)
        if self.seen is not None:
            self.seen.setdefault((path, False), _of(st))
        return st

    def stat(self, path: str) -> os.stat_result:
        st = os.stat(path)
        if self.seen is not None:
            self.seen.setdefault((path, True), _of(st))
        return st


def signature(path: str, follow: bool) -> Signature:
    try:
        return _of(os.stat(path) if follow else os.lstat(path))
    except OSError:
        return None


def _of(st: os.stat_result) -> Signature:
    return st.st_mode, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def stamp_path(cache_dir: str, env_file: str | None, environ: dict[str, str], cwd: str) -> str:
    """The stamp of this invocation: what can change the settings is in its name, as a
    128-bit residue of its bytes modulo a prime (`int` does it in C; loading a hash
    library for one name cost 2% of the run). The values, a URL's token among them, are
    never written out."""
    words = [str(FORMAT), __version__, env_file or "", cwd]
    words += sorted(f"{k}={v}" for k, v in environ.items()
                    if k.startswith("MEMORY_VAULT_") or k in _PLACES)
    key = int.from_bytes("\0".join(words).encode("utf-8", "surrogateescape"), "little")
    return os.path.join(cache_dir, f"{STAMP_PREFIX}{key % NAME_PRIME:032x}")


def replay(stamp: str, *, echo: int, fallback_dir: str) -> bool:
    """The run again, if everything its stamp names is as it was: the same lines to the
    log, the time marked beside the journal. False: run the program."""
    data = read_private(stamp)  # ours alone: a planted stamp would stop every backup
    if data is None:
        return False
    try:
        fmt, looked, mark, lines, logs = marshal.loads(data)  # noqa: S302
        if fmt != FORMAT:
            return False
        for path, follow, was in looked:
            if signature(path, follow) != was:
                return False
        log_path, err_path, label = logs
        os.utime(mark)
    except Exception:  # any damage: the program runs, and writes a new stamp
        return False
    log = RunLog(log_path, err_path, echo=echo, fallback_dir=fallback_dir, label=label)
    for line in lines:
        log.info(line)
    log.close()
    return True


def remember_unchanged(stamp: str, looks: Looks, *, own: list[tuple[str, bool]], journal: str,
             lines: list[str], logs: tuple[str, str, str], started: float) -> bool:
    """Write the stamp of a clean no-change run (False when a look was too recent to be
    trusted). `own`: our own files (the journal, the clone), exempt from that rule; the
    journal is marked first, so that its readers know the stamp's time is theirs."""
    if looks.seen is None:
        return False
    recent = int((started - RACY_SECONDS) * 1e9)
    looked = []
    for (path, follow), was in looks.seen.items():
        if signature(path, follow) != was:
            return False  # it changed since the run looked: the next run must look again
        if was is not None and max(was[4], was[5]) >= recent:
            return False
        looked.append((path, follow, was))
    mark = journal + MARK_SUFFIX
    write_atomic(mark, _journal_mark(os.lstat(journal)), durable=False)
    looked += [(path, follow, signature(path, follow)) for path, follow in own]
    folder = os.path.dirname(stamp)
    ensure_private_dir(folder)
    write_atomic(stamp, marshal.dumps((FORMAT, looked, mark, lines, list(logs))),
                 durable=False)
    _prune(folder)
    return True


def last_unchanged_run(journal: str, version: os.stat_result) -> int:
    """When the shortcut last found nothing changed since this `version` of the journal
    (its `fstat` as it was read; epoch seconds, 0: never)."""
    try:
        with open(journal + MARK_SUFFIX, "rb") as handle:
            mark = handle.read()
            when = os.fstat(handle.fileno()).st_mtime
    except OSError:
        return 0
    return int(when) if mark == _journal_mark(version) else 0


def _journal_mark(version: os.stat_result) -> bytes:
    """What names one version of the journal: its signature, as text."""
    return " ".join(map(str, _of(version) or ())).encode()


def _prune(folder: str) -> None:
    """Keep the newest stamps: one per folder a person ran the program in would pile up."""
    try:
        stamps = [e for e in os.scandir(folder) if e.name.startswith(STAMP_PREFIX)]
        if len(stamps) > KEPT_STAMPS:
            stamps.sort(key=lambda e: e.stat().st_mtime_ns, reverse=True)
            for entry in stamps[KEPT_STAMPS:]:
                os.unlink(entry.path)
    except OSError:
        pass

