"""Entry points, `init`, and the cron set-up from a fresh HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, SCRIPT, Vault, base_env, git
from memory_vault import __version__


def test_script_is_executable_with_python_shebang() -> None:
    assert os.access(SCRIPT, os.X_OK)
    assert SCRIPT.read_text().startswith("#!/usr/bin/env python3\n")


def test_help_and_version_on_the_script(vault: Vault) -> None:
    version = vault.run("--version")
    assert version.returncode == 0 and __version__ in version.stdout
    helped = vault.run("--help")
    assert helped.returncode == 0
    for command in ("sync", "init"):
        assert command in helped.stdout
    assert "--now" in vault.run("sync", "--help").stdout


def test_module_entry_point_matches_script(vault: Vault) -> None:
    result = subprocess.run([sys.executable, "-m", "memory_vault", "--version"], cwd=ROOT,
                            env=vault.env, capture_output=True, text=True, check=False)
    assert result.returncode == 0 and __version__ in result.stdout


def test_unknown_option_is_a_usage_error(vault: Vault) -> None:
    result = vault.run("--frobnicate")
    assert result.returncode == 2
    assert "No such option" in result.stderr


def test_global_options_after_the_command(vault: Vault, tmp_path: Path) -> None:
    env_file = tmp_path / "x.env"
    env_file.write_text("MEMORY_VAULT_SUBDIR=after\n")
    vault.write("memory.json", "{}", age=10)
    result = vault.run("sync", "--env-file", str(env_file), "-q")
    assert result.returncode == 0, result.stderr
    assert vault.remote_git("ls-tree", "--name-only", "main").split() == ["after"]


def test_init_then_cron_run_from_home(tmp_path: Path) -> None:
    """`init` in the agents folder, then a bare cron run from $HOME backs up."""
    home = tmp_path / "home"
    agents = tmp_path / "agents"
    home.mkdir()
    agents.mkdir()
    (agents / "memory.json").write_text('{"first": "backup"}')
    env = base_env(home)
    env["MEMORY_VAULT_LOG_FILE"] = str(tmp_path / "log")
    env["MEMORY_VAULT_ERR_FILE"] = str(tmp_path / "err")

    init = subprocess.run([sys.executable, str(SCRIPT), "init"], cwd=agents, env=env,
                          capture_output=True, text=True, check=False)
    assert init.returncode == 0, init.stderr
    settings = home / ".config/memory-vault/.env"
    assert f"MEMORY_VAULT_SOURCE_DIR={agents}" in settings.read_text()
    assert settings.stat().st_mode & 0o777 == 0o600
    assert "Memory Vault is ready" in init.stdout

    cron = subprocess.run([sys.executable, str(SCRIPT)], cwd=home, env=env,
                          capture_output=True, text=True, check=False)
    assert cron.returncode == 0, cron.stderr
    vault_git = home / ".local/share/memory-vault/vault.git"
    shown = git(f"--git-dir={vault_git}", "show", "main:rAgentShared/memory.json")
    assert shown == '{"first": "backup"}'


def test_init_with_remote_and_source_keeps_other_settings(vault: Vault, tmp_path: Path) -> None:
    env_file = tmp_path / "conf/.env"
    env_file.parent.mkdir()
    env_file.write_text("# mine\nMEMORY_VAULT_SUBDIR=kept\nMEMORY_VAULT_REMOTE=/old/place\n")
    env = {"MEMORY_VAULT_REMOTE": None, "MEMORY_VAULT_SOURCE_DIR": None}
    result = vault.run("init", "--remote", str(vault.remote), "--source", str(vault.source),
                       "--env-file", str(env_file), env=env)
    assert result.returncode == 0, result.stderr
    text = env_file.read_text()
    assert "# mine" in text and "MEMORY_VAULT_SUBDIR=kept" in text
    assert f"MEMORY_VAULT_REMOTE={vault.remote}" in text
    assert "/old/place" not in text
    assert (vault.clone / ".git").is_dir()
    assert git("config", "remote.origin.url", cwd=vault.clone).strip() == str(vault.remote)


def test_init_rejects_missing_source_and_writes_nothing(vault: Vault, tmp_path: Path) -> None:
    env_file = tmp_path / "new.env"
    result = vault.run("init", "--source", str(tmp_path / "nope"), "--env-file", str(env_file))
    assert result.returncode == 2
    assert "MEMORY_VAULT_SOURCE_DIR" in result.stderr
    assert not env_file.exists()


def test_the_installed_package_holds_every_module() -> None:
    """`pip install .` (the README's commands) ships every module of the checkout."""
    from importlib import metadata

    try:
        shipped = {str(f) for f in metadata.files("memory-vault") or []}
    except metadata.PackageNotFoundError:
        import pytest

        pytest.skip("memory-vault is not installed in this environment (pip install .)")
    package = ROOT / "memory_vault"
    checkout = {str(p.relative_to(ROOT)) for p in package.rglob("*.py")}
    assert checkout <= shipped, sorted(checkout - shipped)


def _bare_python() -> str:
    """An interpreter without the project's dependencies (the base of the venv)."""
    import pytest

    candidate = Path(sys.base_prefix) / "bin" / "python3"
    probe = subprocess.run([str(candidate), "-c", "import git, click, dotenv"],
                           capture_output=True, check=False)
    if not candidate.exists() or probe.returncode == 0:
        pytest.skip("no interpreter without the dependencies to run the script with")
    return str(candidate)


def test_the_script_run_by_a_python_without_the_dependencies(tmp_path: Path) -> None:
    """The README installs into .venv; `python3 sync_memory_vault.py` (the system's) then
    hands over to .venv's Python, or says in one line how to run it: never a traceback."""
    python = _bare_python()
    alone = tmp_path / "sync_memory_vault.py"
    alone.write_text(SCRIPT.read_text())
    result = subprocess.run([python, str(alone), "--version"], capture_output=True, text=True,
                            check=False, env={**os.environ, "MEMORY_VAULT_NO_REEXEC": ""})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert ".venv/bin/python" in lines[0] and "activate" in lines[0]
    if (ROOT / ".venv" / "bin" / "python").exists():
        handed = subprocess.run([python, str(SCRIPT), "--version"], capture_output=True,
                                text=True, check=False,
                                env={k: v for k, v in os.environ.items()
                                     if k != "MEMORY_VAULT_NO_REEXEC"})
        assert handed.returncode == 0 and __version__ in handed.stdout


def test_the_hand_over_to_the_venv_warns_of_no_unknown_setting(vault: Vault) -> None:
    """`python3 sync_memory_vault.py --now` with the system Python hands over to .venv with
    MEMORY_VAULT_NO_REEXEC set: our own variable, never "unknown setting ... (a typo?)"."""
    import pytest

    python = _bare_python()
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("no .venv beside the script to hand over to")
    vault.write("memory.json", '{"a": 1}', age=10)
    env = {k: v for k, v in vault.env.items() if k != "MEMORY_VAULT_NO_REEXEC"}
    result = subprocess.run([python, str(SCRIPT), "--now"], env=env, cwd=vault.source,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "unknown setting" not in result.stderr + "\n".join(vault.err_lines())
    assert result.stderr == ""
    assert b'"a": 1' in vault.remote_file("memory.json")


def _installed_command(folder: Path) -> Path:
    """`memory-vault` as `pip install .` installs bin/memory-vault: its first line made this
    Python's (run it with PYTHONPATH on this checkout)."""
    folder.mkdir()
    script = folder / "memory-vault"
    text = (ROOT / "bin" / "memory-vault").read_text().split("\n", 1)[1]
    script.write_text(f"#!{sys.executable}\n{text}")
    script.chmod(0o755)
    return script


def test_shell_completion_prints_scripts_and_never_syncs(vault: Vault, tmp_path: Path) -> None:
    """Click's completion protocol on both entry points: the script for bash, zsh and fish,
    then the candidates a shell asks for; never a backup (the cron fast lane would take a
    run with no arguments for one)."""
    vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    vault.write("memory.json", '{"a": 2}', age=10)  # a change a sync would commit
    journal = vault.state_file.read_bytes()
    bin_dir = tmp_path / "bin"
    vault.env["PYTHONPATH"] = str(ROOT)
    programs = {"memory-vault": (_installed_command(bin_dir), "_MEMORY_VAULT_COMPLETE"),
                "sync_memory_vault.py": (SCRIPT, "_SYNC_MEMORY_VAULT_PY_COMPLETE")}
    for name, (program, variable) in programs.items():
        for mode, expected in (("bash_source", f"-F _{name.replace('-', '_').replace('.', '')}"
                                               f"_completion {name}\n"),
                               ("zsh_source", f"#compdef {name}\n"),
                               ("fish_source", f"complete --no-files --command {name} ")):
            shown = subprocess.run([str(program)], env={**vault.env, variable: mode},
                                   cwd=vault.source, capture_output=True, text=True, check=False)
            assert shown.returncode == 0, shown.stderr
            assert expected in shown.stdout and shown.stderr == ""
        for mode, words, expected in (
                ("bash_complete", {"COMP_WORDS": f"{name} sch", "COMP_CWORD": "1"},
                 "plain,schedule"),
                ("zsh_complete", {"COMP_WORDS": f"{name} sch", "COMP_CWORD": "1"},
                 "plain\nschedule\n"),
                ("fish_complete", {"COMP_WORDS": f"{name} sch", "COMP_CWORD": "sch"},
                 "plain,schedule")):
            asked = subprocess.run([str(program)], env={**vault.env, **words, variable: mode},
                                   cwd=vault.source, capture_output=True, text=True, check=False)
            assert asked.returncode == 0 and expected in asked.stdout, asked
    # bash itself: the script evaluated, its function asked as bash asks it when Tab is hit
    env = {**vault.env, "PATH": f"{bin_dir}:{vault.env['PATH']}"}
    typed = subprocess.run(
        ["bash", "-c", 'eval "$(_MEMORY_VAULT_COMPLETE=bash_source memory-vault)"; '
         "COMP_WORDS=(memory-vault s); COMP_CWORD=1; _memory_vault_completion memory-vault; "
         'echo "${COMPREPLY[*]}"'], env=env, cwd=vault.source, capture_output=True, text=True,
        check=False)
    assert typed.stdout.split() == ["schedule", "secrets", "source", "status", "sync"], typed
    assert len(vault.remote_commits()) == 1
    assert vault.state_file.read_bytes() == journal
