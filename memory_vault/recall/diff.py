"""Diff: what an agent learned or forgot between two versions of one memory file.

By default the vault's tip against the file in the source dir now; `--from`/`--to` take a
commit or a moment (as `restore --at` does). Reported by record in the file's own format
(`records.compare`); the file's own bytes are printed only here, never logged. A file kept in
pieces is compared as the one file it is: its pieces read and joined.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from memory_vault.content import compare, formats
from memory_vault.errors import EXIT_OK, UsageError, VaultError
from memory_vault.fsutil import utc_stamp
from memory_vault.logfile import RunLog
from memory_vault.pipeline.reading import reading
from memory_vault.recall.moments import rev_or_when
from memory_vault.recall.plan import vault_path_of
from memory_vault.settings.load import Config
from memory_vault.sources.registry import configured_sources
from memory_vault.sources.source import Source, owner
from memory_vault.store.pieced import Stored
from memory_vault.store.vault import Vault

SOURCE = "the source file now"


@dataclass
class Side:
    """One of the two versions compared: what it is, and its bytes (None: absent)."""

    label: str
    data: bytes | None


@dataclass
class DiffResult:
    file: str
    old: Side
    new: Side
    comparison: compare.Comparison
    exit_code: int = EXIT_OK

    @property
    def summary(self) -> str:
        c = self.comparison
        if c.note:
            return f"{self.file}: {c.note}"
        line = (f"{self.file}: +{_n(c.gained, '?')} -{_n(c.lost, '?')} records "
                f"({_n(c.before)} -> {_n(c.after)})")
        if c.changed:
            line += (f"; {len(c.changed)} changed in place (~), each counted as one record "
                     "removed and one added")
        elif not (c.added or c.removed) and self.old.data != self.new.data:
            line += "; the same records, in another order or spacing"
        return line + (f"; {c.not_counted}" if c.not_counted else "")

    def as_dict(self) -> dict[str, object]:
        c = self.comparison
        return {"file": self.file, "format": c.format, "from": self.old.label,
                "to": self.new.label, "summary": self.summary,
                "records": {"before": c.before, "after": c.after, "added": c.gained,
                            "removed": c.lost},
                "added": [asdict(x) for x in c.added], "removed": [asdict(x) for x in c.removed],
                "changed": [asdict(x) for x in c.changed], "note": c.note,
                "not_counted": c.not_counted}


def _n(count: int | None, unknown: str = "none") -> str:
    return unknown if count is None else f"{count:,}"


def run_diff(config: Config, log: RunLog, name: str, *, since: str | None,
             until: str | None) -> DiffResult:
    """The whole `diff` command (the local clone, no fetch, under the run lock)."""
    configured = configured_sources(config)
    vault_name = vault_path_of(name, config, configured)
    with reading(config, log, fetch=False) as (vault, tip):
        if tip is None:
            raise VaultError("the vault is empty: there is nothing to compare with")
        sides = [_vault_version(vault, tip, since or tip, vault_name, "--from")]
        if until:
            sides.append(_vault_version(vault, tip, until, vault_name, "--to"))
        blobs = list(dict.fromkeys(b for _label, stored in sides if stored for b in stored.blobs))
        # One batch: the newer version is a delta of the older, rebuilt from it once.
        contents = dict(zip(blobs, vault.blobs.iterate(blobs), strict=True))
        found = [Side(label, b"".join(contents[b] for b in stored.blobs) if stored else None)
                 for label, stored in sides]
        old = found[0]
        new = found[1] if until else Side(SOURCE, _source_bytes(configured, vault_name))
    if old.data is None and new.data is None:
        raise UsageError(f"{vault_name}: in neither version ({old.label}, {new.label})")
    either = new.data if new.data is not None else old.data or b""
    fmt = formats.sniff(vault_name, either)
    return DiffResult(vault_name, old, new, compare.compare(fmt, old.data, new.data))


def _vault_version(vault: Vault, tip: str, rev_or_moment: str, name: str,
                   option: str) -> tuple[str, Stored | None]:
    """(label, the version or None) of the file in the commit a --from/--to names."""
    commit = rev_or_when(vault, tip, rev_or_moment, option)
    sha, when = vault.reader.commit_time(commit)
    stored = vault.reader.versions([sha], f"{vault.config.subdir}/{name}")[0]
    return f"{sha[:12]} ({utc_stamp(when)})", stored


def _source_bytes(configured: list[Source], name: str) -> bytes | None:
    """The file as it is now (a database as its backup API image)."""
    from memory_vault.capture.sqlite import CopyProblem, is_sqlite_file, sqlite_image

    path = Path(owner(configured, name).disk_path(name))
    if not path.is_file():
        return None
    if is_sqlite_file(str(path)):
        try:
            return bytes(sqlite_image(str(path), check=False))
        except CopyProblem as exc:
            raise VaultError(f"{name}: {exc}") from None
    return path.read_bytes()
