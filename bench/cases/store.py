"""The store case: a Chroma store of 10,000 documents (384 floats of a seeded RNG each: no
model) synced, as cron runs it, while a writer process keeps revising and adding documents.

Each round waits for the writer's next burst, then times, in turn, one sync, a `cp -a` of the
folder, and the same folder copied into a git clone by hand (committed, pushed). Then every
version the vault holds is restored into a fresh folder and opened by the real client in its
own process: it must read every document, each with its own vector, and answer queries
with documents it holds (HNSW is approximate: a query for a vector need not find it first).
Needs `chromadb` (the `clients` extra); skipped without it.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from harness import MB, SCRIPT, Peer, Plan, Results, Setup, disk_bytes, git, run

DOCUMENTS = 10_000
Timed = Callable[[], tuple[float, int]]  # one timed job: (seconds, exit code)
# python -c WRITER FOLDER SIGNAL STOP DOCUMENTS: builds the store, then a burst (40 documents
# revised, 10 added) every 1.5 s, touching SIGNAL after each, until STOP exists.
WRITER = r"""
import os, random, sys, time
folder, signal, stop = sys.argv[1:4]
import chromadb
def vector(key, rev):
    rng = random.Random(key * 1_000_003 + rev)
    return [round(rng.uniform(-1, 1), 4) for _ in range(384)]
def put(burst):
    collection.upsert(ids=[f"m{k}" for k, _ in burst],
                      embeddings=[vector(k, r) for k, r in burst],
                      metadatas=[{"key": k, "rev": r} for k, r in burst],
                      documents=[f"memory {k}, revision {r}: what the user said" for k, r in burst])
collection = chromadb.PersistentClient(path=folder).get_or_create_collection("memories")
revs = {k: 0 for k in range(int(sys.argv[4]))}
for start in range(0, len(revs), 1000):
    put([(k, 0) for k in range(start, start + 1000)])
rng = random.Random(5)
open(signal, "w").close()
while not os.path.exists(stop):
    time.sleep(1.5)
    burst = rng.sample(sorted(revs), 40) + list(range(len(revs), len(revs) + 10))
    for k in burst:
        revs[k] = revs[k] + 1 if k in revs else 0
    put([(k, revs[k]) for k in burst])
    os.utime(signal)
"""
# python -c READER FOLDER: {"count", "read", "problems"} of a restored store.
READER = r"""
import json, random, sys
import chromadb
def vector(key, rev):
    rng = random.Random(key * 1_000_003 + rev)
    return [round(rng.uniform(-1, 1), 4) for _ in range(384)]
collection = chromadb.PersistentClient(path=sys.argv[1]).get_collection("memories")
got = collection.get(include=["embeddings", "metadatas"])
bad = []
for m, e in zip(got["metadatas"], got["embeddings"]):
    if max(abs(a - b) for a, b in zip(e, vector(m["key"], m["rev"]))) > 1e-4:
        bad.append(m["key"])
ids = set(got["ids"])
for m in random.Random(1).sample(got["metadatas"], 20):  # HNSW is approximate: ten answers
    found = collection.query(query_embeddings=[vector(m["key"], m["rev"])], n_results=10,
                             include=[])["ids"][0]
    if len(found) != 10 or not set(found) <= ids:
        bad.append(f"query {m['key']} found {found}")
print(json.dumps({"count": collection.count(), "read": len(got["ids"]), "problems": bad[:5]}))
"""
COPY_INTO_GIT = ('rm -rf "$2/chroma" && cp -a "$1" "$2/chroma" && cd "$2" && git add -A && '
                 '(git diff --cached --quiet || git commit -q -m sync) && git push -q origin '
                 'HEAD:main')


def measure(tmp: Path, results: Results, plan: Plan) -> None:
    if importlib.util.find_spec("chromadb") is None:
        print("  skipped: chromadb is not installed (pip install '.[clients]')", flush=True)
        return
    setup = Setup(tmp / "store")
    folder, signal, stop = setup.base / "chroma", setup.base / "burst", setup.base / "stop"
    env = {**setup.env, "ANONYMIZED_TELEMETRY": "False"}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(folder), str(signal),
                               str(stop), str(DOCUMENTS)], env=env, stdout=subprocess.DEVNULL)
    try:
        ours, copies, peers, skipped = _rounds(setup, folder, signal, writer,
                                               max(5, plan.repeat))
    finally:
        stop.touch()
        writer.wait(timeout=120)
    assert setup.sync().code == 0
    versions = git("log", "--format=%H", "main", "--", "rAgentShared/chroma",
                   cwd=setup.data / "vault.git").split()
    usable = sum(_usable(setup, sha, env) for sha in versions)
    sync_s, cp_s, peer_s = (statistics.median(x) for x in (ours, copies, peers))
    results.add(f"store_chroma_{DOCUMENTS}_documents", documents=DOCUMENTS,
                folder_mb=disk_bytes(folder) / MB, rounds=len(ours), skipped_syncs=skipped,
                sync_median_s=sync_s, cp_median_s=cp_s, ratio_vs_cp=sync_s / cp_s,
                copy_into_git_median_s=peer_s, ratio_vs_copy_into_git=sync_s / peer_s,
                versions=len(versions), usable_versions=usable)


def _rounds(setup: Setup, folder: Path, signal: Path, writer: subprocess.Popen[bytes],
            rounds: int) -> tuple[list[float], list[float], list[float], int]:
    """Each round after the writer's next burst: ours, `cp -a`, by hand into git, in turn
    (the one going first rotated, so that the writer's next burst weighs on all alike)."""
    while not signal.exists():
        assert writer.poll() is None, "the Chroma writer stopped"
        time.sleep(0.1)
    added = run([sys.executable, str(SCRIPT), "source", "add", str(folder), "--preset",
                 "chroma", "--name", "chroma"], setup.env, setup.home)
    assert added.code == 0
    assert setup.sync().code in (0, 3)  # the first, full sync
    peer = Peer(setup.base / "peer")
    copy = setup.base / "copy"
    ours: list[float] = []
    copies: list[float] = []
    peers: list[float] = []
    skipped = 0
    seen = signal.stat().st_mtime_ns
    for i in range(rounds):
        while signal.stat().st_mtime_ns == seen:
            assert writer.poll() is None, "the Chroma writer stopped"
            time.sleep(0.02)
        seen = signal.stat().st_mtime_ns
        jobs = [_ours(setup), _cp(folder, copy), _by_hand(folder, peer)]
        for j in range(3):
            k = (i + j) % 3
            seconds, code = jobs[k]()
            (ours, copies, peers)[k].append(seconds)
            skipped += k == 0 and code == 3
    return ours, copies, peers, skipped


def _ours(setup: Setup) -> Timed:
    def go() -> tuple[float, int]:
        sample = setup.sync()
        assert sample.code in (0, 3), f"sync exited {sample.code}"
        return sample.seconds, sample.code
    return go


def _cp(folder: Path, copy: Path) -> Timed:
    def go() -> tuple[float, int]:
        shutil.rmtree(copy, ignore_errors=True)
        started = time.perf_counter()
        subprocess.run(["cp", "-a", str(folder), str(copy)], check=True)
        return time.perf_counter() - started, 0
    return go


def _by_hand(folder: Path, peer: Peer) -> Timed:
    def go() -> tuple[float, int]:
        started = time.perf_counter()
        subprocess.run(["/bin/sh", "-c", COPY_INTO_GIT, "peer", str(folder), str(peer.clone)],
                       env=peer.env, cwd=peer.clone, check=True, capture_output=True)
        return time.perf_counter() - started, 0
    return go


def _usable(setup: Setup, sha: str, env: dict[str, str]) -> bool:
    """Does the version in `sha`, restored into a fresh folder, open with every document?"""
    out = setup.base / "restored" / sha[:12]
    restored = run([sys.executable, str(SCRIPT), "restore", "--commit", sha, "--to", str(out)],
                   setup.env, setup.home)
    if restored.code != 0:
        return False
    read = subprocess.run([sys.executable, "-c", READER, str(out / "chroma")], env=env,
                          capture_output=True, text=True, check=False)
    if read.returncode != 0:
        print(f"  {sha[:12]} does not open: {read.stderr[-300:]}", flush=True)
        return False
    found = json.loads(read.stdout.splitlines()[-1])
    ok = bool(found["count"] == found["read"] >= DOCUMENTS and not found["problems"])
    if not ok:
        print(f"  {sha[:12]}: {found}", flush=True)
    shutil.rmtree(out, ignore_errors=True)
    return ok
