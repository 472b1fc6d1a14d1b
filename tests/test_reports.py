"""history, status and verify: healthy and unhealthy vaults, text and JSON."""

from __future__ import annotations

import json
import os
import time
import zlib
from pathlib import Path

import pytest

from conftest import Vault, git


def _three_syncs(vault: Vault) -> list[str]:
    vault.write("memory.json", '{"v": 1}', age=10)
    vault.write("gpt4_memories.json", '{"g": 1}', age=10)
    assert vault.sync().returncode == 0
    for version in (2, 3):
        time.sleep(1.05)
        vault.write("memory.json", f'{{"v": {version}}}')
        if version == 3:
            vault.write("gpt4_memories.json", '{"g": 3}')
        assert vault.sync().returncode == 0
    return vault.remote_commits()


def test_history_newest_first_with_files(vault: Vault) -> None:
    commits = _three_syncs(vault)
    result = vault.run("history")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[1] for line in lines] == [c[:12] for c in commits]
    assert lines[0].endswith("gpt4_memories.json, memory.json")
    assert lines[1].endswith("memory.json") and "gpt4" not in lines[1]


def test_history_json_file_and_limit(vault: Vault) -> None:
    commits = _three_syncs(vault)
    result = vault.run("history", "gpt4_memories.json", "--json")
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)
    assert [e["commit"] for e in entries] == [commits[0], commits[2]]
    for entry in entries:
        assert set(entry) >= {"commit", "date", "files"}
        assert entry["date"].endswith("Z")
    limited = json.loads(vault.run("history", "--limit", "1", "--json").stdout)
    assert [e["commit"] for e in limited] == [commits[0]]


def test_history_of_unknown_file_exits_2(vault: Vault) -> None:
    _three_syncs(vault)
    result = vault.run("history", "nope.json")
    assert result.returncode == 2 and "nope.json" in result.stderr


def test_status_healthy(vault: Vault) -> None:
    vault.write("memory.json", "{}", age=10)
    assert vault.sync().returncode == 0
    result = vault.run("status", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["healthy"] is True
    assert report["pending_push"] == 0
    assert report["last_commit"] == vault.remote_commits()[0]
    assert report["last_success"].endswith("Z")
    by_name = {f["name"]: f for f in report["files"]}
    assert by_name["memory.json"]["present"] is True
    assert by_name["memory.json"]["changed"] is False
    assert by_name["gpt4_memories.json"]["present"] is False
    text = vault.run("status")
    assert text.returncode == 0 and "healthy" in text.stdout


def test_status_sees_a_change_since_the_last_sync(vault: Vault) -> None:
    vault.write("memory.json", "{}", age=10)
    assert vault.sync().returncode == 0
    vault.write("memory.json", '{"new": 1}')
    report = json.loads(vault.run("status", "--json").stdout)
    assert {f["name"]: f["changed"] for f in report["files"]}["memory.json"] is True


def test_status_unhealthy_when_pushes_are_pending(vault: Vault) -> None:
    vault.write("memory.json", "{}", age=10)
    assert vault.sync("sync", "--no-push").returncode == 0
    result = vault.run("status", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["healthy"] is False and report["pending_push"] == 1


def test_status_unhealthy_when_stale(vault: Vault) -> None:
    vault.write("memory.json", "{}", age=10)
    assert vault.sync().returncode == 0
    time.sleep(1.2)
    result = vault.run("status", env={"MEMORY_VAULT_STALE_AFTER": "0.01"})
    assert result.returncode == 1
    assert "stale" in result.stdout


def test_status_unhealthy_after_a_failed_run(vault: Vault, tmp_path: Path) -> None:
    vault.write("memory.json", "{}", age=10)
    assert vault.sync().returncode == 0
    vault.write("memory.json", '{"x": 1}')
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "file").write_text("x")
    failed = vault.sync(env={"MEMORY_VAULT_CLONE_DIR": str(foreign)})
    assert failed.returncode == 1
    result = vault.run("status", "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["last_outcome"] == "failed"
    assert "MEMORY_VAULT_CLONE_DIR" in report["last_error"]
    assert vault.sync().returncode == 0  # and a good run makes it healthy again
    assert vault.run("status").returncode == 0


def test_status_never_synced(vault: Vault) -> None:
    result = vault.run("status", "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["last_success"] is None


def test_verify_healthy(vault: Vault) -> None:
    _three_syncs(vault)
    result = vault.run("verify")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["ok", "fsck"], ["ok", "remote"], ["ok", "restore"], ["ok", "sources"]]


def test_verify_embedded(embedded: Vault) -> None:
    embedded.write("memory.json", "{}", age=10)
    assert embedded.sync().returncode == 0
    result = embedded.run("verify")
    assert result.returncode == 0, result.stdout + result.stderr


def test_verify_fails_on_pending_push(vault: Vault) -> None:
    vault.write("memory.json", "{}", age=10)
    assert vault.sync("sync", "--no-push").returncode == 0
    result = vault.run("verify")
    assert result.returncode == 1
    assert "FAIL  remote" in result.stdout and "not pushed" in result.stdout


def test_verify_fails_on_a_source_older_than_the_vault_copy(vault: Vault) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    vault.write("memory.json", '{"a": 2}', age=3600)  # differs, yet older than the last sync
    result = vault.run("verify")
    assert result.returncode == 1
    assert "FAIL  sources" in result.stdout and "memory.json" in result.stdout


def test_verify_passes_on_a_source_changed_since_the_last_sync(vault: Vault) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    vault.write("memory.json", '{"a": 2}')
    result = vault.run("verify")
    assert result.returncode == 0, result.stdout
    assert "changed since the last sync" in result.stdout


def test_verify_fails_on_a_corrupt_clone(vault: Vault) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    blob = git("rev-parse", "HEAD:rAgentShared/memory.json", cwd=vault.clone).strip()
    loose = vault.clone / ".git/objects" / blob[:2] / blob[2:]
    assert loose.exists()
    os.chmod(loose, 0o600)
    loose.write_bytes(b"garbage")
    result = vault.run("verify")
    assert result.returncode == 1
    assert "FAIL  fsck" in result.stdout


def test_verify_fails_when_state_disagrees_with_vault(vault: Vault) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    state = vault.state_file.read_text()
    vault.state_file.write_text(state.replace("\tmemory.json", "\tghost.json"))
    result = vault.run("verify")
    assert result.returncode == 1
    assert "FAIL  restore" in result.stdout and "ghost.json" in result.stdout


def _verify_in_process(vault: Vault, monkeypatch: pytest.MonkeyPatch,
                       capsys: pytest.CaptureFixture[str], *, day: int) -> tuple[int, str]:
    """`verify` run in this process, so that its reading budget can be made small: a
    history past the real budget (256 MB of content) is too large to build in a test."""
    from memory_vault.entry import main
    from memory_vault.health import verify

    for name in [n for n in os.environ if n.startswith(("MEMORY_VAULT_", "XDG_"))]:
        monkeypatch.delenv(name)
    for name, value in vault.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(verify, "_today", lambda: day)
    monkeypatch.chdir(vault.source)
    capsys.readouterr()
    code = main(["verify"])
    return code, capsys.readouterr().out


def test_verify_of_a_large_history_reads_one_part_a_day(
        vault: Vault, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Past its budget, verify checks every object present and linked, and reads one part
    of the content a day (restic's --read-data-subset): a damaged old version is found on
    the day its part is read."""
    from memory_vault.health import verify

    commits = _three_syncs(vault)
    old = git("rev-parse", f"{commits[-1]}:rAgentShared/memory.json", cwd=vault.clone).strip()
    sizes = git("cat-file", "--batch-all-objects", "--batch-check=%(objectsize)",
                cwd=vault.clone).split()
    monkeypatch.setattr(verify, "READ_BUDGET_BYTES", sum(map(int, sizes)) // 2 + 1)
    its_day = int(old[:8], 16) % 2  # two parts: the old version is read on even or odd days

    code, out = _verify_in_process(vault, monkeypatch, capsys, day=its_day)
    assert code == 0, out
    assert f"all {len(sizes)} objects present and linked" in out
    assert f"part of the content, {its_day + 1} of 2" in out

    loose = vault.clone / ".git/objects" / old[:2] / old[2:]
    os.chmod(loose, 0o600)
    loose.write_bytes(loose.read_bytes()[:-4])  # a truncated write of an old version
    code, out = _verify_in_process(vault, monkeypatch, capsys, day=its_day)
    assert code == 1
    assert out.startswith("FAIL  fsck") and old in out.splitlines()[0], out
    code, out = _verify_in_process(vault, monkeypatch, capsys, day=its_day + 1)
    assert code == 0, out  # the other day's part: the damage waits for its day

    # Damage zlib cannot see: a whole, well-formed object whose bytes are not the version.
    loose.write_bytes(zlib.compress(b'blob 8\x00{"v": 9}'))
    code, out = _verify_in_process(vault, monkeypatch, capsys, day=its_day)
    assert code == 1
    assert f"object {old}: its content does not hash to its name" in out.splitlines()[0]

    loose.unlink()  # a missing object is found whatever the day
    code, out = _verify_in_process(vault, monkeypatch, capsys, day=its_day + 1)
    assert code == 1 and out.startswith("FAIL  fsck")
