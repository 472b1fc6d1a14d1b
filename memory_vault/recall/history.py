"""History: the vault's commits, newest first, touching the subdir or one file of it.

With a file, each commit also says how many records that version holds and how many it
added and removed against the version before: the first place to look for the day an agent
forgot. Counts are cached by blob id (a version never changes), so a page of history reads
each version at most once, ever. A file kept in pieces is one file here: its pieces are read
for its count, and only the pieces two versions do not share for what changed (pieces are
cut between lines, so what they share cancels out).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from memory_vault.capture import pieces
from memory_vault.content import formats, records
from memory_vault.errors import EXIT_OK, UsageError
from memory_vault.fsutil import utc_stamp
from memory_vault.journal.record_cache import RecordCache
from memory_vault.logfile import RunLog
from memory_vault.pipeline.reading import reading
from memory_vault.recall.plan import vault_path_of
from memory_vault.settings.load import Config
from memory_vault.sources.registry import configured_sources
from memory_vault.store.pieced import Stored
from memory_vault.store.vault import Vault

FILE_PAGE = 50  # `history FILE` without --limit: the default page
PAIR_BUDGET = 256 * 2**20  # bytes two versions may differ by and still be compared: past
# this (a transcript rewritten whole), what changed is not counted ("?")


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
    return [HistoryEntry(e.sha, utc_stamp(e.when), e.subject, list(dict.fromkeys(
                pieces.owner(p.removeprefix(subdir + "/")) for p in e.paths)))
            for e in vault.reader.history(tip, path, limit)]


def _count_records(vault: Vault, name: str, entries: list[HistoryEntry]) -> None:
    """Fill in each version's record count and its changes against the next older one."""
    versions = vault.reader.versions([e.commit for e in entries],
                                     f"{vault.config.subdir}/{name}")
    cache = RecordCache.load()
    pairs = list(zip(versions, [*versions[1:], None], strict=True))
    uncounted = {b for v in versions if v and not cache.has(v.key) for b in v.blobs
                 if not cache.has(b)}
    apart = _apart_within_budget(vault, pairs, cache)
    printed = {b for gone, came in apart.values() for b in (*gone, *came)}
    wanted = [b for b in dict.fromkeys(b for v in versions if v for b in v.blobs)
              if b in uncounted or b in printed]
    prints: dict[str, Counter[int] | None] = {}
    for sha, data in zip(wanted, vault.blobs.iterate(wanted), strict=True):
        fmt = formats.sniff(name, data)
        try:
            counted, fingerprints = records.measure(fmt, data)
        except Exception:  # a version that does not parse has no records to count
            counted, fingerprints = None, None
        cache.put(sha, fmt, counted)
        if sha in printed:
            prints[sha] = fingerprints
    for version in versions:
        if version is not None and not cache.has(version.key):  # in pieces: their sum
            counts = [cache.count(b) for b in version.blobs]
            total = None if None in counts else sum(c or 0 for c in counts)
            cache.put(version.key, formats.JSONL, total)
    for (new, old), entry in zip(pairs, entries, strict=True):
        entry.records = cache.count(new.key) if new else 0
        if new and old and (pair := cache.pair(old.key, new.key)
                            or _pair(prints, apart.get((old.key, new.key)), old, new, cache)):
            entry.added, entry.removed = pair
        elif new and not old:
            entry.added, entry.removed = entry.records, 0
    cache.save()


Apart = dict[tuple[str, str], tuple[list[str], list[str]]]


def _apart_within_budget(vault: Vault, pairs: list[tuple[Stored | None, Stored | None]],
                         cache: RecordCache) -> Apart:
    """For each pair of versions not compared yet: the blobs only the older holds and those
    only the newer holds (a piece both share changes nothing), when they are few enough
    bytes to read."""
    apart: Apart = {}
    for new, old in pairs:
        if new and old and not cache.pair(old.key, new.key):
            shared = Counter(old.blobs) & Counter(new.blobs)
            apart[(old.key, new.key)] = (list((Counter(old.blobs) - shared).elements()),
                                         list((Counter(new.blobs) - shared).elements()))
    if any(len(gone) + len(came) > 2 for gone, came in apart.values()):  # pieces: sized
        blobs = list(dict.fromkeys(b for gone, came in apart.values() for b in gone + came))
        sizes = dict(zip(blobs, vault.reader.sizes(blobs), strict=True))
        apart = {k: (gone, came) for k, (gone, came) in apart.items()
                 if sum(sizes[b] for b in gone + came) <= PAIR_BUDGET}
    return apart


def _pair(prints: dict[str, Counter[int] | None], apart: tuple[list[str], list[str]] | None,
          old: Stored, new: Stored, cache: RecordCache) -> tuple[int, int] | None:
    if apart is None:
        return None
    sides: list[Counter[int]] = []
    for blobs in apart:
        side: Counter[int] = Counter()
        for blob in blobs:
            found = prints.get(blob)
            if found is None:
                return None
            side.update(found)
        sides.append(side)
    pair = records.added_removed(sides[0], sides[1])
    cache.put_pair(old.key, new.key, pair)
    return pair
