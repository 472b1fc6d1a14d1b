"""Compaction: the repositories' tuning, and keeping them packed at a bounded cost.

Each push lands in the embedded vault as a small pack holding the new versions as deltas
(plus the full base git appends to complete a thin pack). Once those small packs and loose
objects add up to a quarter of the main pack, everything is repacked into one, reusing the
deltas already computed: mostly a copy, no new delta search. Geometric growth keeps the
amortised cost proportional to the bytes committed. The clone borrows the embedded vault's
objects, so its own copies go once pushed.

A base git appends to a thin pack is a second copy of an object the vault already holds: as
a delta, or whole but compressed harder (git appends at zlib level 1, packs at 6). A repack
takes each object from the first pack it finds it in, which is the most recently used: about
a third of the time the appended copy (22x the bytes appended, benchmark machine case). So
before a repack, each object's copy is chosen as the pack it first arrived in (`first_copies`).
"""

import contextlib
import os
import shutil
import time

from memory_vault.store.git import model
from memory_vault.store.git.runner import GitRunner
from memory_vault.store.repo import Repo

# Repack when what sits outside the main pack (loose objects, small packs from pushes)
# exceeds this share of it, or the floor, or these counts.
COMPACT_SHARE = 0.25
COMPACT_FLOOR = 256 * 1024
COMPACT_MAX_LOOSE = 256
COMPACT_MAX_PACKS = 8

# Settings of every repository we own. Durable commits; no automatic gc (we compact
# ourselves, off the no-change path); bounded memory: files over 32 MB are stored whole and
# streamed instead of delta-compressed in memory, and the delta search keeps small windows
# and caches (the previous version of a file sorts next to it, so a window of 4 finds it).
TUNING: dict[str, str] = {
    "gc.auto": "0",
    "core.fsync": "committed",
    "core.bigFileThreshold": "32m",
    "core.deltaBaseCacheLimit": "8m",
    "pack.window": "4",
    "pack.windowMemory": "12m",
    "pack.deltaCacheSize": "1m",
    "repack.writeBitmaps": "false",
    # No reflogs: they would keep naming commits that a rewritten embedded vault dropped,
    # and `git fsck` of the clone would fail for good.
    "core.logAllRefUpdates": "false",
}
EMBEDDED_TUNING: dict[str, str] = {
    "receive.unpackLimit": "1",  # keep each push as a pack: its deltas are reused later
    "receive.autogc": "false",
}
# The clone's new versions are loose objects from their commit to the push or the next
# repack, which read them back at once: stored uncompressed, a sync of a 10 MB database
# took 0.86 s instead of 1.02 s (median of 30, bench Database). Not the embedded vault's:
# git completes a pushed thin pack with its base at this level, and would keep it whole.
CLONE_TUNING: dict[str, str] = {"core.looseCompression": "0"}
TUNING_VERSION = "5"


def tune(runner: GitRunner, repo_path: str, extra: dict[str, str] | None = None, *,
         current: str | None = None) -> None:
    """Apply TUNING once per TUNING_VERSION (repositories made by older versions too);
    `current`: the tuning the repository's config says, when the caller read it already."""
    if current is None:
        current = model.tuning_version(runner, repo_path)
    if current == TUNING_VERSION:
        return
    at = runner.at(repo_path)
    for key, value in {**TUNING, **(extra or {})}.items():
        at.run("config", key, value)
    at.run("config", "memory-vault.tuning", TUNING_VERSION)
    git_dir = repo_path if os.path.isfile(os.path.join(repo_path, "HEAD")) else os.path.join(
        repo_path, ".git")
    shutil.rmtree(os.path.join(git_dir, "logs"), ignore_errors=True)


class ObjectUsage:
    """Bytes and counts of a repository's object store."""

    __slots__ = ("loose_bytes", "loose_count", "packs")

    def __init__(self) -> None:
        self.loose_bytes = 0
        self.loose_count = 0
        self.packs: list[int] = []  # size of each pack (with its index)

    def needs_repack(self) -> bool:
        """Is what sits outside the main pack worth a repack now? (the geometric rule)"""
        main = max(self.packs, default=0)
        outside = self.loose_bytes + sum(self.packs) - main
        return (outside > max(COMPACT_SHARE * main, COMPACT_FLOOR)
                or self.loose_count > COMPACT_MAX_LOOSE or len(self.packs) > COMPACT_MAX_PACKS)


def object_usage(git_dir: str) -> ObjectUsage:
    usage = ObjectUsage()
    objects = os.path.join(git_dir, "objects")
    if not os.path.isdir(objects):
        return usage
    for entry in os.scandir(objects):
        if len(entry.name) == 2 and entry.is_dir():
            for loose in os.scandir(entry.path):
                usage.loose_count += 1
                usage.loose_bytes += loose.stat().st_size
    pack_dir = os.path.join(objects, "pack")
    if os.path.isdir(pack_dir):
        for entry in os.scandir(pack_dir):
            if entry.name.endswith(".pack"):
                idx = entry.path[:-5] + ".idx"
                size = entry.stat().st_size
                usage.packs.append(size + (os.path.getsize(idx) if os.path.exists(idx) else 0))
    return usage


MULTI_PACK_INDEX = "multi-pack-index"


def arrival_order(pack_dir: str) -> list[str]:
    """The packs (`.pack` paths), the first to arrive first. Told by their `.idx`, which git
    writes once, with its pack, and never touches again; a `.pack`'s own time moves
    (git freshens it when asked to write an object the pack holds)."""
    arrived = []
    for entry in os.scandir(pack_dir):
        idx = entry.path[:-5] + ".idx"
        if entry.name.endswith(".pack") and os.path.isfile(idx):
            arrived.append((os.stat(idx).st_mtime_ns, entry.name, entry.path))
    return [path for _when, _name, path in sorted(arrived)]


def first_copies(runner: GitRunner, git_dir: str) -> None:
    """Have the next repack take each object from the pack it first arrived in: the copy a
    push sent (a delta) or the last repack kept, never the whole copy git appended to
    complete a later thin pack. Of an object in several packs, git takes the copy a
    multi-pack index names, which is the newest pack's by modification time; so the packs
    are dated in reverse order of arrival and indexed together (a hint, if either fails)."""
    pack_dir = os.path.join(git_dir, "objects", "pack")
    packs = arrival_order(pack_dir) if os.path.isdir(pack_dir) else []
    if len(packs) < 2:
        return
    now = time.time()
    try:
        for age, path in enumerate(packs):
            os.utime(path, (now - age, now - age))
        drop_multi_pack_index(git_dir)  # one left by a killed run would date its packs 0
    except OSError:
        return
    runner.run("multi-pack-index", "write", cwd=git_dir, check=False)


def drop_multi_pack_index(git_dir: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(os.path.join(git_dir, "objects", "pack", MULTI_PACK_INDEX))


class Compactor:
    """Keeping the clone and the embedded vault packed."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo

    def maintain(self) -> None:
        """Keep the vault small on disk, at a cost bounded by what the run itself wrote."""
        if self.repo.config.embedded:
            self._compact(self.repo.config.remote)
            self.repo.git.run("prune-packed", "-q")
        self._compact(self.repo.git_dir)

    def _compact(self, git_dir: str) -> None:
        if not object_usage(git_dir).needs_repack():
            return
        # The embedded vault keeps what a rewrite made unreachable (no version is lost, and
        # the clone may still borrow it); the clone drops only its own leftovers.
        keep = ["--keep-unreachable"] if git_dir == self.repo.config.remote else []
        first_copies(self.repo.git, git_dir)
        try:
            self.repo.git.run("repack", "-a", "-d", "-l", "-q", "--no-write-bitmap-index",
                              *keep, cwd=git_dir)
        finally:  # it named the packs the repack replaced
            drop_multi_pack_index(git_dir)
        if git_dir == self.repo.config.remote:
            self.repo.git.run("prune-packed", "-q", cwd=git_dir)
