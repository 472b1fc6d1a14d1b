"""status judged at a moment the test chooses (`build_status(now=...)`), in process."""

from __future__ import annotations

from pathlib import Path

from memory_vault.health.status import VaultView, build_status
from memory_vault.journal.cache import OUTCOME_OK, Journal, save_journal
from memory_vault.settings.load import load_config


def _configured(tmp_path: Path, last_success: int) -> tuple[Path, Path]:
    source = tmp_path / "agents"
    source.mkdir()
    (source / "memory.json").write_text("{}")
    state = tmp_path / "state"
    config = load_config(environ={"HOME": str(tmp_path), "MEMORY_VAULT_SOURCE_DIR": str(source),
                                  "MEMORY_VAULT_STATE_FILE": str(state)}, cwd=str(tmp_path))
    journal = Journal()
    journal.vault = config.vault_identity
    journal.last_success = journal.last_run = last_success
    journal.last_outcome = OUTCOME_OK
    save_journal(str(state), journal, now=last_success)
    return source, state


def _status(tmp_path: Path, source: Path, state: Path, now: float) -> list[str]:
    config = load_config(environ={"HOME": str(tmp_path), "MEMORY_VAULT_SOURCE_DIR": str(source),
                                  "MEMORY_VAULT_STATE_FILE": str(state)}, cwd=str(tmp_path))
    return [p.kind for p in build_status(config, VaultView(0, True), now=now).problems]


def test_a_backup_older_than_stale_after_is_stale(tmp_path: Path) -> None:
    source, state = _configured(tmp_path, 1_000_000)
    assert "stale" not in _status(tmp_path, source, state, 1_000_000 + 44 * 60)
    assert "stale" in _status(tmp_path, source, state, 1_000_000 + 46 * 60)
