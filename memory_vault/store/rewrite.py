"""Rewrite: the vault's history made again with some bytes replaced, in every commit of a range.

Two callers: a push the host refused for a secret (the commits the remote lacks are redacted,
their originals kept under `refs/memory-vault/unredacted/`, never pushed), and `secrets purge`
(every commit, then a force push with a lease). Both stream the range through
`git fast-export | replace | git fast-import`, git's own tools for this, built for whole
histories: no commit is checked out, one pass whatever the number of commits, and a commit
none of whose bytes change keeps its id. What is replaced is the caller's to say (`Clean`);
each version passes through the codec's unseal and seal around it.
"""

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from typing import IO

from memory_vault.errors import GitFailed
from memory_vault.store import tracking
from memory_vault.store.blobs import Blobs
from memory_vault.store.repo import Repo

UNREDACTED_PREFIX = "refs/memory-vault/unredacted/"

Clean = Callable[[bytes, bool], bytes]  # a version's (True) or a message's bytes -> cleaned


class Rewriter:
    """Rewrites of one clone's history."""

    def __init__(self, repo: Repo, blobs: Blobs) -> None:
        self.repo = repo
        self.blobs = blobs

    def unpushed_range(self) -> list[str]:
        """The rev-list arguments naming the commits of our branch the remote lacks."""
        known = [ref for ref in (self.repo.remote_ref, tracking.PUSHED_REF) if self.repo.ref(ref)]
        return [self.repo.local_ref, *(f"^{ref}" for ref in known)]

    def changed_blobs(self, revs: list[str]) -> Iterator[tuple[str, bytes]]:
        """(vault path, bytes) of every version a commit of `revs` wrote, each once."""
        raw = self.repo.git.run("log", "--raw", "-z", "--no-renames", "--no-abbrev",
                                "--format=", *revs, "--").stdout
        fields = raw.split(b"\0")
        seen: dict[str, str] = {}
        for meta, path in zip(fields[0::2], fields[1::2], strict=False):
            meta = meta.lstrip(b"\n")
            if not meta.startswith(b":"):
                continue
            _om, mode, _os, sha, status = meta[1:].decode("ascii").split(" ")
            if status.startswith("D") or mode in ("160000", "120000") or sha in seen:
                continue
            seen[sha] = path.decode("utf-8", "surrogateescape")
        shas = list(seen)
        for sha, data in zip(shas, self.blobs.iterate(shas), strict=True):
            yield seen[sha], data

    def commits_in(self, revs: list[str]) -> int:
        return int(self.repo.git.run("rev-list", "--count", *revs).text
                   or 0)

    def keep_originals(self) -> str:
        """Name the unredacted tip under a local ref no push sends; return the ref."""
        ref = f"{UNREDACTED_PREFIX}{time.time_ns()}"
        self.repo.git.run("update-ref", ref, self.repo.local_ref)
        return ref

    def rewrite(self, revs: list[str], clean: Clean) -> None:
        """Make every commit of `revs` again with its versions and message passed through
        `clean`; the refs `revs` names move to the new commits."""
        exporter = self.repo.git.start(
            ("fast-export", "--signed-tags=strip", "--tag-of-filtered-object=rewrite",
             "--reference-excluded-parents", "--reencode=no", *revs),
            self.repo.git.env, None, None, None)
        importer = self.repo.git.start(("fast-import", "--force", "--quiet"),
                                       self.repo.git.env, None, b"", None)
        try:
            if exporter.stdout is None or importer.stdin is None:
                raise ValueError("git must be started with pipes")
            _filter(exporter.stdout, importer.stdin,
                    lambda data, blob: self._clean(data, blob, clean))
            _, import_err = importer.communicate()  # flushes and closes its input
            _, export_err = exporter.communicate()
        finally:
            for proc in (exporter, importer):
                if proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        for name, proc, err in (("fast-export", exporter, export_err),
                                ("fast-import", importer, import_err)):
            if proc.returncode != 0:
                said = err.decode("utf-8", "replace").strip().splitlines()[-1:] or ["failed"]
                raise GitFailed(f"git {name} failed while rewriting the vault: {said[0]}")

    def _clean(self, data: bytes, blob: bool, clean: Clean) -> bytes:
        if not blob:
            return clean(data, False)
        plain = self.blobs.codec.unseal(data)
        cleaned = clean(plain, True)
        return data if cleaned is plain else bytes(self.blobs.codec.seal(cleaned))

    def drop_originals(self) -> None:
        """Forget every unredacted original (a purge takes the secret out of them too)."""
        refs = self.repo.git.run("for-each-ref", "--format=%(refname)",
                                 UNREDACTED_PREFIX).text.split()
        for ref in refs:
            self.repo.git.run("update-ref", "-d", ref)

    def prune(self, git_dirs: list[str]) -> None:
        """Drop the objects no ref reaches any more, in the clone and the repositories
        given (the embedded vault), so that the old versions are gone from disk too."""
        for where in [self.repo.config.clone_dir, *git_dirs]:
            at = self.repo.git.at(where)
            at.run("reflog", "expire", "--expire=now", "--all", check=False)
            at.run("gc", "--prune=now", "--quiet")


def _filter(source: IO[bytes], sink: IO[bytes],
            replace: Callable[[bytes, bool], bytes]) -> None:
    """Copy a fast-export stream, each `data <n>` block through `replace` (told whether it
    is a blob's or a message), its count made right."""
    blob = False
    for line in iter(source.readline, b""):
        if line.startswith(b"data "):
            payload = source.read(int(line[5:]))
            payload = replace(payload, blob)
            sink.write(b"data %d\n" % len(payload))
            sink.write(payload)
            continue
        if line.startswith((b"blob", b"commit ", b"tag ", b"reset ")):
            blob = line.startswith(b"blob")
        sink.write(line)

