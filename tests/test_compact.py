"""The vault keeps itself compact: many small changes to a large file do not pile up.

A plain git script leaves one loose copy of every version in its clone (and, pushing small
packs, in its bare remote too). Memory Vault must stay within 2x a fully packed copy of the
same history, measured on disk the way a user would (`du` of the object stores); and a line
appended to a transcript must grow the vault by about that line, not by the transcript.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

from conftest import Vault, assert_fsck_clean, git

RECORDS = 6000
SYNCS = 24
CHECKPOINTS = {1, 4, 12, SYNCS}


def objects_bytes(git_dir: Path) -> int:
    """Bytes of a repository's own object store (what `du objects/` reports, roughly)."""
    return sum(p.stat().st_size for p in (git_dir / "objects").rglob("*") if p.is_file())


def loose_objects(git_dir: Path) -> int:
    return sum(1 for p in (git_dir / "objects").glob("[0-9a-f][0-9a-f]/*"))


def folded(git_dir: Path) -> bool:
    """As compaction leaves a repository: one pack, nothing loose."""
    return len(list((git_dir / "objects/pack").glob("*.pack"))) == 1 and not loose_objects(
        git_dir)


def fully_packed_bytes(remote: Path, work: Path) -> int:
    """The same history, every object in one pack with git's default delta search."""
    reference = work / "reference.git"
    subprocess.run(["rm", "-rf", str(reference)], check=True)
    git("init", "-q", "--bare", str(reference))
    git(f"--git-dir={reference}", "fetch", "-q", "--no-tags", str(remote), "main:main")
    git(f"--git-dir={reference}", "repack", "-a", "-d", "-f", "-q")
    git(f"--git-dir={reference}", "prune-packed")
    return objects_bytes(reference)


def memory(records: list[dict[str, object]]) -> str:
    return json.dumps({"memories": records}, indent=1)


def evolve(records: list[dict[str, object]], rng: random.Random) -> None:
    """Change about 1% of the records, as an agent learning a few things would."""
    for index in rng.sample(range(len(records)), len(records) // 100):
        records[index] = {**records[index], "note": f"revised {rng.random():.12f}",
                          "weight": rng.randint(0, 10**9)}


def test_many_small_changes_stay_within_twice_a_packed_copy(embedded: Vault) -> None:
    rng = random.Random(6)
    records: list[dict[str, object]] = [
        {"id": i, "note": f"fact {i} {rng.random():.12f}", "weight": rng.randint(0, 10**9)}
        for i in range(RECORDS)]
    clone_git = embedded.clone / ".git"
    worst = 0.0
    for run in range(1, SYNCS + 1):
        embedded.write("memory.json", memory(records), age=10)
        result = embedded.sync()
        assert result.returncode == 0, result.stderr
        if run in CHECKPOINTS:
            ours = objects_bytes(clone_git) + objects_bytes(embedded.remote)
            packed = fully_packed_bytes(embedded.remote, embedded.tmp)
            worst = max(worst, ours / packed)
            assert ours <= 2 * packed, f"after {run} syncs: {ours} bytes vs {packed} packed"
            assert loose_objects(embedded.remote) == 0, "pushes were left as loose objects"
            assert loose_objects(clone_git) == 0, "the clone kept loose copies once pushed"
        evolve(records, rng)
    assert len(embedded.remote_commits()) == SYNCS
    final = json.loads(embedded.remote_file("memory.json"))
    assert len(final["memories"]) == RECORDS
    assert_fsck_clean(embedded.clone, embedded.remote)


def test_a_clone_of_a_user_remote_compacts_itself(vault: Vault) -> None:
    rng = random.Random(7)
    records: list[dict[str, object]] = [
        {"id": i, "note": f"fact {i} {rng.random():.12f}"} for i in range(RECORDS // 2)]
    for _ in range(12):
        vault.write("memory.json", memory(records), age=10)
        assert vault.sync().returncode == 0
        evolve(records, rng)
    clone_git = vault.clone / ".git"
    packed = fully_packed_bytes(vault.remote, vault.tmp)
    assert objects_bytes(clone_git) <= 2 * packed
    assert loose_objects(clone_git) <= 3 * 12, "the clone keeps every version loose"
    assert_fsck_clean(vault.clone)


def transcript_lines(rng: random.Random, words: list[str], count: int, length: int) -> bytes:
    """JSON Lines as an agent writes them: prose (zlib makes it about a third), no two lines
    alike, so that only the bytes appended are new."""
    return b"".join(json.dumps({"type": "assistant", "text": " ".join(
        rng.choices(words, k=length))}).encode() + b"\n" for _ in range(count))


def test_appending_to_transcripts_grows_the_vault_by_about_the_bytes_appended(
        embedded: Vault) -> None:
    """Twenty transcripts of 600 KB; each run appends a line to one of them. Whenever
    compaction has folded the runs' pushes into one pack (several at a time: the vault is
    large beside one push), the embedded vault has grown by at most twice the bytes appended,
    not by a second copy of a transcript git added to complete a thin push."""
    rng = random.Random(26)
    words = ["".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9)))
             for _ in range(2000)]
    names = [f"projects/p{i % 4}/session-{i}.jsonl" for i in range(20)]
    embedded.env["MEMORY_VAULT_FILES"] = "projects/**/*.jsonl"
    for name in names:
        embedded.write(name, transcript_lines(rng, words, 260, 300), age=10)
    assert embedded.sync().returncode == 0
    assert folded(embedded.remote), "the first sync did not leave one pack"
    before, appended = objects_bytes(embedded.remote), 0
    measured: list[tuple[int, int]] = []  # (bytes appended, growth) where folded
    for _run in range(16):
        path = embedded.source / rng.choice(names)
        line = transcript_lines(rng, words, 1, 500)
        with path.open("ab") as handle:
            handle.write(line)
        past = path.stat().st_mtime - 10
        os.utime(path, (past, past))
        appended += len(line)
        result = embedded.sync()
        assert result.returncode == 0, result.stderr
        assert embedded.remote_file(path.relative_to(embedded.source).as_posix()).endswith(line)
        if folded(embedded.remote):
            measured.append((appended, objects_bytes(embedded.remote) - before))
    assert len(measured) >= 2, f"compaction folded the pushes {len(measured)} time(s)"
    for appended_then, growth in measured:
        assert growth <= 2 * appended_then, (
            f"the vault grew by {growth:,} bytes for {appended_then:,} appended ({measured})")
    assert_fsck_clean(embedded.clone, embedded.remote)
