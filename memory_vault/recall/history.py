"""History: the vault's commits, newest first, touching the subdir or one file of it.

With a file, each commit also says how many records that version holds and how many it
added and removed against the version before: the first place to look for the day an agent
forgot. Counts are cached by blob id (a version never changes), so a page of history reads
each version at most once, ever.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from memory_vault.content import formats, records
from memory_vault.errors import EXIT_OK, UsageError
from memory_vault.fsutil import utc_stamp
from memory_vault.journal.record_cache import RecordCache
from memory_vault.logfile import RunLog
from memory_vault.pipeline.reading import reading
from memory_vault.recall.plan import vault_path_of
from memory_vault.settings.load import Config
from memory_vault.sources.registry import configured_sources
from memory_vault.store.vault import Vault

FILE_PAGE = 50  # `history FILE` without --limit: the default page


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
        vault_name = vault_path_of(name, config, configured_sources(config))
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
            for e in vault.reader.history(tip, path, limit)]


def _count_records(vault: Vault, name: str, entries: list[HistoryEntry]) -> None:
    """Fill in each version's record count and its changes against the next older one."""
    blobs = vault.reader.blob_ids([e.commit for e in entries], f"{vault.config.subdir}/{name}")
    cache = RecordCache.load()
    needed = [b for b in dict.fromkeys(blobs) if b and not cache.has(b)]
    pairs = list(zip(blobs, [*blobs[1:], None], strict=True))
    needed_pairs = {b for new, old in pairs if new and old and not cache.pair(old, new)
                    for b in (new, old)}
    wanted = [b for b in dict.fromkeys(blobs) if b and (b in needed or b in needed_pairs)]
    prints: dict[str, object] = {}
    for sha, data in zip(wanted, vault.blobs.iterate(wanted), strict=True):
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
