"""Sealed: the encrypted transport, what an encrypted vault's remote receives and gives back.

The clone stays plain (the machine holds the memory in the clear already); only the remote
is encrypted. What is pushed is a branch of opaque commits (a fixed author, message and
file name), each adding one file, `bundle.age`: an age-encrypted incremental `git bundle`
of the plain commits the remote lacked, whose thin pack keeps git's deltas. Fetching
decrypts the links not yet applied, unbundles them and moves the plain remote-tracking ref,
which every other part of the vault reads as "what the remote has": replay, the push's
lease, `status`, history, restore work as they do on a plain vault. The chain of links is
kept short by merging (`chain`): a push then replaces the newer links by one bundle,
leased on the remote's branch as we applied it, so a machine that pushed meanwhile makes
it fail and try again, never lose a version.
"""

import os
import shutil
import time

from memory_vault.errors import ConfigError, GitFailed, RemoteDamaged
from memory_vault.store.crypt.chain import (
    Chain,
    Link,
    link_problem,
    load_chain,
    read_header,
    save_chain,
)
from memory_vault.store.crypt.keys import IDENTITY, Keys, load_keys, too_open
from memory_vault.store.git import model
from memory_vault.store.git.runner import GitResult, GitRunner
from memory_vault.store.repo import Repo

NAME = "bundle.age"  # the one file of every commit of the remote's branch
FETCHED_REF = "refs/memory-vault/sealed"  # the remote's encrypted branch, as last fetched
SEALED_FOR = "refs/memory-vault/recipients/"  # + the recipients' fingerprint, in a bundle
SCRATCH = "memory-vault-sealed"  # a private folder of the git dir for bundles in transit
NON_FAST_FORWARD_DENIED = b"denying non-fast-forward"
# Every commit of the remote's branch says the same: the host learns sizes and times only.
SEALED_IDENTITY = {"GIT_AUTHOR_NAME": "Memory Vault", "GIT_AUTHOR_EMAIL": "vault@memory-vault",
                   "GIT_COMMITTER_NAME": "Memory Vault",
                   "GIT_COMMITTER_EMAIL": "vault@memory-vault"}
SEALED_MESSAGE = b"Memory Vault encrypted bundle\n"


class PlainRemote(ConfigError):
    """The remote's branch holds a plain vault where an encrypted one was expected."""


class Sealed:
    """The transport of an encrypted vault: fetch and apply, seal and push."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        self._keys: Keys | None = None

    @property
    def keys(self) -> Keys:
        """The identity and recipients, read once a run (exit 2 naming the file)."""
        if self._keys is None:
            config = self.repo.config
            self._keys = load_keys(config.identity_file, config.recipients)
            if too_open(config.identity_file):
                self.repo.log.warning(f"{IDENTITY}={config.identity_file} can be read by other "
                                      "users: `chmod 600` it")
        return self._keys

    def ready(self) -> None:
        _ = self.keys

    def configure(self, runner: GitRunner) -> None:
        """A clone of an encrypted remote: `git fetch` there fills the sealed ref, never the
        plain remote-tracking one; the encrypted bundles are never delta-compressed."""
        branch = self.repo.branch
        runner.run("config", "remote.origin.fetch", f"+refs/heads/{branch}:{FETCHED_REF}")
        runner.run("config", "memory-vault.sealed", "true")
        info = os.path.join(_git_dir(runner), "info")
        os.makedirs(info, exist_ok=True)
        with open(os.path.join(info, "attributes"), "w", encoding="utf-8") as handle:
            handle.write(f"{NAME} -delta\n")

    def forget(self, runner: GitRunner) -> None:
        """What we knew of another remote's encrypted branch says nothing of this one."""
        runner.run("update-ref", "-d", FETCHED_REF, check=False)
        save_chain(_git_dir(runner), Chain([]))

    # -- fetching --------------------------------------------------------------------------

    def fetch(self, runner: GitRunner) -> None:
        """Fetch the remote's branch and apply the links not applied yet."""
        # The host is told only of sealed commits it gave us (else git's negotiation names
        # the plain ones: `have <sha>`); none yet, nothing in common: no `have` at all.
        negotiate = ((f"--negotiation-tip={FETCHED_REF}",)
                     if model.read_ref(runner.cwd, FETCHED_REF) else ())
        result = runner.run(*(() if negotiate else ("-c", "fetch.negotiationAlgorithm=noop")),
                            "fetch", "-q", "--no-tags", *negotiate, "origin",
                            f"+refs/heads/{self.repo.branch}:{FETCHED_REF}", network=True,
                            check=False, progress=self.repo.progress)
        if result.returncode != 0:
            if b"couldn't find remote ref" in result.stderr:
                return  # an empty remote: the next push sends the whole history
            raise runner.failure(result, network=True)
        self.apply(runner)

    def apply(self, runner: GitRunner) -> Chain:
        """Bring the plain remote-tracking ref to what the fetched links hold."""
        git_dir = _git_dir(runner)
        chain = load_chain(git_dir)
        fetched = model.read_ref(runner.cwd, FETCHED_REF)
        if fetched is None or fetched == chain.tip:
            return chain
        known = {link.sealed: link for link in chain.links}
        links: list[Link] = []
        blobs: set[str] = set()
        for sealed in runner.run("rev-list", "--first-parent", "--reverse",
                                 fetched).text.split():
            link = known.get(sealed)
            if link is None:
                link = self._apply_link(runner, sealed, links[-1].plain if links else None,
                                        blobs)
                chain.reader = self.keys.public_key  # it opened a link: it reads the vault
            links.append(link)
        chain = Chain(links, reader=chain.reader)
        runner.run("update-ref", self.repo.remote_ref, links[-1].plain)
        save_chain(git_dir, chain)
        return chain

    def _apply_link(self, runner: GitRunner, sealed: str, previous: str | None,
                    blobs: set[str]) -> Link:
        """Decrypt and unbundle a link not applied yet; one that repeats another's bundle
        or does not follow on from the link before it (a host's replay) is refused."""
        blob = runner.run("rev-parse", f"{sealed}:{NAME}", check=False).text
        if blob and blob in blobs:
            raise RemoteDamaged(f"the remote's version {sealed[:12]} repeats an earlier "
                             "encrypted bundle: Memory Vault did not write it")
        blobs.add(blob)
        folder = scratch(runner)
        try:
            plain, size = self.decrypt(runner, sealed, folder)
            header = read_header(plain)
            tip = header.refs.get(self.repo.local_ref)
            if tip is None:
                raise RemoteDamaged(f"the remote's version {sealed[:12]} holds no bundle of the "
                                 f"branch {self.repo.branch}")
            if runner.run("cat-file", "-e", f"{tip}^{{commit}}", check=False).returncode:
                runner.run("bundle", "unbundle", plain)
            problem = link_problem(header, True, previous, tip, self.repo.local_ref, runner)
            if problem is not None:
                raise RemoteDamaged(f"the remote's version {sealed[:12]}: {problem}")
            return Link(sealed, tip, size, next((ref[len(SEALED_FOR):] for ref in header.refs
                                                 if ref.startswith(SEALED_FOR)), ""))
        except ValueError:
            raise RemoteDamaged(f"the remote's version {sealed[:12]} is not a git bundle once "
                             "decrypted: it is damaged") from None
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def decrypt(self, runner: GitRunner, sealed: str, folder: str) -> tuple[str, int]:
        """One link's bundle, decrypted into `folder`: (its path, the encrypted size)."""
        from pyrage import DecryptError

        encrypted, plain = os.path.join(folder, NAME), os.path.join(folder, "bundle")
        fd = os.open(encrypted, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            found = runner.run("cat-file", "blob", f"{sealed}:{NAME}", stdout_fd=fd,
                               check=False)
        finally:
            os.close(fd)
        if found.returncode != 0:
            raise PlainRemote(
                f"MEMORY_VAULT_ENCRYPT=age, but the remote {self.repo.shown_remote} holds a "
                "plain vault: to encrypt it, set MEMORY_VAULT_REMOTE to a new, empty "
                "repository (the history moves there, encrypted)", "MEMORY_VAULT_ENCRYPT")
        try:
            self.keys.decrypt_file(encrypted, plain)
        except DecryptError as exc:
            if "no matching keys" in str(exc).lower():
                raise ConfigError(
                    f"{IDENTITY}={self.keys.path}: this identity cannot decrypt the remote's "
                    f"version {sealed[:12]} ({date_of(runner, sealed)}): it is not one of "
                    "its recipients (add its public key to MEMORY_VAULT_RECIPIENTS on the "
                    "machine that pushed it)", IDENTITY) from None
            raise RemoteDamaged(f"the remote's version {sealed[:12]} does not decrypt: it is "
                             "damaged") from None
        except OSError as exc:
            if exc.errno is not None:  # our disk, not the version
                raise
            # rage found a damaged chunk after the header (a flipped or missing byte)
            raise RemoteDamaged(f"the remote's version {sealed[:12]} "
                             f"({date_of(runner, sealed)}) does not decrypt: it is "
                             "damaged") from None
        return plain, os.path.getsize(encrypted)

    # -- pushing ---------------------------------------------------------------------------

    def send(self, _seen: str | None, *, rewrite: bool = False) -> GitResult:
        """Seal what the remote lacks (merged with the newer links, as the chain says) and
        push it, leased on the remote's branch as we last applied it."""
        runner = self.repo.git
        applied = load_chain(_git_dir(runner)).tip
        chain = self.apply(runner)  # the lease must name what we applied, nothing newer
        head = self.repo.head()
        if chain.tip != applied and head and not self.repo.is_ancestor(chain.links[-1].plain,
                                                                      head):
            # Links fetched but never applied (a run killed in between): ours must be
            # replayed on top of them first, as when a push is rejected.
            return GitResult(("push",), 1, b"", b"! [rejected] (fetch first)\n")
        from memory_vault.store.crypt.audit import check_reader

        check_reader(self, chain)
        if chain.links and chain.sealed_for != self.keys.fingerprint and not rewrite:
            self.repo.log.info("the recipients changed (MEMORY_VAULT_RECIPIENTS): the whole "
                               "history is sent again, encrypted to each of them")
            rewrite = True
        start = 0 if rewrite else chain.merge_from()
        result = self._push_from(chain, start)
        if (result.returncode != 0 and start < len(chain.links)
                and NON_FAST_FORWARD_DENIED in result.stderr):
            self.repo.log.warning("the remote refuses to rewrite its branch "
                                  "(receive.denyNonFastForwards): the encrypted bundles are "
                                  "added one by one, never merged")
            result = self._push_from(chain, len(chain.links))
        return result

    def _push_from(self, chain: Chain, start: int) -> GitResult:
        runner, head = self.repo.git, self.repo.head()
        if head is None:
            raise GitFailed("nothing to push: the vault has no commits yet")
        base = chain.links[start - 1] if start else None
        if base is not None and start < len(chain.links) and not self.repo.is_ancestor(
                base.plain, head):
            base, start = None, 0  # our history no longer holds it (rewritten): send it all
        folder = scratch(runner)
        try:
            sealed, size = self._seal(folder, base, head)
            target = f"refs/heads/{self.repo.branch}"
            result = runner.run("push", "--porcelain", "--no-verify",
                                f"--force-with-lease={target}:{chain.tip or ''}", "origin",
                                f"{sealed}:{target}", network=True, check=False,
                                progress=self.repo.progress)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if result.returncode == 0:
            runner.run("update-ref", "--stdin", input_bytes=(
                f"update {FETCHED_REF} {sealed}\nupdate {self.repo.remote_ref} {head}\n"
            ).encode())
            save_chain(_git_dir(runner), chain.replaced_from(
                start, Link(sealed, head, size, self.keys.fingerprint),
                reader=self.keys.public_key))
        return result

    def _seal(self, folder: str, base: Link | None, head: str) -> tuple[str, int]:
        """The commit of the remote's branch that brings `head` on top of `base`'s link:
        (its sha, the encrypted bundle's size)."""
        runner = self.repo.git
        plain, encrypted = os.path.join(folder, "bundle"), os.path.join(folder, NAME)
        # The recipients travel inside the bundle, as the name of a second ref: a machine
        # that applies it knows whether the whole history must be sent again to new ones.
        marker = SEALED_FOR + self.keys.fingerprint
        runner.run("update-ref", marker, head)
        try:
            runner.run("bundle", "create", "-q", plain, self.repo.local_ref, marker,
                       *([f"^{base.plain}"] if base else []))
        finally:
            runner.run("update-ref", "-d", marker, check=False)
        self.keys.encrypt_file(plain, encrypted)
        blob = runner.run("hash-object", "-w", "--no-filters", encrypted).text
        tree = runner.run("mktree", input_bytes=f"100644 blob {blob}\t{NAME}\n".encode()).text
        now = f"{int(time.time())} +0000"
        env = {**SEALED_IDENTITY, "GIT_AUTHOR_DATE": now, "GIT_COMMITTER_DATE": now}
        sealed = runner.run("commit-tree", tree, *(["-p", base.sealed] if base else []),
                            input_bytes=SEALED_MESSAGE, extra_env=env).text
        return sealed, os.path.getsize(encrypted)

    # -- checking --------------------------------------------------------------------------

    def audit(self) -> tuple[bool, str]:
        """Every link of the remote's branch decrypted and checked (`store.crypt.audit`)."""
        from memory_vault.store.crypt.audit import audit

        return audit(self)


def _git_dir(runner: GitRunner) -> str:
    return os.path.join(runner.cwd, ".git")


def scratch(runner: GitRunner) -> str:
    """A fresh private folder in the git dir for one bundle in transit."""
    folder = os.path.join(_git_dir(runner), SCRATCH)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, mode=0o700)
    return folder


def date_of(runner: GitRunner, sealed: str) -> str:
    return runner.run("log", "-1", "--format=%cd", "--date=iso-strict", sealed,
                      check=False).text or "date unknown"
