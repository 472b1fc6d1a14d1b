"""The record step: a run's summary line says what happened, and nothing else."""

from __future__ import annotations

from memory_vault.errors import EXIT_OK, EXIT_PARTIAL, NetworkError
from memory_vault.pipeline.record import Outcome, summary
from memory_vault.sources.scan import Skip


def test_a_run_that_changed_nothing() -> None:
    outcome = Outcome(0)
    outcome.present = ["a.json", "b.json"]
    assert summary(outcome, 0) == "sync: nothing changed, 2 files checked"
    assert outcome.exit_code == EXIT_OK


def test_a_commit_whose_push_failed_and_a_skip() -> None:
    outcome = Outcome(0)
    outcome.present = ["a.json"]
    outcome.committed = "f" * 40
    outcome.push_error = NetworkError("down")
    outcome.skips = [Skip("b.json", "not valid JSON")]
    assert summary(outcome, 1) == ("sync: committed ffffffffffff, 1 file checked, push failed "
                                   "(network), 1 commit(s) waiting to be pushed, 1 skipped")
    assert outcome.exit_code == EXIT_PARTIAL
