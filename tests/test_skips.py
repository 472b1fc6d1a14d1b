"""Files that cannot be backed up: skipped with one error line, exit 3, last good copy kept."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SCRIPT, Vault


def _good_first(vault: Vault, name: str = "gpt4_memories.json") -> None:
    vault.write("memory.json", '{"ok": 1}', age=10)
    vault.write(name, '{"good": "copy"}', age=10)
    assert vault.sync().returncode == 0


def _assert_skipped(vault: Vault, result: subprocess.CompletedProcess[str], name: str,
                    reason: str) -> None:
    assert result.returncode == 3, result.stderr
    errors = [line for line in vault.err_lines() if name in line]
    assert errors, vault.err_lines()
    assert reason in errors[-1]
    assert len([line for line in result.stderr.splitlines() if name in line]) == 1
    assert vault.remote_file(name) == b'{"good": "copy"}'  # the last good copy stays
    assert vault.remote_file("memory.json") == b'{"ok": 2}'  # other files still back up


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b'{"good": "co', "not valid JSON"),
        (b"{not json}", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not valid JSON"),
    ],
    ids=["empty", "blank", "truncated", "invalid", "binary"],
)
def test_bad_json_is_skipped(vault: Vault, content: bytes, reason: str) -> None:
    _good_first(vault)
    vault.write("memory.json", '{"ok": 2}', age=10)
    vault.write("gpt4_memories.json", content, age=10)
    _assert_skipped(vault, vault.sync(), "gpt4_memories.json", reason)


def test_json_validation_can_be_turned_off(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_VALIDATE_JSON"] = "false"
    vault.write("memory.json", "{half", age=10)
    assert vault.sync().returncode == 0
    assert vault.remote_file("memory.json") == b"{half"


def test_too_large_is_skipped(vault: Vault) -> None:
    _good_first(vault)
    vault.env["MEMORY_VAULT_MAX_FILE_MB"] = "0.001"
    vault.write("memory.json", '{"ok": 2}', age=10)
    vault.write("gpt4_memories.json", '{"pad": "' + "x" * 2000 + '"}', age=10)
    _assert_skipped(vault, vault.sync(), "gpt4_memories.json", "too large")


def test_symlink_outside_source_is_skipped(vault: Vault, tmp_path: Path) -> None:
    _good_first(vault)
    outside = tmp_path / "outside.json"
    outside.write_text('{"evil": 1}')
    vault.write("memory.json", '{"ok": 2}', age=10)
    (vault.source / "gpt4_memories.json").unlink()
    (vault.source / "gpt4_memories.json").symlink_to(outside)
    _assert_skipped(vault, vault.sync(), "gpt4_memories.json", "outside the source dir")


def test_symlink_inside_source_is_followed(vault: Vault) -> None:
    vault.write("real/target.json", '{"inside": 1}', age=10)
    (vault.source / "memory.json").symlink_to(vault.source / "real/target.json")
    assert vault.sync().returncode == 0
    assert vault.remote_file("memory.json") == b'{"inside": 1}'
    blob_mode = vault.remote_git("ls-tree", "main", "rAgentShared/memory.json").split()[0]
    assert blob_mode == "100644"  # stored as the content, never as a link


def test_directory_is_skipped(vault: Vault) -> None:
    _good_first(vault)
    vault.write("memory.json", '{"ok": 2}', age=10)
    (vault.source / "gpt4_memories.json").unlink()
    (vault.source / "gpt4_memories.json").mkdir()
    _assert_skipped(vault, vault.sync(), "gpt4_memories.json", "directory")


def test_fifo_is_skipped_without_hanging(vault: Vault) -> None:
    _good_first(vault)
    vault.write("memory.json", '{"ok": 2}', age=10)
    (vault.source / "gpt4_memories.json").unlink()
    os.mkfifo(vault.source / "gpt4_memories.json")
    result = vault.sync(timeout=30)
    _assert_skipped(vault, result, "gpt4_memories.json", "FIFO")


@pytest.mark.skipif(os.geteuid() != 0, reason="creating a device node needs root")
def test_device_is_skipped(vault: Vault) -> None:
    _good_first(vault)
    vault.write("memory.json", '{"ok": 2}', age=10)
    (vault.source / "gpt4_memories.json").unlink()
    os.mknod(vault.source / "gpt4_memories.json", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    _assert_skipped(vault, vault.sync(), "gpt4_memories.json", "device")


def _without_root_powers() -> list[str]:
    """A command prefix under which even root is held to file permissions."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a file unreadable")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]


def test_unreadable_file_is_skipped(vault: Vault) -> None:
    prefix = _without_root_powers()
    _good_first(vault)
    vault.write("memory.json", '{"ok": 2}', age=10)
    locked = vault.write("gpt4_memories.json", '{"new": "unreadable"}', age=10)
    locked.chmod(0o000)
    result = subprocess.run([*prefix, sys.executable, str(SCRIPT)], cwd=vault.source,
                            env=vault.env, capture_output=True, text=True, check=False)
    _assert_skipped(vault, result, "gpt4_memories.json", "unreadable")
