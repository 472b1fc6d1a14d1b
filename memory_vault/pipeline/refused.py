"""Refused push: the host found a secret in what we pushed; the queue is redacted and drains.

A rejected push updates no ref, so every commit the remote lacks is still ours to change.
Each version those commits wrote is scanned (every rule, allowed fingerprints too: the host
will not take them either); a line the host names where our rules see nothing gives up its
longest token instead. The commits are made again with each secret's placeholder, the
originals kept under `refs/memory-vault/unredacted/` (never pushed), and the push is tried
again. Without anything to redact the refusal stands: `status` shows `secret-refused`.
"""

import hashlib
import re

from memory_vault.store.refusal import Location, Refusal
from memory_vault.store.rewrite import Rewriter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from memory_vault.content import secrets
    from memory_vault.pipeline.sync import Run
    from memory_vault.store.vault import Vault

_TOKEN = re.compile(rb"[A-Za-z0-9_\-+/=.:]{16,}")
_PLACEHOLDER_START = "«redacted:".encode()


def redact_queue(run: "Run", vault: "Vault", refusal: Refusal) -> bool:
    """Redact the secrets of the unpushed commits; True when there was one to redact."""
    from memory_vault.content import formats, secrets
    from memory_vault.pipeline.scrub import Scrub

    rewriter = Rewriter(vault.repo, vault.blobs)
    revs = rewriter.unpushed_range()
    scrub = Scrub(run.log)
    found: dict[str, list[tuple[str, str, str]]] = {}
    for path, data in rewriter.changed_blobs(revs):
        fmt = formats.sniff(path, data)
        findings = secrets.scan(fmt, data)
        if fmt != formats.SQLITE:
            findings += _named(path, data, refusal.locations, findings)
        for finding in findings:
            scrub.add(finding, data)
            found.setdefault(path, []).append((finding.rule, finding.fingerprint, finding.where))
    if not scrub:
        return False
    count = rewriter.commits_in(revs)
    kept = rewriter.keep_originals()
    rewriter.rewrite(revs, scrub)
    _remember(run, vault, found)
    for path, hits in sorted(found.items()):
        rules = ", ".join(sorted({rule for rule, _fp, _where in hits}))
        run.log.alarm(f"the host refused the push: {path} holds a secret ({rules}); "
                      f"redacted in the {count} commit(s) it lacked (the originals stay in "
                      f"this clone under {kept}, never pushed); pushing again")
    return True


def _named(path: str, data: bytes, locations: list[Location],
           known: "list[secrets.Finding]") -> "list[secrets.Finding]":
    """The longest token of each line the host names in `path` that our rules missed."""
    from memory_vault.content import secrets

    lines = data.split(b"\n")
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line) + 1)
    hits = []
    for loc in locations:
        if loc.path != path or not 0 < loc.line <= len(lines):
            continue
        line, begins = lines[loc.line - 1], starts[loc.line - 1]
        if _PLACEHOLDER_START in line or any(
                begins <= f.span[0] < begins + len(line) for f in known):
            continue
        tokens = sorted(_TOKEN.finditer(line), key=lambda m: m.end() - m.start(), reverse=True)
        if tokens:
            rule = re.sub(r"[^a-z0-9]+", "-", loc.rule.lower()).strip("-") or "secret"
            token = tokens[0]
            hits.append(secrets.Finding(rule, secrets.fingerprint(token.group()),
                                        f"line {loc.line}",
                                        (begins + token.start(), begins + token.end())))
    return hits


def _remember(run: "Run", vault: "Vault", found: dict[str, list[tuple[str, str, str]]]) -> None:
    """The journal learns where the vault's copies now hold placeholders, and their new
    hashes at the tip (what was read from the source stays what the next scan compares)."""
    prefix = run.config.subdir + "/"
    journal = run.journal
    for path, hits in found.items():
        name = path.removeprefix(prefix)
        journal.secrets[name] = hits
        known = journal.files.get(name)
        if known is None:
            continue
        tip = vault.repo.git.run("rev-parse", "-q", "--verify",
                                 f"{vault.repo.local_ref}:{path}", check=False).text
        if tip:
            data = vault.blobs.get(tip)
            known.read_sha256 = known.read_sha256 or known.sha256
            known.size, known.sha256 = len(data), hashlib.sha256(data).hexdigest()
