"""Reading the vault: git's log, listings and object sizes parsed from literal bytes."""

from __future__ import annotations

from memory_vault.store import read as query


def test_git_log_parsing() -> None:
    raw = (b"\x1e" + b"a" * 40 + b"\x1f1700000000\x1fMemory vault sync (2 files)\0\n"
           b"rAgentShared/a.json\0rAgentShared/b.json\0"
           b"\x1e" + b"b" * 40 + b"\x1f1690000000\x1ffirst\0\nrAgentShared/a.json\0")
    entries = query.parse_log(raw)
    assert [e.when for e in entries] == [1700000000, 1690000000]
    assert entries[0].paths == ["rAgentShared/a.json", "rAgentShared/b.json"]
    assert entries[1].subject == "first"



def test_recursive_listing_below_the_subdir() -> None:
    raw = (b"100644 blob " + b"a" * 40 + b"\trAgentShared/x.json\0"
           b"120000 blob " + b"b" * 40 + b"\trAgentShared/link\0"
           b"100644 blob " + b"c" * 40 + b"\tother/y.json\0")
    found = query.parse_ls_tree_recursive(raw, "rAgentShared")
    assert set(found) == {"x.json", "link"} and found["link"].mode == "120000"



def test_object_sizes_are_parsed_from_batch_check() -> None:
    assert query.parse_object_sizes(b"a1b2c3d4 120\nffffffff 7\n") == [
        ("a1b2c3d4", 120), ("ffffffff", 7)]

