"""The machine case: every agent's memory on one machine (bench/machine_tree.py: 8 sources,
5,000 files, 1.5 GB at full size, transcripts of 0.2-5 MB in JSON Lines), as cron backs it up.

- the first full sync, by the installed cron line, against `peer_sync.sh --tree` (cp of the
  same tree into a clone, add, commit, push) on the same files;
- a no-change run, interleaved with `python3 -c pass` (and the checkout's script);
- one line appended to one transcript (dated a minute back, as cron finds it), then a run:
  the time until that line is committed and pushed to the embedded vault, checked there;
- what the vault grew by over those appends, against the bytes appended: once the run's
  own compaction has folded the pushes' packs into one, and the most in between.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

from harness import (
    MB,
    PEER,
    SCRIPT,
    Peer,
    Plan,
    Results,
    Setup,
    disk_bytes,
    git,
    installed_commands,
    interleaved_ms,
    run,
)
from machine_tree import DEFAULT_FILES, DEFAULT_FOLDER, SOURCES, Text, event, prepared

SUBDIR = "rAgentShared"
PEER_APPENDS = 3  # the peer copies the whole tree each time: a few are enough


def measure(tmp: Path, results: Results, plan: Plan) -> None:
    base = tmp / "machine"
    setup = Setup(base, MEMORY_VAULT_FILES=DEFAULT_FILES)
    started = time.perf_counter()
    tree = prepared(base / "disk", plan.machine_scale)
    build_s = time.perf_counter() - started
    setup.env["MEMORY_VAULT_SOURCE_DIR"] = str(tree.root / DEFAULT_FOLDER)
    for spec in SOURCES:
        added = run([sys.executable, str(SCRIPT), *spec.add_arguments(tree.root)], setup.env,
                    setup.home)
        assert added.code == 0, f"source add {spec.name} failed"
    cron, _console = installed_commands(setup)
    sync = cron or [sys.executable, str(SCRIPT)]
    firsts, peer_firsts = [], []
    for i in range(1 if plan.machine_scale >= 0.5 else 3):  # a full-size one takes minutes
        shutil.rmtree(setup.data, ignore_errors=True)  # no vault, clone nor journal yet
        peer = Peer(base / f"peer{i}")
        peer_sync = ["/bin/sh", str(PEER), str(tree.root), str(peer.clone), "--tree"]
        for turn in ((setup, sync), (peer, peer_sync))[::1 if i % 2 == 0 else -1]:
            who, command = turn
            sample = run(command, who.env, setup.home if who is setup else peer.clone)
            assert sample.code == 0, f"a first sync exited {sample.code}: {command}"
            (firsts if who is setup else peer_firsts).append(sample.seconds)
    first_s, peer_first_s = statistics.median(firsts), statistics.median(peer_firsts)
    vault = setup.data / "vault.git"
    stored = len(git("ls-tree", "-r", "--name-only", "main", cwd=vault).splitlines())
    assert stored == tree.files, f"the vault holds {stored} of {tree.files} files"
    repeat = plan.repeat * 5
    ms = interleaved_ms({"baseline": [sys.executable, "-c", "pass"], "cron": sync,
                         "script": [sys.executable, str(SCRIPT)]}, setup, repeat)
    commits = _commits(vault)
    assert commits == 1, f"a no-change run committed ({commits} commits)"
    appends = _appends(tree.transcripts, setup, sync, vault, max(5, plan.repeat * 2))
    assert _commits(vault) == commits + len(appends.seconds)
    peer_appends = [_peer_append(tree.transcripts, peer_sync, peer, i)
                    for i in range(PEER_APPENDS)]
    results.add(f"machine_{tree.files}_files",
                sources=len(SOURCES) + 1, files=tree.files, total_gb=tree.bytes / 1024 / MB,
                transcripts=len(tree.transcripts), build_s=build_s,
                first_syncs=len(firsts), first_sync_s=first_s, peer_first_sync_s=peer_first_s,
                first_sync_ratio=first_s / peer_first_s,
                vault_mb=disk_bytes(vault) / MB,
                peer_remote_mb=disk_bytes(peer.remote) / MB,
                cron_line=" ".join(sync), no_change_runs=repeat,
                baseline_a_ms=ms["baseline"], cron_line_ms=ms["cron"],
                cron_line_ratio=ms["cron"] / ms["baseline"], script_ms=ms["script"],
                script_ratio=ms["script"] / ms["baseline"],
                appends=len(appends.seconds),
                append_median_s=statistics.median(appends.seconds),
                append_max_s=max(appends.seconds), appended_bytes=appends.bytes,
                compacted_after=appends.compacted_after,
                compacted_appended_bytes=appends.compacted_bytes,
                compacted_growth_bytes=appends.compacted_growth,
                growth_ratio=(appends.compacted_growth / appends.compacted_bytes
                              if appends.compacted_after else None),
                most_growth_bytes=appends.most_growth,
                peer_append_median_s=statistics.median(peer_appends))


class Appends:
    """The appends' times and bytes, and the vault's growth: at the last point the run's own
    compaction left it in one pack, and the most it held beyond that in between."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.bytes = 0
        self.compacted_after = 0  # appends up to the last compaction (0: none happened)
        self.compacted_bytes = 0  # bytes appended up to then
        self.compacted_growth = 0  # what the vault grew by, then
        self.most_growth = 0  # the largest growth seen after any append


def _appends(transcripts: list[tuple[str, Path]], setup: Setup, sync: list[str],
             vault: Path, count: int) -> Appends:
    """`count` times: one line appended to one transcript, then a run; the line must be in
    the vault's tip afterwards. A push lands as a pack of its own, holding the new version
    as a delta and the whole base git adds to complete the thin pack; the run's compaction
    folds those packs into one (bench: every few runs), keeping the deltas: the growth is
    read there."""
    rng = random.Random(9)
    text = Text(rng)
    found = Appends()
    before = disk_bytes(vault)
    for _ in range(count):
        vault_path, path = rng.choice(transcripts)
        found.bytes += _append(text, vault_path, path)
        sample = run(sync, setup.env, setup.home)
        assert sample.code == 0, f"the sync after an append exited {sample.code}"
        found.seconds.append(sample.seconds)
        in_vault = git("rev-parse", f"main:{SUBDIR}/{vault_path}", cwd=vault).strip()
        assert in_vault == git("hash-object", str(path)).strip(), f"{vault_path} not in vault"
        growth = disk_bytes(vault) - before
        found.most_growth = max(found.most_growth, growth)
        if len(list((vault / "objects" / "pack").glob("*.pack"))) == 1:
            found.compacted_after = len(found.seconds)
            found.compacted_bytes, found.compacted_growth = found.bytes, growth
    return found


def _append(text: Text, vault_path: str, path: Path) -> int:
    """One line of 0.5-4 KB, as the agent writes it; the file dated a minute back."""
    agent = vault_path.split("/")[0].split("-")[0]
    line = event(text, agent, "appended", text.words(text.rng.randint(500, 4000)))
    with path.open("ab") as handle:
        handle.write(line)
    past = time.time() - 60
    os.utime(path, (past, past))
    return len(line)


def _peer_append(transcripts: list[tuple[str, Path]], peer_sync: list[str], peer: Peer,
                 i: int) -> float:
    _vault_path, path = transcripts[i % len(transcripts)]
    with path.open("ab") as handle:
        handle.write(b'{"type":"peer","text":"one more line"}\n')
    sample = run(peer_sync, peer.env, peer.clone)
    assert sample.code == 0
    return sample.seconds


def _commits(vault: Path) -> int:
    return int(git("rev-list", "--count", "main", cwd=vault).strip())
