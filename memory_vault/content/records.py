"""Records: what a memory file holds, counted and compared one record at a time.

A record is a leaf value wherever it is nested (JSON), a non-empty line (JSON Lines, text) or
a table row (SQLite). Counting drives the shrink alarm and `history FILE`; comparing drives
`diff`, in each format's own terms: JSON key paths; the MCP memory server's entities (by name,
with the observations learned and forgotten) and relations; other JSON Lines by their
`id`/`name`/`key`; Markdown by section; SQLite by table and primary key.

Each version is read once into a `Reading`: its record count and a multiset of record
fingerprints (history's added/removed), and, on demand, keyed records (diff's body).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field

from memory_vault.content import formats

SHORT = 80  # long values are shortened to this many characters in a diff
_MCP = ("entity", "relation")


@dataclass
class Change:
    """One record added, removed or changed, with what a person needs to read it."""

    key: str
    old: str | None = None
    new: str | None = None
    details: list[str] = field(default_factory=list)  # e.g. observations +learned -forgotten


@dataclass
class Comparison:
    """Two versions of one file, compared by record."""

    format: str
    before: int | None  # record counts (None: no version, or bytes)
    after: int | None
    added: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    note: str | None = None  # e.g. a binary file: sizes and hashes only


def measure(fmt: str, data: bytes) -> tuple[int | None, Counter[int] | None]:
    """(count, fingerprints) of one version, reading it once. Fingerprints are the records'
    hashes: within one run they compare like the records, and far faster."""
    if fmt in (formats.JSONL, formats.TEXT):
        lines = [line for line in data.split(b"\n") if line and not line.isspace()]
        return len(lines), Counter(map(hash, lines))
    prints = fingerprints(fmt, data)
    return count(fmt, data), None if prints is None else Counter(map(hash, prints.elements()))


def count(fmt: str, data: bytes | bytearray) -> int | None:
    """The number of records of one version (None for bytes, which have none), without a
    copy of it in memory."""
    if fmt == formats.JSON:
        return formats.count_json(data)
    if fmt in (formats.JSONL, formats.TEXT):
        import re

        return sum(1 for _ in re.finditer(rb"(?m)^[ \t\r\f\v]*[^\s]", data))
    if fmt == formats.SQLITE:
        with _open_image(data) as db:
            return count_rows(db)
    return None


def count_rows(db: sqlite3.Connection) -> int:
    """The rows of all user tables of an open database: its record count."""
    return sum(n for _table, n in _row_counts(db))


def fingerprints(fmt: str, data: bytes) -> Counter[bytes] | None:
    """A multiset of records, comparable across versions (added = new - old)."""
    if fmt in (formats.JSONL, formats.TEXT):
        return Counter(line.strip() for line in data.split(b"\n") if line.strip())
    if fmt == formats.JSON:
        return Counter(f"{path}={value}".encode() for path, value in _leaves(data))
    if fmt == formats.SQLITE:
        with _open_image(data) as db:
            return Counter(f"{table}:{key}={row}".encode()
                           for table, rows in _tables(db).items() for key, row in rows.items())
    return None


def added_removed(old: Counter[int] | None, new: Counter[int] | None) -> tuple[int, int]:
    """Records in `new` and not in `old`, and the other way round (as multisets)."""
    old, new = old or Counter(), new or Counter()
    if sum(old.values()) == len(old) and sum(new.values()) == len(new):  # no duplicates
        shared = len(new.keys() & old.keys())
        return len(new) - shared, len(old) - shared
    return sum((new - old).values()), sum((old - new).values())


# -- comparing ---------------------------------------------------------------------------------

def compare(fmt: str, old: bytes | None, new: bytes | None) -> Comparison:
    """Two versions (None: the file did not exist) of one format, record by record."""
    result = Comparison(fmt, _safe_count(fmt, old), _safe_count(fmt, new))
    if fmt == formats.BYTES or (result.before is None and result.after is None
                                and bool(old or new)):
        result.note = _bytes_note(old, new)
        return result
    if fmt == formats.JSONL and old and new:
        old, new = _differing_lines(old, new)
    keyed_old, keyed_new = _keyed(fmt, old), _keyed(fmt, new)
    for key in keyed_new:
        if key not in keyed_old:
            result.added.append(Change(key, new=_short(keyed_new[key])))
        elif keyed_new[key] != keyed_old[key]:
            result.changed.append(_changed(key, keyed_old[key], keyed_new[key]))
    result.removed = [Change(key, old=_short(value)) for key, value in keyed_old.items()
                      if key not in keyed_new]
    return result


def _safe_count(fmt: str, data: bytes | None) -> int | None:
    if data is None:
        return None
    try:
        return count(fmt, data)
    except (ValueError, sqlite3.Error, RecursionError):
        return None


def _keyed(fmt: str, data: bytes | None) -> dict[str, object]:
    if not data:
        return {}
    if fmt == formats.JSON:
        return {path: json.dumps(value, ensure_ascii=False) for path, value in _leaves(data)}
    if fmt == formats.JSONL:
        return _keyed_lines(data)
    if fmt == formats.TEXT:
        return _keyed_markdown(data)
    if fmt == formats.SQLITE:
        with _open_image(data) as db:
            keyed: dict[str, object] = {f"schema {name}": sql for name, sql in _schema(db)}
            for table, rows in _tables(db).items():
                keyed.update({f"{table}[{key}]": row for key, row in rows.items()})
            return keyed
    return {}


def _changed(key: str, old: object, new: object) -> Change:
    change = Change(key, old=_short(old), new=_short(new))
    if isinstance(old, Entity) and isinstance(new, Entity):
        learned = [o for o in new.observations if o not in old.observations]
        forgotten = [o for o in old.observations if o not in new.observations]
        change.details = [f"+ {_short(o)}" for o in learned] + [
            f"- {_short(o)}" for o in forgotten]
        if old.entity_type != new.entity_type:
            change.details.append(f"type {old.entity_type} -> {new.entity_type}")
    return change


def _short(value: object) -> str:
    text = value if isinstance(value, str) else repr(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= SHORT else text[: SHORT - 3] + "..."


def _bytes_note(old: bytes | None, new: bytes | None) -> str:
    import hashlib

    def describe(data: bytes | None) -> str:
        if data is None:
            return "absent"
        return f"{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()[:12]}"

    return (f"not a format with records: only sizes and hashes can be compared "
            f"({describe(old)} -> {describe(new)})")


# -- JSON ----------------------------------------------------------------------------------------

def _leaves(data: bytes) -> list[tuple[str, object]]:
    """(key path, value) of every leaf: `records[41].text`."""
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


# -- JSON Lines ----------------------------------------------------------------------------------

@dataclass
class Entity:
    """An MCP knowledge-graph entity: compared by its observations."""

    entity_type: str
    observations: list[str]

    def __repr__(self) -> str:
        return f"{self.entity_type}: {'; '.join(self.observations)}"


def _differing_lines(old: bytes, new: bytes) -> tuple[bytes, bytes]:
    """Only the lines that differ between two JSON Lines versions (an unchanged record adds
    nothing to a diff), plus a few shared ones so that the keying stays the whole file's."""
    old_lines = [line for line in old.split(b"\n") if line.strip()]
    new_lines = [line for line in new.split(b"\n") if line.strip()]
    shared = set(old_lines) & set(new_lines)
    sample = [line for line in new_lines[:20] if line in shared]
    return (b"\n".join(sample + [x for x in old_lines if x not in shared]),
            b"\n".join(sample + [x for x in new_lines if x not in shared]))


def _keyed_lines(data: bytes) -> dict[str, object]:
    items = [json.loads(line) for line in data.split(b"\n") if line.strip()]
    if items and all(isinstance(i, dict) and i.get("type") in _MCP for i in items):
        return _keyed_graph(items)
    for member in ("id", "name", "key"):
        if items and all(isinstance(i, dict) and member in i for i in items):
            return {f"{member}={i[member]}": json.dumps(i, sort_keys=True) for i in items}
    keyed: dict[str, object] = {}
    for item in items:
        text = json.dumps(item, sort_keys=True)
        keyed[text] = text  # by content: a changed record is one removed and one added
    return keyed


def _keyed_graph(items: list[dict[str, object]]) -> dict[str, object]:
    keyed: dict[str, object] = {}
    for item in items:
        if item["type"] == "entity":
            observations = item.get("observations")
            keyed[f"entity {item.get('name')}"] = Entity(
                str(item.get("entityType", "")),
                [str(o) for o in observations] if isinstance(observations, list) else [])
        else:
            key = f"relation {item.get('from')} -{item.get('relationType')}-> {item.get('to')}"
            keyed[key] = ""  # the key says it all
    return keyed


# -- text ----------------------------------------------------------------------------------------

def _keyed_markdown(data: bytes) -> dict[str, object]:
    """Lines by the Markdown section they stand in (`## Heading > line`)."""
    keyed: dict[str, object] = {}
    section = "(top)"
    seen: Counter[str] = Counter()
    for raw in data.decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            section = line
            continue
        seen[f"{section} > {line}"] += 1
        suffix = f" ({seen[f'{section} > {line}']})" if seen[f"{section} > {line}"] > 1 else ""
        keyed[f"{section} > {line}{suffix}"] = line
    return keyed


# -- SQLite --------------------------------------------------------------------------------------

WAL_HEADER, ROLLBACK_HEADER = b"\x02\x02", b"\x01\x01"  # file format write/read versions

class _open_image:  # a context manager used like a function
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


def _user_tables(db: sqlite3.Connection) -> list[str]:
    return [row[0] for row in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]


def _row_counts(db: sqlite3.Connection) -> list[tuple[str, int]]:
    # Table names come from the database itself, quoted as identifiers.
    return [(t, db.execute(f'SELECT count(*) FROM "{_ident(t)}"').fetchone()[0])  # noqa: S608
            for t in _user_tables(db)]


def _schema(db: sqlite3.Connection) -> list[tuple[str, str]]:
    return [(row[0], row[1] or "") for row in db.execute(
        "SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")]


def _tables(db: sqlite3.Connection) -> dict[str, dict[str, str]]:
    """Rows of every table by primary key (the rowid when there is none)."""
    tables: dict[str, dict[str, str]] = {}
    for table in _user_tables(db):
        info = db.execute(f'PRAGMA table_info("{_ident(table)}")').fetchall()
        pk = [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5]]
        key_sql = ", ".join(f'"{_ident(c)}"' for c in pk) if pk else "rowid"
        try:
            cursor = db.execute(f'SELECT {key_sql}, * FROM "{_ident(table)}"')  # noqa: S608
        except sqlite3.Error:
            continue  # a WITHOUT ROWID table without a key, a virtual table: skipped
        width = len(pk) or 1
        tables[table] = {", ".join(map(str, row[:width])): repr(row[width:]) for row in cursor}
    return tables


def _ident(name: str) -> str:
    return name.replace('"', '""')
