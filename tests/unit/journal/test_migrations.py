"""Journal migrations: every older `.last_sync` carried forward, its open alarms kept; a newer
one left alone with exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory_vault.capture.version import RECHECK
from memory_vault.errors import EXIT_USAGE
from memory_vault.journal.cache import FORMAT, FOUND, JournalTooNew, load_journal, save_journal

VAULT = ("/srv/vault.git", "main", "rAgentShared")
SHA = "ab" * 32

# As the release before format 4 wrote it (journal/cache.py at 3858b7a), alarm included.
FORMAT_3 = (
    "memory-vault-state 3\n"
    "vault\t/srv/vault.git\tmain\trAgentShared\n"
    "success\t1764000000\t" + "c" * 40 + "\n"
    "run\t1764000000\tok\t0\n"
    f"file\t120\t1763999000000000000\t{SHA}\t1763990000\tjson\t42\tmemory.json\n"
    f"file\t9\t1763999000000000000\t{SHA}\t1763990000\tjsonl\t-1\tlog.jsonl\n"
    "alarm\tmemory.json\t100\t3\t" + "d" * 40 + "\t" + "e" * 40 + "\t1764000000\n"
    "skip\tbad.json\t0\tnot valid JSON\n"
)
# The first releases of format 3: no format or record count on a file line, no alarms.
FORMAT_3_EARLY = (
    "memory-vault-state 3\n"
    "vault\t/srv/vault.git\tmain\trAgentShared\n"
    "success\t1764000000\t\n"
    "run\t1764000000\tok\t0\n"
    f"file\t120\t1763999000000000000\t{SHA}\t1763990000\tmemory.json\n"
)
# As format 4 wrote it (before the change time), a redacted file's hash of what was read
# included, and a line its migration from format 3 left without that field.
FORMAT_4 = (
    "memory-vault-state 4\n"
    "written\t1764000000\t1.0\n"
    "vault\t/srv/vault.git\tmain\trAgentShared\n"
    "success\t1764000000\t" + "c" * 40 + "\n"
    f"file\t120\t1763999000000000000\t118\t{SHA}\t1763990000\tjson\t42\t{'f' * 64}\t"
    "memory.json\n"
    f"file\t9\t1763999000000000000\t9\t{SHA}\t1763990000\tjsonl\t-1\tlog.jsonl\n"
    "alarm\tmemory.json\t100\t3\t" + "d" * 40 + "\t" + "e" * 40 + "\t1764000000\n"
)
FORMAT_2 = (
    "memory-vault-state 2\n"
    "success\t1764000000\t" + "c" * 40 + "\n"
    "run\t1764000000\tok\t0\n"
    f"file\t120\t1763999000000000000\t{SHA}\tmemory.json\n"
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".last_sync"
    path.write_text(text)
    return path


def test_format_3_keeps_its_open_alarm_and_every_record(tmp_path: Path) -> None:
    journal = load_journal(str(_write(tmp_path, FORMAT_3)), VAULT)
    assert journal.condition == FOUND and journal.migrated_from == 3
    alarm = journal.alarms["memory.json"]
    assert (alarm.before, alarm.after, alarm.commit) == (100, 3, "d" * 40)
    record = journal.files["memory.json"]
    assert (record.stat_size, record.size, record.records, record.format) == (120, 120, 42, "json")
    assert record.matches(120, 1763999000000000000)  # unchanged files are still not read
    assert journal.files["log.jsonl"].records is None
    assert journal.skips["bad.json"].reason == "not valid JSON"
    assert journal.last_commit == "c" * 40


def test_a_migrated_journal_is_saved_in_the_new_format(tmp_path: Path) -> None:
    path = _write(tmp_path, FORMAT_3)
    save_journal(str(path), load_journal(str(path), VAULT), now=1)
    assert path.read_text().startswith(f"memory-vault-state {FORMAT}\nwritten\t1\t")
    again = load_journal(str(path), VAULT)
    assert again.migrated_from == 0 and "memory.json" in again.alarms


def test_the_first_format_3_file_lines_are_understood(tmp_path: Path) -> None:
    journal = load_journal(str(_write(tmp_path, FORMAT_3_EARLY)), VAULT)
    record = journal.files["memory.json"]
    assert (record.saved, record.format, record.records) == (1763990000, "", None)


def test_format_4_keeps_every_record_and_compares_no_change_time_until_read(
        tmp_path: Path) -> None:
    journal = load_journal(str(_write(tmp_path, FORMAT_4)), VAULT)
    assert journal.condition == FOUND and journal.migrated_from == 4
    assert journal.alarms["memory.json"].before == 100
    record = journal.files["memory.json"]
    assert (record.stat_size, record.size, record.read_sha256, record.ctime_ns) == (
        120, 118, "f" * 64, 0)
    assert record.matches(120, 1763999000000000000, 1764000000123456789)
    assert journal.files["log.jsonl"].read_sha256 == SHA  # none kept: the stored bytes'
    assert not journal.files["log.jsonl"].matches(9, 1763999000000000001, 0)


def test_format_2_is_taken_as_this_vaults_and_read_again(tmp_path: Path) -> None:
    journal = load_journal(str(_write(tmp_path, FORMAT_2)), VAULT)
    assert journal.condition == FOUND and journal.migrated_from == 2
    assert journal.vault == VAULT
    assert journal.files["memory.json"].mtime_ns == RECHECK  # read once more, compared
    assert journal.last_success == 1764000000


def test_a_newer_format_is_left_alone_with_a_usage_error(tmp_path: Path) -> None:
    text = f"memory-vault-state {FORMAT + 1}\nsomething\tnew\n"
    path = _write(tmp_path, text)
    with pytest.raises(JournalTooNew) as raised:
        load_journal(str(path), VAULT)
    assert raised.value.exit_code == EXIT_USAGE
    assert "newer Memory Vault" in str(raised.value) and str(path) in str(raised.value)
    assert path.read_text() == text
