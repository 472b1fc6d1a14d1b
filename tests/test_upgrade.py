"""Upgrading in place: the release before this one left a `.last_sync` of format 3 with an open
shrink alarm; after the upgrade the alarm is still open, nothing is read again for nothing,
and `ack` closes it."""

from __future__ import annotations

import json

from conftest import Vault


def _as_format_3(text: str, alarm_commit: str) -> str:
    """The journal the release before format 4 would have written for the same facts
    (format 5, the change time)."""
    out = ["memory-vault-state 3"]
    for line in text.splitlines()[1:]:
        kind, *fields = line.split("\t")
        if kind in ("written", "head"):
            continue
        if kind == "file":  # format 4 added the stored size and the hash of what was read,
            stat_size, mtime, _size, digest, saved, fmt, records, _read, _ctime, name = fields
            line = "\t".join(["file", stat_size, mtime, digest, saved, fmt, records, name])
        out.append(line)
    out.append("\t".join(["alarm", "memory.json", "40", "2", alarm_commit, alarm_commit,
                          "1764000000"]))
    return "\n".join(out) + "\n"


def test_an_open_alarm_survives_the_upgrade(vault: Vault) -> None:
    vault.write("memory.json", json.dumps({"notes": ["a", "b"]}), age=30)
    assert vault.sync().returncode == 0
    head = vault.remote_commits()[0]
    vault.state_file.write_text(_as_format_3(vault.state_file.read_text(), head))

    status = vault.run("status", "--json")
    report = json.loads(status.stdout)
    assert status.returncode == 1
    assert [p["kind"] for p in report["problems"]] == ["shrink"]
    assert "40 records -> 2" in report["problems"][0]["message"]

    assert vault.sync("-v").returncode == 0
    assert vault.state_file.read_text().startswith("memory-vault-state 5\n")
    assert "\talarm\t" not in vault.state_file.read_text()  # (alarm lines start a line)
    assert "alarm\tmemory.json\t40\t2\t" in vault.state_file.read_text()
    assert len(vault.remote_commits()) == 1  # nothing committed for nothing

    assert vault.run("ack", "memory.json").returncode == 0
    assert vault.run("status").returncode == 0


def test_a_journal_from_a_newer_release_is_left_alone(vault: Vault) -> None:
    vault.write("memory.json", "{}", age=30)
    assert vault.sync().returncode == 0
    newer = "memory-vault-state 99\nsomething\tfrom the future\n"
    vault.state_file.write_text(newer)

    result = vault.sync()
    assert result.returncode == 2
    assert "written by a newer Memory Vault" in result.stderr
    assert vault.state_file.read_text() == newer
    status = vault.run("status", "--json")
    assert status.returncode == 2
    assert json.loads(status.stdout)["error"]["exit_code"] == 2
