"""Secrets view: the credentials found in the vault's tip and in the sources, and allowing one.

`secrets` lists each finding (file, where, rule, fingerprint, never the secret) with its
state: `redacted` (the vault's copy holds its placeholder), `in-vault` (the vault's copy
holds it as it is: committed before the scan, with MEMORY_VAULT_SECRETS=off, or allowed;
`secrets purge` takes it out of the history), `in-source` (not in the vault: the next sync
redacts it), each marked `allowed` when a person allowed it. `secrets allow` records a
fingerprint in `secrets-allowed` beside the env file, a file a person can read and edit,
and has the files that hold it read again, so the next sync keeps the value as it is.
"""

import os
import re
import time
from pathlib import Path

from memory_vault.errors import EXIT_OK, UsageError, VaultError
from memory_vault.fsutil import utc_stamp, write_atomic
from memory_vault.logfile import RunLog
from memory_vault.pipeline.secrets import load_allowed
from memory_vault.settings import paths
from memory_vault.settings.load import Config

FINGERPRINT = re.compile(r"[0-9a-f]{12}")
REDACTED, IN_VAULT, IN_SOURCE = "redacted", "in-vault", "in-source"


class SecretRow:
    """One secret in one file."""

    __slots__ = ("allowed", "file", "fingerprint", "rule", "state", "where")

    def __init__(self, file: str, where: str, rule: str, fingerprint: str, state: str,
                 allowed: bool) -> None:
        self.file = file
        self.where = where
        self.rule = rule
        self.fingerprint = fingerprint
        self.state = state
        self.allowed = allowed

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "where": self.where, "rule": self.rule,
                "fingerprint": self.fingerprint, "state": self.state, "allowed": self.allowed}


class SecretsReport:
    __slots__ = ("allowed_file", "policy", "rows")

    def __init__(self, rows: list[SecretRow], policy: str, allowed_file: str) -> None:
        self.rows = rows
        self.policy = policy
        self.allowed_file = allowed_file

    @property
    def exit_code(self) -> int:
        return EXIT_OK

    def as_dict(self) -> object:
        return {"policy": self.policy, "allowed_file": self.allowed_file,
                "secrets": [row.as_dict() for row in self.rows]}


def run_secrets(config: Config, log: RunLog) -> SecretsReport:
    """Every secret of the vault's tip and of the sources' tracked files."""
    from memory_vault.journal.cache import load_journal

    allowed = load_allowed(config)
    journal = load_journal(config.state_file, config.vault_identity)
    rows: dict[tuple[str, str], SecretRow] = {}
    try:
        _vault_rows(config, log, allowed, journal.secrets, rows)
    except VaultError as exc:
        log.warning(f"the vault could not be read ({exc}); the sources alone are listed")
    _source_rows(config, allowed, rows)
    ordered = sorted(rows.values(), key=lambda r: (r.file, r.where, r.fingerprint))
    return SecretsReport(ordered, config.secrets, _allowed_path(config))


def _vault_rows(config: Config, log: RunLog, allowed: frozenset[str],
                wheres: dict[str, list[tuple[str, str, str]]],
                rows: dict[tuple[str, str], SecretRow]) -> None:
    from memory_vault.capture import pieces
    from memory_vault.content import formats, secrets
    from memory_vault.pipeline.reading import reading

    with reading(config, log, fetch=False) as (vault, tip):
        if tip is None:
            return
        listing = vault.repo.git.run("ls-tree", "-r", "-z", tip, "--",
                                     config.subdir + "/").stdout.split(b"\0")
        named = [(line.split(b"\t", 1)[1].decode("utf-8", "surrogateescape"),
                  line.split(b" ")[2].split(b"\t")[0].decode())
                 for line in listing if line and line.split(b" ")[1] == b"blob"]
        prefix = config.subdir + "/"
        for (path, _sha), data in zip(named, vault.blobs.iterate([s for _p, s in named]),
                                      strict=True):
            name = pieces.owner(path.removeprefix(prefix))
            said = {fp: where for _rule, fp, where in wheres.get(name, [])}
            for rule, fp in secrets.placeholders(data):
                rows[(name, fp)] = SecretRow(name, said.get(fp, ""), rule, fp, REDACTED,
                                             fp in allowed)
            for f in secrets.scan(formats.sniff(path, data), data):
                rows[(name, f.fingerprint)] = SecretRow(name, f.where, f.rule, f.fingerprint,
                                                        IN_VAULT, f.fingerprint in allowed)


def _source_rows(config: Config, allowed: frozenset[str],
                 rows: dict[tuple[str, str], SecretRow]) -> None:
    from memory_vault.content import formats, secrets
    from memory_vault.sources.registry import configured_sources
    from memory_vault.sources.scan import scan_source

    for source in configured_sources(config):
        for name in scan_source(source, {}, read_all=True).present:
            try:
                data = Path(source.disk_path(name)).read_bytes()
            except OSError:
                continue
            for f in secrets.scan(formats.sniff(name, data), data):
                if (name, f.fingerprint) not in rows:
                    rows[(name, f.fingerprint)] = SecretRow(
                        name, f.where, f.rule, f.fingerprint, IN_SOURCE,
                        f.fingerprint in allowed)


def _allowed_path(config: Config) -> str:
    return paths.allowed_secrets_file(config.env_file, dict(os.environ))


def run_allow(config: Config, log: RunLog, fingerprint: str) -> "AllowDone":
    """Keep the secret `fingerprint` as it is from the next sync on."""
    from memory_vault.journal.cache import load_journal, save_journal
    from memory_vault.pipeline.lock import RunLock

    if not FINGERPRINT.fullmatch(fingerprint):
        raise UsageError(f"{fingerprint!r} is not a fingerprint (12 hex digits, as "
                         "`secrets` lists them)")
    path = _allowed_path(config)
    if fingerprint in load_allowed(config):
        return AllowDone(fingerprint, path, [], already=True)
    lock = RunLock(config.lock_file)
    lock.acquire(wait=60.0)
    try:
        journal = load_journal(config.state_file, config.vault_identity)
        holders = sorted(p for p, found in journal.secrets.items()
                         if any(fp == fingerprint for _r, fp, _w in found))
        try:
            kept = Path(path).read_bytes()
        except FileNotFoundError:
            kept = (b"# Secrets kept as they are in the vault (`memory-vault secrets allow`):"
                    b"\n# one fingerprint per line; what follows it is a note.\n")
        note = f"{fingerprint}  # allowed {utc_stamp()}" + (
            f", in {', '.join(holders)}" if holders else "")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, kept + note.encode() + b"\n", durable=True)
        for name in holders:
            journal.files.pop(name, None)  # read again: the next sync keeps it as it is
        if holders:
            save_journal(config.state_file, journal, now=int(time.time()))
    finally:
        lock.release()
    log.info(f"secrets allow: {fingerprint} is kept as it is from now on ({path})")
    return AllowDone(fingerprint, path, holders)


class AllowDone:
    __slots__ = ("already", "file", "fingerprint", "holders")

    def __init__(self, fingerprint: str, file: str, holders: list[str], *,
                 already: bool = False) -> None:
        self.fingerprint = fingerprint
        self.file = file
        self.holders = holders
        self.already = already

    @property
    def exit_code(self) -> int:
        return EXIT_OK

    def as_dict(self) -> object:
        return {"fingerprint": self.fingerprint, "allowed_file": self.file,
                "files": self.holders, "already_allowed": self.already}
