"""Compare: what changed between two versions of one memory file, record by record.

In each format's own terms: JSON key paths; the MCP memory server's entities (by name, with
the observations learned and forgotten) and relations; other JSON Lines by their
`id`/`name`/`key`; text by line, each under its Markdown heading; SQLite by table and
primary key. The records added and removed are counted once, as `history` counts them
(`records.changes`); a record changed in place is one of each.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass, field

from memory_vault.content import formats
from memory_vault.content.records import (
    changes,
    count,
    leaves,
    lines,
    note,
    open_image,
    tables,
    uncounted,
)

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
    gained: int | None = None  # records added and removed, as `history` counts them
    lost: int | None = None
    added: list[Change] = field(default_factory=list)
    removed: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    note: str | None = None  # e.g. a binary file: sizes and hashes only
    not_counted: str | None = None  # tables left out of the counts (a `vec0` table), and why


# -- comparing ---------------------------------------------------------------------------------

def compare(fmt: str, old: bytes | None, new: bytes | None) -> Comparison:
    """Two versions (None: the file did not exist) of one format, record by record."""
    result = Comparison(fmt, _safe_count(fmt, old), _safe_count(fmt, new))
    if fmt == formats.BYTES or (result.before is None and result.after is None
                                and bool(old or new)):
        result.note = _bytes_note(old, new)
        return result
    counted = changes(fmt, old, new)
    if counted is not None:
        result.gained, result.lost = counted
    if fmt == formats.SQLITE:
        result.not_counted = _not_counted(fmt, new or old)
    if fmt == formats.TEXT:
        result.added, result.removed = _text_changes(old or b"", new or b"")
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


def _not_counted(fmt: str, data: bytes | None) -> str | None:
    """`not counted: vec_items (no such module: vec0)`: the counts say what they leave out."""
    try:
        return note(uncounted(fmt, data or b""))
    except (ValueError, sqlite3.Error):
        return None


def _keyed(fmt: str, data: bytes | None) -> dict[str, object]:
    if not data:
        return {}
    if fmt == formats.JSON:
        return {path: json.dumps(value, ensure_ascii=False) for path, value in leaves(data)}
    if fmt == formats.JSONL:
        return _keyed_lines(data)
    if fmt == formats.SQLITE:
        with open_image(data) as db:
            keyed: dict[str, object] = {f"schema {name}": sql for name, sql in _schema(db)}
            for table, rows in tables(db).items():
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

def _text_changes(old: bytes, new: bytes) -> tuple[list[Change], list[Change]]:
    """The lines added and removed (the records `history` counts, as a multiset: a line
    that moved is neither), each shown under the Markdown heading it stands in; a heading
    is a record of its own."""
    old_lines, new_lines = _sections(old), _sections(new)
    gone = Counter(raw for _s, raw, _t in old_lines)
    came = Counter(raw for _s, raw, _t in new_lines)
    gone, came = gone - came, came - gone
    return ([Change(section, new=text) for section, text in _pick(new_lines, old_lines, came)],
            [Change(section, old=text) for section, text in _pick(old_lines, new_lines, gone)])


Located = list[tuple[str, bytes, str]]  # (its heading, the line as it is, as shown)


def _sections(data: bytes) -> Located:
    """Each line of `data` with the Markdown heading it stands under ("" for a heading
    and for what comes before the first)."""
    found = []
    section = ""
    for raw in lines(data):
        text = raw.decode("utf-8", "replace").strip()
        if text.startswith("#"):
            section = text
            found.append(("", raw, text))
        else:
            found.append((section, raw, text))
    return found


def _pick(these: Located, others: Located, wanted: Counter[bytes]) -> list[tuple[str, str]]:
    """Which occurrences of the lines `wanted` counts to show, in order: those under a
    heading the other version does not have them under first."""
    extra = Counter((s, raw) for s, raw, _t in these) - Counter((s, raw) for s, raw, _t in others)
    chosen: set[int] = set()
    for first_pass in (True, False):
        for i, (section, raw, _text) in enumerate(these):
            if i in chosen or wanted[raw] <= 0 or (first_pass and extra[(section, raw)] <= 0):
                continue
            chosen.add(i)
            wanted[raw] -= 1
            extra[(section, raw)] -= 1
    return [(these[i][0], these[i][2]) for i in sorted(chosen)]


def _schema(db: sqlite3.Connection) -> list[tuple[str, str]]:
    return [(row[0], row[1] or "") for row in db.execute(
        "SELECT name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")]


