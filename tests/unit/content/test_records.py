"""Records of a database with a table that cannot be counted (issue 26, point 10).

A virtual table whose module is not loaded here (sqlite-vec's `vec0`) makes `count(*)` fail;
it is left out of the counts, with a note, and every other table still counts, so history,
diff and the shrink alarm work on such a database. The table is written into the schema as
sqlite-vec would write it, without sqlite-vec: no module named `vec0` exists in this process.
"""

from __future__ import annotations

import sqlite3

from memory_vault.content import compare, formats, records


def _database(memories: int) -> bytes:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE memories (id INTEGER PRIMARY KEY, text TEXT)")
    db.executemany("INSERT INTO memories (text) VALUES (?)",
                   [(f"memory {i}",) for i in range(memories)])
    # vec0's shadow tables are plain tables; the virtual table itself needs the module.
    db.execute("CREATE TABLE vec_items_rowids (rowid INTEGER PRIMARY KEY, id, chunk_id)")
    db.executemany("INSERT INTO vec_items_rowids (id, chunk_id) VALUES (?, 1)",
                   [(i,) for i in range(memories)])
    db.execute("PRAGMA writable_schema = ON")
    db.execute("INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES "
               "('table', 'vec_items', 'vec_items', 0, "
               "'CREATE VIRTUAL TABLE vec_items USING vec0(embedding float[4])')")
    db.execute("PRAGMA writable_schema = OFF")
    db.commit()
    image = db.serialize()
    db.close()
    return bytes(image)


def test_a_table_whose_module_is_missing_is_left_out_with_a_note() -> None:
    data = _database(5)
    assert records.count(formats.SQLITE, data) == 10  # memories and the shadow table
    left_out = records.uncounted(formats.SQLITE, data)
    assert list(left_out) == ["vec_items"] and "vec0" in left_out["vec_items"]
    assert records.note(left_out) == "not counted: vec_items (no such module: vec0)"
    assert records.note(records.uncounted(formats.JSON, b"{}")) is None


def test_history_and_diff_count_such_a_database() -> None:
    before, after = _database(6), _database(1)
    count, prints = records.measure(formats.SQLITE, after)
    assert count == 2 and prints is not None and sum(prints.values()) == 2
    added, removed = records.added_removed(records.measure(formats.SQLITE, before)[1], prints)
    assert (added, removed) == (0, 10)
    result = compare.compare(formats.SQLITE, before, after)
    assert (result.before, result.after) == (12, 2)
    assert {c.key for c in result.removed} >= {"memories[2]", "memories[6]"}
    assert not any(c.key.startswith("vec_items[") for c in result.removed)


def test_every_table_countable_has_no_note() -> None:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (x)")
    db.execute("INSERT INTO t VALUES (1)")
    db.commit()
    data = bytes(db.serialize())
    assert records.uncounted(formats.SQLITE, data) == {}
    assert records.count(formats.SQLITE, data) == 1
