"""Commit and push steps: the staged versions become one commit (its shrink alarms stated in
it), the clone's work tree shows it, and it is pushed.

Once the commit exists the backup has happened: nothing after it (a push refused, a full
disk while tidying up or writing the journal) turns the run into a failure; each is a
warning, and the exit code says what is true (0, or 3 while a push waits).
"""

from memory_vault.errors import GitFailed, Interrupted, VaultError
from memory_vault.pipeline.record import log_files, remember
from memory_vault.sources.scan import Skip

REDACT_TRIES = 3

TYPE_CHECKING = False
if TYPE_CHECKING:
    from memory_vault.capture.version import Version
    from memory_vault.pipeline.dryrun import DryRun
    from memory_vault.pipeline.sync import Run
    from memory_vault.store.vault import Vault


def commit_and_push(run: "Run", vault: "Vault | DryRun", seen: "list[Version]") -> None:
    commit_step(run, vault, seen)
    if run.request.dry_run:
        return
    try:
        push_step(run, vault)
        after_the_backup(run, vault)
    except OSError as exc:  # a full disk, a read-only folder: the commit is made already
        run.log.warning(f"after the commit: {exc.strerror or exc}"
                        f"{f' ({exc.filename})' if exc.filename else ''}; the backup itself "
                        "is committed")


def commit_step(run: "Run", vault: "Vault | DryRun", seen: "list[Version]") -> None:
    journal, outcome = run.journal, run.outcome
    shrinks = []
    if not run.request.dry_run:
        from memory_vault.pipeline.alarms import find_shrinks, recover_alarms

        recover_alarms(run.log, journal, vault)  # type: ignore[arg-type]
        shrinks = find_shrinks(journal, vault, vault.commits.staged())  # type: ignore[arg-type]
    commit = vault.commits.commit(outcome.started, shrinks)
    refused = vault.commits.refused
    outcome.skips += [Skip(path, why) for path, why in refused.items()]
    remember(journal, [v for v in seen if v.path not in refused], outcome.started)
    journal.last_commit = vault.repo.head() or ""  # the commit that holds these versions
    if commit is None:
        return
    outcome.committed = commit.sha
    outcome.changed = [v.path for v in commit.files]
    log_files(run.log, commit.files)
    if shrinks:
        from memory_vault.pipeline.alarms import open_alarms

        open_alarms(run.log, journal, commit, shrinks)


def push_step(run: "Run", vault: "Vault | DryRun") -> None:
    journal, outcome = run.journal, run.outcome
    journal.pending_push = vault.remote.unpushed()
    if not (run.push and journal.pending_push):
        return
    try:
        push_draining(run, vault)
        outcome.pushed = True
        journal.pending_push = 0
        journal.last_commit = vault.repo.head() or journal.last_commit  # after a replay
    except KeyboardInterrupt:  # git's process group is killed; the commits stay
        raise Interrupted(waiting(journal.pending_push)) from None
    except GitFailed as exc:
        outcome.push_error = exc
        run.log.error(f"push failed ({exc.kind}), {journal.pending_push} commit(s) kept in "
                      f"the clone for the next run: {exc}")
    left_out = vault.remote.refused
    if left_out:  # the remote's tip has a link or a file where their folder should be
        outcome.skips += [Skip(path, why) for path, why in left_out.items()]
        for path in left_out:
            journal.files.pop(path, None)  # not in the vault's tip: read again next run
    if vault.remote.rewritten is not None:
        import time

        journal.rewritten = (int(time.time()), *vault.remote.rewritten)


def waiting(commits: int) -> str:
    """What is safe when a push was stopped: `1 commit waits in the clone; ...`."""
    if commits == 1:
        return "1 commit waits in the clone; the next run pushes it"
    return f"{commits} commits wait in the clone; the next run pushes them"


def push_draining(run: "Run", vault: "Vault | DryRun") -> None:
    """Push; a push the host refuses for a secret is redacted in the commits it lacks and
    tried again (a few times: each try may show the host a secret the last one hid)."""
    from memory_vault.store.refusal import SecretRefused

    for tries_left in range(REDACT_TRIES - 1, -1, -1):
        try:
            vault.remote.push()
            return
        except SecretRefused as refused:
            from memory_vault.pipeline.refused import redact_queue

            if not tries_left or not redact_queue(run, vault, refused.refusal):  # type: ignore[arg-type]
                raise


def after_the_backup(run: "Run", vault: "Vault | DryRun") -> None:
    """The clone's work tree, compaction and staged copies: never the run's outcome."""
    outcome = run.outcome
    if outcome.committed is not None or outcome.pushed:
        for step, what in ((vault.worktree.update, "showing the backup in the clone"),
                           (vault.compactor.maintain, "housekeeping")):
            try:
                step()
            except (VaultError, OSError) as exc:
                run.log.warning(f"{what} after the backup failed (the backup itself is safe):"
                                f" {exc}")
    vault.done()
