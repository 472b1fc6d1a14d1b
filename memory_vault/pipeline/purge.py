"""Purge: one secret taken out of every commit of the vault, in the clone and on the remote.

`secrets purge FINGERPRINT` finds the secret's bytes by scanning every version the history
holds (only its fingerprint is known), says what it will rewrite and asks, then rewrites the
whole history with its placeholder (`store.rewrite`), adds a commit that says so
(`Secret-Purged:`), and force-pushes with a lease on the branch it fetched: a machine that
pushed meanwhile makes it fail rather than be overwritten. Another machine's next sync sees
the rewrite and replays only what the remote lacks, never the old history. The old objects
are pruned from the clone and the embedded vault; a hosted remote may keep them in caches,
forks and pull requests, which is why the key must be rotated all the same.
"""

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from memory_vault.errors import EXIT_OK, GitFailed, UsageError, VaultError
from memory_vault.logfile import RunLog
from memory_vault.pipeline.reading import reading
from memory_vault.settings import paths
from memory_vault.settings.load import Config
from memory_vault.store import tracking
from memory_vault.store.rewrite import Rewriter
from memory_vault.store.trailers import PURGE_TRAILER
from memory_vault.store.worktree import SHOWN_REF

TYPE_CHECKING = False
if TYPE_CHECKING:
    from memory_vault.pipeline.scrub import Scrub
    from memory_vault.store.vault import Vault


class PurgePlan:
    """What a purge would rewrite: the secret's rule, the versions and files holding it."""

    __slots__ = ("files", "fingerprint", "remote", "rule", "scrub", "versions")

    def __init__(self, fingerprint: str, remote: str, scrub: "Scrub") -> None:
        self.fingerprint = fingerprint
        self.remote = remote
        self.rule = ""
        self.scrub = scrub
        self.versions = 0
        self.files: set[str] = set()

    def question(self) -> str:
        files = ", ".join(sorted(self.files)[:5]) + (
            f" and {len(self.files) - 5} more" if len(self.files) > 5 else "")
        return (f"{self.versions} version(s) of {files} hold the secret {self.fingerprint} "
                f"({self.rule}). Every commit from the first of them on is rewritten, in the "
                f"clone and on {self.remote} (a force push). Go on?")


class PurgeResult:
    __slots__ = ("exit_code", "files", "fingerprint", "lines", "rewritten", "rule")

    def __init__(self, plan: PurgePlan, rewritten: int, lines: list[str]) -> None:
        self.exit_code = EXIT_OK
        self.fingerprint = plan.fingerprint
        self.rule = plan.rule
        self.files = sorted(plan.files)
        self.rewritten = rewritten
        self.lines = lines

    def as_dict(self) -> object:
        return {"fingerprint": self.fingerprint, "rule": self.rule, "files": self.files,
                "commits_rewritten": self.rewritten, "lines": self.lines}


def run_purge(config: Config, log: RunLog, fingerprint: str,
              confirm: Callable[[PurgePlan], bool]) -> PurgeResult:
    """Take the secret `fingerprint` out of the vault's history, once `confirm` agrees."""
    if not config.push:
        raise VaultError("a purge rewrites the remote too: it needs MEMORY_VAULT_PUSH=true")
    with reading(config, log, fetch=False) as (vault, _tip):
        vault.remote.fetch()  # the remote's history is rewritten too: it must answer
        if vault.repo.head() is None:
            raise UsageError("the vault is empty: there is nothing to purge")
        seen = vault.repo.ref(vault.repo.remote_ref)
        if seen is not None and not vault.repo.is_ancestor(seen, vault.repo.local_ref):
            vault.remote.replay_onto_remote()  # the remote's commits are rewritten too
        rewriter = Rewriter(vault.repo, vault.blobs)
        plan = _plan(config, vault, rewriter, fingerprint)
        if not confirm(plan):
            raise VaultError("nothing was rewritten")
        before = set(vault.repo.git.run("rev-list", vault.repo.local_ref).text.split())
        vault.repo.git.run("update-ref", "-d", SHOWN_REF)  # the work tree is shown afresh
        rewriter.rewrite(["--all"], plan.scrub)
        _mark(vault, plan)
        after = set(vault.repo.git.run("rev-list", vault.repo.local_ref).text.split())
        _force_push(vault, seen)
        vault.worktree.update()  # its files and index name the old versions too
        rewriter.prune([config.remote] if config.embedded else [])
        lines = _afterwards(config, log, vault, plan, len(before - after))
    return PurgeResult(plan, len(before - after), lines)


def _plan(config: Config, vault: "Vault", rewriter: Rewriter, fingerprint: str) -> PurgePlan:
    from memory_vault.content import formats, secrets
    from memory_vault.pipeline.scrub import Scrub

    plan = PurgePlan(fingerprint, vault.repo.shown_remote, Scrub(vault.repo.log))
    prefix = config.subdir + "/"
    for path, data in rewriter.changed_blobs(["--all"]):
        for finding in secrets.scan(formats.sniff(path, data), data):
            if finding.fingerprint == fingerprint:
                plan.rule = finding.rule
                plan.scrub.add(finding, data)
                plan.files.add(path.removeprefix(prefix))
                plan.versions += 1
    if not plan.scrub:
        raise UsageError(f"no version in the vault holds a secret with the fingerprint "
                         f"{fingerprint} (`secrets` lists those it holds)")
    return plan


def _mark(vault: "Vault", plan: PurgePlan) -> None:
    """A commit on top that says the history was purged, for the other machines."""
    from memory_vault.store.commit import identity_env

    git, config = vault.repo.git, vault.repo.config
    import time

    head = vault.repo.head() or ""
    message = (f"Purge a secret from the history\n\n{PURGE_TRAILER}: {plan.rule} "
               f"{plan.fingerprint}\n").encode()
    sha = git.run("commit-tree", vault.repo.tree_of(head), "-p", head, "-F", "-",
                  input_bytes=message,
                  extra_env=identity_env(config.author_name, config.author_email,
                                         time.time())).text
    git.run("update-ref", vault.repo.local_ref, sha, head)


def _force_push(vault: "Vault", seen: str | None) -> None:
    """Replace the remote's branch, only if it is still what we fetched (the lease)."""
    repo = vault.repo
    result = vault.remote.transport.send(seen, rewrite=True)  # encrypted: one full bundle
    if result.returncode != 0:
        raise GitFailed(f"the clone is rewritten, but the remote refused it (another machine "
                        f"pushed meanwhile?): {repo.git.failure(result, network=True)}; run "
                        "the purge again")
    for ref in (tracking.PUSHED_REF, repo.remote_ref):
        repo.git.run("update-ref", ref, repo.local_ref)


def _afterwards(config: Config, log: RunLog, vault: "Vault", plan: PurgePlan,
                rewritten: int) -> list[str]:
    """The journal learns the new copies; the fingerprint is no longer allowed."""
    from memory_vault.journal.cache import load_journal, save_journal

    journal = load_journal(config.state_file, config.vault_identity)
    for name in plan.files:
        known = journal.files.get(name)
        tip = vault.repo.git.run("rev-parse", "-q", "--verify",
                                 f"{vault.repo.local_ref}:{config.subdir}/{name}",
                                 check=False).text
        if known is not None and tip:
            data = vault.blobs.get(tip)
            known.size, known.sha256 = len(data), hashlib.sha256(data).hexdigest()
    journal.last_commit = vault.repo.head() or journal.last_commit
    import time

    save_journal(config.state_file, journal, now=int(time.time()))
    disallowed = _disallow(config, plan.fingerprint)
    log.info(f"secrets purge: {plan.fingerprint} ({plan.rule}) taken out of {rewritten} "
             f"commit(s), pushed to {vault.repo.shown_remote}")
    lines = [f"Took the secret {plan.fingerprint} ({plan.rule}) out of {rewritten} commit(s), "
             f"in the clone and on {vault.repo.shown_remote}.",
             "The host may still hold it (caches, forks, pull requests): rotate the key."]
    if disallowed:
        lines.append(f"{plan.fingerprint} is no longer allowed: its next version is redacted.")
    if config.secrets == "off":
        lines.append("MEMORY_VAULT_SECRETS=off: a file that still holds it would store it "
                     "again at its next change.")
    return lines


def _disallow(config: Config, fingerprint: str) -> bool:
    path = paths.allowed_secrets_file(config.env_file, dict(os.environ))
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return False
    kept = [line for line in lines if (line.split() or [""])[0] != fingerprint]
    if len(kept) == len(lines):
        return False
    from memory_vault.fsutil import write_atomic

    write_atomic(path, "".join(f"{line}\n" for line in kept).encode(), durable=True)
    return True
