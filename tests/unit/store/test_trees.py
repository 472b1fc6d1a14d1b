"""Trees: parsed byte-exact, spliced without ever writing through a link."""

from __future__ import annotations

import pytest

from memory_vault.store import trees

A = "a" * 40


B = "b" * 40


class Store:
    """Trees kept in a dict, the way git keeps them by id: enough for the pure splice."""

    def __init__(self) -> None:
        self.trees: dict[str, dict[str, trees.Entry]] = {}

    def read(self, sha: str) -> dict[str, trees.Entry]:
        return dict(self.trees[sha])

    def make(self, entries: dict[str, trees.Entry]) -> str:
        key = f"t{len(self.trees)}"
        self.trees[key] = dict(entries)
        return key



def test_parse_ls_tree_keeps_names_byte_exact() -> None:
    raw = (f"100644 blob {A}\tx.json\0".encode() + f"040000 tree {B}\t..\0".encode()
           + f"100644 blob {A}\t".encode() + b"caf\xe9.json\0")
    parsed = trees.parse_ls_tree(raw)
    assert parsed["x.json"] == trees.Entry("100644", "blob", A)
    assert parsed[".."].kind == "tree"
    assert "caf\udce9.json" in parsed
    assert trees.mktree_input({"caf\udce9.json": parsed["caf\udce9.json"]}).endswith(
        b"\tcaf\xe9.json\0")



def test_splice_replaces_only_the_changed_paths() -> None:
    store = Store()
    inner = store.make({"keep.json": trees.Entry("100644", "blob", A),
                        "..": trees.Entry("040000", "tree", B)})
    root = store.make({"rAgentShared": trees.Entry("040000", "tree", inner),
                       "README": trees.Entry("100644", "blob", A)})
    spliced = trees.splice(store.read, store.make, root, {
        ("rAgentShared", "memory.json"): trees.Entry("100644", "blob", B),
        ("rAgentShared", "bank", "a.md"): trees.Entry("100644", "blob", A)})
    top = store.read(spliced.tree)
    assert top["README"] == trees.Entry("100644", "blob", A)
    shared = store.read(top["rAgentShared"].sha)
    assert set(shared) == {"keep.json", "memory.json", "bank"}
    assert spliced.dropped == ["rAgentShared/.."]  # git's fsck forbids it: never written again
    assert store.read(shared["bank"].sha) == {"a.md": trees.Entry("100644", "blob", A)}


@pytest.mark.parametrize("name", ["../../x.json", "a/b", ".git", ".GIT.", "git~1", "", "."])
def test_entries_git_forbids_are_dropped_from_a_rewritten_folder(name: str) -> None:
    store = Store()
    inner = store.make({name: trees.Entry("100644", "blob", A),
                        "ok.json": trees.Entry("100644", "blob", A)})
    root = store.make({"s": trees.Entry("040000", "tree", inner)})
    spliced = trees.splice(store.read, store.make, root,
                           {("s", "new.json"): trees.Entry("100644", "blob", B)})
    assert set(store.read(store.read(spliced.tree)["s"].sha)) == {"ok.json", "new.json"}
    assert spliced.dropped == [f"s/{name}"]



def test_splice_refuses_to_write_under_a_symlink_and_applies_the_rest() -> None:
    store = Store()
    root = store.make({"s": trees.Entry("040000", "tree", store.make({
        "bank": trees.Entry("120000", "blob", A)}))})
    spliced = trees.splice(store.read, store.make, root, {
        ("s", "bank", "a.md"): trees.Entry("100644", "blob", B),
        ("s", "memory.json"): trees.Entry("100644", "blob", B)})
    assert spliced.refused == {"s/bank/a.md": "s/bank is a symbolic link in the vault, not a "
                                               "folder"}
    shared = store.read(store.read(spliced.tree)["s"].sha)
    assert set(shared) == {"bank", "memory.json"} and shared["bank"].mode == "120000"



def test_splice_from_nothing_and_deletions() -> None:
    store = Store()
    root = trees.splice(store.read, store.make, None,
                        {("s", "x"): trees.Entry("100644", "blob", A)}).tree
    gone = trees.splice(store.read, store.make, root, {("s", "x"): None}).tree
    assert store.read(store.read(gone)["s"].sha) == {}



def test_path_changes_from_diff_tree() -> None:
    raw = (b":000000 100644 " + b"0" * 40 + b" " + A.encode() + b" A\0rAgentShared/m.json\0"
           b":100644 000000 " + A.encode() + b" " + b"0" * 40 + b" D\0old.json\0")
    changes = trees.path_changes(raw)
    assert changes[("rAgentShared", "m.json")] == trees.Entry("100644", "blob", A)
    assert changes[("old.json",)] is None

