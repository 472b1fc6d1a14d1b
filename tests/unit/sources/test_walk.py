"""The scan's own matcher and the path rule (issue 25): git's rules for a tree path, a
source dir that is the root folder, `**` past symlink loops, a bounded walk, and folders a
glob matches reported instead of dropped."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from memory_vault.sources import names, patterns
from memory_vault.sources import scan as sources


@pytest.mark.parametrize(("path", "why"), [
    ("memory.json", None),
    ("sub/x.json", None),
    ("back\\slash.json", None),
    (".github/x.json", None),
    ("m" * 255, None),
    ("", "empty"),
    ("sub//x.json", "empty path component"),
    ("/x.json", "empty path component"),
    ("sub/", "empty path component"),
    ("./memory.json", "'.' path component"),
    ("a/../b", "'..' path component"),
    ("a/.GIT/b", ".git"),
    ("a/.git. /b", ".git"),
    ("a/git~1/b", ".git"),
    (".g\u200cit/x", ".git"),
    ("a\0b", "NUL"),
    ("m" * 256, "255 bytes"),
])
def test_tree_path_problem_is_gits_fsck_rule(path: str, why: str | None) -> None:
    problem = names.tree_path_problem(path)
    if why is None:
        assert problem is None
    else:
        assert problem is not None and why in problem


def test_the_root_folder_holds_every_other_path() -> None:
    assert names.inside("/tmp/x/memory.json", "/") == "tmp/x/memory.json"
    assert names.inside("/", "/") is None
    assert names.inside("/data/x", "/data") == "x"
    assert names.inside("/database/x", "/data") is None


def test_a_scan_of_the_root_folder_finds_a_file_in_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / "agents/sub").mkdir(parents=True)
    (tmp_path / "agents/sub/memory.json").write_text("{}")
    relative = os.path.relpath(tmp_path / "agents/sub/memory.json", "/")
    result = sources.scan((relative,), "/", {}, read_all=True)
    assert [s.reason for s in result.skips] == []
    assert result.candidates == [relative]
    assert names.resolve("/", relative) == os.path.relpath(
        os.path.realpath(tmp_path / "agents/sub/memory.json"), "/")


def test_a_link_out_of_the_source_dir_resolves_to_nothing(tmp_path: Path) -> None:
    (tmp_path / "source").mkdir()
    (tmp_path / "secret.json").write_text("{}")
    (tmp_path / "source/memory.json").symlink_to(tmp_path / "secret.json")
    (tmp_path / "source/inner.json").symlink_to("memory.json")
    (tmp_path / "source/real.json").write_text("{}")
    (tmp_path / "source/alias.json").symlink_to("real.json")
    source = str(tmp_path / "source")
    assert names.resolve(source, "memory.json") is None
    assert names.resolve(source, "inner.json") is None
    assert names.resolve(source, "alias.json") == "real.json"


def _tree(root: Path, files: tuple[str, ...]) -> None:
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("{}")


def test_globstar_walks_past_symlink_loops_and_enters_each_folder_once(tmp_path: Path) -> None:
    _tree(tmp_path, ("memory.json", "sub/a.json", "sub/deeper/b.json"))
    (tmp_path / "sub/loop").symlink_to("..")
    (tmp_path / "sub/loop2").symlink_to("..")
    (tmp_path / "sub/deeper/up").symlink_to("../..")
    present, absent = sources.expand(("**/*.json", "sub/**/*.json"), str(tmp_path))
    assert present == ["memory.json", "sub/a.json", "sub/deeper/b.json"]
    assert absent == []


def test_a_walk_past_its_limit_stops_with_a_skip_naming_the_pattern(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _tree(tmp_path, tuple(f"d{i}/m{j}.json" for i in range(5) for j in range(5)))
    monkeypatch.setattr(patterns, "SCAN_LIMIT", 12)
    monkeypatch.setattr(sources, "SCAN_LIMIT", 12)
    result = sources.scan(("**/*.json",), str(tmp_path), {}, read_all=True)
    assert [s.name for s in result.skips] == ["**/*.json"]
    assert "stopped after 12" in result.skips[0].reason
    assert 0 < len(result.candidates) < 25


def test_a_folder_a_glob_matches_is_skipped_with_its_kind(tmp_path: Path) -> None:
    _tree(tmp_path, ("memory.json", "x_memories.json/inside.json"))
    result = sources.scan(("memory.json", "*_memories.json"), str(tmp_path), {},
                          read_all=True)
    assert result.candidates == ["memory.json"]
    assert [(s.name, s.reason) for s in result.skips] == [
        ("x_memories.json", "not a regular file (a directory)")]
    assert "x_memories.json" in result.present  # found, so reported, never silent


def test_the_scan_never_lets_a_name_git_refuses_through(tmp_path: Path) -> None:
    _tree(tmp_path, ("memory.json", "a/.GIT/x.json"))
    result = sources.scan(("memory.json", "a/.GIT/x.json", "a/*/x.json"), str(tmp_path), {},
                          read_all=True)
    assert result.candidates == ["memory.json"]
    assert {s.name for s in result.skips} == {"a/.GIT/x.json"}
