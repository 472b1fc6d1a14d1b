"""The shortcut's stamp keeps what a run saw, never what a later look would see."""

from __future__ import annotations

import os
import time
from pathlib import Path

from memory_vault.shortcut import RACY_SECONDS, Looks, remember_unchanged


def test_a_write_between_the_look_and_the_stamp_leaves_no_stamp(tmp_path: Path) -> None:
    """A file written after the run looked (dated in the past, as a skewed network file
    system's clock would): the stamp would hide that version from every later run."""
    memory, journal = tmp_path / "memory.json", tmp_path / "journal"
    memory.write_text('{"a": 1}')
    journal.write_text("journal")
    old = time.time() - 3600
    os.utime(memory, (old, old))
    looks = Looks()
    looks.lstat(str(memory))
    memory.write_text('{"a": 2}')
    os.utime(memory, (old, old))  # the mtime is as it was; the size and ctime are not
    stamp = tmp_path / "cache" / "unchanged-x"
    later = time.time() + RACY_SECONDS + 1  # no look counts as too recent: only the change
    assert not remember_unchanged(str(stamp), looks, own=[], journal=str(journal), lines=[],
                                  logs=("log", "err", ""), started=later)
    assert not stamp.exists()
    looks = Looks()
    looks.lstat(str(memory))
    assert remember_unchanged(str(stamp), looks, own=[], journal=str(journal), lines=[],
                              logs=("log", "err", ""), started=later)
    assert stamp.exists()
