"""Transcripts larger than a host accepts (issue 26, point 9): a JSON Lines file over
MEMORY_VAULT_MAX_FILE_MB is stored as line-aligned pieces under the limit, an appended line
rewrites only the last piece, and every command sees one file, restored byte for byte.
Through the real program, with a limit of 0.05 MB (52,428 bytes)."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
from pathlib import Path
from typing import Any

from conftest import Vault, assert_fsck_clean, git

LIMIT = int(0.05 * 2**20)
SUB = "rAgentShared"


def _line(n: int, width: int = 180) -> str:
    """One JSON Lines record that compresses little (hex: about half), as a host sees it."""
    text = "".join(hashlib.sha256(f"{n}-{i}".encode()).hexdigest()
                   for i in range(width // 64 + 1))
    return json.dumps({"type": "message", "n": n, "text": text[:width]}) + "\n"


def _transcript(lines: int, start: int = 0) -> str:
    return "".join(_line(n) for n in range(start, start + lines))


def _setup(vault: Vault, **env: str) -> None:
    vault.env.update({"MEMORY_VAULT_MAX_FILE_MB": "0.05", "MEMORY_VAULT_FILES": "session.jsonl",
                      **env})


def _tree(vault: Vault, rev: str = "main") -> dict[str, str]:
    """Path below the subdir -> blob id, in the remote's `rev`."""
    out = vault.remote_git("ls-tree", "-r", "-z", rev, "--", f"{SUB}/")
    found = {}
    for record in out.split("\0"):
        if record:
            meta, _, path = record.partition("\t")
            found[path.removeprefix(f"{SUB}/")] = meta.split()[2]
    return found


def _pieces(vault: Vault, rev: str = "main") -> list[str]:
    """The blob ids of session.jsonl's pieces in `rev`, in order."""
    tree = _tree(vault, rev)
    names = sorted(p for p in tree if p.startswith("session.jsonl.pieces/"))
    assert names == [f"session.jsonl.pieces/{n:06d}" for n in range(1, len(names) + 1)]
    return [tree[n] for n in names]


def _json(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def _plan(result: subprocess.CompletedProcess[str]) -> list[tuple[str, str]]:
    """(action, file) of each line of a restore's plan."""
    assert result.returncode == 0, result.stdout + result.stderr
    return [(line.split()[0], line.split()[1]) for line in result.stdout.splitlines()
            if line.startswith("  ")]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_large_transcript_is_stored_in_pieces_and_restored_byte_for_byte(
        vault: Vault, tmp_path: Path) -> None:
    _setup(vault)
    source = vault.write("session.jsonl", _transcript(1500), age=30)
    size, digest = source.stat().st_size, _sha256(source)
    assert size > 5 * LIMIT

    result = vault.sync()
    assert result.returncode == 0, result.stderr
    blobs = _pieces(vault)
    assert "session.jsonl" not in _tree(vault) and len(blobs) >= 6
    sizes = [int(vault.remote_git("cat-file", "-s", b).strip()) for b in blobs]
    assert all(s <= LIMIT for s in sizes) and sum(sizes) == size
    joined = b"".join(vault.remote_git("cat-file", "blob", b).encode() for b in blobs)
    assert joined == source.read_bytes()
    assert all(vault.remote_git("cat-file", "blob", b).endswith("\n") for b in blobs)
    message = vault.remote_git("log", "-1", "--format=%B", "main")
    assert f"session.jsonl: {size} bytes, sha256 {digest}" in message.splitlines()
    assert "pieces" not in message

    status = _json(vault.run("status", "--json"))
    assert status["healthy"], status["problems"]
    assert [f["name"] for f in status["files"]] == ["session.jsonl"]
    history = _json(vault.run("history", "--json"))
    assert history[0]["files"] == ["session.jsonl"]
    assert _json(vault.run("history", "session.jsonl", "--json"))[0]["records"] == 1500
    verify = vault.run("verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "1 file restored from " in verify.stdout

    plan = _plan(vault.run("restore", "--dry-run", "--to", str(tmp_path / "x")))
    assert plan == [("restore", "session.jsonl")]
    source.unlink()
    assert _plan(vault.run("restore", "session.jsonl")) == [("restore", "session.jsonl")]
    assert _sha256(source) == digest
    again = _plan(vault.run("restore", "session.jsonl"))
    assert again == [("unchanged", "session.jsonl")]  # compared piece by piece
    assert vault.run("restore", "--to", str(tmp_path / "elsewhere")).returncode == 0
    assert _sha256(tmp_path / "elsewhere/session.jsonl") == digest

    # The clone's work tree shows what the tree holds: the pieces; `git status` is clean.
    assert (vault.clone / SUB / "session.jsonl.pieces/000001").is_file()
    assert git("status", "--porcelain", cwd=vault.clone) == ""
    assert_fsck_clean(vault.clone, vault.remote)


def test_an_appended_line_rewrites_only_the_last_piece(vault: Vault) -> None:
    _setup(vault)
    source = vault.write("session.jsonl", _transcript(1500), age=30)
    assert vault.sync().returncode == 0
    first = _pieces(vault)
    with source.open("a") as out:
        out.write(_line(1500))
    os.utime(source, (source.stat().st_mtime - 30,) * 2)
    result = vault.sync()
    assert result.returncode == 0, result.stderr
    second = _pieces(vault)
    assert second[:-1] == first[:-1] and second[-1] != first[-1]
    changed = vault.remote_git("diff", "--name-only", "main~1", "main").split()
    assert changed == [f"{SUB}/session.jsonl.pieces/{len(second):06d}"]

    history = _json(vault.run("history", "session.jsonl", "--json"))
    assert [(e["records"], e["added"], e["removed"]) for e in history] == [
        (1501, 1, 0), (1500, 1500, 0)]
    assert all(e["files"] == ["session.jsonl"] for e in history)
    commits = [e["commit"] for e in history]
    report = _json(vault.run("diff", "session.jsonl", "--from", commits[1], "--to", commits[0],
                             "--json"))
    assert (len(report["added"]), len(report["removed"])) == (1, 0)
    assert report["records"] == {"before": 1500, "after": 1501, "added": 1, "removed": 0}
    with source.open("a") as out:  # against the source now: what the next sync will take
        out.write(_line(1501) + _line(1502))
    text = vault.run("diff", "session.jsonl")
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[0] == "session.jsonl: +2 -0 records (1,501 -> 1,503)"
    assert_fsck_clean(vault.clone, vault.remote)


def test_a_file_that_shrinks_below_the_limit_is_whole_again(vault: Vault) -> None:
    _setup(vault, MEMORY_VAULT_SHRINK_ALERT="0")
    source = vault.write("session.jsonl", _transcript(1500), age=30)
    assert vault.sync().returncode == 0
    many = len(_pieces(vault))

    vault.write("session.jsonl", _transcript(600), age=20)  # fewer pieces: the rest go
    assert vault.sync().returncode == 0
    fewer = _pieces(vault)
    assert 2 <= len(fewer) < many and "session.jsonl" not in _tree(vault)
    assert b"".join(vault.remote_git("cat-file", "blob", b).encode() for b in fewer) == (
        source.read_bytes())

    vault.write("session.jsonl", _transcript(50), age=10)  # under the limit: one blob
    assert vault.sync().returncode == 0
    tree = _tree(vault)
    assert list(tree) == ["session.jsonl"]
    assert vault.remote_file("session.jsonl") == source.read_bytes()
    assert not (vault.clone / SUB / "session.jsonl.pieces/000001").exists()
    assert (vault.clone / SUB / "session.jsonl").read_bytes() == source.read_bytes()
    assert git("status", "--porcelain", cwd=vault.clone) == ""

    vault.write("session.jsonl", _transcript(900, start=50), age=5)  # and in pieces again
    assert vault.sync().returncode == 0
    assert "session.jsonl" not in _tree(vault) and len(_pieces(vault)) >= 3
    history = _json(vault.run("history", "session.jsonl", "--json"))
    assert [e["records"] for e in history] == [900, 50, 600, 1500]
    old = _plan(vault.run("restore", "session.jsonl", "--commit", history[2]["commit"]))
    assert old == [("replace", "session.jsonl")]
    assert source.read_bytes() == _transcript(600).encode()
    assert _json(vault.run("diff", "session.jsonl", "--from", history[1]["commit"], "--to",
                           history[0]["commit"], "--json"))["records"] == {
        "before": 50, "after": 900, "added": history[0]["added"],
        "removed": history[0]["removed"]}
    assert_fsck_clean(vault.clone, vault.remote)


def test_other_files_over_the_limit_are_still_skipped(vault: Vault) -> None:
    _setup(vault, MEMORY_VAULT_FILES="memory.json,graph.json,session.jsonl")
    vault.write("memory.json", json.dumps({"facts": [_line(n) for n in range(400)]}), age=30)
    vault.write("graph.json", _transcript(400), age=30)  # JSON Lines inside, named .json
    vault.write("session.jsonl", _transcript(400), age=30)
    result = vault.sync()
    assert result.returncode == 3
    for name in ("memory.json", "graph.json"):
        assert f"{name}: skipped, too large" in result.stderr
    assert "session.jsonl: skipped" not in result.stderr
    assert list(_tree(vault)) == [f"session.jsonl.pieces/{n:06d}"
                                  for n in range(1, len(_pieces(vault)) + 1)]


def test_a_line_longer_than_the_limit_skips_the_file_with_its_reason(vault: Vault) -> None:
    _setup(vault)
    source = vault.write("session.jsonl", _transcript(100) + _line(0, width=LIMIT + 10)
                         + _transcript(100), age=30)
    result = vault.sync()
    assert result.returncode == 3
    assert "session.jsonl: skipped, too large" in result.stderr
    assert "longer than the limit" in result.stderr
    report = json.loads(vault.run("status", "--json").stdout)
    assert [(p["kind"], p["file"]) for p in report["problems"]] == [
        ("never-backed-up", "session.jsonl")]
    spill = vault.data / "spill"
    assert not spill.exists() or list(spill.iterdir()) == []  # nothing read is left behind
    assert source.exists()


def test_a_torn_line_in_a_middle_piece_is_named_and_then_tolerated(vault: Vault) -> None:
    _setup(vault)
    lines = [_line(n) for n in range(1500)]
    lines[700] = '{"n": 700, "torn\n'
    vault.write("session.jsonl", "".join(lines), age=30)
    first = vault.sync()
    assert first.returncode == 3 and "line 701 is not JSON" in first.stderr
    second = vault.sync()  # the same torn line seen again: backed up, with a warning
    assert second.returncode == 0, second.stderr
    assert len(_pieces(vault)) >= 6


def test_a_remote_that_refuses_large_blobs_accepts_every_push(vault: Vault,
                                                               tmp_path: Path) -> None:
    hook = vault.remote / "hooks/pre-receive"
    hook.write_text(f"""#!/bin/sh
# Refuse any blob over {LIMIT} bytes, as a host refuses files over 100 MB.
while read old new ref; do
  git rev-list --objects "$new" --not --all | cut -d' ' -f1 |
    git cat-file --batch-check='%(objecttype) %(objectsize)' |
    while read type size; do
      if [ "$type" = blob ] && [ "$size" -gt {LIMIT} ]; then
        echo "refused: a blob of $size bytes" >&2; exit 1
      fi
    done || exit 1
done
""")
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    _refuses_a_large_blob(vault, tmp_path)

    _setup(vault)
    source = vault.write("session.jsonl", _transcript(1500), age=30)
    result = vault.sync()
    assert result.returncode == 0, result.stderr
    # From now on a push may carry less than two pieces' worth, which the whole transcript
    # would not (packed, it is more); a push of the last piece does.
    assert _packed_size(tmp_path, source) > 2 * LIMIT
    vault.remote_git("config", "receive.maxInputSize", str(2 * LIMIT))
    for n in range(1500, 1503):
        with source.open("a") as out:
            out.write(_line(n))
        os.utime(source, (source.stat().st_mtime - 30,) * 2)
        result = vault.sync()
        assert result.returncode == 0, result.stderr
    assert vault.remote_git("rev-parse", "main").strip() == git(
        "rev-parse", "main", cwd=vault.clone).strip()
    assert _json(vault.run("history", "session.jsonl", "--json"))[0]["records"] == 1503
    assert_fsck_clean(vault.clone, vault.remote)


def _refuses_a_large_blob(vault: Vault, tmp_path: Path) -> None:
    """The hook does refuse what the vault must never push: a blob over the limit."""
    probe = tmp_path / "probe"
    git("init", "-q", "--initial-branch=main", str(probe))
    (probe / "big.jsonl").write_text(_transcript(400))
    git("add", ".", cwd=probe)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "big", cwd=probe)
    pushed = subprocess.run(["git", "push", str(vault.remote), "main"], cwd=probe,
                            capture_output=True, text=True, check=False)
    assert pushed.returncode != 0 and "refused: a blob" in pushed.stderr


def _packed_size(tmp_path: Path, path: Path) -> int:
    """The bytes a push of `path` as one blob would send (git's own compression)."""
    repo = tmp_path / "packed"
    git("init", "-q", str(repo))
    blob = git("hash-object", "-w", str(path), cwd=repo).strip()
    packed = subprocess.run(["git", "pack-objects", "--stdout"], cwd=repo, input=blob.encode(),
                            capture_output=True, check=True).stdout
    return len(packed)
