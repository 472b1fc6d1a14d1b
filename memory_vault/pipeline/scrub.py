"""Scrub: the secrets a history rewrite takes out of every version and message it passes.

A secret in a text, JSON or JSON Lines version is replaced where its bytes are, by its
placeholder: inside a JSON string it keeps the JSON valid, and the same bytes in another
file or commit message go too. A database cannot lose bytes in place; its cells holding one
of the secrets' fingerprints are redacted the way a sync does it (`content.secrets.redact`).
"""

from memory_vault.capture.sqlite import SQLITE_HEADER
from memory_vault.content import formats, secret_rules, secrets
from memory_vault.logfile import RunLog


class Scrub:
    """What to take out: secrets by their bytes, and their fingerprints for databases."""

    def __init__(self, log: RunLog) -> None:
        self.log = log
        self.values: dict[bytes, bytes] = {}  # the bytes as stored -> the placeholder
        self.fingerprints: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self.values or self.fingerprints)

    def add(self, finding: secrets.Finding, data: bytes) -> None:
        """Take out the secret of `finding`, a finding in the stored version `data`."""
        self.fingerprints.add(finding.fingerprint)
        start, end = finding.span
        if end > start:  # a database's findings have no span: the fingerprint finds them
            self.values[bytes(data[start:end])] = secret_rules.placeholder(finding.rule,
                                                                      finding.fingerprint)

    def __call__(self, data: bytes, version: bool) -> bytes:
        if version and data[:16] == SQLITE_HEADER:
            return self._database(data)
        for secret in sorted(self.values, key=len, reverse=True):  # one may hold another
            if secret in data:
                data = data.replace(secret, self.values[secret])
        return data

    def _database(self, data: bytes) -> bytes:
        found = [f for f in secrets.scan(formats.SQLITE, data)
                 if f.fingerprint in self.fingerprints]
        if not found:
            return data
        try:
            return bytes(secrets.redact(formats.SQLITE, data, found))
        except secrets.SecretProblem as exc:
            self.log.warning(f"a database version keeps a secret: {exc}")
            return data
