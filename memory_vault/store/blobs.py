"""Blobs: the one seam through which every byte of memory enters or leaves the vault.

A version is staged into a private folder of the clone's git directory (never a working tree,
which a hostile vault could redirect), hashed into the object store in one git call, and read
back by `get`, `stream` or `iterate`. Each passes through the codec: the identity today, the
place where encryption of everything the host sees plugs in.
"""

import os
import shutil
from collections.abc import Iterator

from memory_vault.errors import VaultError
from memory_vault.store.git.batch import read_blobs
from memory_vault.store.repo import Repo

STAGING = "memory-vault-staging"


class Codec:
    """How a version's bytes are stored: `seal` on the way in, `unseal` on the way out."""

    def seal(self, data: bytes | bytearray) -> bytes | bytearray:
        return data

    def unseal(self, data: bytes) -> bytes:
        return data


IDENTITY = Codec()


class Blobs:
    """Writing versions into the object store and reading them back, through the codec."""

    def __init__(self, repo: Repo, codec: Codec = IDENTITY) -> None:
        self.repo = repo
        self.codec = codec
        self._staged: dict[str, str] = {}  # vault path -> staged copy
        self._copies = 0  # staged copies made: the next one's name

    @property
    def stage_dir(self) -> str:
        return os.path.join(self.repo.git_dir, STAGING)

    def stage(self, path: str, data: bytes | bytearray) -> None:
        """Keep one version's bytes for the next `store` (one file in memory at a time)."""
        os.makedirs(self.stage_dir, mode=0o700, exist_ok=True)
        copy = self._staged.get(path)
        if copy is None:
            copy = os.path.join(self.stage_dir, str(self._copies))
            self._copies += 1
        try:
            if os.path.lexists(copy):
                os.unlink(copy)
            fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            try:
                view = memoryview(self.codec.seal(data))
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
        except OSError as exc:
            raise VaultError(f"cannot write into the clone {self.repo.config.clone_dir}: "
                             f"{exc.strerror or exc}") from exc
        self._staged[path] = copy

    def store(self) -> dict[str, str]:
        """Hash every staged version into the object store: vault path -> blob id."""
        staged, self._staged = self._staged, {}
        if not staged:
            return {}
        listing = "".join(f"{copy}\n" for copy in staged.values()).encode()
        shas = self.repo.git.run("hash-object", "-w", "--no-filters", "--stdin-paths",
                                 input_bytes=listing).text.split()
        self.drop_staged()
        return dict(zip(staged, shas, strict=True))

    def unstage(self, path: str) -> None:
        """Forget the version `stage` kept for `path`."""
        copy = self._staged.pop(path, None)
        if copy is not None and os.path.lexists(copy):
            os.unlink(copy)

    def drop_staged(self) -> None:
        self._staged = {}
        shutil.rmtree(self.stage_dir, ignore_errors=True)

    def get(self, sha: str) -> bytes:
        return self.codec.unseal(self.repo.git.run("cat-file", "blob", sha).stdout)

    def stream(self, sha: str, fd: int) -> None:
        """Write a version into an open file: git writes it, our memory stays small."""
        if self.codec is IDENTITY:
            self.repo.git.run("cat-file", "blob", sha, stdout_fd=fd)
            return
        view = memoryview(self.get(sha))
        while view:
            view = view[os.write(fd, view):]

    def iterate(self, shas: list[str]) -> Iterator[bytes]:
        """Each version in turn, from one git (a version at a time in memory)."""
        for data in read_blobs(self.repo.git, shas):
            yield self.codec.unseal(data)
