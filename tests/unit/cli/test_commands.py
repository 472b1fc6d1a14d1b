"""The CLI in process (click's CliRunner): help, options on groups, results as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from memory_vault.cli.main import cli
from memory_vault.results import Done


@pytest.mark.parametrize("command", [[], ["sync"], ["init"], ["status"], ["history"],
                                     ["restore"], ["verify"], ["schedule"],
                                     ["schedule", "install"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output



def test_global_options_are_accepted_on_the_schedule_group(tmp_path: Path) -> None:
    env_file = tmp_path / "x.env"
    env_file.write_text(f"MEMORY_VAULT_SOURCE_DIR={tmp_path}\n")
    result = CliRunner().invoke(cli, ["schedule", "--env-file", str(env_file), "--help"])
    assert result.exit_code == 0, result.output



def test_status_json_contract(tmp_path: Path) -> None:
    """The JSON envelope scripts rely on (SPEC: status --json)."""
    (tmp_path / "memory.json").write_text("{}")
    result = CliRunner().invoke(cli, ["status", "--json"],
                                env={"MEMORY_VAULT_SOURCE_DIR": str(tmp_path)})
    report = json.loads(result.output)
    assert {"last_success", "last_commit", "pending_push", "files", "problems",
            "healthy"} <= set(report)
    assert result.exit_code == 1 and report["healthy"] is False
    assert all(set(p) == {"kind", "file", "message"} for p in report["problems"])



def test_done_is_a_result() -> None:
    assert Done(3, ["x"]).as_dict() == {"exit_code": 3, "lines": ["x"]}

