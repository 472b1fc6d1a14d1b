"""Version: one type from the read to the journal; a racy mtime is checked again."""

from __future__ import annotations

import hashlib

from memory_vault.capture.version import RACY_NS, RECHECK, Version


def test_a_read_version_is_hashed_once_and_released() -> None:
    version = Version.read("m.json", bytearray(b"{}"), stat_size=2, mtime_ns=5)
    assert version.sha256 == hashlib.sha256(b"{}").hexdigest() and version.size == 2
    assert version.release().data is None and version.sha256


def test_the_journals_copy_distrusts_an_mtime_too_close_to_the_read() -> None:
    version = Version.read("m.json", bytearray(b"{}"), stat_size=2, mtime_ns=10**18)
    fresh = version.remembered(10**18 + RACY_NS // 2, saved=7)
    settled = version.remembered(10**18 + RACY_NS * 2, saved=7)
    assert fresh.mtime_ns == RECHECK and not fresh.matches(2, 10**18)
    assert settled.matches(2, 10**18) and not settled.matches(3, 10**18)
    assert settled.saved == 7 and settled.data is None
