"""Pieces (issue 26, point 9): a JSON Lines file over the limit read as line-aligned pieces,
greedily from its start, so that appending leaves every piece but the last as it was; the
vault's names for them; a listing folded back into one file."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import time
from pathlib import Path

from memory_vault.capture import pieces
from memory_vault.capture.read import read_version
from memory_vault.capture.version import Version
from memory_vault.pipeline import capture
from memory_vault.sources.scan import Skip
from memory_vault.store import trees
from memory_vault.store.pieced import Pieced, fold_pieces

LIMIT = 1000


def _lines(count: int, start: int = 0) -> bytes:
    return b"".join(json.dumps({"n": n, "pad": "x" * (n % 70)}).encode() + b"\n"
                    for n in range(start, start + count))


def _write(folder: Path, data: bytes, name: str = "s.jsonl") -> Path:
    path = folder / name
    path.write_bytes(data)
    os.utime(path, (time.time() - 30, time.time() - 30))
    return path


def _read(folder: Path, spill: pieces.Spill | None = None,
          name: str = "s.jsonl") -> Version | Skip | None:
    reading = pieces.Reading(name, LIMIT, spill or pieces.Spill(str(folder / "spill")),
                             capture.check_piece)
    return read_version(name, str(folder), name, LIMIT, pieced=reading)


def _split(version: Version | Skip | None) -> list[bytes]:
    assert isinstance(version, Version) and version.pieces is not None
    return [p.read() for p in version.pieces]


def test_pieces_are_cut_greedily_between_lines_and_join_to_the_file(tmp_path: Path) -> None:
    data = _lines(200)
    _write(tmp_path, data)
    version = _read(tmp_path)
    parts = _split(version)
    assert isinstance(version, Version)
    assert b"".join(parts) == data and len(parts) > 5
    assert all(len(p) <= LIMIT for p in parts) and all(p.endswith(b"\n") for p in parts)
    for piece, after in itertools.pairwise(parts):  # the next line did not fit
        assert len(piece) + len(after.split(b"\n")[0]) + 1 > LIMIT
    assert version.size == len(data) and version.sha256 == hashlib.sha256(data).hexdigest()
    assert version.data is None and version.stat_size == len(data)
    assert [p.verdict.records for p in version.pieces or []  # type: ignore[attr-defined]
            ] == [p.count(b"\n") for p in parts]
    blob = hashlib.sha1(b"blob %d\0" % len(parts[0]) + parts[0], usedforsecurity=False)
    assert version.pieces is not None and version.pieces[0].blob == blob.hexdigest()


def test_appending_leaves_every_piece_but_the_last_as_it_was(tmp_path: Path) -> None:
    data = _lines(200)
    _write(tmp_path, data)
    before = _split(_read(tmp_path))
    for extra in (_lines(1, 200), _lines(30, 201)):  # one line; then more than a piece holds
        data += extra
        _write(tmp_path, data)
        after = _split(_read(tmp_path))
        assert after[:len(before) - 1] == before[:-1]
        assert after[len(before) - 1].startswith(before[-1])
        before = after


def test_a_file_without_a_last_newline_ends_its_last_piece(tmp_path: Path) -> None:
    data = _lines(100) + b'{"last": true}'
    _write(tmp_path, data)
    assert b"".join(_split(_read(tmp_path))) == data


def test_a_line_longer_than_the_limit_cannot_be_cut(tmp_path: Path) -> None:
    data = _lines(20) + b'{"long": "' + b"y" * LIMIT + b'"}\n' + _lines(20)
    _write(tmp_path, data)
    spill = pieces.Spill(str(tmp_path / "spill"))
    found = _read(tmp_path, spill)
    assert isinstance(found, Skip) and "longer than the limit" in found.reason
    assert found.reason.startswith("too large")
    assert os.listdir(tmp_path / "spill") == []  # what was spilled is gone


def test_a_second_look_reuses_the_pieces_it_read_the_same(tmp_path: Path) -> None:
    data = _lines(200)
    path = _write(tmp_path, data)
    spill = pieces.Spill(str(tmp_path / "spill"))
    judged: list[int] = []

    def judge(piece: bytes, at: pieces.At) -> object:
        judged.append(at.number)
        return capture.check_piece(piece, at)

    reading = pieces.Reading("s.jsonl", LIMIT, spill, judge)
    fd = os.open(path, os.O_RDONLY)
    first = reading.look(fd, len(data))
    os.close(fd)
    assert isinstance(first, pieces.Pieces)
    count = len(first.pieces)
    with path.open("ab") as out:
        out.write(_lines(1, 200))
    fd = os.open(path, os.O_RDONLY)
    second = reading.look(fd, path.stat().st_size)
    os.close(fd)
    assert isinstance(second, pieces.Pieces)
    assert second.pieces[:-1] == first.pieces[:-1]  # the same objects: not read into spill
    assert judged == [*range(1, count + 1), count]  # only the last judged again
    assert len(os.listdir(tmp_path / "spill")) == len(second.pieces)
    reading.discard()
    assert os.listdir(tmp_path / "spill") == []


def test_a_file_that_grows_during_a_look_is_not_taken(tmp_path: Path) -> None:
    data = _lines(200)
    path = _write(tmp_path, data)
    reading = pieces.Reading("s.jsonl", LIMIT, pieces.Spill(None), capture.check_piece)
    fd = os.open(path, os.O_RDONLY)
    with path.open("ab") as out:
        out.write(b"{}\n")
    assert reading.look(fd, len(data)) is None
    os.close(fd)


def test_a_spill_sweeps_what_a_dead_run_left(tmp_path: Path) -> None:
    folder = tmp_path / "spill"
    folder.mkdir()
    (folder / "999999999-1-abcd").write_bytes(b"old")
    (folder / f"{os.getpid()}-9-abcd").write_bytes(b"ours")
    spill = pieces.Spill(str(folder))
    path = spill.write(b"new")
    assert path is not None and Path(path).read_bytes() == b"new"
    assert sorted(os.listdir(folder)) == sorted([f"{os.getpid()}-9-abcd", Path(path).name])
    assert pieces.Spill(None).write(b"dry run") is None


def test_the_vault_names_of_pieces() -> None:
    assert pieces.pieceable("a/s.JSONL") and pieces.pieceable("x.ndjson")
    assert not pieces.pieceable("memory.json")
    assert pieces.piece_path("a/s.jsonl", 2) == "a/s.jsonl.pieces/000002"
    assert pieces.owner("a/s.jsonl.pieces/000002") == "a/s.jsonl"
    assert pieces.owner("a/s.jsonl.pieces/deeper/x") == "a/s.jsonl"
    assert pieces.owner("a/s.md.pieces/000001") == "a/s.md.pieces/000001"
    assert pieces.reserved_problem("s.jsonl.pieces/000001") is not None
    assert pieces.reserved_problem("s.jsonl") is None
    assert pieces.in_order(["000002", "000001"]) == ["000001", "000002"]
    assert pieces.in_order(["000001", "000003"]) is None
    assert pieces.in_order(["1"]) is None


def _blob(sha: str) -> trees.Entry:
    return trees.Entry(trees.BLOB_MODE, "blob", sha)


def test_a_listing_folds_pieces_into_one_file() -> None:
    tree = trees.Entry(trees.TREE_MODE, "tree", "t" * 40)
    found = fold_pieces({
        "a": tree, "a/s.jsonl.pieces": tree, "a/s.jsonl.pieces/000002": _blob("2" * 40),
        "a/s.jsonl.pieces/000001": _blob("1" * 40), "m.json": _blob("m" * 40),
        "bad.jsonl.pieces": tree, "bad.jsonl.pieces/000002": _blob("b" * 40),
        "both.jsonl": _blob("p" * 40), "both.jsonl.pieces": tree,
        "both.jsonl.pieces/000001": _blob("q" * 40),
        "link.jsonl.pieces": tree,
        "link.jsonl.pieces/000001": trees.Entry(trees.SYMLINK_MODE, "blob", "l" * 40),
    })
    assert sorted(found) == ["a/s.jsonl", "bad.jsonl", "both.jsonl", "link.jsonl", "m.json"]
    whole = found["a/s.jsonl"]
    assert isinstance(whole, Pieced) and whole.problem is None and whole.sha == "t" * 40
    assert [p.sha for p in whole.pieces] == ["1" * 40, "2" * 40]
    assert found["both.jsonl"] == _blob("p" * 40)  # a plain copy wins; no pieces shown
    for name in ("bad.jsonl", "link.jsonl"):
        entry = found[name]
        assert isinstance(entry, Pieced) and entry.problem


def test_a_torn_middle_line_is_named_in_the_whole_file_and_keyed_as_a_plain_file(
        tmp_path: Path) -> None:
    lines = _lines(200).split(b"\n")
    lines[120] = b'{"n": 120, "torn'
    data = b"\n".join(lines)
    _write(tmp_path, data)
    spill = pieces.Spill(str(tmp_path / "spill"))
    found = capture.capture("s.jsonl", str(tmp_path), max_bytes=LIMIT, validate=True,
                            spill=spill)
    assert isinstance(found, Skip) and found.reason == "JSON Lines: line 121 is not JSON"
    end = data.index(b"torn") + len(b"torn\n")
    assert found.sha256 == hashlib.sha256(data[:end]).hexdigest()  # as for a plain file
    assert os.listdir(tmp_path / "spill") == []
    tolerated = capture.capture("s.jsonl", str(tmp_path), max_bytes=LIMIT, validate=True,
                                tolerate=found.sha256, spill=spill)
    assert isinstance(tolerated, Version) and "line 121" in tolerated.note
    assert tolerated.records == 200 and tolerated.format == "jsonl"
    tolerated.release()
    assert os.listdir(tmp_path / "spill") == []


def test_a_last_line_being_written_is_read_again(tmp_path: Path) -> None:
    verdict, torn = capture.pieced_verdict([capture.PieceCheck(10),
                                            capture.PieceCheck(3, written=True)])
    assert verdict.retry and verdict.problem and torn == ""
    verdict, torn = capture.pieced_verdict([capture.PieceCheck(10), capture.PieceCheck(3)])
    assert verdict.problem is None and verdict.records == 13


def test_without_a_spill_a_large_transcript_stays_too_large(tmp_path: Path) -> None:
    _write(tmp_path, _lines(200))
    found = capture.capture("s.jsonl", str(tmp_path), max_bytes=LIMIT, validate=True)
    assert isinstance(found, Skip) and found.reason.startswith("too large")
