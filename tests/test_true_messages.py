"""A user's first week (issue 28): every message says exactly what is true, and a hint
followed to the letter does what it promises."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

from conftest import SCRIPT, Vault, base_env, git


def _hint(stdout: str) -> list[str]:
    """The command between backticks of the resume hint, as a shell would split it."""
    line = next(x for x in stdout.splitlines() if "resumes them" in x)
    return shlex.split(line.split("`")[1])


def _as_a_shell_runs(words: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """`NAME=value ... program args`: the variables go to the environment, the program (the
    checkout's script, as the test ran it) with its arguments to argv."""
    env = dict(env)
    while "=" in words[0] and not words[0].startswith("/"):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    assert words[0] == str(SCRIPT)
    return [sys.executable, str(SCRIPT), *words[1:]], env


def test_the_new_machine_hint_carries_every_setting_the_restore_used(vault: Vault,
                                                                    tmp_path: Path) -> None:
    import subprocess

    settings = {"MEMORY_VAULT_FILES": "notes/*.md,memory.json",
                "MEMORY_VAULT_EXCLUDE": "notes/private.md", "MEMORY_VAULT_SUBDIR": "team",
                "MEMORY_VAULT_BRANCH": "memories"}
    vault.write("notes/a.md", "# a\n- learned\n", age=10)
    vault.write("memory.json", '{"m": 1}', age=10)
    assert vault.sync(env=settings).returncode == 0
    # A new machine: an empty HOME, the settings typed on the restore's command line.
    new_home = tmp_path / "new-home"
    new_home.mkdir()
    shutil.rmtree(vault.source)
    vault.source.mkdir()
    shell = base_env(new_home)
    restore_env = {**shell, "MEMORY_VAULT_REMOTE": str(vault.remote),
                   "MEMORY_VAULT_SOURCE_DIR": str(vault.source),
                   "MEMORY_VAULT_LOG_FILE": str(tmp_path / "new.log"), **settings}
    restored = vault.run("restore", env=restore_env)
    assert restored.returncode == 0, restored.stderr
    assert (vault.source / "notes/a.md").read_text() == "# a\n- learned\n"
    hint = _hint(restored.stdout)
    for name, value in settings.items():
        assert value in hint or f"{name}={value}" in hint, (name, hint)

    # Followed in a new shell (none of the restore's variables), it resumes the backups.
    argv, env = _as_a_shell_runs(hint, shell)
    init = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    assert init.returncode == 0, init.stderr
    (vault.source / "notes/a.md").write_text("# a\n- learned\n- and more\n")
    now = vault.run("--now", env={**shell, "HOME": str(new_home)}, cwd=tmp_path)
    assert now.returncode == 0, now.stderr
    shown = git(f"--git-dir={vault.remote}", "show", "memories:team/notes/a.md")
    assert shown == "# a\n- learned\n- and more\n"


def test_no_tracked_file_names_the_file_list_when_the_folder_holds_others(
        vault: Vault) -> None:
    vault.write("notes/a.md", "# a\n", age=10)
    vault.write("CLAUDE.md", "# rules\n", age=10)
    result = vault.sync("--now")
    assert result.returncode == 1
    assert "is MEMORY_VAULT_FILES right?" in result.stderr
    assert "CLAUDE.md, notes/a.md" in result.stderr
    assert "is MEMORY_VAULT_SOURCE_DIR right?" not in result.stderr

    for path in (vault.source / "notes/a.md", vault.source / "CLAUDE.md"):
        path.unlink()
    empty = vault.sync("--now")
    assert empty.returncode == 1
    assert "is MEMORY_VAULT_SOURCE_DIR right?" in empty.stderr
