"""The log files in a shared /tmp: never follow a planted link, never write another user's
file, rotate at 5 MB keeping three generations."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import Vault


def test_planted_symlink_is_not_followed(vault: Vault, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    vault.log.parent.mkdir(parents=True, exist_ok=True)
    vault.log.symlink_to(victim)
    vault.write("memory.json", "{}", age=10)

    result = vault.sync()

    assert result.returncode == 0  # the backup still happens
    assert vault.remote_file("memory.json") == b"{}"
    assert victim.read_text() == "precious\n"
    assert vault.log.is_symlink()
    assert result.stderr == ""  # cron stays quiet: no mail for a success
    fallback = vault.home / ".local/state/memory-vault" / vault.log.name
    lines = fallback.read_text().splitlines()
    assert f"logging here because {vault.log} is refused" in lines[0]
    assert "symbolic link" in lines[0]
    assert "sync: committed" in lines[-1]
    assert fallback.stat().st_mode & 0o777 == 0o600

    vault.write("memory.json", '{"again": 1}', age=5)
    assert vault.sync().returncode == 0
    lines = fallback.read_text().splitlines()
    assert sum("logging here because" in line for line in lines) == 1  # said once
    status = vault.run("status")
    assert f"logs to {fallback}" in status.stdout and "symbolic link" in status.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="making a file owned by another user needs root")
def test_log_file_owned_by_another_user_is_refused(vault: Vault) -> None:
    vault.log.parent.mkdir(parents=True, exist_ok=True)
    vault.log.write_text("someone else's\n")
    os.chown(vault.log, 65534, 65534)
    vault.write("memory.json", "{}", age=10)

    result = vault.sync()

    assert result.returncode == 0
    assert vault.log.read_text() == "someone else's\n"
    assert result.stderr == ""
    fallback = vault.home / ".local/state/memory-vault" / vault.log.name
    assert "owned by another user" in fallback.read_text()
    assert vault.remote_file("memory.json") == b"{}"
    assert "owned by another user" in vault.run("status").stdout


def test_a_hard_link_planted_in_place_of_the_log_is_not_followed(vault: Vault,
                                                                 tmp_path: Path) -> None:
    victim = vault.log.parent / "victim.txt"
    vault.log.parent.mkdir(parents=True, exist_ok=True)
    victim.write_text("precious\n")
    os.link(victim, vault.log)
    vault.write("memory.json", "{}", age=10)

    assert vault.sync().returncode == 0
    assert victim.read_text() == "precious\n"
    fallback = vault.home / ".local/state/memory-vault" / vault.log.name
    assert "hard links" in fallback.read_text()


def test_log_files_are_created_private(vault: Vault) -> None:
    vault.write("memory.json", "{bad", age=10)
    vault.sync()
    assert vault.log.stat().st_mode & 0o777 == 0o600
    assert vault.err.stat().st_mode & 0o777 == 0o600


def test_log_rotates_at_5_mb_keeping_three_generations(vault: Vault) -> None:
    vault.log.parent.mkdir(parents=True, exist_ok=True)
    old = "2026-01-01T00:00:00Z INFO old line\n"
    vault.log.write_text(old * (5 * 1024 * 1024 // len(old) + 1))
    for gen in (1, 2, 3):
        Path(f"{vault.log}.{gen}").write_text(f"generation {gen}\n")
    vault.write("memory.json", "{}", age=10)

    assert vault.sync().returncode == 0

    assert vault.log.stat().st_size < 10_000
    assert "sync: committed" in vault.log.read_text()
    assert Path(f"{vault.log}.1").read_text().startswith(old)
    assert Path(f"{vault.log}.2").read_text() == "generation 1\n"
    assert Path(f"{vault.log}.3").read_text() == "generation 2\n"
    assert not Path(f"{vault.log}.4").exists()
