"""Secrets: credentials found in a version of a memory file, in its format, and taken out.

`scan` applies `secret_rules` in the file's format: JSON and JSON Lines as raw text, keeping
what lies inside one string literal (`line N`, `record N`); text by lines (`line N`); SQLite
by text and blob cells (`table T row R`: the rowid, or a WITHOUT ROWID table's key; `span` is
`CELL`, and redaction finds the cell again by fingerprint), then its raw image for what no
cell holds, a deleted row in free pages (`outside the tables, byte N`); bytes as raw bytes
(`byte N`; no redaction keeps them valid). At most `SCAN_LIMIT` bytes of a version (of a
database: of its cells, and of its image) are scanned, by linear rules. A fingerprint is
PBKDF2-HMAC-SHA256 of the secret (JSON escapes decoded), a fixed salt, 200,000 iterations, 12
hex digits: the same on every machine and run, slow to search even for a weak password (about
50 ms a distinct secret, once a process).
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import itertools
import re
import sqlite3
from collections.abc import Iterator
from functools import lru_cache

from memory_vault.content import formats, secret_rules
from memory_vault.content.records import ident, open_image

SCAN_LIMIT = 128 << 20  # above MEMORY_VAULT_MAX_FILE_MB's default: every stored byte is scanned
CELL = (0, 0)
_SALT = b"memory-vault/secret-fingerprint/v1"
_ITERATIONS = 200_000
_NAMES = {formats.JSON: "x.json", formats.JSONL: "x.jsonl", formats.TEXT: "x.md"}


class Finding:
    """One credential in one version: which rule, where, and its fingerprint (never the
    secret itself, which only `span` locates in the bytes scanned; `CELL` in a database)."""

    __slots__ = ("fingerprint", "rule", "span", "where")

    def __init__(self, rule: str, fingerprint: str, where: str, span: tuple[int, int]) -> None:
        self.rule = rule  # e.g. anthropic-api-key
        self.fingerprint = fingerprint  # not reversible; stable across machines and runs
        self.where = where  # "line 12", "record 40", "table memories row 7"
        self.span = span  # byte offsets in the data scanned (for the redaction)


class SecretProblem(Exception):
    """A version whose redaction would not be valid in its format (the message says why)."""


@lru_cache(maxsize=4096)
def fingerprint(secret: bytes) -> str:
    """12 hex digits that name a secret without revealing it."""
    return hashlib.pbkdf2_hmac("sha256", secret, _SALT, _ITERATIONS).hex()[:12]


def scan(fmt: str, data: bytes | bytearray, allowed: frozenset[str] = frozenset()
         ) -> list[Finding]:
    """Every credential in `data` (a version in the format `fmt`), except the fingerprints
    a person allowed."""
    found = _scan_sqlite(data) if fmt == formats.SQLITE else _scan_flat(fmt, data)
    return [finding for finding in found if finding.fingerprint not in allowed]


def _scan_flat(fmt: str, data: bytes | bytearray) -> list[Finding]:
    view = data if len(data) <= SCAN_LIMIT else bytes(data[:SCAN_LIMIT])
    hits = secret_rules.find(view)
    if fmt in (formats.JSON, formats.JSONL):
        hits = secret_rules.in_json_strings(view, hits, lines=fmt == formats.JSONL)
    return [Finding(rule, fingerprint(_value(fmt, view[start:end])), where, (start, end))
            for (rule, start, end), where in zip(hits, _wheres(fmt, view, hits), strict=True)]


def _value(fmt: str, raw: bytes | bytearray) -> bytes:
    return secret_rules.unescaped(raw) if fmt in (formats.JSON, formats.JSONL) else bytes(raw)


_RECORD = re.compile(rb"(?m)^[ \t\r\f\v]*[^\s]")  # a non-blank line, as records.count


def _wheres(fmt: str, view: bytes | bytearray, hits: list[secret_rules.Hit]) -> list[str]:
    """`line N`, `record N` (its non-blank line), `byte N`: counted once, in order."""
    wheres, line, records, pos = [], 1, 0, 0
    for _rule, start, _end in hits:
        home = view.rfind(b"\n", pos, start) + 1 or pos  # where its line starts
        if home > pos:
            line += view.count(b"\n", pos, home)
            records += sum(1 for _ in _RECORD.finditer(view, pos, home))
            pos = home
        wheres.append(f"record {records + 1}" if fmt == formats.JSONL else
                      f"byte {start}" if fmt == formats.BYTES else f"line {line}")
    return wheres


def redact(fmt: str, data: bytes | bytearray, findings: list[Finding]) -> bytearray:
    """`data` with each finding replaced by `«redacted:<rule>:<fingerprint>»`, still valid in
    its format (raises SecretProblem when it would not be). In text, each line of a secret
    that spans lines becomes one placeholder: the file keeps its line and record count."""
    if not findings:
        return bytearray(data)
    if fmt == formats.SQLITE:
        return _redact_sqlite(data, findings)
    if fmt not in _NAMES:
        raise SecretProblem("a binary file cannot have a secret taken out and stay valid")
    out, pos = bytearray(), 0
    for finding in sorted(findings, key=lambda f: f.span):
        start, end = finding.span
        raw = data[start:end]
        if start < pos or end > len(data) or fingerprint(_value(fmt, raw)) != finding.fingerprint:
            raise SecretProblem(f"{finding.where}: the finding is not in this version")
        out += data[pos:start]
        out += _marked(raw, secret_rules.placeholder(finding.rule, finding.fingerprint))
        pos = end
    out += data[pos:]
    _same_shape(fmt, data, out)
    return out


def _marked(raw: bytes | bytearray, mark: bytes) -> bytes:
    """Each non-blank line of `raw` as `mark`, line ends (`\\n`, `\\r\\n`) kept."""
    return b"\n".join(mark + b"\r" * line.endswith(b"\r") if line.strip() else line
                      for line in bytes(raw).split(b"\n"))


def _same_shape(fmt: str, before: bytes | bytearray, after: bytes | bytearray) -> None:
    """The redacted copy is judged as the version was, with as many records."""
    was, now = (formats.judge(_NAMES[fmt], data) for data in (before, after))
    lines = [sum(1 for _ in _RECORD.finditer(data)) for data in (before, after)]
    if (now.format, now.problem, now.records, lines[1]) != (was.format, was.problem, was.records,
                                                             lines[0]):
        raise SecretProblem(f"redacted, it would not be the same valid {fmt}: {now.problem}")


def placeholders(data: bytes | bytearray) -> list[tuple[str, str]]:
    """(rule, fingerprint) of each placeholder a vault copy holds, once each, in order (as
    UTF-8, or `\\u00ab` escaped as a JSON writer may have left it)."""
    return secret_rules.placeholders(data)


# -- SQLite -------------------------------------------------------------------------------------

Key = list[tuple[str, object, str]]  # the row's key: (column, value, SQLite type) each
Cell = tuple[str, Key, str, str, bytes]  # table, key, column, type (text or blob), value


def _scan_sqlite(data: bytes | bytearray) -> list[Finding]:
    found, held = [], []
    with open_image(data) as db:
        for (table, key, *_cell, value), hits in _cell_hits(db):
            row = ", ".join(str(_text(v, "replace")) for _c, v, _t in key)
            for rule, start, end in hits:
                held.append(value[start:end])
                found.append(Finding(rule, fingerprint(held[-1]), f"table {table} row {row}", CELL))
    view = data if len(data) <= SCAN_LIMIT else bytes(data[:SCAN_LIMIT])
    for rule, start, end in secret_rules.find(view):
        raw = bytes(view[start:end])  # a cell's secret seen in the image is not one more
        if not any(value in raw or raw in value for value in held):
            found.append(Finding(rule, fingerprint(raw), f"outside the tables, byte {start}",
                                 (start, end)))
    return found


def _layout(db: sqlite3.Connection) -> list[tuple[str, list[str], list[str]]]:
    """(table, key columns, columns) of each table whose cells are scanned: every table this
    SQLite reads, but an FTS index of another table's content and the storage of a virtual
    table it reads (both redacted through their tables); sqlite-vec's `vec0`, which it
    cannot read, is scanned through its storage."""
    sql = {n: s or "" for n, s in db.execute("SELECT name, sql FROM sqlite_master WHERE "
                                            "type = 'table'") if not n.startswith("sqlite_")}
    kinds = {row[1]: row[2] for row in db.execute("PRAGMA main.table_list")}  # SQLite 3.37+
    names = [name for name in sql if _reads(db, name)]
    owners = [name for name in names if sql[name].upper().startswith("CREATE VIRTUAL")]
    layout = []
    for name in names:
        if (name in owners and "content=" in sql[name].lower().replace(" ", "")) or (
                kinds.get(name, "shadow") == "shadow"
                and any(name.startswith(f"{owner}_") for owner in owners)):
            continue
        info = db.execute(f'PRAGMA table_info("{ident(name)}")').fetchall()
        key = [row[1] for row in sorted(info, key=lambda r: r[5]) if row[5]]
        layout.append((name, ["rowid"] if _reads(db, name, "rowid") else key,
                       [row[1] for row in info]))
    return layout


def _reads(db: sqlite3.Connection, table: str, columns: str = "*") -> bool:
    try:
        db.execute(f'SELECT {columns} FROM "{ident(table)}" LIMIT 1').fetchall()  # noqa: S608
    except sqlite3.Error:
        return False
    return True


def _cells(db: sqlite3.Connection) -> Iterator[Cell]:
    """Every text and blob cell, read as bytes, with the key that finds its row again."""
    layout = _layout(db)
    db.text_factory = bytes
    for table, key, columns in layout:
        names = [f'"{ident(c)}"' for c in (*key, *columns)]
        kinds = ", ".join(f"typeof({n})" for n in names)
        cursor = db.execute(f'SELECT {", ".join(names)}, {kinds} FROM "{ident(table)}"')  # noqa: S608
        width = len(names)
        for row in cursor:
            where = [(c, row[i], row[width + i].decode()) for i, c in enumerate(key)]
            for i, column in enumerate(columns, len(key)):
                if row[width + i] in (b"text", b"blob") and row[i]:
                    yield table, where, column, row[width + i].decode(), bytes(row[i])


def _cell_hits(db: sqlite3.Connection) -> Iterator[tuple[Cell, list[secret_rules.Hit]]]:
    """Each cell holding a secret, with its hits (offsets in its value): cells scanned 1,000
    at a time joined by newlines (a hit across two is none), until `SCAN_LIMIT` bytes."""
    cells, total = _cells(db), 0
    while total < SCAN_LIMIT and (batch := list(itertools.islice(cells, 1000))):
        starts = list(itertools.accumulate((len(cell[4]) + 1 for cell in batch), initial=0))
        total += starts[-1]
        found: dict[int, list[secret_rules.Hit]] = {}
        for rule, start, end in secret_rules.find(b"\n".join(cell[4] for cell in batch)):
            i = bisect.bisect_right(starts, start) - 1
            if end < starts[i + 1]:
                found.setdefault(i, []).append((rule, start - starts[i], end - starts[i]))
        yield from ((batch[i], hits) for i, hits in found.items())


def _redact_sqlite(data: bytes | bytearray, findings: list[Finding]) -> bytearray:
    """Each cell holding a wanted secret updated in an in-memory copy (`secure_delete` on:
    the old value does not stay in the page), then a copy left outside the cells (a deleted
    row in free space) zeroed if no row changes; the header's journal mode kept."""
    wanted, secrets, changes = {finding.fingerprint for finding in findings}, [], []
    with open_image(data) as db:
        db.execute("PRAGMA secure_delete = ON")
        for (table, key, column, kind, value), hits in list(_cell_hits(db)):
            new = value
            for rule, start, end in reversed(hits):
                if (print_ := fingerprint(value[start:end])) in wanted:
                    secrets.append(value[start:end])
                    new = new[:start] + secret_rules.placeholder(rule, print_) + new[end:]
            if new != value:
                changes.append((table, key, column, kind, new))
        try:
            for table, key, column, kind, new in changes:
                where = " AND ".join(f'"{ident(c)}" IS ?' for c, _v, _t in key)
                params = [_text(v) if t == "text" else v for _c, v, t in key]
                db.execute(f'UPDATE "{ident(table)}" SET "{ident(column)}" = ? '  # noqa: S608
                           f"WHERE {where}", [_text(new) if kind == "text" else new, *params])
            db.commit()
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            raise SecretProblem(f"the database could not be redacted: {exc}") from exc
        image = bytearray(db.serialize())
    image[18:20] = data[18:20]
    _zero_residue(image, wanted, secrets)
    whole, rows, _digest = _state(image)
    if not whole or rows != _state(data)[1] or any(
            f.fingerprint in wanted for f in scan(formats.SQLITE, image)):
        raise SecretProblem("redacted, the database would not keep its rows, or the secret")
    return image


def _text(value: object, errors: str = "strict") -> object:
    return value.decode(errors=errors) if isinstance(value, bytes) else value


def _zero_residue(image: bytearray, wanted: set[str], secrets: list[bytes]) -> None:
    """Zero each copy of a wanted secret the cells no longer hold; refused if a row changes."""
    view, spans = bytes(image[:SCAN_LIMIT]), []
    for _rule, start, end in secret_rules.find(view):
        raw = view[start:end]
        inner = next((s for s in secrets if s in raw), raw)
        if inner is not raw or fingerprint(raw) in wanted or any(raw in s for s in secrets):
            spans.append((start + raw.find(inner), len(inner)))
    if spans:
        before = _state(image, full=True)
        for start, size in spans:
            image[start:start + size] = bytes(size)
        if not before[0] or _state(image, full=True) != before:
            raise SecretProblem("a secret remains in the database outside its cells")


def _state(image: bytes | bytearray, *, full: bool = False) -> tuple[bool, dict[str, int], str]:
    """Whether the database is whole, the rows of each table scanned, and (`full`: checked
    with its indexes) a hash of every row of every table, the schema's too."""
    digest = hashlib.sha256()
    with open_image(image) as db:
        whole = db.execute(f"PRAGMA {'integrity' if full else 'quick'}_check").fetchone()[0]
        rows = {table: db.execute(f'SELECT count(*) FROM "{ident(table)}"').fetchone()[0]  # noqa: S608
                for table, _key, _columns in _layout(db)}
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        db.text_factory = bytes
        for name in ["sqlite_master", *names] if full else []:
            with contextlib.suppress(sqlite3.Error):  # a virtual table it cannot read
                digest.update(repr(db.execute(f'SELECT * FROM "{ident(name)}"')  # noqa: S608
                                   .fetchall()).encode())
    return whole == "ok", rows, digest.hexdigest()
