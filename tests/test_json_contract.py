"""`--json`, pinned for every command: exactly one JSON document on stdout, whatever happens.

The walk covers every command of the click group, its subgroups and the groups that run by
themselves (`memory-vault --now`, `secrets`): a command without a case here, or without
`--json`, fails. Each case runs the real program in a real vault with a real remote, as a
person would, and checks what a script relies on: one document, `"schema": 1`, and an exit
code equal to the document's (`exit_code`, or `error.exit_code` when it failed).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import click
import pytest
from fakes import fakes
from stand_ins import install_stand_ins

from conftest import Vault
from memory_vault.cli.main import cli

# Each command (by its words; "" is the group itself) and the arguments it is run with.
COMMANDS: dict[str, list[list[str]]] = {
    "": [["--now"], []],
    "sync": [[], ["--dry-run"], ["--no-push"]],
    "init": [[]],
    "status": [[]],
    "history": [[], ["memory.json"]],
    "diff": [["memory.json"]],
    "ack": [[]],
    "restore": [["--dry-run"], [], ["nothing-such.json"]],
    "verify": [[]],
    "schedule install": [[]],
    "schedule remove": [[]],
    "schedule show": [[]],
    "source add": [["{extra}"]],
    "source list": [[]],
    "source remove": [["extra"]],
    "discover": [["{extra}"]],
    "secrets": [[]],
    "secrets allow": [["{fingerprint}"]],
    "secrets purge": [["{fingerprint}", "--yes"]],
    "doctor": [[]],
    "watch": [[]],
}
BEFORE = {"source remove": ["source", "add", "{extra}", "--name", "extra"]}
# `watch` runs until it is stopped: its document (at SIGTERM) is checked in test_watch.py.
UNTIL_STOPPED = {"watch"}
CASES = [(name, args) for name, runs in COMMANDS.items() if name not in UNTIL_STOPPED
         for args in runs]


def _reporting(group: click.Group, prefix: tuple[str, ...] = ()) -> dict[str, click.Command]:
    """Every command a person can run, by its words: the leaves, and each group that runs
    by itself."""
    found: dict[str, click.Command] = {}
    if group.invoke_without_command:
        found[" ".join(prefix)] = group
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found.update(_reporting(command, (*prefix, name)))
        else:
            found[" ".join((*prefix, name))] = command
    return found


def test_every_command_has_a_case_and_takes_json() -> None:
    commands = _reporting(cli)
    assert set(commands) == set(COMMANDS), "a new command needs its case here (and --json)"
    for name, command in commands.items():
        flags = {flag for param in command.params for flag in param.opts}
        assert "--json" in flags, f"`{name}` has no --json"


@pytest.fixture
def ready(vault: Vault, tmp_path: Path) -> Vault:
    """A vault set up as the README does: init, a memory file holding a secret, a backup."""
    install_stand_ins(vault, tmp_path)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "notes.md").write_text("# notes\n- one\n")
    token = fakes()["github-pat"][1]
    vault.write("memory.json", json.dumps({"facts": ["likes tea", f"token {token}"]}), age=5)
    for args in (["init"], ["--now"]):
        done = vault.run(*args)
        assert done.returncode == 0, done.stderr
    return vault


def _words(name: str, args: list[str], vault: Vault) -> list[str]:
    fingerprint = ""
    if any("{fingerprint}" in a for a in args):
        listed = json.loads(vault.run("secrets", "--json").stdout)
        fingerprint = listed["secrets"][0]["fingerprint"]
    extra = str(vault.tmp / "extra")
    return [a.replace("{extra}", extra).replace("{fingerprint}", fingerprint)
            for a in [*name.split(), *args]]


def one_document(result: subprocess.CompletedProcess[str]) -> object:
    """The one JSON document stdout holds (json.loads refuses anything before or after it),
    carrying the process's exit code."""
    document = json.loads(result.stdout)
    if isinstance(document, list):  # `history --json`: a list of commits
        assert result.returncode == 0, result.stderr
        return document
    assert isinstance(document, dict)
    assert document["schema"] == 1
    if "error" in document:
        assert result.returncode == document["error"]["exit_code"] != 0
        assert document["error"]["message"]
    else:
        assert result.returncode == document["exit_code"], result.stderr
    return document


@pytest.mark.parametrize(("name", "args"), CASES, ids=[" ".join([n, *a]) or "(group)"
                                                       for n, a in CASES])
def test_each_command_prints_one_document(ready: Vault, name: str, args: list[str]) -> None:
    if name in BEFORE:
        assert ready.run(*_words("", BEFORE[name], ready)).returncode == 0
    result = ready.run(*_words(name, args, ready), "--json")
    one_document(result)


@pytest.mark.parametrize("name", list(COMMANDS), ids=[n or "(group)" for n in COMMANDS])
def test_a_bad_setting_is_one_error_document_naming_it(vault: Vault, name: str) -> None:
    install_stand_ins(vault, vault.tmp)
    args = [a.replace("{extra}", str(vault.tmp)).replace("{fingerprint}", "0" * 12)
            for a in COMMANDS[name][0]]
    result = vault.run(*name.split(), *args, "--json", env={"MEMORY_VAULT_PUSH": "maybe"})
    document = one_document(result)
    assert isinstance(document, dict)
    assert document["error"]["exit_code"] == 2
    assert document["error"]["variable"] == "MEMORY_VAULT_PUSH"


def test_a_usage_error_is_one_error_document(vault: Vault) -> None:
    result = vault.run("diff", "--json")  # FILE missing: click itself refuses
    document = one_document(result)
    assert isinstance(document, dict)
    assert document["error"]["exit_code"] == 2 and "FILE" in document["error"]["message"]


def test_a_sync_says_what_it_did(ready: Vault) -> None:
    """What a script needs of a sync: the commit, the push, the files, the skips."""
    ready.write("memory.json", json.dumps({"facts": ["likes tea", "and coffee"]}), age=5)
    ready.write("broken.json", "{not json", age=5)
    result = ready.run("--now", "-v", "--json", env={"MEMORY_VAULT_FILES": "*.json"})
    document = one_document(result)
    assert isinstance(document, dict)
    head = ready.remote_git("rev-parse", "main").strip()
    assert document["committed"] == head and document["pushed"] is True
    assert document["files"] == ["memory.json"] and document["pending_push"] == 0
    assert [s["file"] for s in document["skips"]] == ["broken.json"]
    assert result.returncode == document["exit_code"] == 3
    assert document["summary"].startswith(f"sync: committed {head[:12]}, pushed")
    assert "broken.json: skipped" in result.stderr  # the person's words stay on stderr


def test_a_dry_run_lists_what_it_would_back_up_and_writes_nothing(ready: Vault) -> None:
    before = ready.remote_git("rev-parse", "main")
    ready.write("memory.json", json.dumps({"facts": ["changed"]}), age=5)
    document = one_document(ready.run("sync", "--dry-run", "--json"))
    assert isinstance(document, dict)
    assert document["dry_run"] is True and document["committed"] is None
    assert document["files"] == ["memory.json"]
    assert ready.remote_git("rev-parse", "main") == before


def test_restore_dry_run_is_the_plan_alone(ready: Vault) -> None:
    result = ready.run("restore", "--dry-run", "--json")
    document = one_document(result)
    assert isinstance(document, dict)
    assert document["dry_run"] is True
    assert [f["name"] for f in document["files"]] == ["memory.json"]


def test_schedule_show_says_whether_the_job_is_installed(ready: Vault) -> None:
    missing = one_document(ready.run("schedule", "show", "--json"))
    assert isinstance(missing, dict) and missing["installed"] is False
    one_document(ready.run("schedule", "install", "--json"))
    shown = one_document(ready.run("schedule", "show", "--json"))
    assert isinstance(shown, dict) and shown["installed"] is True
    assert shown["scheduler"] == "cron" and shown["job"][0].endswith("# memory-vault")
    assert Path(ready.env["CRONTAB_FILE"]).read_text().splitlines() == shown["job"]


def test_warnings_stay_on_stderr(ready: Vault) -> None:
    result = ready.run("status", "--json", env={"MEMORY_VAULT_TYPO": "1"})
    one_document(result)
    assert "unknown setting MEMORY_VAULT_TYPO" in result.stderr
