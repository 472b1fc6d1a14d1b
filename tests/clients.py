"""The real vector stores and checkpointers, as writers and as readers, each in its own process.

    python tests/clients.py write KIND FOLDER READY STOP  # writes until STOP exists
    python tests/clients.py read KIND FOLDER              # one JSON line: what it read
    python tests/clients.py wipe sqlite-vec FOLDER        # every memory deleted

KIND is chroma (PersistentClient), lancedb, qdrant (local mode, `path=`), langgraph
(SqliteSaver) or sqlite-vec (a `vec0` table beside a plain one). No model and no network:
every record's embedding is a function of its id and revision (`vector`), so a reader can
check that each record's vector, metadata and index agree, whatever version it was given.

A writer works in bursts (new records, and revisions of old ones), with pauses between them
of varied length, as an agent does; it prints the number of records after each burst. A
reader opens the folder with the real client, reads every record, asks the client how many it
holds, and runs nearest-neighbour queries for some records' own vectors: each must find
itself. The libraries are imported by name (`importlib`): they are optional, and untyped.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

DIM = 8
BURST = 12  # new records a burst
REVISED = 3  # old records revised a burst
PAUSES = (0.05, 0.2, 0.6, 1.6, 2.2)  # seconds between bursts
QUERIES = 12
KINDS = ("chroma", "lancedb", "qdrant", "langgraph", "sqlite-vec")
MODULES = {"chroma": ("chromadb",), "lancedb": ("lancedb",), "qdrant": ("qdrant_client",),
           "langgraph": ("langgraph.checkpoint.sqlite",), "sqlite-vec": ("sqlite_vec", "apsw")}


def module(name: str) -> Any:
    return importlib.import_module(name)


def vector(key: int, rev: int) -> list[float]:
    rng = random.Random(key * 1_000_003 + rev)
    return [round(rng.uniform(-1, 1), 4) for _ in range(DIM)]


def close(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) < 1e-4 for x, y in zip(a, b, strict=True))


class Plan:
    """What the next burst does: which records are new, which are revised, and to what."""

    def __init__(self) -> None:
        self.rng = random.Random(7)
        self.revs: dict[int, int] = {}

    def burst(self) -> list[tuple[int, int]]:
        start = len(self.revs)
        old = self.rng.sample(range(start), min(REVISED, start)) if start else []
        for key in old:
            self.revs[key] += 1
        for key in range(start, start + BURST):
            self.revs[key] = 0
        return [(k, self.revs[k]) for k in [*old, *range(start, start + BURST)]]


def write(kind: str, folder: Path, ready: Path, stop: Path) -> None:
    """Bursts until `stop` exists; `ready` once the first is written. Prints after each
    the number of records a reader will count (LangGraph: checkpoints, one a revision)."""
    put = WRITERS[kind](folder)
    plan = Plan()
    while not stop.exists():
        put(plan.burst())
        print(sum(r + 1 for r in plan.revs.values()) if kind == "langgraph"
              else len(plan.revs), flush=True)
        ready.touch()
        time.sleep(plan.rng.choice(PAUSES))


# -- writers: each returns a function that writes one burst ---------------------------------

Burst = list[tuple[int, int]]


def chroma_writer(folder: Path) -> Callable[[Burst], None]:
    client = module("chromadb").PersistentClient(path=str(folder))
    # HNSW files rewritten every few records: the hard case for a copy
    collection = client.get_or_create_collection(
        "memories", configuration={"hnsw": {"space": "l2", "batch_size": 5,
                                            "sync_threshold": 10}})

    def put(burst: Burst) -> None:
        collection.upsert(ids=[f"m{k}" for k, _ in burst],
                          embeddings=[vector(k, r) for k, r in burst],
                          metadatas=[{"key": k, "rev": r} for k, r in burst],
                          documents=[f"memory {k} revision {r}" for k, r in burst])
    return put


def lancedb_writer(folder: Path) -> Callable[[Burst], None]:
    db = module("lancedb").connect(str(folder))
    table: list[Any] = []

    def put(burst: Burst) -> None:
        rows = [{"key": k, "rev": r, "vector": vector(k, r), "text": f"memory {k} rev {r}"}
                for k, r in burst]
        if not table:
            table.append(db.create_table("memories", data=rows))
            return
        (table[0].merge_insert("key").when_matched_update_all()
         .when_not_matched_insert_all().execute(rows))
    return put


def qdrant_writer(folder: Path) -> Callable[[Burst], None]:
    qdrant, models = module("qdrant_client"), module("qdrant_client.models")
    client = qdrant.QdrantClient(path=str(folder))
    client.create_collection("memories", vectors_config=models.VectorParams(
        size=DIM, distance=models.Distance.EUCLID))

    def put(burst: Burst) -> None:
        client.upsert("memories", [models.PointStruct(id=k, vector=vector(k, r),
                                                      payload={"key": k, "rev": r})
                                   for k, r in burst])
    return put


def langgraph_writer(folder: Path) -> Callable[[Burst], None]:
    import sqlite3

    saver = module("langgraph.checkpoint.sqlite").SqliteSaver(
        sqlite3.connect(folder / "checkpoints.sqlite", check_same_thread=False))
    saver.setup()
    base = module("langgraph.checkpoint.base")

    def put(burst: Burst) -> None:
        for key, rev in burst:  # a thread per record; a revision is its next checkpoint
            checkpoint = base.empty_checkpoint()
            checkpoint["channel_values"] = {"memory": f"memory {key} rev {rev}"}
            checkpoint["channel_versions"] = {"memory": rev + 1}
            config = {"configurable": {"thread_id": f"t{key}", "checkpoint_ns": ""}}
            saver.put(config, checkpoint, {"source": "loop", "step": rev, "key": key},
                      {"memory": rev + 1})
    return put


def vec_connect(path: Path) -> Any:
    apsw, sqlite_vec = module("apsw"), module("sqlite_vec")
    db = apsw.Connection(str(path))
    db.enable_load_extension(True)
    db.load_extension(sqlite_vec.loadable_path())
    return db


def sqlite_vec_writer(folder: Path) -> Callable[[Burst], None]:
    db = vec_connect(folder / "memories.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS memories (key INTEGER PRIMARY KEY, rev, text)")
    db.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS vec_memories USING vec0("
               f"embedding float[{DIM}])")

    def put(burst: Burst) -> None:
        with db:  # one transaction a burst
            for key, rev in burst:
                db.execute("INSERT OR REPLACE INTO memories VALUES (?, ?, ?)",
                           (key, rev, f"memory {key} rev {rev}"))
                db.execute("DELETE FROM vec_memories WHERE rowid = ?", (key,))
                db.execute("INSERT INTO vec_memories (rowid, embedding) VALUES (?, ?)",
                           (key, json.dumps(vector(key, rev))))
    return put


WRITERS: dict[str, Callable[[Path], Callable[[Burst], None]]] = {
    "chroma": chroma_writer, "lancedb": lancedb_writer, "qdrant": qdrant_writer,
    "langgraph": langgraph_writer, "sqlite-vec": sqlite_vec_writer}


# -- readers: each returns (the count the client reports, records read, problems) -----------

Read = tuple[int, int, list[str]]


def checked(records: dict[int, tuple[int, list[float]]],
            nearest: Callable[[list[float]], int]) -> list[str]:
    """Every record's vector is its revision's; the nearest to some of them is itself."""
    bad = [f"{k}: vector of another revision" for k, (r, v) in records.items()
           if not close(v, vector(k, r))]
    for key in random.Random(1).sample(sorted(records), min(QUERIES, len(records))):
        found = nearest(vector(key, records[key][0]))
        if found != key:
            bad.append(f"query for {key} found {found}")
    return bad


def chroma_reader(folder: Path) -> Read:
    collection = module("chromadb").PersistentClient(path=str(folder)).get_collection(
        "memories")
    got = collection.get(include=["embeddings", "metadatas"])
    records = {int(m["key"]): (int(m["rev"]), [float(x) for x in e])
               for m, e in zip(got["metadatas"], got["embeddings"], strict=True)}

    def nearest(v: list[float]) -> int:
        return int(collection.query(query_embeddings=[v], n_results=1,
                                    include=["metadatas"])["metadatas"][0][0]["key"])
    return collection.count(), len(got["ids"]), checked(records, nearest)


def lancedb_reader(folder: Path) -> Read:
    table = module("lancedb").connect(str(folder)).open_table("memories")
    rows = table.to_arrow().to_pylist()
    records = {int(r["key"]): (int(r["rev"]), [float(x) for x in r["vector"]]) for r in rows}

    def nearest(v: list[float]) -> int:
        return int(table.search(v).limit(1).to_list()[0]["key"])
    return table.count_rows(), len(rows), checked(records, nearest)


def qdrant_reader(folder: Path) -> Read:
    client = module("qdrant_client").QdrantClient(path=str(folder))
    points, offset = [], None
    while True:
        page, offset = client.scroll("memories", limit=256, offset=offset, with_vectors=True)
        points += page
        if offset is None:
            break
    records = {int(p.payload["key"]): (int(p.payload["rev"]), list(p.vector)) for p in points}

    def nearest(v: list[float]) -> int:
        return int(client.query_points("memories", query=v, limit=1).points[0].id)
    count = client.count("memories", exact=True).count
    bad = checked(records, nearest)
    client.close()
    return count, len(points), bad


def langgraph_reader(folder: Path) -> Read:
    import sqlite3

    db = sqlite3.connect(folder / "checkpoints.sqlite")
    saver = module("langgraph.checkpoint.sqlite").SqliteSaver(db)
    listed = list(saver.list(None))
    bad = []
    latest: dict[str, int] = {}
    for item in listed:
        thread = item.config["configurable"]["thread_id"]
        latest[thread] = max(latest.get(thread, -1), int(item.metadata["step"]))
    for thread, step in latest.items():
        found = saver.get_tuple({"configurable": {"thread_id": thread, "checkpoint_ns": ""}})
        want = f"memory {thread[1:]} rev {step}"
        if found is None or found.checkpoint["channel_values"].get("memory") != want:
            bad.append(f"{thread}: latest checkpoint does not hold {want!r}")
    count = db.execute("SELECT count(*) FROM checkpoints").fetchone()[0]
    return int(count), len(listed), bad


def sqlite_vec_reader(folder: Path) -> Read:
    db = vec_connect(folder / "memories.db")
    revs = dict(db.execute("SELECT key, rev FROM memories"))
    vectors = {int(k): json.loads(v) for k, v in db.execute(
        "SELECT rowid, vec_to_json(embedding) FROM vec_memories")}
    records = {k: (int(revs.get(k, -1)), v) for k, v in vectors.items()}

    def nearest(v: list[float]) -> int:
        return int(next(iter(db.execute(
            "SELECT rowid FROM vec_memories WHERE embedding MATCH ? ORDER BY distance "
            "LIMIT 1", (json.dumps(v),))))[0])
    bad = [] if len(revs) == len(vectors) else [f"{len(revs)} memories, {len(vectors)} vectors"]
    count = next(iter(db.execute("SELECT count(*) FROM vec_memories")))[0]
    return int(count), len(records), bad + checked(records, nearest)


READERS: dict[str, Callable[[Path], Read]] = {
    "chroma": chroma_reader, "lancedb": lancedb_reader, "qdrant": qdrant_reader,
    "langgraph": langgraph_reader, "sqlite-vec": sqlite_vec_reader}


def missing(kind: str) -> str | None:
    """Why `kind` cannot run here (a module not installed), or None."""
    for name in MODULES[kind]:
        try:
            module(name)
        except ImportError as exc:
            return f"{name} is not installed ({exc}); pip install '.[clients]'"
    return None


def main(argv: list[str]) -> int:
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")  # Chroma: never the network
    action, kind, folder = argv[0], argv[1], Path(argv[2])
    if action == "write":
        write(kind, folder, Path(argv[3]), Path(argv[4]))
        return 0
    if action == "wipe":  # an agent forgetting everything (sqlite-vec only)
        db = vec_connect(folder / "memories.db")
        with db:
            db.execute("DELETE FROM memories")
            db.execute("DELETE FROM vec_memories")
        return 0
    count, read, bad = READERS[kind](folder)
    print(json.dumps({"count": count, "read": read, "problems": bad[:10]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
