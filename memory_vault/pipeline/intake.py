"""Intake: each file a run must read, from every source, read whole and its secrets taken
out, before it is staged.

Plain files are read one at a time (`pipeline.capture`); a store with any changed file is
read whole, as one set (`pipeline.store`); each version to stage passes the secret step
(`pipeline.secrets`). What cannot be read or must not be stored is a skip in the outcome.
"""

from memory_vault.capture.version import Version
from memory_vault.journal.cache import Journal
from memory_vault.logfile import RunLog
from memory_vault.pipeline.record import Outcome
from memory_vault.sources.scan import Skip
from memory_vault.sources.source import Source, owner

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from typing import Protocol

    from memory_vault.pipeline.secrets import SecretGuard
    from memory_vault.settings.load import Config

    class Staging(Protocol):
        """Where a run stages its versions (`store.commit.Committer`, or a dry run)."""

        def prepare(self) -> None: ...

        def unstage(self, path: str) -> None: ...


class Intake:
    """The reads of one run, and the secret step its versions pass."""

    def __init__(self, config: "Config", log: RunLog, journal: Journal,
                 sources: list[Source], outcome: Outcome,
                 tip_pieces: "Callable[[str], set[str]] | None" = None) -> None:
        self.config = config
        self.tip_pieces = tip_pieces
        self.log = log
        self.journal = journal
        self.sources = sources
        self.outcome = outcome
        self.guard: SecretGuard | None = None

    def capture(self, names: list[str], *, every: bool = False,
                early: bool = True) -> "Iterator[Version]":
        """Whole, valid versions of `names`, one at a time; skips go to the outcome. Each
        that changed since the journal's version (`every`: each) has passed the secret
        step; one that did not is described as the vault holds it (its stored hash). A
        plain file written a moment ago may come `unconfirmed` (`early`): `reread` proves
        it, once the rest of the run has gone on meanwhile."""
        for version, checked in self._read(names, every=every, early=early):
            if not (every or self.differs(version)):
                yield self._as_stored(version)
                continue
            kept = version if checked else self._check(version)
            if isinstance(kept, Skip):
                self.outcome.skips.append(kept)
                continue
            yield kept

    def proven(self, names: list[str], seen: "list[Version]",
               staging: "Callable[[], Staging | None]", *, every: bool = False
               ) -> "Iterator[Version]":
        """`capture` of `names`, then `reread`: the caller judges and stages each version
        as it comes, and appends it to `seen`, while a file written a moment ago becomes
        quiet long enough for its early read to be proven."""
        yield from self.capture(names, every=every)
        yield from self.reread(seen, staging, every=every)

    def reread(self, seen: "list[Version]", staging: "Callable[[], Staging | None]", *,
               every: bool = False) -> "Iterator[Version]":
        """The versions of `seen` read early, proven now: each confirmed (a file by a read
        that agrees, a store's set by its looks), or else dropped from `seen` and unstaged,
        its file (its store) read again the ordinary way and yielded, as `capture` yields.
        The commit is built meanwhile (`staging().prepare`), while the files settle."""
        waiting = [version for version in seen if version.unconfirmed is not None]
        if waiting and (staged := staging()) is not None:
            staged.prepare()
        again = []
        for version in waiting:
            if version.unconfirmed is not None and version.unconfirmed.confirm():
                version.unconfirmed = None
                continue
            seen.remove(version)
            if (staged := staging()) is not None:
                staged.unstage(version.path)
            again.append(version.path)
        if again:
            yield from self.capture(again, every=every, early=False)

    def differs(self, version: "Version") -> bool:
        """Has the file changed since the version the journal records (as read: a version
        whose secrets were redacted is compared by what was read)?"""
        known = self.journal.files.get(version.path)
        return known is None or known.read_sha256 != version.read_sha256

    def _as_stored(self, version: "Version") -> "Version":
        known = self.journal.files[version.path]
        version.size, version.sha256 = known.size, known.sha256
        return version

    def _read(self, names: list[str], *, every: bool = False, early: bool = False
              ) -> "Iterator[tuple[Version, bool]]":
        """Each version read, and whether it passed the secret step already (a store's;
        `every`: every file of a store is read, none taken as the journal has it)."""
        from memory_vault.capture.pieces import Spill
        from memory_vault.pipeline.capture import capture  # hashlib: only with work

        spill = Spill.under(self.config.home)  # JSON Lines over the limit, read in pieces
        stores: dict[str, list[str]] = {}
        for path in names:
            source = owner(self.sources, path)
            if source.store:
                stores.setdefault(source.name, [])
                continue
            found = capture(source.relative(path) or path, source.folder,
                            max_bytes=self.config.max_file_bytes, validate=self.config.validate,
                            tolerate=self.journal.tolerated.get(path, ""), spill=spill,
                            early=early)
            if isinstance(found, Skip):
                found.name = path
                self.outcome.skips.append(found)
            elif found is not None:
                found.path = path
                if found.note:
                    self.log.warning(f"{path}: {found.note}")
                yield found, False
        for name in stores:
            store = next(s for s in self.sources if s.name == name)
            for version in self.capture_store(store, every=every, early=early):
                yield version, True

    def capture_store(self, source: "Source", *, every: bool = False,
                      early: bool = False) -> "Iterator[Version]":
        from memory_vault.pipeline.store import capture_store

        members = [p for p in self.outcome.present if owner(self.sources, p) is source]
        found = capture_store(source, members, max_bytes=self.config.max_file_bytes,
                              validate=self.config.validate, check=self._check,
                              known=None if every else self.journal.files, early=early)
        if isinstance(found, Skip):
            self.outcome.skips.append(found)
            return
        yield from found

    def _check(self, version: "Version") -> "Version | Skip":
        """The secret step (a store's files pass it as they are read)."""
        if self.guard is None:
            from memory_vault.pipeline.secrets import SecretGuard

            self.guard = SecretGuard(self.config, self.log, self.journal, self.tip_pieces)
        return self.guard.check(version)
