"""Formats: recognised by content, judged whole or not."""

from __future__ import annotations

import pytest

from memory_vault.capture.sqlite import SQLITE_HEADER
from memory_vault.content import formats


@pytest.mark.parametrize(("name", "data", "fmt", "problem"), [
    ("memory.json", b'{"a": 1}', formats.JSON, None),
    ("memory.json", b"", formats.JSON, "the file is empty"),
    ("memory.json", b'{"type":"entity","name":"A","observations":[]}', formats.JSONL, None),
    ("memory.json", b'{"a":1}\n{"b":2}', formats.JSONL, None),
    ("memory.json", b'{"a":1}\n{"b":', formats.JSONL, "being written"),
    ("log.jsonl", b'{"a":1}\nnope\n{"c":3}\n', formats.JSONL, "line 2 is not JSON"),
    ("log.jsonl", b"", formats.JSONL, None),
    ("CLAUDE.md", b"# hi\n", formats.TEXT, None),
    ("CLAUDE.md", b"\xff", formats.TEXT, "not valid UTF-8"),
    ("blob.bin", b"\xff\x00", formats.BYTES, None),
    ("x.db", SQLITE_HEADER + b"\0" * 84, formats.SQLITE, None),
])
def test_formats(name: str, data: bytes, fmt: str, problem: str | None) -> None:
    verdict = formats.judge(name, data)
    assert verdict.format == fmt
    if problem is None:
        assert verdict.problem is None
    else:
        assert verdict.problem is not None and problem in verdict.problem

