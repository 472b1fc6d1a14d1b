"""Record cache: record counts by blob id, and added/removed by pair of blob ids.

A version never changes, so what `history FILE` counted of it once holds for good: kept
between runs (marshal, in the user's cache folder). Only a cache: one we cannot read or write
costs time, never a wrong answer.
"""

from __future__ import annotations

import marshal
import os
from pathlib import Path

from memory_vault.fsutil import ensure_private_dir, write_atomic
from memory_vault.settings import paths

CACHE_FORMAT = 1
CACHE_LIMIT = 20_000


class RecordCache:
    """Record counts by blob id, and added/removed by pair of blob ids, kept between runs
    (marshal, in the user's cache folder; a cache we cannot write only costs time)."""

    def __init__(self, path: str, data: dict[str, object]) -> None:
        self.path = path
        self.data = data
        self.dirty = False

    @classmethod
    def load(cls) -> RecordCache:
        path = str(Path(paths.cache_dir(dict(os.environ))) / "records.cache")
        try:
            fmt, data = marshal.loads(Path(path).read_bytes())  # noqa: S302 (our private file)
            if fmt == CACHE_FORMAT and isinstance(data, dict):
                return cls(path, data)
        except (OSError, ValueError, EOFError, TypeError):
            pass
        return cls(path, {})

    def has(self, blob: str) -> bool:
        return blob in self.data

    def count(self, blob: str) -> int | None:
        value = self.data.get(blob)
        return value[1] if isinstance(value, tuple) else None

    def put(self, blob: str, fmt: str, count: object) -> None:
        self.data[blob] = (fmt, count if isinstance(count, int) else None)
        self.dirty = True

    def pair(self, old: str, new: str) -> tuple[int, int] | None:
        value = self.data.get(f"{old}:{new}")
        return value if isinstance(value, tuple) else None

    def put_pair(self, old: str, new: str, pair: tuple[int, int]) -> None:
        self.data[f"{old}:{new}"] = pair
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        if len(self.data) > CACHE_LIMIT:
            self.data = dict(list(self.data.items())[-CACHE_LIMIT // 2:])
        try:
            ensure_private_dir(str(Path(self.path).parent))
            write_atomic(self.path, marshal.dumps((CACHE_FORMAT, self.data)), durable=False)
        except OSError:
            pass
