"""verify: the seed's backup validation as one command, a line per check."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from memory_vault.capture.sqlite import CopyProblem, stored_digest
from memory_vault.errors import EXIT_FAILED, EXIT_OK, Interrupted, VaultError
from memory_vault.fsutil import file_sha256
from memory_vault.journal.cache import load_journal
from memory_vault.logfile import RunLog
from memory_vault.pipeline.reading import reading
from memory_vault.recall.plan import plan_restore, same_bytes
from memory_vault.recall.writer import apply_restore
from memory_vault.settings.load import Config
from memory_vault.sources import scan as sources
from memory_vault.sources.registry import configured_sources
from memory_vault.store.vault import Vault

# Content read and hashed by one `verify`: git fsck reads every version of every file, so
# its cost grows with the history (the benchmark's "a year: verify" row gives both); past
# this, a different part is read each day, as restic's --read-data-subset.
READ_BUDGET_BYTES = 256 * 2**20


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class VerifyResult:
    checks: list[Check]

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.checks if not c.ok]

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.failed else EXIT_OK

    def as_dict(self) -> dict[str, object]:
        return {"ok": not self.failed, "checks": [asdict(c) for c in self.checks]}


def run_verify(config: Config, log: RunLog) -> VerifyResult:
    """The whole `verify` command, under the run lock."""
    with reading(config, log, fetch=False) as (vault, tip):
        result = VerifyResult(verify(vault, tip))
    log.info("verify: " + ("all checks passed" if not result.failed
                           else "failed: " + ", ".join(result.failed)))
    return result


def verify(vault: Vault, tip: str | None) -> list[Check]:
    """fsck, remote equal to local, a test restore of the tip, and the sources vs the tip.

    Each check runs whatever the others found: a damaged vault fails a check, it does not
    stop the report.
    """
    checks = [_guarded("fsck", _fsck, vault), _guarded("remote", _remote_matches, vault)]
    if vault.config.encrypt:
        checks.append(_guarded("decrypt", _decrypts, vault))
    restored: dict[str, str] = {}
    try:
        restored = _test_restore(vault, tip, checks)
    except Interrupted:  # Ctrl-C in the test restore: its scratch folder is gone, no more
        raise KeyboardInterrupt from None
    except Exception as exc:  # a damaged vault: report it as the failed check it is
        checks.append(Check("restore", False, vault.repo.redactor.clean(f"cannot restore: {exc}")))
    checks.append(_guarded("sources", lambda v: _sources_match(v, restored), vault))
    return checks


def _guarded(name: str, check: Callable[[Vault], Check], vault: Vault) -> Check:
    try:
        return check(vault)
    except Exception as exc:
        return Check(name, False, vault.repo.redactor.clean(f"error: {exc}"))


def _fsck(vault: Vault) -> Check:
    """`git fsck` while the history is small enough to read whole in one run; past that,
    bounded as restic's `check --read-data-subset` is: every object checked present and
    linked, and one slice of the content read and hashed, another slice each day."""
    repos = [vault.config.clone_dir]
    if vault.config.embedded:
        repos.append(vault.config.remote)
    where = "the clone" + (" and the embedded vault" if len(repos) > 1 else "")
    part = data_slice(vault.reader.object_sizes(), READ_BUDGET_BYTES, _today())
    whole = part.count == 1
    problems = [f"{repo}: {problem}" for repo in repos
                if (problem := vault.reader.fsck(repo, connectivity_only=not whole)) is not None]
    if not whole:
        problems += vault.reader.misread_objects(part.shas)
    if problems:
        return Check("fsck", False, "; ".join(problems))
    if whole:
        return Check("fsck", True, f"{where}: every object read and consistent (git fsck)")
    return Check("fsck", True, (
        f"{where}: all {part.total_objects:,} objects present and linked; today's part of "
        f"the content, {part.index + 1} of {part.count} ({len(part.shas):,} objects, "
        f"{part.bytes / 2**20:.0f} MB), read and consistent: the whole history is read over "
        f"{part.count} days"))


@dataclass
class DataSlice:
    """The objects one `verify` reads in full: part `index` of `count` (by object name, so
    that the parts are about equal and together hold every object)."""

    index: int
    count: int
    shas: list[str]
    bytes: int
    total_objects: int


def data_slice(objects: list[tuple[str, int]], budget: int, day: int) -> DataSlice:
    """The part of `objects` ((sha, size) pairs) to read on `day`: all of them while their
    content fits `budget` bytes, else one of as many parts as it takes to fit, in turn."""
    total = sum(size for _sha, size in objects)
    count = max(1, -(-total // budget))
    index = day % count
    chosen = [(sha, size) for sha, size in objects if int(sha[:8], 16) % count == index]
    return DataSlice(index, count, [sha for sha, _size in chosen],
                     sum(size for _sha, size in chosen), len(objects))


def _today() -> int:
    """Days since the epoch (UTC): which part of a large history `verify` reads today."""
    return int(time.time() // 86400)


def _remote_matches(vault: Vault) -> Check:
    branch = vault.config.branch
    local = vault.repo.head()
    try:
        if vault.config.encrypt:  # its branch holds bundles: the plain tip they bring
            vault.remote.fetch()
            remote = vault.repo.ref(vault.repo.remote_ref)
        else:
            remote = vault.reader.remote_branch()
    except VaultError as exc:
        return Check("remote", False, f"cannot read the remote: {exc}")
    if local == remote:
        return Check("remote", True, f"the remote's {branch} equals the clone's "
                                     f"({(local or 'empty')[:12]})")
    if local and (remote is None or vault.repo.is_ancestor(remote, local)):
        count = vault.reader.count_commits(local, remote)
        return Check("remote", False, f"{count} local commit(s) not pushed yet")
    return Check("remote", False, f"the remote's {branch} is {(remote or 'empty')[:12]}, the "
                                  f"clone's is {(local or 'empty')[:12]} (the next sync "
                                  "reconciles them)")


def _decrypts(vault: Vault) -> Check:
    """Every encrypted bundle of the remote's branch decrypts with this machine's identity
    and holds what the clone applied from it."""
    from memory_vault.store.crypt.sealed import Sealed

    transport = vault.remote.transport
    if not isinstance(transport, Sealed):
        return Check("decrypt", False, "the vault is not encrypted")
    ok, detail = transport.audit()
    return Check("decrypt", ok, detail)


def _test_restore(vault: Vault, tip: str | None, checks: list[Check]) -> dict[str, str]:
    """Restore the tip into a temporary folder the way `restore` does; compare with git's
    own copy of each file (a file in pieces: piece by piece) and by sha256 with
    `.last_sync` (the whole file's). Returns name -> sha256."""
    if tip is None:
        checks.append(Check("restore", False, "the vault has no commits yet"))
        return {}
    with tempfile.TemporaryDirectory(prefix="memory-vault-verify-") as scratch:
        plan = plan_restore(vault, tip, [], scratch)
        apply_restore(vault, plan)
        restored = {}
        mismatches = [f"{i.name}: refused ({i.reason})" for i in plan.refused]
        for item in plan.to_write:
            path = str(Path(scratch) / item.name)
            restored[item.name] = file_sha256(path)
            if item.entry is None or not same_bytes(path, item.entry):  # pieces: each
                mismatches.append(f"{item.name}: restored bytes differ from the vault")
    records = load_journal(vault.config.state_file).files
    for name, record in records.items():
        if name not in restored:
            mismatches.append(f"{name}: in .last_sync but not in the vault")
        elif restored[name] != record.sha256:
            mismatches.append(f"{name}: the vault's copy differs from .last_sync")
    if mismatches:
        checks.append(Check("restore", False, "; ".join(mismatches)))
    else:
        files = "1 file" if len(restored) == 1 else f"{len(restored)} files"
        checks.append(Check("restore", True, f"{files} restored from "
                                             f"{tip[:12]} match the vault and .last_sync"))
    return restored


def _sources_match(vault: Vault, restored: dict[str, str]) -> Check:
    """Each present source file equals the vault's tip, or is newer than the last sync."""
    config = vault.config
    configured = configured_sources(config)
    if not Path(config.source_dir).is_dir():
        return Check("sources", False, f"the source dir {config.source_dir} does not exist")
    journal = load_journal(config.state_file)
    last_run = journal.last_run
    behind: list[str] = []
    equal = newer = redacted = 0
    for source in configured:
        if not Path(source.folder).is_dir():
            continue
        for name in sources.scan_source(source, {}, read_all=True).present:
            path = source.disk_path(name)
            try:
                digest = stored_digest(path)
                mtime = Path(path).stat().st_mtime
            except (OSError, CopyProblem) as exc:
                behind.append(f"{name}: unreadable ({getattr(exc, 'strerror', None) or exc})")
                continue
            record = journal.files.get(name)
            if restored.get(name) == digest:
                equal += 1
            elif record is not None and (record.sha256, record.read_sha256) == (
                    restored.get(name), digest):  # the vault's copy has its secrets redacted
                redacted += 1
            elif mtime >= last_run:
                newer += 1
            else:
                behind.append(f"{name}: differs from the vault and is not newer than the "
                              "last sync")
    if behind:
        return Check("sources", False, "; ".join(behind))
    return Check("sources", True, sources_line(equal, newer, redacted))


def sources_line(equal: int, newer: int, redacted: int) -> str:
    """Each count says what is true of exactly that many files."""
    total = equal + newer + redacted
    parts = [f"{equal} of {total} source files equal the vault"]
    if redacted:
        parts.append(f"{redacted} equal it but for the secrets it holds redacted")
    if newer:
        parts.append(f"{newer} changed since the last sync (the next sync backs them up)")
    return "; ".join(parts)
