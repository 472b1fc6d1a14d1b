"""Compaction: the geometric repack rule; the order packs arrived in."""

from __future__ import annotations

import os
from pathlib import Path

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



def test_packs_arrive_in_the_order_their_indexes_were_written(tmp_path: Path) -> None:
    """A `.pack`'s own date moves (git freshens it, and compaction redates it); its `.idx`,
    written once with it, says when it arrived."""
    written = {"main": 1_000, "push-1": 2_000, "push-2": 3_000}
    for name, when in written.items():
        for suffix, date in ((".idx", when), (".pack", 5_000 - when)):
            path = tmp_path / f"pack-{name}{suffix}"
            path.write_bytes(b"")
            os.utime(path, (date, date))
    (tmp_path / "pack-half-written.pack").write_bytes(b"")  # no index yet: not a pack
    assert [Path(p).name for p in compact.arrival_order(str(tmp_path))] == [
        "pack-main.pack", "pack-push-1.pack", "pack-push-2.pack"]
