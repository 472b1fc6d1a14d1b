"""Records: what a memory file holds, counted one record at a time.

A record is a leaf value wherever it is nested (JSON), a non-empty line (JSON Lines, text) or
a table row (SQLite). Counts drive the shrink alarm and `history FILE`; fingerprints (a
multiset of records' hashes) give the records added and removed, one count for `history`
and `diff` alike (`changes`); `content.compare` gives `diff`'s record-by-record account.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter

from memory_vault.content import formats


def measure(fmt: str, data: bytes) -> tuple[int | None, Counter[int] | None]:
    """(count, fingerprints) of one version, reading it once. Fingerprints are the records'
    hashes: within one run they compare like the records, and far faster."""
    if fmt in (formats.JSONL, formats.TEXT):
        found = lines(data)
        return len(found), Counter(map(hash, found))
    prints = fingerprints(fmt, data)
    return count(fmt, data), None if prints is None else Counter(map(hash, prints.elements()))


def lines(data: bytes) -> list[bytes]:
    """The records of a JSON Lines or text version: its lines that are not blank, as they
    are (a line indented anew is another record)."""
    return [line for line in data.split(b"\n") if line and not line.isspace()]


def changes(fmt: str, old: bytes | None, new: bytes | None) -> tuple[int, int] | None:
    """(records added, records removed) from `old` to `new` (None: no version), counted
    as `history` counts them; None when a version has no records to count."""
    sides: list[Counter[int]] = []
    for data in (old, new):
        if data is None:
            sides.append(Counter())
            continue
        try:
            prints = measure(fmt, data)[1]
        except Exception:  # a version that does not parse has no records to count
            return None
        if prints is None:
            return None
        sides.append(prints)
    return added_removed(sides[0], sides[1])


def count(fmt: str, data: bytes | bytearray) -> int | None:
    """The number of records of one version (None for bytes, which have none), without a
    copy of it in memory."""
    if fmt == formats.JSON:
        return formats.count_json(data)
    if fmt in (formats.JSONL, formats.TEXT):
        import re

        return sum(1 for _ in re.finditer(rb"(?m)^[ \t\r\f\v]*[^\s]", data))
    if fmt == formats.SQLITE:
        with open_image(data) as db:
            return count_rows(db)
    return None


def count_rows(db: sqlite3.Connection) -> int:
    """The rows of all user tables of an open database that can be counted: its record
    count. A table that cannot be (a virtual table whose module is not loaded, such as
    sqlite-vec's `vec0`) is left out, and `uncounted` names it; its shadow tables, plain
    tables, still count."""
    return sum(n for _table, n in _row_counts(db))


def uncounted(fmt: str, data: bytes | bytearray) -> dict[str, str]:
    """The tables of a database version left out of its record count, with why: what a
    count shown beside it should say (`note`)."""
    if fmt != formats.SQLITE:
        return {}
    with open_image(data) as db:
        return uncounted_tables(db)


def uncounted_tables(db: sqlite3.Connection) -> dict[str, str]:
    found = {}
    for table in user_tables(db):
        try:
            _count_table(db, table)
        except sqlite3.Error as exc:
            found[table] = str(exc)
    return found


def note(left_out: dict[str, str]) -> str | None:
    """`not counted: vec_items (no such module: vec0)`, or None when every table counts."""
    if not left_out:
        return None
    return "not counted: " + ", ".join(f"{t} ({why})" for t, why in sorted(left_out.items()))


def fingerprints(fmt: str, data: bytes) -> Counter[bytes] | None:
    """A multiset of records, comparable across versions (added = new - old)."""
    if fmt in (formats.JSONL, formats.TEXT):
        return Counter(lines(data))
    if fmt == formats.JSON:
        return Counter(f"{path}={value}".encode() for path, value in leaves(data))
    if fmt == formats.SQLITE:
        with open_image(data) as db:
            return Counter(f"{table}:{key}={row}".encode()
                           for table, rows in tables(db).items() for key, row in rows.items())
    return None


def added_removed(old: Counter[int] | None, new: Counter[int] | None) -> tuple[int, int]:
    """Records in `new` and not in `old`, and the other way round (as multisets)."""
    old, new = old or Counter(), new or Counter()
    if sum(old.values()) == len(old) and sum(new.values()) == len(new):  # no duplicates
        shared = len(new.keys() & old.keys())
        return len(new) - shared, len(old) - shared
    return sum((new - old).values()), sum((old - new).values())


def leaves(data: bytes) -> list[tuple[str, object]]:
    """(key path, value) of every leaf of a JSON document: `records[41].text`."""
    found: list[tuple[str, object]] = []
    stack: list[tuple[str, object]] = [("", json.loads(data))]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            stack.extend((_member(path, key), item) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in reversed(list(enumerate(value))))
        else:
            found.append((path or "$", value))
    return found


def _member(path: str, key: str) -> str:
    simple = key.isidentifier()
    return (f"{path}.{key}" if path else key) if simple else f"{path}[{json.dumps(key)}]"


# -- SQLite --------------------------------------------------------------------------------------

WAL_HEADER, ROLLBACK_HEADER = b"\x02\x02", b"\x01\x01"  # file format write/read versions

class open_image:  # a context manager used like a function
    """An in-memory, read-only copy of a database image.

    An image of a WAL-mode database (as mem0 and LangGraph keep theirs) says so in header
    bytes 18-19, and SQLite refuses to read such an image from memory, where no `-wal` can
    exist; the copy handed to SQLite says "rollback journal" instead (the vault's bytes are
    untouched)."""

    def __init__(self, data: bytes | bytearray) -> None:
        self.db = sqlite3.connect(":memory:")
        if data[18:20] == WAL_HEADER:
            data = bytearray(data)
            data[18:20] = ROLLBACK_HEADER
        self.db.deserialize(data)

    def __enter__(self) -> sqlite3.Connection:
        return self.db

    def __exit__(self, *_exc: object) -> None:
        self.db.close()


def user_tables(db: sqlite3.Connection) -> list[str]:
    return [row[0] for row in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]


def _row_counts(db: sqlite3.Connection) -> list[tuple[str, int]]:
    """(table, rows) of each table that can be counted; the others are left out."""
    counted = []
    for table in user_tables(db):
        try:
            counted.append((table, _count_table(db, table)))
        except sqlite3.Error:  # a virtual table whose module is not loaded: `uncounted`
            continue
    return counted


def _count_table(db: sqlite3.Connection, table: str) -> int:
    # Table names come from the database itself, quoted as identifiers.
    rows: int = db.execute(f'SELECT count(*) FROM "{ident(table)}"').fetchone()[0]  # noqa: S608
    return rows


def tables(db: sqlite3.Connection) -> dict[str, dict[str, str]]:
    """Rows of every table by primary key (the rowid when there is none)."""
    found: dict[str, dict[str, str]] = {}
    for table in user_tables(db):
        try:
            info = db.execute(f'PRAGMA table_info("{ident(table)}")').fetchall()
            pk = [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5]]
            key_sql = ", ".join(f'"{ident(c)}"' for c in pk) if pk else "rowid"
            cursor = db.execute(f'SELECT {key_sql}, * FROM "{ident(table)}"')  # noqa: S608
        except sqlite3.Error:
            continue  # a WITHOUT ROWID table without a key, a virtual table whose module
            # is not loaded (sqlite-vec's vec0): skipped, its shadow tables compared
        width = len(pk) or 1
        found[table] = {", ".join(map(str, row[:width])): repr(row[width:]) for row in cursor}
    return found


def ident(name: str) -> str:
    return name.replace('"', '""')
