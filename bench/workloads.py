"""The data the benchmark syncs: memory files, a SQLite store and a knowledge graph that an
agent keeps rewriting, each changing ~1% of itself a time, seeded so every run is the same."""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

WORDS = ("alpha", "beta", "gamma", "delta", "memory", "vault", "agent", "context", "fact", "user",
         "prefers", "python", "git", "backup", "tool", "likes", "remembers", "project",
         "deadline", "meeting", "summary")


class Memory:
    """A JSON memory file that an agent keeps rewriting.

    Kept as one serialized line per record, so that changing 1% of the records re-serializes
    1% of the file: the benchmark's time goes to the programs it measures, not to json.dumps.
    """

    def __init__(self, size: int, rng: random.Random) -> None:
        self.rng = rng
        sample = [self._record(i) for i in range(200)]
        per_record = sum(len(json.dumps(r)) + 2 for r in sample) / len(sample)
        self.records = [self._record(i) for i in range(max(1, int(size / per_record)))]
        self.lines = [json.dumps(r) for r in self.records]

    def _record(self, i: int) -> dict[str, object]:
        rng = self.rng
        return {"id": i, "agent": rng.choice(("opus", "sonnet", "gpt4o", "gemini")),
                "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 20))),
                "score": round(rng.random(), 6), "tags": [rng.choice("abcdefgh") for _ in range(3)]}

    def evolve(self, share: float = 0.01) -> None:
        """Change ~`share` of the records, as an agent updating what it learned."""
        for _ in range(max(1, int(len(self.records) * share))):
            index = self.rng.randrange(len(self.records))
            record = self.records[index]
            record["score"] = round(self.rng.random(), 6)
            record["text"] = f"{record['text']} {self.rng.choice(WORDS)}"
            self.lines[index] = json.dumps(record)

    def write(self, *paths: Path) -> None:
        data = ('{"memories": [\n' + ",\n".join(self.lines) + "\n]}\n").encode()
        for path in paths:
            path.write_bytes(data)


class Database:
    """A SQLite memory store (mem0/Letta-like) in WAL mode, ~1% of its rows updated a time."""

    def __init__(self, path: Path, size: int, rng: random.Random) -> None:
        import sqlite3

        self.path, self.rng = path, rng
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE memories (id INTEGER PRIMARY KEY, agent TEXT, text TEXT, "
                   "score REAL, updated INTEGER)")
        self.rows = max(1, size // 230)
        db.execute("BEGIN")
        db.executemany("INSERT INTO memories VALUES (?, ?, ?, ?, ?)",
                       ((i, rng.choice(("opus", "gpt4o")), self._text(), rng.random(), 0)
                        for i in range(self.rows)))
        db.execute("COMMIT")
        db.close()

    def _text(self) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(20, 36)))

    def evolve(self, share: float = 0.01) -> None:
        import sqlite3

        db = sqlite3.connect(self.path, isolation_level=None)
        db.execute("BEGIN")
        for _ in range(max(1, int(self.rows * share))):
            db.execute("UPDATE memories SET text = ?, score = ?, updated = updated + 1 "
                       "WHERE id = ?", (self._text(), self.rng.random(),
                                        self.rng.randrange(self.rows)))
        db.execute("COMMIT")
        db.close()


class Graph:
    """An MCP memory server knowledge graph in JSON Lines, ~1% of its entities learning a new
    observation each time, written whole by temp file and rename as the server does."""

    def __init__(self, path: Path, size: int, rng: random.Random) -> None:
        self.path, self.rng = path, rng
        self.entities: list[str] = []
        while sum(len(line) for line in self.entities) < size:
            n = len(self.entities)
            self.entities.append(self._line(f"entity-{n}", [self._fact() for _ in range(4)]))
        self.observations = {i: 4 for i in range(len(self.entities))}

    def _fact(self) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(self.rng.randint(6, 14)))

    @staticmethod
    def _line(name: str, facts: list[str]) -> str:
        return json.dumps({"type": "entity", "name": name, "entityType": "topic",
                           "observations": facts}, separators=(",", ":"))

    def evolve(self, share: float = 0.01) -> None:
        for _ in range(max(1, int(len(self.entities) * share))):
            i = self.rng.randrange(len(self.entities))
            record = json.loads(self.entities[i])
            record["observations"].append(self._fact())
            self.entities[i] = json.dumps(record, separators=(",", ":"))

    def write(self) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text("\n".join(self.entities))
        tmp.replace(self.path)


def age(folder: Path, seconds: float = 120) -> None:
    """Date the files back as cron would find them: written minutes before, not this instant
    (a file written in the last 3 s is re-read by the next run, by design)."""
    past = time.time() - seconds
    for path in folder.iterdir():
        os.utime(path, (past, past))
