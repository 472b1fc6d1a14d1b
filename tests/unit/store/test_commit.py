"""What a commit says: its subject and one line per file, no line forged by a name."""

from __future__ import annotations

from memory_vault.capture.version import Version
from memory_vault.store import commit


def test_commit_message_has_one_line_per_file_and_no_forged_lines() -> None:
    files = [Version("a\nb.json", size=3, sha256="f" * 64, stat_size=3, mtime_ns=0),
             Version("m.json", size=1, sha256="e" * 64, stat_size=1, mtime_ns=0)]
    message = commit.commit_message(0, files)
    lines = message.decode().splitlines()
    assert lines[0] == "Memory vault sync 1970-01-01T00:00:00Z (2 files)"
    assert lines[2:] == ["a\\x0ab.json: 3 bytes, sha256 " + "f" * 64,
                         "m.json: 1 bytes, sha256 " + "e" * 64]
    assert commit.commit_subject(0, 1).endswith("(1 file)")
    env = commit.identity_env("Memory Vault", "mv@h", 12.7)
    assert env["GIT_AUTHOR_DATE"] == env["GIT_COMMITTER_DATE"] == "12 +0000"

