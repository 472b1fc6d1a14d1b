"""Secret step: a changed version is scanned before it is staged, and what it holds is
redacted, refused or left as MEMORY_VAULT_SECRETS says.

`redact` (the default): the vault's copy holds `«redacted:<rule>:<fingerprint>»` in place of
each credential, still valid in its format; the file on disk is never touched; the run says
once, on stderr, which file, where and which rule. `refuse`: the file is skipped (exit 3, the
vault keeps its last good copy). `off`: no scan. Fingerprints a person allowed
(`secrets allow`, kept in `secrets-allowed` beside the env file) are left as they are.
"""

import hashlib
import os
from pathlib import Path

from memory_vault.capture.version import Version
from memory_vault.journal.cache import Journal
from memory_vault.logfile import RunLog
from memory_vault.settings import paths
from memory_vault.sources.scan import Skip

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from memory_vault.content import secrets
    from memory_vault.settings.load import Config


def load_allowed(config: "Config") -> frozenset[str]:
    """The allowed fingerprints: the first word of each line of `secrets-allowed`."""
    path = Path(paths.allowed_secrets_file(config.env_file, dict(os.environ)))
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return frozenset()
    return frozenset(line.split()[0] for line in lines if line.strip() and line[0] != "#")


class SecretGuard:
    """The secret step of one run: its policy, the allowed fingerprints, what it said."""

    def __init__(self, config: "Config", log: RunLog, journal: Journal,
                 tip_pieces: "Callable[[str], set[str]] | None" = None) -> None:
        self.config = config
        self.policy = config.secrets
        self.log = log
        self.journal = journal
        self.tip_pieces = tip_pieces  # the blobs of a pieced file the vault's tip holds
        self.allowed: frozenset[str] | None = None  # read when the first version is scanned

    def check(self, version: Version) -> "Version | Skip":
        """The version to stage (redacted if it must be), or the skip refusing it."""
        if self.policy == "off" or (version.data is None and not version.pieces):
            return version
        from memory_vault.content import secrets

        if self.allowed is None:
            self.allowed = load_allowed(self.config)
        said = self.journal.secrets.pop(version.path, [])
        if version.pieces is not None or version.data is None:
            return self._check_pieces(version, {fp for _rule, fp, _where in said})
        findings = secrets.scan(version.format, version.data, self.allowed)
        if not findings:
            return version
        if self.policy == "refuse":
            return _refused(version.path, findings[0])
        try:
            clean = secrets.redact(version.format, version.data, findings)
        except secrets.SecretProblem as exc:
            return _unredactable(version.path, exc)
        self._say(version.path, findings, {fp for _rule, fp, _where in said})
        return _redacted(version, clean)

    def _check_pieces(self, version: Version, known: set[str]) -> "Version | Skip":
        """A file read in pieces, piece by piece: one the vault's tip holds as it is was
        scanned when it was stored; a redacted piece waits in its private file redacted."""
        from memory_vault.content import formats, secrets

        held = self.tip_pieces(version.path) if self.tip_pieces is not None else set()
        found: list[secrets.Finding] = []
        for number, piece in enumerate(version.pieces or [], 1):
            if piece.blob in held:
                continue
            data = piece.read()
            findings = secrets.scan(formats.JSONL, data, self.allowed or frozenset())
            if not findings:
                continue
            for finding in findings:
                finding.where = f"{finding.where} of piece {number}"
            if self.policy == "refuse":
                return _refused(version.path, findings[0])
            try:
                piece.replace(bytes(secrets.redact(formats.JSONL, data, findings)))
            except secrets.SecretProblem as exc:
                return _unredactable(version.path, exc)
            found += findings
        if found:
            self._say(version.path, found, known)
            stored = hashlib.sha256()
            for piece in version.pieces or []:
                stored.update(piece.read())
            version.read_sha256 = version.read_sha256 or version.sha256
            version.size = sum(piece.size for piece in version.pieces or [])
            version.sha256 = stored.hexdigest()
        return version

    def _say(self, path: str, findings: "list[secrets.Finding]", known: set[str]) -> None:
        """Each secret once on stderr (cron mails it): a later version of the file that holds
        the same one says nothing more."""
        for f in findings:
            if f.fingerprint not in known:
                self.log.alarm(f"{path}: a secret ({f.rule}) at {f.where}, fingerprint "
                               f"{f.fingerprint}: the vault's copy holds a placeholder; the "
                               "file itself is untouched (`memory-vault secrets` lists them)")
        self.journal.secrets[path] = [(f.rule, f.fingerprint, f.where) for f in findings]


def _refused(path: str, first: "secrets.Finding") -> Skip:
    return Skip(path, f"holds a secret ({first.rule} at {first.where}, fingerprint "
                      f"{first.fingerprint}): refused (MEMORY_VAULT_SECRETS=refuse)")


def _unredactable(path: str, problem: Exception) -> Skip:
    return Skip(path, f"holds a secret that cannot be redacted in its format ({problem}): "
                      "refused")


def _redacted(version: Version, clean: bytearray) -> Version:
    """The same version, its stored bytes the redacted ones (the hash of what was read kept,
    so that an unchanged file is not read as changed)."""
    redacted = Version(version.path, size=len(clean),
                       sha256=hashlib.sha256(clean).hexdigest(),
                       stat_size=version.stat_size, mtime_ns=version.mtime_ns,
                       fmt=version.format, records=version.records, data=clean,
                       read_sha256=version.read_sha256, ctime_ns=version.ctime_ns)
    redacted.note = version.note
    redacted.unconfirmed = version.unconfirmed
    return redacted
