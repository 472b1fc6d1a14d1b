"""Agent hooks: `schedule install --with claude-code` (codex, gemini-cli) edits the agent's
real settings file of a temporary HOME, holding the user's own hooks, and the hook command,
run as the agent runs it (a shell, its JSON on stdin, its output read to the end), returns
at once and gets the change into the vault."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import Vault

USERS_SETTINGS = """{
  "model": "opus",
  "permissions": {
    "allow": ["Bash(npm run test:*)"]
  },
  "hooks": {
    "PreToolUse": [
      {
        "matcher": "Bash",
        "hooks": [
          {
            "type": "command",
            "command": "jq -r '.tool_input.command' >> ~/.claude/bash-log.txt"
          }
        ]
      }
    ],
    "SessionEnd": [
      {
        "hooks": [{"type": "command", "command": "~/bin/notify-me \\"session over\\""}]
      }
    ]
  },
  "cleanupPeriodDays": 99
}
"""


@pytest.fixture
def settled(vault: Vault) -> Path:
    """The settings file `init` writes, naming the source, the remote and the logs."""
    settings = vault.home / ".config/memory-vault/.env"
    settings.parent.mkdir(parents=True)
    settings.write_text("".join(f"{k}={vault.env[k]}\n" for k in (
        "MEMORY_VAULT_SOURCE_DIR", "MEMORY_VAULT_REMOTE", "MEMORY_VAULT_LOG_FILE",
        "MEMORY_VAULT_ERR_FILE")))
    return settings


def _ours(settings: dict[str, object], event: str) -> list[str]:
    hooks = settings["hooks"]
    assert isinstance(hooks, dict)
    return [hook["command"] for group in hooks.get(event, []) for hook in group["hooks"]
            if hook["command"].endswith("# memory-vault")]


def _run_hook(vault: Vault, command: str, payload: dict[str, str]) -> subprocess.CompletedProcess[
        str]:
    """As Claude Code runs a command hook: a shell, the JSON on stdin, stdout and stderr read
    until they close. The user's environment has none of our variables."""
    env = {k: v for k, v in vault.env.items() if not k.startswith("MEMORY_VAULT_")}
    return subprocess.run(["/bin/sh", "-c", command], input=json.dumps(payload), env=env,
                          cwd=vault.source, capture_output=True, text=True, timeout=30,
                          check=False)


def _wait_for(check: object, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(check) and check():
            return True
        time.sleep(0.1)
    return False


def test_claude_code_hooks_keep_the_users_file_and_back_up_at_session_end(
        vault: Vault, settled: Path) -> None:
    claude = vault.home / ".claude/settings.json"
    claude.parent.mkdir()
    claude.write_text(USERS_SETTINGS)
    result = vault.run("schedule", "install", "--with", "claude-code")
    assert result.returncode == 0, result.stderr
    installed = json.loads(claude.read_text())
    original = json.loads(USERS_SETTINGS)
    for key in ("model", "permissions", "cleanupPeriodDays"):
        assert installed[key] == original[key]
    assert installed["hooks"]["PreToolUse"] == original["hooks"]["PreToolUse"]
    assert installed["hooks"]["SessionEnd"][0] == original["hooks"]["SessionEnd"][0]
    assert len(_ours(installed, "SessionEnd")) == len(_ours(installed, "PreCompact")) == 1
    assert installed["hooks"]["PreCompact"] == [{"hooks": [
        {"type": "command", "command": _ours(installed, "PreCompact")[0], "timeout": 30}]}]
    # every byte of the user's file is still there, in order, around what was added
    text = claude.read_text()
    assert text.startswith(USERS_SETTINGS[:USERS_SETTINGS.index("\n    ]\n  },")])
    assert text.endswith("    ]\n  },\n  \"cleanupPeriodDays\": 99\n}\n")
    kept = list(claude.parent.glob("settings.json.pre-memory-vault-*"))
    assert len(kept) == 1 and kept[0].read_text() == USERS_SETTINGS
    assert str(kept[0]) in result.stdout

    again = vault.run("schedule", "install", "--with", "claude-code")
    assert again.returncode == 0 and "Already installed" in again.stdout
    assert claude.read_text() == text

    vault.write("memory.json", '{"learned": "at session end"}')
    command = _ours(installed, "SessionEnd")[0]
    lock = _hold_the_run_lock(vault)  # a run under way: the hook must not wait for it
    try:
        started = time.monotonic()
        ran = _run_hook(vault, command, {
            "session_id": "abc123", "transcript_path": str(vault.home / "t.jsonl"),
            "cwd": str(vault.source), "hook_event_name": "SessionEnd",
            "reason": "prompt_input_exit"})
        assert ran.returncode == 0 and ran.stdout == "" and ran.stderr == ""
        assert time.monotonic() - started < 10  # it returned while the sync had to wait
        time.sleep(1)
        assert vault.remote_commits() == []  # the sync waits for the run under way
    finally:
        os.close(lock)
    assert _wait_for(lambda: vault.remote_commits() != []), vault.err_lines()
    assert vault.remote_file("memory.json") == b'{"learned": "at session end"}'


def _hold_the_run_lock(vault: Vault) -> int:
    path = vault.data / "sync.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def test_remove_takes_out_only_ours_and_gives_the_file_back(vault: Vault, settled: Path) -> None:
    claude = vault.home / ".claude/settings.json"
    claude.parent.mkdir()
    claude.write_text(USERS_SETTINGS)
    assert vault.run("schedule", "install", "--with", "claude-code").returncode == 0
    shown = vault.run("schedule", "show", "--with", "claude-code")
    assert shown.returncode == 0 and "SessionEnd: " in shown.stdout
    removed = vault.run("schedule", "remove", "--with", "claude-code")
    assert removed.returncode == 0, removed.stderr
    assert claude.read_text() == USERS_SETTINGS
    assert len(list(claude.parent.glob("settings.json.pre-memory-vault-*"))) == 2
    again = vault.run("schedule", "remove", "--with", "claude-code")
    assert again.returncode == 0 and "no memory-vault hooks" in again.stdout
    assert vault.run("schedule", "show", "--with", "claude-code").returncode == 1


def test_a_settings_file_with_windows_line_endings_keeps_them(vault: Vault,
                                                               settled: Path) -> None:
    claude = vault.home / ".claude/settings.json"
    claude.parent.mkdir()
    original = USERS_SETTINGS.replace("\n", "\r\n").encode()
    claude.write_bytes(original)
    assert vault.run("schedule", "install", "--with", "claude-code").returncode == 0
    installed = claude.read_bytes()
    assert installed.count(b"\n") == installed.count(b"\r\n")  # every line ends as before
    assert installed.startswith(original[:original.index(b"\r\n    ]\r\n  },")])
    assert len(_ours(json.loads(installed), "SessionEnd")) == 1
    kept = list(claude.parent.glob("settings.json.pre-memory-vault-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == original
    assert vault.run("schedule", "remove", "--with", "claude-code").returncode == 0
    assert claude.read_bytes() == original


def test_the_session_end_hook_has_time_to_start_the_sync(vault: Vault, settled: Path) -> None:
    """Claude Code cancels a SessionEnd hook after 1.5 s unless it sets its own `timeout`
    (seconds); a hook of ours installed before it had one is replaced."""
    claude = vault.home / ".claude/settings.json"
    claude.parent.mkdir()
    assert vault.run("schedule", "install", "--with", "claude-code").returncode == 0
    settings = json.loads(claude.read_text())
    handler = settings["hooks"]["SessionEnd"][0]["hooks"][0]
    assert handler["timeout"] == 30
    del handler["timeout"]  # as an older memory-vault wrote it
    claude.write_text(json.dumps(settings, indent=2) + "\n")
    assert vault.run("schedule", "install", "--with", "claude-code").returncode == 0
    again = json.loads(claude.read_text())["hooks"]["SessionEnd"]
    assert again == [{"hooks": [{**handler, "timeout": 30}]}]


def test_claude_config_dir_and_a_linked_settings_file(vault: Vault, settled: Path) -> None:
    """CLAUDE_CONFIG_DIR moves the file; a settings file linked from a dotfiles folder stays
    a link, and the file it names gets the hooks."""
    dotfiles = vault.tmp / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "claude-settings.json"
    real.write_text('{"theme": "dark"}\n')
    moved = vault.tmp / "claude-home"
    moved.mkdir()
    (moved / "settings.json").symlink_to(real)
    result = vault.run("schedule", "install", "--with", "claude-code",
                       env={"CLAUDE_CONFIG_DIR": str(moved)})
    assert result.returncode == 0, result.stderr
    assert (moved / "settings.json").is_symlink()
    assert len(_ours(json.loads(real.read_text()), "SessionEnd")) == 1
    assert not (vault.home / ".claude").exists()


def test_gemini_cli_hooks_in_a_settings_file_with_comments(vault: Vault, settled: Path) -> None:
    gemini = vault.home / ".gemini/settings.json"
    gemini.parent.mkdir()
    original = ('{\n  // my theme\n  "ui": {"theme": "GitHub"},\n  /* keep it */\n'
                '  "general": {"sessionRetention": {"enabled": true, "maxAge": "60d"}}\n}\n')
    gemini.write_text(original)
    assert vault.run("schedule", "install", "--with", "gemini-cli").returncode == 0
    text = gemini.read_text()
    assert text.startswith('{\n  // my theme\n  "ui": {"theme": "GitHub"},\n  /* keep it */\n')
    plain = "\n".join(line.split("//")[0] for line in text.splitlines()).replace(
        "/* keep it */", "")
    settings = json.loads(plain)
    assert _ours(settings, "SessionEnd") and _ours(settings, "PreCompress")
    assert vault.run("schedule", "remove", "--with", "gemini-cli").returncode == 0
    assert gemini.read_text() == original


def test_codex_hooks_file_made_when_missing(vault: Vault, settled: Path) -> None:
    result = vault.run("schedule", "install", "--with", "codex")
    assert result.returncode == 0, result.stderr
    assert "/hooks" in result.stdout  # Codex runs new hooks once trusted
    hooks = json.loads((vault.home / ".codex/hooks.json").read_text())
    assert set(hooks["hooks"]) == {"Stop", "PreCompact"}
    vault.write("memory.json", '{"turn": 1}')
    ran = _run_hook(vault, _ours(hooks, "Stop")[0], {
        "session_id": "s", "turn_id": "t", "cwd": str(vault.source), "hook_event_name": "Stop",
        "model": "gpt-5", "transcript_path": "", "stop_hook_active": "false"})
    assert ran.returncode == 0 and ran.stdout == ""
    assert _wait_for(lambda: vault.remote_commits() != []), vault.err_lines()
    assert vault.run("schedule", "remove", "--with", "codex").returncode == 0
    assert json.loads((vault.home / ".codex/hooks.json").read_text()) == {}


def test_a_settings_file_that_is_not_json_is_left_alone(vault: Vault, settled: Path) -> None:
    claude = vault.home / ".claude/settings.json"
    claude.parent.mkdir()
    claude.write_text('{"model": "opus",\n "hooks": {\n}\n')
    result = vault.run("schedule", "install", "--with", "claude-code")
    assert result.returncode == 2
    assert str(claude) in result.stderr and "line 4, column 1: the text ends" in result.stderr
    assert claude.read_text() == '{"model": "opus",\n "hooks": {\n}\n'
    assert list(claude.parent.iterdir()) == [claude]
