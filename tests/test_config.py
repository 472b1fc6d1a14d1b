"""Configuration: precedence, the env-file search order, and every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Vault


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("MEMORY_VAULT_PUSH", "maybe", "expected true or false"),
        ("MEMORY_VAULT_VALIDATE_JSON", "sometimes", "expected true or false"),
        ("MEMORY_VAULT_GIT_TIMEOUT", "-5", "positive number of seconds"),
        ("MEMORY_VAULT_GIT_TIMEOUT", "soon", "positive number of seconds"),
        ("MEMORY_VAULT_MAX_FILE_MB", "0", "positive number of megabytes"),
        ("MEMORY_VAULT_MAX_FILE_MB", "nan", "positive number of megabytes"),
        ("MEMORY_VAULT_STALE_AFTER", "-1", "positive number of minutes"),
        ("MEMORY_VAULT_SUBDIR", "../escape", "relative folder"),
        ("MEMORY_VAULT_SUBDIR", "/etc", "relative folder"),
        ("MEMORY_VAULT_SUBDIR", "", "relative folder"),
        ("MEMORY_VAULT_SUBDIR", "a/.git/b", "relative folder"),
        ("MEMORY_VAULT_SOURCE_DIR", "/nonexistent/agents", "no such folder"),
        ("MEMORY_VAULT_FILES", " , ", "is empty"),
        ("MEMORY_VAULT_FILES", "memory.json,../secrets.json", "relative to the source dir"),
        ("MEMORY_VAULT_FILES", "/etc/passwd", "relative to the source dir"),
        ("MEMORY_VAULT_BRANCH", "bad branch", "valid git branch"),
        ("MEMORY_VAULT_BRANCH", "-delete", "valid git branch"),
        ("MEMORY_VAULT_REMOTE", "--upload-pack=evil", "git URL or path"),
        ("MEMORY_VAULT_AUTHOR_NAME", "Eve <eve@x>", "without '<' or '>'"),
        ("MEMORY_VAULT_AUTHOR_NAME", "", "is empty"),
    ],
)
def test_bad_value_exits_2_with_one_line_naming_it(
    vault: Vault, variable: str, value: str, expected: str
) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    vault.env[variable] = value

    result = vault.sync()

    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert variable in lines[0] and expected in lines[0]
    assert not vault.data.exists()  # nothing touched
    assert vault.remote_commits() == []


def test_source_dir_that_is_a_file(vault: Vault, tmp_path: Path) -> None:
    afile = tmp_path / "file"
    afile.write_text("x")
    vault.env["MEMORY_VAULT_SOURCE_DIR"] = str(afile)
    result = vault.sync()
    assert result.returncode == 2
    assert "MEMORY_VAULT_SOURCE_DIR" in result.stderr and "not a folder" in result.stderr


def test_missing_env_file_option_exits_2(vault: Vault) -> None:
    result = vault.run("--env-file", "/nonexistent/.env")
    assert result.returncode == 2
    assert "--env-file" in result.stderr and "no such file" in result.stderr


def test_missing_env_file_variable_exits_2(vault: Vault) -> None:
    result = vault.run(env={"MEMORY_VAULT_ENV_FILE": "/nonexistent/.env"})
    assert result.returncode == 2
    assert "MEMORY_VAULT_ENV_FILE" in result.stderr


def test_bad_value_in_env_file_is_named(vault: Vault, tmp_path: Path) -> None:
    env_file = tmp_path / "settings.env"
    env_file.write_text("MEMORY_VAULT_PUSH=perhaps\n")
    result = vault.run("--env-file", str(env_file))
    assert result.returncode == 2
    assert "MEMORY_VAULT_PUSH='perhaps'" in result.stderr


def test_unknown_setting_is_warned_about(vault: Vault) -> None:
    vault.write("memory.json", "{}", age=10)
    result = vault.sync(env={"MEMORY_VAULT_SOURCEDIR": "/typo"})
    assert result.returncode == 0
    assert any("MEMORY_VAULT_SOURCEDIR" in line for line in vault.err_lines())


def _settings_from(vault: Vault, env_file: Path, subdir: str) -> None:
    env_file.parent.mkdir(parents=True, exist_ok=True)
    env_file.write_text(f"MEMORY_VAULT_SUBDIR={subdir}\n")


def _vault_folder(vault: Vault) -> str:
    names = vault.remote_git("ls-tree", "--name-only", "main").split()
    assert len(names) == 1
    return names[0]


def test_env_file_beats_default(vault: Vault, tmp_path: Path) -> None:
    env_file = tmp_path / "a.env"
    _settings_from(vault, env_file, "from-file")
    vault.write("memory.json", "{}", age=10)
    assert vault.run("--env-file", str(env_file)).returncode == 0
    assert _vault_folder(vault) == "from-file"


def test_environment_beats_env_file(vault: Vault, tmp_path: Path) -> None:
    env_file = tmp_path / "a.env"
    _settings_from(vault, env_file, "from-file")
    vault.write("memory.json", "{}", age=10)
    result = vault.run("--env-file", str(env_file), env={"MEMORY_VAULT_SUBDIR": "from-env"})
    assert result.returncode == 0
    assert _vault_folder(vault) == "from-env"


def test_option_beats_environment(vault: Vault) -> None:
    vault.write("memory.json", "{}", age=10)
    result = vault.run("sync", "--no-push", env={"MEMORY_VAULT_PUSH": "true"})
    assert result.returncode == 0
    assert vault.remote_commits() == []


@pytest.mark.parametrize("winner", ["option", "variable", "xdg"])
def test_env_file_search_order(vault: Vault, tmp_path: Path, winner: str) -> None:
    """--env-file, then $MEMORY_VAULT_ENV_FILE, then the XDG config file."""
    order = ["option", "variable", "xdg"]
    files = {
        "option": tmp_path / "option.env",
        "variable": tmp_path / "variable.env",
        "xdg": vault.home / ".config/memory-vault/.env",
    }
    for name in order[order.index(winner):]:
        _settings_from(vault, files[name], f"from-{name}")
    _settings_from(vault, vault.source / ".env", "from-cwd")  # never read
    args = ["--env-file", str(files["option"])] if winner == "option" else []
    env = {"MEMORY_VAULT_ENV_FILE": str(files["variable"])} if winner in order[:2] else {}
    vault.write("memory.json", "{}", age=10)
    assert vault.run(*args, env=env).returncode == 0
    assert _vault_folder(vault) == f"from-{winner}"


def test_a_dot_env_in_the_current_folder_is_never_read(vault: Vault, tmp_path: Path) -> None:
    """A project's own .env must not replace the user's settings for any command."""
    vault.write("memory.json", "{}", age=10)
    assert vault.sync().returncode == 0
    project = tmp_path / "some-project"
    project.mkdir()
    (project / ".env").write_text(
        f"MEMORY_VAULT_REMOTE=\nMEMORY_VAULT_CLONE_DIR={tmp_path / 'elsewhere'}\n"
        "MEMORY_VAULT_SUBDIR=hijacked\nDATABASE_URL=postgres://app\n")
    before = sorted(p.name for p in vault.data.iterdir())

    status = vault.run("status", "--json", cwd=project)
    dry = vault.run("restore", "--dry-run", "--to", str(tmp_path / "look"), cwd=project)
    synced = vault.run(cwd=project)

    assert status.returncode == 0, status.stdout + status.stderr
    assert '"embedded": false' in status.stdout and str(vault.remote) in status.stdout
    assert dry.returncode == 0, dry.stderr
    assert synced.returncode == 0, synced.stderr
    after = sorted(p.name for p in vault.data.iterdir() if p.suffix != ".unchanged")
    assert after == before  # nothing set aside (the no-change shortcut's mark may be new)
    assert not (tmp_path / "elsewhere").exists()
    assert _vault_folder(vault) == "rAgentShared"


def test_xdg_config_home_is_honoured(vault: Vault, tmp_path: Path) -> None:
    config_home = tmp_path / "cfg"
    _settings_from(vault, config_home / "memory-vault/.env", "from-xdg-home")
    vault.write("memory.json", "{}", age=10)
    assert vault.run(env={"XDG_CONFIG_HOME": str(config_home)}).returncode == 0
    assert _vault_folder(vault) == "from-xdg-home"


def test_env_file_edit_is_seen_on_the_next_run(vault: Vault, tmp_path: Path) -> None:
    """The parsed env file is cached; an edit must still take effect at once."""
    env_file = tmp_path / "a.env"
    env_file.write_text("MEMORY_VAULT_PUSH=false\n")
    vault.write("memory.json", "{}", age=10)
    assert vault.run("--env-file", str(env_file)).returncode == 0
    assert vault.remote_commits() == []
    env_file.write_text("MEMORY_VAULT_PUSH=true \n")  # same length on purpose
    assert vault.run("--env-file", str(env_file)).returncode == 0
    assert len(vault.remote_commits()) == 1


def test_env_file_quoting_and_interpolation(vault: Vault, tmp_path: Path) -> None:
    folder = tmp_path / "agents with space"
    folder.mkdir()
    (folder / "memory.json").write_text('{"q": 1}')
    env_file = tmp_path / "a.env"
    env_file.write_text(f'export MEMORY_VAULT_SOURCE_DIR="{folder}"\n'
                        "MEMORY_VAULT_SUBDIR=${SUBDIR_FROM_ENV}/x  # comment\n")
    env = {"MEMORY_VAULT_SOURCE_DIR": None, "SUBDIR_FROM_ENV": "interp"}
    result = vault.run("--env-file", str(env_file), env=env)
    assert result.returncode == 0, result.stderr
    assert vault.remote_git("ls-tree", "-r", "--name-only", "main").split() == [
        "interp/x/memory.json"
    ]


def test_settings_docs_are_generated_from_the_settings_table() -> None:
    """.env.example and the README's table are made from config.SETTINGS, never by hand."""
    import subprocess
    import sys

    from conftest import ROOT

    check = subprocess.run([sys.executable, "-m", "memory_vault.settings.docs", "--check"],
                           cwd=ROOT, capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr


def test_env_example_lists_every_variable_with_its_default() -> None:
    from conftest import ROOT
    from memory_vault.settings.schema import VARIABLES

    example = (ROOT / ".env.example").read_text()
    for name, default in VARIABLES.items():
        assert f"# {name}=" in example, name
        if default:
            assert f"# {name}={default}" in example, name
