"""Stores copied whole (issue 26, point 4): a store's files are one consistent set, committed
in one commit or not at all, and every version the vault holds opens in the real client.

Each writer runs in its own process and keeps writing while syncs run, as cron would find
it; then every commit on the remote that touches the store is restored into a fresh folder
and read back by the real client, in another process (tests/clients.py): it must read every
record of that version, each record's vector must be its own, and a query must find it.

The client cases need the libraries of the `clients` extra (`pip install '.[clients]'`,
which `.ci/run` installs); without them they are skipped, saying which is missing. The
first cases need nothing: two files a writer keeps in step, which a file-by-file copy tears.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import Vault
from memory_vault.capture.version import Version
from memory_vault.sources.scan import Skip

CLIENTS = Path(__file__).resolve().parent / "clients.py"
SYNCS = 6  # syncs while the writer writes
KINDS = {  # kind: how the store is added, the modules its client needs
    "chroma": (("--preset", "chroma"), ("chromadb",)),
    "lancedb": (("--preset", "lancedb"), ("lancedb",)),
    "qdrant": (("--preset", "qdrant"), ("qdrant_client",)),
    "langgraph": (("--store",), ("langgraph.checkpoint.sqlite",)),
    "sqlite-vec": (("--store",), ("sqlite_vec", "apsw")),
}
# Two files written one after the other, a pause between: consistent when both hold the
# same generation. A copy made file by file, at the wrong moment, holds two.
PAIR_WRITER = """
import os, random, sys, time
folder, pause, stop = sys.argv[1], float(sys.argv[2]), sys.argv[3]
rng = random.Random(3)
generation = 0
while not os.path.exists(stop):
    generation += 1
    for name in ("index.bin", "data.bin"):
        with open(os.path.join(folder, name), "w") as f:
            f.write(f"{generation}\\n" * (1000 if name == "data.bin" else 1))
        time.sleep(pause)
    print(generation, flush=True)
    time.sleep(rng.choice((0.1, 0.4, 1.5)) if pause else 0)
"""


def _missing(modules: tuple[str, ...]) -> str | None:
    for name in modules:
        try:
            found = importlib.util.find_spec(name)
        except ImportError:
            found = None
        if found is None:
            return f"{name} is not installed: pip install '.[clients]' (as .ci/run does)"
    return None


@contextmanager
def writing(cmd: list[str], folder: Path, ready: Path) -> Iterator[Path]:
    """A writer process, until the block ends; it has written once when the block starts.
    Yields the file its output goes to (its last line: how many records it wrote)."""
    stop = folder.parent / f"{folder.name}.stop"
    out = folder.parent / f"{folder.name}.out"
    with out.open("w") as sink:
        proc = subprocess.Popen([*cmd, str(stop)], stdout=sink)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready.exists(), f"the writer wrote nothing ({proc.poll()})"
        yield out
    finally:
        stop.touch()
        try:
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()


def _store_commits(vault: Vault, name: str) -> list[str]:
    """Every commit on the remote touching the store, oldest first."""
    return vault.remote_git("log", "--reverse", "--format=%H", "main", "--",
                            f"rAgentShared/{name}", check=False).split()


def _sync_while_writing(vault: Vault, name: str, syncs: int, burst: Path) -> list[int]:
    """`syncs` syncs, each after the writer's next burst (it touches `burst` after each);
    each commits the store whole or leaves it out with one skip line."""
    codes = []
    seen = 0
    for _ in range(syncs):
        deadline = time.monotonic() + 30
        while burst.stat().st_mtime_ns == seen and time.monotonic() < deadline:
            time.sleep(0.02)
        seen = burst.stat().st_mtime_ns
        before = len(_store_commits(vault, name))
        result = vault.run("--now")
        assert result.returncode in (0, 3), result.stderr
        if result.returncode == 3:
            skips = [line for line in result.stderr.splitlines() if "kept whole" in line]
            assert len(skips) == 1 and name in skips[0], result.stderr
            assert len(_store_commits(vault, name)) == before  # nothing of the set
        codes.append(result.returncode)
    return codes


@pytest.fixture
def pair(vault: Vault) -> Path:
    """A store of two files kept in step, tracked as a `--store` source named `pair`."""
    folder = vault.tmp / "pair"
    folder.mkdir()
    (folder / "index.bin").write_text("0\n")
    (folder / "data.bin").write_text("0\n" * 1000)
    add = vault.run("source", "add", str(folder), "--store", "--name", "pair")
    assert add.returncode == 0, add.stderr
    return folder


def test_every_version_of_a_store_holds_one_generation(vault: Vault, pair: Path) -> None:
    with writing([sys.executable, "-c", PAIR_WRITER, str(pair), "0.15"], pair, pair / "data.bin"):
        _sync_while_writing(vault, "pair", 5, pair / "index.bin")
    assert vault.run("--now").returncode == 0
    commits = _store_commits(vault, "pair")
    assert len(commits) >= 2
    for sha in commits:
        index = vault.remote_file("pair/index.bin", sha).decode().split()
        data = set(vault.remote_file("pair/data.bin", sha).decode().split())
        assert data == set(index), f"{sha[:8]}: index {index}, data {sorted(data)[:3]}"


def test_a_store_that_never_holds_still_is_skipped_whole(vault: Vault, pair: Path) -> None:
    assert vault.run("--now").returncode == 0  # generation 0: the last whole set
    kept = _store_commits(vault, "pair")
    with writing([sys.executable, "-c", PAIR_WRITER, str(pair), "0"], pair, pair / "data.bin"):
        time.sleep(0.2)
        result = vault.run("--now")
    assert result.returncode == 3, result.stderr
    skips = [line for line in result.stderr.splitlines() if "kept whole" in line]
    assert len(skips) == 1 and "pair" in skips[0] and "kept changing" in skips[0], skips
    assert "the vault keeps the last whole set" in skips[0]
    assert _store_commits(vault, "pair") == kept
    assert vault.remote_file("pair/index.bin") == b"0\n"


def test_a_set_larger_than_memory_waits_on_disk(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Beyond `HOLD_BYTES` the versions of a verified set wait in a private folder, one
    file's bytes in memory at a time, and the folder is gone once they are handed over."""
    from memory_vault.pipeline import store
    from memory_vault.sources.source import Source

    folder = tmp_path / "big"
    folder.mkdir()
    for i in range(4):
        (folder / f"part{i}.bin").write_bytes(bytes([i]) * 1000)
    monkeypatch.setattr(store, "HOLD_BYTES", 1500)
    monkeypatch.setattr(store, "QUIET_NS", 0)
    found = store.capture_store(Source("big", str(folder), ("*.bin",), store=True), [],
                                max_bytes=10**6, validate=True)
    assert isinstance(found, store.StoreSet) and len(found) == 4
    assert len(found.held) == 1 and found.spool is not None
    spool = Path(found.spool)
    assert oct(spool.stat().st_mode & 0o777) == "0o700"
    assert all(v.data is None for v, _ in found.spooled)
    for i, version in enumerate(found):
        assert version.path == f"big/part{i}.bin"
        assert bytes(version.data or b"") == bytes([i]) * 1000
    assert not spool.exists()


def _write_during_the_first_read(monkeypatch: pytest.MonkeyPatch, path: Path,
                                 data: bytes) -> list[str]:
    """The store's reads, each name as it is read; `data` written to `path` during the
    first (a writer at work meanwhile), with no quiet to wait for."""
    from memory_vault.pipeline import capture as step
    from memory_vault.pipeline import store

    reads: list[str] = []

    def capture(name: str, source_dir: str, *, max_bytes: int, validate: bool,
                early: bool = False) -> Version | Skip | None:
        reads.append(name)
        if len(reads) == 1:
            path.write_bytes(data)
        return step.capture(name, source_dir, max_bytes=max_bytes, validate=validate,
                            early=early)

    monkeypatch.setattr(store, "capture", capture)
    monkeypatch.setattr(store, "QUIET_NS", 0)
    return reads


def test_a_file_appearing_during_the_read_is_a_change(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from memory_vault.pipeline import store
    from memory_vault.sources.source import Source

    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "a.bin").write_bytes(b"a")
    # a writer adds a file while the first one is read
    reads = _write_during_the_first_read(monkeypatch, folder / "b.bin", b"b")
    found = store.capture_store(Source("s", str(folder), ("*.bin",), store=True), [],
                                max_bytes=10**6, validate=True)
    assert isinstance(found, store.StoreSet)
    assert [v.path for v in found] == ["s/a.bin", "s/b.bin"]
    assert reads == ["a.bin", "a.bin", "b.bin"]  # read again, whole


def test_a_changed_store_reads_only_the_files_that_changed(vault: Vault, pair: Path) -> None:
    """A cron run reads a store's file whose size or mtime moved; one that kept its record's
    is not read again (16 MB of an HNSW index, say), and the vault's set holds it still."""
    for name in ("index.bin", "data.bin"):
        os.utime(pair / name, (time.time() - 60, time.time() - 60))
    assert vault.run().returncode == 0
    (pair / "data.bin").write_text("0\n" * 999 + "1\n")
    os.utime(pair / "data.bin", (time.time() - 30, time.time() - 30))
    result = vault.run("-v", "sync")
    assert result.returncode == 0, result.stderr
    said = result.stdout.splitlines()
    assert any(line.endswith("pair/index.bin: not read: a file of a store that changed "
                             "elsewhere, its size and mtime those the last sync saw; the set "
                             "holds that version") for line in said), said
    assert any("pair/data.bin: read whole: changed since the last sync" in line
               for line in said), said
    assert vault.remote_file("pair/data.bin").endswith(b"0\n1\n")
    assert vault.remote_file("pair/index.bin") == b"0\n"
    assert len(_store_commits(vault, "pair")) == 2


def test_a_file_kept_unread_that_changes_meanwhile_is_read(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """A file taken as its record has it is held to the set by the looks around the read:
    written while another file is read, the set is read again, and that file with it."""
    from memory_vault.pipeline import store
    from memory_vault.sources.scan import signature
    from memory_vault.sources.source import Source

    folder = tmp_path / "s"
    folder.mkdir()
    for name in ("a.bin", "b.bin"):
        (folder / name).write_bytes(b"old")
        os.utime(folder / name, (time.time() - 60, time.time() - 60))
    size, mtime, ctime = signature(str(folder / "a.bin"), (folder / "a.bin").stat(), "bytes")
    known = {"s/a.bin": Version("s/a.bin", size=3, sha256="a" * 64, stat_size=size,
                                mtime_ns=mtime, fmt="bytes", ctime_ns=ctime)}
    # a writer rewrites the file left unread while b.bin is read
    reads = _write_during_the_first_read(monkeypatch, folder / "a.bin", b"new")
    found = store.capture_store(Source("s", str(folder), ("*.bin",), store=True), [],
                                max_bytes=10**6, validate=True, known=known)
    assert isinstance(found, store.StoreSet)
    assert reads == ["b.bin", "a.bin", "b.bin"]
    assert [bytes(v.data or b"") for v in found] == [b"new", b"old"]


def test_a_set_written_a_moment_ago_is_read_at_once_and_proven_later(tmp_path: Path) -> None:
    """`early`: a set not quiet yet is read without waiting, its versions unconfirmed; it
    counts once it has been quiet long enough, found as it was before the read (a file
    written since, or a database committed to on the connection held open, undo it)."""
    import sqlite3

    from memory_vault.capture.read import QUIET_NS
    from memory_vault.pipeline import store
    from memory_vault.sources.source import Source

    folder = tmp_path / "s"
    folder.mkdir()
    db = sqlite3.connect(folder / "m.db")
    db.execute("CREATE TABLE t (x)")
    db.commit()
    source = Source("s", str(folder), ("*.db", "*.bin"), store=True)
    for change in ("none", "file", "database"):
        (folder / "a.bin").write_bytes(b"a")
        started = time.monotonic()
        found = store.capture_store(source, [], max_bytes=10**6, validate=True, early=True)
        assert isinstance(found, store.StoreSet)
        versions = list(found)
        assert time.monotonic() - started < QUIET_NS / 1e9  # no wait for quiet
        pending = {id(v.unconfirmed) for v in versions}
        assert len(versions) == 2 and len(pending) == 1 and versions[0].unconfirmed
        if change == "file":
            (folder / "a.bin").write_bytes(b"b")
        elif change == "database":
            db.execute("INSERT INTO t VALUES (1)")
            db.commit()
        assert versions[0].unconfirmed.confirm() is (change == "none")
        assert versions[1].unconfirmed is versions[0].unconfirmed  # one answer for the set
    db.close()


def test_a_commit_is_seen_by_data_version(tmp_path: Path) -> None:
    """A commit another connection makes is seen on the connection held across the read,
    whatever the timestamps say."""
    import sqlite3

    from memory_vault.capture.sqlite import Watch

    db = sqlite3.connect(tmp_path / "m.db")
    db.execute("CREATE TABLE t (x)")
    db.commit()
    watch = Watch(str(tmp_path), "m.db")
    try:
        assert watch.unchanged()
        db.execute("INSERT INTO t VALUES (1)")
        db.commit()
        assert not watch.unchanged()
    finally:
        watch.close()
        db.close()


def test_a_file_that_cannot_be_read_skips_the_whole_store(tmp_path: Path) -> None:
    from memory_vault.pipeline import store
    from memory_vault.sources.source import Source

    folder = tmp_path / "s"
    folder.mkdir()
    (folder / "a.json").write_text("{}")
    (folder / "b.json").write_text("{not json")
    os.utime(folder / "b.json", (time.time() - 60, time.time() - 60))
    found = store.capture_store(Source("s", str(folder), ("*.json",), store=True), [],
                                max_bytes=10**6, validate=True)
    assert isinstance(found, Skip) and found.name == "s"
    assert "s/b.json could not be read" in found.reason and "last whole set" in found.reason


def _read_back(vault: Vault, kind: str, sha: str) -> dict[str, object]:
    """The version of the store in commit `sha`, restored into a fresh folder and read by
    the real client in its own process."""
    out = vault.tmp / "restored" / sha[:12]
    restored = vault.run("restore", "--commit", sha, "--to", str(out))
    assert restored.returncode == 0, restored.stderr
    read = subprocess.run([sys.executable, str(CLIENTS), "read", kind, str(out / kind)],
                          capture_output=True, text=True, timeout=300, check=False,
                          env={**vault.env, "ANONYMIZED_TELEMETRY": "False"})
    assert read.returncode == 0, f"{kind} at {sha[:8]} does not open: {read.stderr[-2000:]}"
    found: dict[str, object] = json.loads(read.stdout.splitlines()[-1])
    return found


@pytest.mark.clients
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_version_of_a_live_store_opens_with_every_record(vault: Vault,
                                                               kind: str) -> None:
    how, modules = KINDS[kind]
    why = _missing(modules)
    if why:
        pytest.skip(why)
    folder = vault.tmp / "stores" / kind
    folder.mkdir(parents=True)
    ready = folder.parent / f"{kind}.ready"
    with writing([sys.executable, str(CLIENTS), "write", kind, str(folder), str(ready)],
                 folder, ready) as writer:
        add = vault.run("source", "add", str(folder), *how, "--name", kind)
        assert add.returncode == 0, add.stderr
        _sync_while_writing(vault, kind, SYNCS, ready)
    written = int(writer.read_text().split()[-1])
    assert vault.run("--now").returncode == 0
    commits = _store_commits(vault, kind)
    assert len(commits) >= 3, f"only {len(commits)} versions of {kind} were committed"
    counts: list[int] = []
    for sha in commits:
        found = _read_back(vault, kind, sha)
        assert found["problems"] == [], f"{kind} at {sha[:8]}: {found}"
        assert found["count"] == found["read"], f"{kind} at {sha[:8]}: {found}"
        counts.append(int(str(found["count"])))
    assert counts == sorted(counts) and counts[-1] == written, counts


@pytest.mark.clients
def test_a_sqlite_vec_database_has_records_and_a_shrink_alarm(vault: Vault) -> None:
    """Point 10: its `vec0` table cannot be counted here (no module); it is left out, the
    other tables count, so history, diff and the shrink alarm work."""
    why = _missing(KINDS["sqlite-vec"][1])
    if why:
        pytest.skip(why)
    folder = vault.tmp / "vec"
    folder.mkdir()
    ready = vault.tmp / "vec.ready"
    with writing([sys.executable, str(CLIENTS), "write", "sqlite-vec", str(folder),
                  str(ready)], folder, ready):
        add = vault.run("source", "add", str(folder), "--store", "--name", "vec")
        assert add.returncode == 0, add.stderr
        _sync_while_writing(vault, "vec", 2, ready)
    assert vault.run("--now").returncode == 0
    history = vault.run("history", "--json", "vec/memories.db")
    assert history.returncode == 0, history.stderr
    counts = [entry["records"] for entry in json.loads(history.stdout)]
    assert all(isinstance(n, int) and n > 0 for n in counts), counts
    assert counts == sorted(counts, reverse=True)  # newest first; the writer only adds
    wipe = subprocess.run([sys.executable, str(CLIENTS), "wipe", "sqlite-vec", str(folder)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert wipe.returncode == 0, wipe.stderr
    shrunk = vault.run("--now")
    assert shrunk.returncode == 0, shrunk.stderr
    assert "vec/memories.db: shrink alarm" in shrunk.stderr
    after, before = (e["commit"] for e in json.loads(
        vault.run("history", "--json", "vec/memories.db").stdout)[:2])
    diff = vault.run("diff", "--json", "vec/memories.db", "--from", before, "--to", after)
    assert diff.returncode == 0, diff.stderr
    records = json.loads(diff.stdout)["records"]
    assert records["before"] == counts[0] and records["after"] < counts[0] // 2, records
    left_out = json.loads(diff.stdout)["not_counted"]  # the counts say what they leave out
    assert left_out.startswith("not counted: ") and "vec0" in left_out, left_out
    text = vault.run("diff", "vec/memories.db", "--from", before, "--to", after)
    assert f"; {left_out}" in text.stdout.splitlines()[0], text.stdout
