"""Compaction: the geometric repack rule."""

from __future__ import annotations

from memory_vault.store import compact


def test_the_geometric_repack_rule() -> None:
    usage = compact.ObjectUsage()
    usage.packs = [10_000_000]
    assert not usage.needs_repack()
    usage.packs.append(2_600_000)
    assert usage.needs_repack()
    small = compact.ObjectUsage()
    small.loose_count, small.loose_bytes = 300, 1000
    assert small.needs_repack()

