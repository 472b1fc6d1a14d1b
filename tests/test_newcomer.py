"""A newcomer's first hour: help that reads whole, -q that silences, options where the README
says they work, restore by the names a person types, hints that say what to run next."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import Vault, base_env


def test_top_level_help_lists_every_command_untruncated(vault: Vault) -> None:
    shown = vault.run("--help").stdout
    commands = shown.split("Commands:")[1]
    for name in ("ack", "diff", "history", "init", "restore", "schedule", "status", "sync",
                 "verify"):
        assert f"\n  {name} " in commands
    assert "..." not in commands


@pytest.mark.parametrize("command", [["sync"], ["init"], ["restore"], ["history"],
                                     ["diff"], ["ack"], ["status"], ["verify"],
                                     ["schedule"], ["schedule", "install"]])
def test_each_help_ends_with_real_examples(vault: Vault, command: list[str]) -> None:
    shown = vault.run(*command, "--help").stdout.rstrip().splitlines()
    examples = shown.index("  Examples:")
    assert all(line.strip().startswith("memory-vault") for line in shown[examples + 1:])


def test_restore_help_explains_when(vault: Vault) -> None:
    assert "2026-11-24T09:00Z" in vault.run("restore", "--help").stdout


def test_a_bad_limit_says_what_it_expects(vault: Vault) -> None:
    result = vault.run("history", "--limit", "abc")
    assert result.returncode == 2
    assert "'abc' is not a whole number of commits (1 or more)" in result.stderr


def test_quiet_silences_every_command(vault: Vault) -> None:
    vault.write("memory.json", "{}", age=10)
    assert vault.sync().returncode == 0
    for command in (["status"], ["history"], ["verify"], ["restore", "--to",
                                                         str(vault.tmp / "q")]):
        result = vault.run(*command, "-q")
        assert result.returncode == 0, command
        assert result.stdout == "", command


def test_global_options_work_on_the_schedule_group(vault: Vault, tmp_path: Path) -> None:
    env_file = tmp_path / "x.env"
    env_file.write_text(f"MEMORY_VAULT_SOURCE_DIR={vault.source}\n")
    bare = tmp_path / "bin"
    bare.mkdir()
    result = vault.run("schedule", "--env-file", str(env_file), "show",
                       env={"PATH": f"{bare}:/usr/bin:/bin"})
    assert "No such option" not in result.stderr
    assert f"--env-file {env_file}" in result.stdout


def test_history_of_an_empty_vault_says_so(embedded: Vault, tmp_path: Path) -> None:
    init = embedded.run("init", "--env-file", str(tmp_path / "e.env"))  # a vault, no backup
    assert init.returncode == 0, init.stderr
    result = embedded.run("history", "--env-file", str(tmp_path / "e.env"))
    assert result.returncode == 0
    assert "no backups yet" in result.stdout


def test_restore_by_path_and_by_glob(vault: Vault) -> None:
    vault.write("memory.json", '{"m": 1}', age=10)
    vault.write("gpt4_memories.json", '{"g": 1}', age=10)
    vault.write("claude_opus_memories.json", '{"c": 1}', age=10)
    assert vault.sync().returncode == 0
    for name in ("memory.json", "gpt4_memories.json", "claude_opus_memories.json"):
        (vault.source / name).unlink()

    by_path = vault.run("restore", str(vault.source / "memory.json"), cwd=vault.tmp)
    by_glob = vault.run("restore", "*_memories.json")

    assert by_path.returncode == 0, by_path.stderr
    assert by_glob.returncode == 0, by_glob.stderr
    assert (vault.source / "memory.json").read_bytes() == b'{"m": 1}'
    assert (vault.source / "gpt4_memories.json").read_bytes() == b'{"g": 1}'
    assert (vault.source / "claude_opus_memories.json").read_bytes() == b'{"c": 1}'
    relative = vault.run("restore", "agents/memory.json", "--dry-run", cwd=vault.tmp)
    assert relative.returncode == 0, relative.stderr


def test_restore_prints_its_plan_once_before_the_work(vault: Vault) -> None:
    vault.write("memory.json", '{"m": 1}', age=10)
    assert vault.sync().returncode == 0
    result = vault.run("restore", "--to", str(vault.tmp / "look"))
    lines = result.stdout.splitlines()
    assert sum(line.startswith("Restoring from") for line in lines) == 1
    assert lines.index(next(x for x in lines if x.startswith("Restoring from"))) == 0
    # not the agents' folder: the reminder says when to restart (SPEC: restore ends with it)
    assert lines[-1].startswith("Restart the agent system once these files are back")


def test_a_new_machine_restore_says_how_to_resume_backups(vault: Vault,
                                                          tmp_path: Path) -> None:
    vault.write("memory.json", '{"m": 1}', age=10)
    assert vault.sync().returncode == 0
    new_home = tmp_path / "new-home"
    new_home.mkdir()
    env = base_env(new_home)
    env.update(MEMORY_VAULT_REMOTE=str(vault.remote), MEMORY_VAULT_SOURCE_DIR=str(vault.source),
               MEMORY_VAULT_LOG_FILE=str(tmp_path / "log"))
    shutil.rmtree(vault.data)
    (vault.source / "memory.json").unlink()
    result = vault.run("restore", env=env)
    assert result.returncode == 0, result.stderr
    assert "Restart the agent system" in result.stdout
    assert f"init --source {vault.source} --remote {vault.remote}" in result.stdout


def test_hints_name_the_command_as_it_was_run(vault: Vault, tmp_path: Path) -> None:
    result = vault.run("init", "--env-file", str(tmp_path / "n.env"))
    assert result.returncode == 0, result.stderr
    assert "sync_memory_vault.py --now" in result.stdout
