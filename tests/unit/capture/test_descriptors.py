"""The descriptor rule (issue 25): a file is opened from the source dir's descriptor with no
link followed along the path resolved at the check, and a link swapped in after the check is
refused, for plain files and SQLite databases alike; a quiet file is read on the change
time, which a future mtime cannot fake."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest

from memory_vault.capture import read, sqlite
from memory_vault.capture.version import Version
from memory_vault.sources.names import resolve
from memory_vault.sources.scan import Skip


def _source(tmp_path: Path) -> tuple[Path, Path]:
    source, outside = tmp_path / "source", tmp_path / "outside"
    (source / "sub").mkdir(parents=True)
    outside.mkdir()
    (source / "sub/memory.json").write_text('{"mine": 1}')
    (outside / "memory.json").write_text('{"secret": 1}')
    return source, outside


def test_a_folder_swapped_for_a_link_after_the_check_is_refused(tmp_path: Path) -> None:
    source, outside = _source(tmp_path)
    relative = resolve(str(source), "sub/memory.json")
    assert relative == "sub/memory.json"
    (source / "sub").rename(source / "parked")
    (source / "sub").symlink_to(outside)
    outcome = read.read_version("sub/memory.json", str(source), relative, 2**20)
    assert isinstance(outcome, Skip) and outcome.reason == read.SWAPPED


def test_a_file_swapped_for_a_link_after_the_check_is_refused(tmp_path: Path) -> None:
    source, outside = _source(tmp_path)
    relative = resolve(str(source), "sub/memory.json")
    assert relative is not None
    (source / "sub/memory.json").unlink()
    (source / "sub/memory.json").symlink_to(outside / "memory.json")
    outcome = read.read_version("sub/memory.json", str(source), relative, 2**20)
    assert isinstance(outcome, Skip) and outcome.reason == read.SWAPPED


def test_a_link_inside_is_read_along_its_resolved_path(tmp_path: Path) -> None:
    source, _ = _source(tmp_path)
    (source / "alias.json").symlink_to("sub/memory.json")
    relative = resolve(str(source), "alias.json")
    assert relative == "sub/memory.json"
    os.utime(source / relative, (time.time() - 10, time.time() - 10))
    outcome = read.read_version("alias.json", str(source), relative, 2**20)
    assert isinstance(outcome, Version) and bytes(outcome.data or b"") == b'{"mine": 1}'


def test_a_future_mtime_is_read_once_the_change_time_is_quiet(tmp_path: Path) -> None:
    source, _ = _source(tmp_path)
    tomorrow = time.time() + 86400
    os.utime(source / "sub/memory.json", (tomorrow, tomorrow))
    started = time.monotonic()
    outcome = read.read_version("sub/memory.json", str(source), "sub/memory.json", 2**20)
    assert isinstance(outcome, Version) and bytes(outcome.data or b"") == b'{"mine": 1}'
    assert time.monotonic() - started < read.BUDGET_NS / 1e9  # quiet, not given up on


def test_an_early_read_of_a_file_just_written_counts_once_a_later_read_agrees(
        tmp_path: Path) -> None:
    """`early`: a file written a moment ago is handed back at once, unconfirmed, and the
    read that proves it is made later, by `confirm`, once it may have been quiet enough."""
    source, _ = _source(tmp_path)
    started = time.monotonic()
    outcome = read.read_version("sub/memory.json", str(source), "sub/memory.json", 2**20,
                                early=True)
    assert time.monotonic() - started < read.QUIET_NS / 1e9  # no wait here
    assert isinstance(outcome, Version) and bytes(outcome.data or b"") == b'{"mine": 1}'
    assert outcome.unconfirmed is not None
    assert outcome.unconfirmed.confirm()
    assert time.time_ns() - (source / "sub/memory.json").stat().st_ctime_ns >= read.QUIET_NS


def test_an_early_read_does_not_count_once_the_file_moved_on(tmp_path: Path) -> None:
    """Rewritten in place after the early read (the same size, even the same bytes), the
    file does not confirm it: its read is made again, the ordinary way."""
    source, _ = _source(tmp_path)
    path = source / "sub/memory.json"
    for rewrite in (b'{"mine": 2}', b'{"mine": 1}'):
        outcome = read.read_version("sub/memory.json", str(source), "sub/memory.json", 2**20,
                                    early=True)
        assert isinstance(outcome, Version) and outcome.unconfirmed is not None
        with path.open("r+b") as f:
            f.write(rewrite)
        assert not outcome.unconfirmed.confirm()


def test_a_quiet_file_is_never_left_unconfirmed(tmp_path: Path) -> None:
    source, _ = _source(tmp_path)
    time.sleep(read.SETTLED_NS / 1e9)
    outcome = read.read_version("sub/memory.json", str(source), "sub/memory.json", 2**20,
                                early=True)
    assert isinstance(outcome, Version) and outcome.unconfirmed is None


def _database(path: Path, fact: str, *, wal: bool = False) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    if wal:
        db.execute("PRAGMA journal_mode=wal")
        db.execute("PRAGMA wal_autocheckpoint=0")
    db.execute("CREATE TABLE memory (fact TEXT)")
    db.execute("INSERT INTO memory VALUES (?)", (fact,))
    db.commit()
    return db


def test_a_database_is_copied_with_its_wal_through_the_folder_descriptor(
        tmp_path: Path) -> None:
    source, _ = _source(tmp_path)
    writer = _database(source / "sub/agent.db", "only in the wal", wal=True)
    try:
        assert (source / "sub/agent.db-wal").stat().st_size > 0
        outcome = sqlite.read_database("sub/agent.db", str(source), "sub/agent.db",
                                       max_bytes=2**20, check=True)
    finally:
        writer.close()
    assert isinstance(outcome, Version) and outcome.data is not None
    assert b"only in the wal" in outcome.data


def test_a_database_swapped_for_a_link_before_sqlite_opens_it_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite resolves the name it is given again: a link swapped in just before it opens
    the database (the worst moment, made deterministic here) must not be copied."""
    source, outside = _source(tmp_path)
    _database(source / "sub/agent.db", "mine").close()
    _database(outside / "secret.db", "outside-marker").close()
    handed_over = sqlite.Checked.path

    def swap_then_hand_over(checked: sqlite.Checked, source_dir: str, relative: str) -> str:
        (source / "sub/agent.db").rename(source / "parked.db")
        (source / "sub/agent.db").symlink_to(outside / "secret.db")
        return handed_over(checked, source_dir, relative)

    monkeypatch.setattr(sqlite.Checked, "path", swap_then_hand_over)
    outcome = sqlite.read_database("sub/agent.db", str(source), "sub/agent.db",
                                   max_bytes=2**20, check=True)
    assert isinstance(outcome, Skip), outcome
    assert "another file than the one checked" in outcome.reason


def test_a_wal_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    source, outside = _source(tmp_path)
    _database(source / "sub/agent.db", "mine").close()
    (outside / "x.db-wal").write_bytes(b"")
    (source / "sub/agent.db-wal").symlink_to(outside / "x.db-wal")
    outcome = sqlite.read_database("sub/agent.db", str(source), "sub/agent.db",
                                   max_bytes=2**20, check=True)
    assert isinstance(outcome, Skip) and "-wal file is not a regular file" in outcome.reason
