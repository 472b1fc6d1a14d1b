"""The journal: written and read back, another vault's set aside."""

from __future__ import annotations

from pathlib import Path

from memory_vault.capture.version import Version
from memory_vault.journal import cache as state


def test_state_round_trip(tmp_path: Path) -> None:
    original = state.Journal()
    original.vault = ("https://h/x.git", "main", "rAgentShared")
    original.files["we\tird\nname.json"] = Version("we\tird\nname.json", size=11,
                                                    sha256="a" * 64, stat_size=12,
                                                    mtime_ns=34, saved=56, fmt="jsonl")
    original.skips["bad.json"] = state.SkipNote("not valid JSON", 0)
    original.push_error_kind, original.push_error = "network", "down"
    original.last_success, original.last_commit = 99, "c" * 40
    path = tmp_path / ".last_sync"
    state.save_journal(str(path), original, now=1)
    loaded = state.load_journal(str(path), original.vault)
    assert loaded.condition == state.FOUND
    record = loaded.files["we\tird\nname.json"]
    assert (record.stat_size, record.size, record.mtime_ns, record.saved, record.format) == (
        12, 11, 34, 56, "jsonl")
    assert loaded.skips["bad.json"].reason == "not valid JSON"
    assert (loaded.push_error, loaded.last_commit) == ("down", "c" * 40)
    other = state.load_journal(str(path), ("https://h/y.git", "main", "rAgentShared"))
    assert other.condition == state.FOREIGN and other.other_vault == original.vault
    path.write_text(f"memory-vault-state {state.FORMAT}\nsuccess\tx\t\n")
    assert state.load_journal(str(path)).condition == state.DAMAGED
    assert state.load_journal(str(tmp_path / "none")).condition == state.MISSING

