"""restore: bring memory files back from the vault, as of any moment in its history.

Reads straight from commits (never checks anything out), refuses any vault entry that could
write outside the target folder (`recall.plan`), keeps every file it replaces, and writes
atomically (`recall.writer`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

from memory_vault.errors import UsageError, VaultError
from memory_vault.logfile import RunLog
from memory_vault.pipeline.reading import reading
from memory_vault.pipeline.setup import init_command
from memory_vault.recall.moments import at_or_before, commit_named, parse_when
from memory_vault.recall.plan import RestorePlan, into, into_sources, plan_restore
from memory_vault.recall.writer import apply_restore
from memory_vault.results import command_name
from memory_vault.settings.load import Config
from memory_vault.sources.registry import configured_sources
from memory_vault.store.vault import Vault


def choose_commit(vault: Vault, tip: str, *, at: str | None, rev: str | None) -> str:
    """The commit to restore: `rev`, else the newest at or before `at`, else the tip."""
    if rev:
        return commit_named(vault, rev, "--commit")
    if at:
        return at_or_before(vault, tip, at, "--at")
    return tip


def run_restore(
    config: Config,
    log: RunLog,
    *,
    names: list[str],
    at: str | None,
    rev: str | None,
    to: str | None,
    dry_run: bool,
    progress: bool,
    announce: Callable[[RestorePlan], None] | None = None,
) -> RestorePlan:
    """The whole `restore` command; a dry run reads a throw-away clone that borrows the
    real one's objects, so that it changes nothing in the data folder. `announce` shows the
    plan before anything is written."""
    if at and rev:
        raise UsageError("--at and --commit cannot be used together")
    if at:
        parse_when(at)  # a bad date is a usage error before any network
    target = os.path.abspath(to or config.source_dir)
    with (tempfile.TemporaryDirectory(prefix="memory-vault-restore-") as scratch,
          reading(config, log, progress=progress,
                  scratch=scratch if dry_run else None) as (vault, tip)):
        if tip is None:
            raise VaultError("the vault is empty: there is nothing to restore")
        commit = choose_commit(vault, tip, at=at, rev=rev)
        configured = configured_sources(config)
        place = into(target) if to else into_sources(configured)
        plan = plan_restore(vault, commit, names, target, place, configured)
        plan.dry_run = dry_run
        plan.into_source = to is None or target == os.path.abspath(config.source_dir)
        if vault.repo.fresh and config.env_file is None and not dry_run:
            line = init_command(config, dict(os.environ), command_name(), log.redactor.clean)
            plan.resume_hint = f"Backups are not set up on this machine yet: `{line}` resumes them."
        if announce is not None:
            announce(plan)
            plan.announced = True
        if not dry_run:
            os.makedirs(target, exist_ok=True)
            apply_restore(vault, plan)
            log.note(f"restore: {len(plan.to_write)} file(s) from {plan.commit[:12]} "
                     f"({plan.date}) into {target}")
    return plan


