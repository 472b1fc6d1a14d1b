"""Reasons: why a run read each file or left it alone, said with `-v`.

`--now` alone prints the summary; `-v` adds a line for each tracked file: read because it is
new, because its size or mtime moved, because `--now` reads every file; not read because
the stat matches the last sync, because it is skipped (and why), because it is not there;
and, once read, whether its bytes changed since the last sync. Only a verbose run imports
this module.
"""

from pathlib import Path

from memory_vault.capture.version import RECHECK, Version
from memory_vault.fsutil import utc_stamp
from memory_vault.logfile import RunLog
from memory_vault.sources.scan import Scan, signature
from memory_vault.sources.source import Source, owner


def every_file_read(full: bool, *, now: bool, damaged: str | None) -> str | None:
    """Why this run reads every file, if it does."""
    if not full:
        return None
    if now:
        return "--now reads every file"
    return f".last_sync is {damaged or 'of an old format'}: every file is read"


def explain_scan(log: RunLog, sources: list[Source], records: dict[str, Version], scan: Scan,
                 every: str | None) -> None:
    """A line for each tracked file: read or not, and why. `every`: why every file is read
    this run (`--now`, a journal to rebuild), or None."""
    skipped = {s.name: s.reason for s in scan.skips}
    candidates = set(scan.candidates)
    for name in scan.present:
        if name in skipped:
            continue
        if name in candidates:
            log.debug(f"{name}: read: {_why_read(sources, records.get(name), name, every)}")
        else:
            log.debug(f"{name}: not read: its size and mtime are those the last sync saw")
    for name, reason in skipped.items():
        log.debug(f"{name}: not read: skipped, {reason}")
    for name in scan.absent:
        log.debug(f"{name}: not read: named in the file list, and not there")


def _why_read(sources: list[Source], record: Version | None, name: str,
              every: str | None) -> str:
    if record is None:
        return "not in .last_sync (never backed up from this machine)"
    if record.mtime_ns == RECHECK:
        return "the last sync read it while it was being written: read again"
    moved = _stat_change(owner(sources, name).disk_path(name), record)
    if every is None:
        return moved or "its stat changed since the last sync"
    if moved:
        return f"{every}; {moved}"
    return f"{every}, though its size and mtime are those the last sync saw"


def _stat_change(path: str, record: Version) -> str:
    """`its size changed since the last sync (8 -> 10 bytes)`, its mtime, its change time,
    or "" when none moved."""
    try:
        size, mtime_ns, ctime_ns = signature(path, Path(path).stat(), record.format)
    except OSError as exc:
        return f"its stat failed ({exc.strerror})"
    moved = []
    if size != record.stat_size:
        moved.append(f"size ({record.stat_size} -> {size} bytes)")
    if mtime_ns != record.mtime_ns:
        moved.append(f"mtime ({_when(record.mtime_ns)} -> {_when(mtime_ns)})")
    elif ctime_ns and record.ctime_ns and ctime_ns != record.ctime_ns:
        moved.append(f"change time ({_when(record.ctime_ns)} -> {_when(ctime_ns)}; the mtime "
                     "was set back)")
    return f"its {' and '.join(moved)} changed since the last sync" if moved else ""


def _when(ns: int) -> str:
    return utc_stamp(ns // 1_000_000_000) if ns > 0 else "unknown"


def explain_read(log: RunLog, version: Version, known: Version | None) -> None:
    """Once a file is read: did its bytes change since the last sync? (A file of a store
    that changed elsewhere, its size and mtime as the last sync saw them, is not read.)"""
    if known is not None and version.data is None and version.pieces is None:
        log.debug(f"{version.path}: not read: a file of a store that changed elsewhere, its "
                  "size and mtime those the last sync saw; the set holds that version")
    elif known is None:
        log.debug(f"{version.path}: read whole, {version.size} bytes, sha256 "
                  f"{version.read_sha256[:12]}: new to the vault's record")
    elif known.read_sha256 == version.read_sha256:
        log.debug(f"{version.path}: read whole: the same bytes as at the last sync (sha256 "
                  f"{version.read_sha256[:12]}), nothing new to commit")
    else:
        log.debug(f"{version.path}: read whole: changed since the last sync (sha256 "
                  f"{known.read_sha256[:12]} -> {version.read_sha256[:12]})")
