"""History: the vault's commits, newest first, touching the subdir or one file of it.

With a file, each commit also says how many records that version holds and how many it
added and removed against the version before: the first place to look for the day an agent
forgot. Counts are cached by blob id (a version never changes), so a page of history reads
each version at most once, ever.
"""

from __future__ import annotations

import marshal
import os
from dataclasses import dataclass, field
from pathlib import Path

from memory_vault.content import formats, records
from memory_vault.errors import EXIT_OK, UsageError
from memory_vault.fsutil import ensure_private_dir, utc_stamp, write_atomic
from memory_vault.logfile import RunLog
from memory_vault.settings import paths
from memory_vault.settings.load import Config
from memory_vault.store.vault import Vault, reading

FILE_PAGE = 50  # `history FILE` without --limit: the default page
CACHE_FORMAT = 1
CACHE_LIMIT = 20_000


@dataclass
class HistoryEntry:
    commit: str
    date: str
    subject: str
    files: list[str]
    records: int | None = None  # with FILE: records in this version
    added: int | None = None  # with FILE: against the version before
    removed: int | None = None


@dataclass
class HistoryResult:
    file: str | None
    entries: list[HistoryEntry] = field(default_factory=list)
    more: bool = False  # the page was cut at its limit
    exit_code: int = EXIT_OK

    def as_dict(self) -> list[dict[str, object]]:
        keep = ("commit", "date", "subject", "files") + (
            ("records", "added", "removed") if self.file else ())
        return [{k: getattr(e, k) for k in keep} for e in self.entries]


def run_history(config: Config, log: RunLog, name: str | None,
                limit: int | None) -> HistoryResult:
    """The whole `history` command: the local clone (no fetch), under the run lock."""
    with reading(config, log, fetch=False) as (vault, tip):
        if tip is None:
            if name:
                raise UsageError(f"{name}: not in the vault (the vault is empty)")
            return HistoryResult(name)
        if name is None:
            return HistoryResult(None, _entries(vault, tip, config.subdir, limit))
        vault_name = name.strip().removeprefix("./").removeprefix(config.subdir + "/")
        page = limit or FILE_PAGE
        entries = _entries(vault, tip, f"{config.subdir}/{vault_name}", page + 1)
        if not entries:
            raise UsageError(f"{name}: not in the vault's history")
        _count_records(vault, vault_name, entries)
        return HistoryResult(vault_name, entries[:page], more=len(entries) > page)


def _entries(vault: Vault, tip: str, path: str, limit: int | None) -> list[HistoryEntry]:
    subdir = vault.config.subdir
    return [HistoryEntry(e.sha, utc_stamp(e.when), e.subject,
                         [p.removeprefix(subdir + "/") for p in e.paths])
            for e in vault.history(tip, path, limit)]


def _count_records(vault: Vault, name: str, entries: list[HistoryEntry]) -> None:
    """Fill in each version's record count and its changes against the next older one."""
    blobs = vault.blob_ids([e.commit for e in entries], f"{vault.config.subdir}/{name}")
    cache = RecordCache.load()
    needed = [b for b in dict.fromkeys(blobs) if b and not cache.has(b)]
    pairs = list(zip(blobs, [*blobs[1:], None], strict=True))
    needed_pairs = {b for new, old in pairs if new and old and not cache.pair(old, new)
                    for b in (new, old)}
    wanted = [b for b in dict.fromkeys(blobs) if b and (b in needed or b in needed_pairs)]
    prints: dict[str, object] = {}
    for sha, data in zip(wanted, vault.blobs(wanted), strict=True):
        fmt = formats.sniff(name, data)
        try:
            counted, prints[sha] = records.measure(fmt, data)
        except Exception:  # a version that does not parse has no records to count
            counted, prints[sha] = None, None
        cache.put(sha, fmt, counted)
    for (new, old), entry in zip(pairs, entries, strict=True):
        entry.records = cache.count(new) if new else 0
        if new and old and (pair := cache.pair(old, new) or _pair(prints, old, new, cache)):
            entry.added, entry.removed = pair
        elif new and not old:
            entry.added, entry.removed = entry.records, 0
    cache.save()


def _pair(prints: dict[str, object], old: str, new: str,
          cache: RecordCache) -> tuple[int, int] | None:
    a, b = prints.get(old), prints.get(new)
    if a is None or b is None:
        return None
    pair = records.added_removed(a, b)  # type: ignore[arg-type]
    cache.put_pair(old, new, pair)
    return pair


class RecordCache:
    """Record counts by blob id, and added/removed by pair of blob ids, kept between runs
    (marshal, in the user's cache folder; a cache we cannot write only costs time)."""

    def __init__(self, path: str, data: dict[str, object]) -> None:
        self.path = path
        self.data = data
        self.dirty = False

    @classmethod
    def load(cls) -> RecordCache:
        path = str(Path(paths.cache_dir(dict(os.environ))) / "records.cache")
        try:
            fmt, data = marshal.loads(Path(path).read_bytes())  # noqa: S302 (our private file)
            if fmt == CACHE_FORMAT and isinstance(data, dict):
                return cls(path, data)
        except (OSError, ValueError, EOFError, TypeError):
            pass
        return cls(path, {})

    def has(self, blob: str) -> bool:
        return blob in self.data

    def count(self, blob: str) -> int | None:
        value = self.data.get(blob)
        return value[1] if isinstance(value, tuple) else None

    def put(self, blob: str, fmt: str, count: object) -> None:
        self.data[blob] = (fmt, count if isinstance(count, int) else None)
        self.dirty = True

    def pair(self, old: str, new: str) -> tuple[int, int] | None:
        value = self.data.get(f"{old}:{new}")
        return value if isinstance(value, tuple) else None

    def put_pair(self, old: str, new: str, pair: tuple[int, int]) -> None:
        self.data[f"{old}:{new}"] = pair
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        if len(self.data) > CACHE_LIMIT:
            self.data = dict(list(self.data.items())[-CACHE_LIMIT // 2:])
        try:
            ensure_private_dir(str(Path(self.path).parent))
            write_atomic(self.path, marshal.dumps((CACHE_FORMAT, self.data)), durable=False)
        except OSError:
            pass
