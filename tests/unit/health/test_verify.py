"""verify's budget: everything read while small, one part a day beyond."""

from __future__ import annotations


def test_verify_reads_everything_within_its_budget_and_one_part_a_day_beyond() -> None:
    from memory_vault.health.verify import data_slice

    objects = [(f"{n:08x}" + "0" * 32, 10) for n in range(100)]
    whole = data_slice(objects, budget=1000, day=7)
    assert (whole.count, whole.index, len(whole.shas), whole.bytes) == (1, 0, 100, 1000)
    parts = [data_slice(objects, budget=250, day=day) for day in range(4)]
    assert {p.count for p in parts} == {4} and [p.index for p in parts] == [0, 1, 2, 3]
    assert all(p.bytes <= 250 for p in parts)
    assert sorted(sha for p in parts for sha in p.shas) == sorted(s for s, _ in objects)
    assert data_slice(objects, budget=250, day=4).shas == parts[0].shas  # round again

