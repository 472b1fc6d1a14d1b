"""The change case: 8 memory files of 5 MB, ~1% of each changed, synced by us and by
`bench/peer_sync.sh` (baseline B) in turn, with both peaks of memory."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from harness import (
    MB,
    SEED_FILES,
    Peer,
    Plan,
    Results,
    Sample,
    Setup,
    measure_peaks,
    median,
    peer_peak_mb,
)
from workloads import Memory


def measure(tmp: Path, results: Results, plan: Plan) -> None:
    repeat = max(3, plan.repeat // 3)
    rng = random.Random(2)
    setup = Setup(tmp / "big8")
    peer = Peer(tmp / "peer8")
    data = {name: Memory(5 * MB, rng) for name in SEED_FILES}

    def change_all() -> None:
        for name, memory in data.items():
            memory.evolve()
            memory.write(setup.source / name, peer.source / name)

    for name, memory in data.items():
        memory.write(setup.source / name, peer.source / name)
    assert setup.sync().code == 0
    assert peer.sync().code == 0
    ours, theirs = _in_turn(setup, peer, repeat, change_all)
    peaks = measure_peaks([], setup.env, setup.home, before_each=change_all)
    results.add("change_8_files_of_5_MB",
                baseline_b_s=median(theirs), ours_s=median(ours),
                ratio=median(ours) / median(theirs),
                peak_mb=peaks.tree_mb, python_peak_mb=peaks.python_mb,
                baseline_b_peak_mb=peer_peak_mb(peer))


def _in_turn(setup: Setup, peer: Peer, repeat: int,
             change_all: Callable[[], None]) -> tuple[list[Sample], list[Sample]]:
    """Our syncs and the peer's of the same changes, the one going first swapped each round
    so that whatever else the machine does weighs on both alike."""
    ours: list[Sample] = []
    theirs: list[Sample] = []
    for i in range(repeat):
        change_all()
        pair = (setup.sync, peer.sync) if i % 2 == 0 else (peer.sync, setup.sync)
        first, second = pair[0](), pair[1]()
        (ours if i % 2 == 0 else theirs).append(first)
        (theirs if i % 2 == 0 else ours).append(second)
    return ours, theirs
