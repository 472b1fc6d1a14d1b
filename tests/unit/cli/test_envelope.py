"""The `--json` envelope, pinned: one document on stdout for results and errors alike."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from memory_vault.cli import envelope
from memory_vault.cli.main import cli


def test_a_result_keeps_its_keys_at_the_top_beside_the_schema_and_exit_code() -> None:
    assert envelope.of_result({"healthy": True}, 1) == {"schema": 1, "healthy": True,
                                                        "exit_code": 1}
    assert envelope.of_result([{"commit": "x"}], 0) == [{"commit": "x"}]  # history: a list


def test_an_error_names_its_code_message_and_variable() -> None:
    assert envelope.of_error(2, "bad", "MEMORY_VAULT_PUSH") == {
        "schema": 1, "error": {"exit_code": 2, "message": "bad",
                               "variable": "MEMORY_VAULT_PUSH"}}


def test_status_json_with_a_bad_setting_prints_the_error_and_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["status", "--json"], env={
        "MEMORY_VAULT_SOURCE_DIR": str(tmp_path), "MEMORY_VAULT_PUSH": "maybe"})
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["schema"] == 1
    assert document["error"]["exit_code"] == 2
    assert document["error"]["variable"] == "MEMORY_VAULT_PUSH"
    assert "MEMORY_VAULT_PUSH='maybe'" in document["error"]["message"]


def test_status_json_carries_the_schema(tmp_path: Path) -> None:
    (tmp_path / "memory.json").write_text("{}")
    result = CliRunner().invoke(cli, ["status", "--json"],
                                env={"MEMORY_VAULT_SOURCE_DIR": str(tmp_path)})
    document = json.loads(result.stdout)
    assert document["schema"] == 1 and document["healthy"] is False


def test_a_failing_command_still_prints_one_document(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["history", "--json"],
                                env={"MEMORY_VAULT_SOURCE_DIR": str(tmp_path)})
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["error"]["exit_code"] == 1
    assert "no vault" in document["error"]["message"]
