"""The remote moves on or goes away: nothing lost, ours at the tip, theirs in history."""

from __future__ import annotations

from pathlib import Path

from conftest import Vault, assert_fsck_clean, git


def _other_machine_pushes(vault: Vault, tmp_path: Path, files: dict[str, str]) -> str:
    other = tmp_path / "other"
    if not other.exists():
        git("clone", "-q", str(vault.remote), str(other))
    else:
        git("pull", "-q", cwd=other)
    for name, text in files.items():
        (other / "rAgentShared" / name).write_text(text)
        git("add", f"rAgentShared/{name}", cwd=other)
    git("-c", "user.name=Other", "-c", "user.email=other@x", "commit", "-qm", "other machine",
        cwd=other)
    git("push", "-q", "origin", "main", cwd=other)
    return git("rev-parse", "HEAD", cwd=other).strip()


def test_remote_ahead_replays_ours_on_top(vault: Vault, tmp_path: Path) -> None:
    vault.write("memory.json", '{"v": 1}', age=10)
    vault.write("gpt4_memories.json", '{"g": 1}', age=10)
    assert vault.sync().returncode == 0
    theirs = _other_machine_pushes(vault, tmp_path, {
        "memory.json": '{"v": "theirs"}',          # the same file, changed there
        "their_new_memories.json": '{"new": 1}',   # a new file from there
    })
    vault.write("memory.json", '{"v": "ours"}')

    result = vault.sync()

    assert result.returncode == 0, result.stderr
    assert vault.remote_file("memory.json") == b'{"v": "ours"}'  # ours at the tip
    assert vault.remote_file("their_new_memories.json") == b'{"new": 1}'
    assert vault.remote_file("gpt4_memories.json") == b'{"g": 1}'
    history = vault.remote_git("log", "--format=%H", "main").split()
    assert theirs in history  # theirs stays in history
    assert vault.remote_file("memory.json", theirs) == b'{"v": "theirs"}'
    assert vault.remote_git("log", "-1", "--format=%P", "main").strip() == theirs  # linear
    warnings = [line for line in vault.err_lines() if "WARNING" in line]
    assert any("rAgentShared/memory.json" in line and "tip" in line for line in warnings)
    # and the clone equals the remote
    assert git("rev-parse", "HEAD", cwd=vault.clone) == vault.remote_git("rev-parse", "main")
    assert_fsck_clean(vault.clone, vault.remote)


def test_unusable_clone_dir_outside_data_folder_fails_with_exit_1(vault: Vault,
                                                                  tmp_path: Path) -> None:
    foreign = tmp_path / "my-project"
    foreign.mkdir()
    (foreign / "precious.txt").write_text("do not touch")
    vault.env["MEMORY_VAULT_CLONE_DIR"] = str(foreign)
    vault.write("memory.json", "{}", age=10)

    result = vault.sync()

    assert result.returncode == 1
    assert "MEMORY_VAULT_CLONE_DIR" in result.stderr and "move it away" in result.stderr
    assert (foreign / "precious.txt").read_text() == "do not touch"
    assert sorted(p.name for p in foreign.iterdir()) == ["precious.txt"]
