"""The click command line: parses arguments, calls one module per command, prints.

Errors become exit codes in one place, `entry.run_guarded`.
"""

import os
import sys
from collections.abc import Callable
from typing import Any

import click

from memory_vault import __version__
from memory_vault.config import Config
from memory_vault.entry import echo_level, run_guarded
from memory_vault.logfile import RunLog, write_stdout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from memory_vault.report import FileStatus, StatusReport

CONTEXT = {"help_option_names": ["-h", "--help"]}


class Globals:
    """The options every command accepts, before or after its name."""

    def __init__(self) -> None:
        self.env_file: str | None = None
        self.verbose = False
        self.quiet = False

    def echo(self, *, summary: bool = False, person: bool = True) -> int:
        return echo_level(quiet=self.quiet, verbose=self.verbose, summary=summary,
                          person=person)


def _globals(ctx: click.Context) -> Globals:
    root = ctx.find_root()
    if not isinstance(root.obj, Globals):
        root.obj = Globals()
    return root.obj


def _set_env_file(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        _globals(ctx).env_file = value


def _set_flag(name: str) -> Callable[[click.Context, click.Parameter, bool], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            setattr(_globals(ctx), name, True)

    return callback


def global_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--env-file, -v and -q, accepted on the group and on every command."""
    func = click.option("--env-file", type=click.Path(dir_okay=False), expose_value=False,
                        callback=_set_env_file, help="Read settings from this env file.")(func)
    func = click.option("-v", "--verbose", is_flag=True, expose_value=False,
                        callback=_set_flag("verbose"), help="Say more.")(func)
    func = click.option("-q", "--quiet", is_flag=True, expose_value=False,
                        callback=_set_flag("quiet"), help="Print errors only.")(func)
    return func


def _run(ctx: click.Context, action: Callable[[Config, RunLog], int], *, summary: bool = False,
         person: bool = True, options: dict[str, str] | None = None, need_source: bool = True,
         search_env_file: bool = True) -> None:
    """Run a command's action with its settings and logs; `person`: a command someone typed,
    whose warnings reach stderr even when its output goes to a file or a pipe."""
    opts = _globals(ctx)
    code = run_guarded(action, env_file=opts.env_file,
                       echo=opts.echo(summary=summary, person=person), options=options,
                       need_source=need_source, search_env_file=search_env_file)
    ctx.exit(code)


def out(text: str = "") -> None:
    """One line of a command's output (quietly nothing once the reader has gone away)."""
    write_stdout(text + "\n")


@click.group(invoke_without_command=True, context_settings=CONTEXT)
@click.option("--now", is_flag=True, help="Sync now: hash every file and print a summary.")
@global_options
@click.version_option(__version__, prog_name="memory-vault")
@click.pass_context
def cli(ctx: click.Context, now: bool) -> None:
    """Memory Vault: versioned git backups of AI-agent memory files.

    With no command it runs one sync, as cron does; `--now` syncs and prints a summary.
    """
    if ctx.invoked_subcommand is None:
        _sync(ctx, now=now, dry_run=False, no_push=False)


@cli.command(context_settings=CONTEXT)
@click.option("--now", is_flag=True, help="Hash every file whatever its mtime; print a summary.")
@click.option("--dry-run", is_flag=True, help="Show what would be backed up; change nothing.")
@click.option("--no-push", is_flag=True, help="Commit locally; leave the push to a later run.")
@global_options
@click.pass_context
def sync(ctx: click.Context, now: bool, dry_run: bool, no_push: bool) -> None:
    """Back up the memory files that changed (one commit, then push)."""
    _sync(ctx, now=now, dry_run=dry_run, no_push=no_push)


def _sync(ctx: click.Context, *, now: bool, dry_run: bool, no_push: bool) -> None:
    from memory_vault.sync import SyncRequest, run_sync

    request = SyncRequest(now=now, dry_run=dry_run, push=not no_push)
    _run(ctx, lambda config, log: run_sync(config, log, request), summary=now or dry_run,
         person=now or dry_run)


@cli.command(context_settings=CONTEXT)
@click.option("--remote", metavar="URL", help="Git URL or path of the backup repository.")
@click.option("--source", metavar="DIR", type=click.Path(file_okay=False),
              help="Folder holding the memory files (default: the current one).")
@global_options
@click.pass_context
def init(ctx: click.Context, remote: str | None, source: str | None) -> None:
    """Write the settings file and create the clone (and the embedded remote if none)."""
    from memory_vault.initialize import init_target, initialize

    env_path = init_target(_globals(ctx).env_file, dict(os.environ))
    options: dict[str, str] = {}
    if source is not None or not _configured("MEMORY_VAULT_SOURCE_DIR", env_path):
        options["MEMORY_VAULT_SOURCE_DIR"] = os.path.abspath(os.path.expanduser(source or "."))
    if remote is not None:
        options["MEMORY_VAULT_REMOTE"] = remote
    # Read the file init is about to write (if it exists yet), and no other.
    _globals(ctx).env_file = env_path if os.path.isfile(env_path) else None

    def action(config: Config, log: RunLog) -> int:
        done = initialize(config, log, env_path=env_path, options=options)
        where = "embedded vault" if config.embedded else "remote"
        rows = [("source", config.source_dir), (where, log.redactor.clean(config.remote)),
                ("clone", config.clone_dir), ("settings", env_path),
                ("saved", ", ".join(sorted(done.written)))]
        width = max(len(label) for label, _ in rows) + 2
        out("Memory Vault is ready." if done.reachable else
            "Memory Vault is set up, but the remote cannot be reached yet:")
        for label, value in rows:
            out(f"  {label + ':':<{width}}{value}")
        out("Next: `memory-vault --now` for a first backup, "
            "`memory-vault schedule install` to run it every 15 minutes.")
        return 0 if done.reachable else 3

    _run(ctx, action, options=options, search_env_file=False)


@cli.command(context_settings=CONTEXT)
@click.argument("files", nargs=-1, metavar="[FILE...]")
@click.option("--at", "at", metavar="WHEN",
              help="The newest version at or before this ISO 8601 time (UTC unless it says).")
@click.option("--commit", "rev", metavar="REV", help="The version of this commit.")
@click.option("--to", "to", metavar="DIR", type=click.Path(file_okay=False),
              help="Restore into DIR instead of the source dir.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@global_options
@click.pass_context
def restore(ctx: click.Context, files: tuple[str, ...], at: str | None, rev: str | None,
            to: str | None, dry_run: bool) -> None:
    """Bring files back from the vault (all of them unless FILEs are named)."""
    from memory_vault.restore import run_restore

    progress = sys.stderr.isatty() and not _globals(ctx).quiet

    def action(config: Config, log: RunLog) -> int:
        plan = run_restore(config, log, names=list(files), at=at, rev=rev, to=to,
                           dry_run=dry_run, progress=progress)
        out(f"{'Plan: restore' if dry_run else 'Restoring'} from {plan.commit[:12]} "
            f"({plan.date}) into {plan.target}")
        for item in plan.items:
            note = ""
            if item.action == "replace":
                kept = item.kept_as or f"{item.name}.pre-restore-<time>"
                note = f"  (current copy kept as {os.path.basename(kept)})"
            elif item.action == "refused":
                note = f"  ({item.reason})"
            out(f"  {item.action:<9} {item.name}{note}")
        written = len(plan.to_write)
        if dry_run:
            out("Dry run: nothing was changed.")
        else:
            out(f"Restored {written} file(s); "
                f"{len(plan.items) - written - len(plan.refused)} already up to date.")
            out("Restart the agent system so the agents load the restored memory.")
        if plan.refused:
            return 1 if not written and len(plan.refused) == len(plan.items) else 3
        return 0

    _run(ctx, action, need_source=False)


@cli.command(context_settings=CONTEXT)
@click.argument("file", required=False)
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="At most N commits.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@global_options
@click.pass_context
def history(ctx: click.Context, file: str | None, limit: int | None, as_json: bool) -> None:
    """The vault's commits (touching FILE), newest first."""
    from memory_vault.report import history as read_history
    from memory_vault.vault import reading

    def action(config: Config, log: RunLog) -> int:
        with reading(config, log, fetch=False) as (vault, tip):
            entries = read_history(vault, tip, file, limit)
        if as_json:
            _print_json([e.as_dict() for e in entries])
        for entry in [] if as_json else entries:
            out(f"{entry.date}  {entry.commit[:12]}  {', '.join(entry.files)}")
        return 0

    _run(ctx, action, need_source=False)


@cli.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@global_options
@click.pass_context
def status(ctx: click.Context, as_json: bool) -> None:
    """Last success, pending pushes, each file; exit 1 when unhealthy (a monitoring check)."""
    from memory_vault.report import build_status, vault_view

    def action(config: Config, log: RunLog) -> int:
        report = build_status(config, vault_view(config, log))
        if as_json:
            _print_json(report.as_dict())
        else:
            _print_status(report)
        return 0 if report.healthy else 1

    _run(ctx, action, need_source=False)


def _print_status(report: "StatusReport") -> None:
    out(f"Memory Vault: {'healthy' if report.healthy else 'UNHEALTHY'}")
    logs = report.log_file + ("" if report.err_file == report.log_file
                              else f" (errors: {report.err_file})")
    rows = [
        ("remote", report.remote + (" (embedded)" if report.embedded else "")),
        ("clone", report.clone),
        ("logs", logs),
        ("last success", f"{report.last_success or 'never'}"
                         + (f" (commit {report.last_commit[:12]})" if report.last_commit else "")),
        ("last run", f"{report.last_run or 'never'} {report.last_outcome or ''}".strip()),
        ("pending push", str(report.pending_push)
                         + ("" if report.push_enabled else " (push disabled)")),
        ("last error", report.last_error or "-"),
    ]
    for label, value in rows:
        out(f"  {label + ':':<14}{value}")
    out("  files:")
    width = max((len(f.name) for f in report.files), default=0)
    for f in report.files:
        out(f"    {f.name:<{width}}  {f.format or '':<6} {_file_line(f)}")
    for path in report.set_aside:
        out(f"  set aside:    {path} (a damaged clone, kept; delete it when you no longer "
            "need it)")
    for note in report.notes:
        out(f"  note: {note}")
    for problem in report.problems:
        out(f"  problem: {problem.message}")


def _file_line(f: "FileStatus") -> str:
    kept = f" (the vault has its version of {f.saved})" if f.saved else ""
    return {
        "absent": f"absent{kept}",
        "skipped": f"skipped: {f.reason}"
                   + (kept or " (never backed up)"),
        "new": "new since the last sync: not backed up yet",
        "changed": f"changed since the last sync{kept}",
        "unchanged": f"unchanged since the last sync{kept}",
    }[f.state]


@cli.command(context_settings=CONTEXT)
@global_options
@click.pass_context
def verify(ctx: click.Context) -> None:
    """Check the backup: fsck, remote equals local, a test restore, sources vs the vault."""
    from memory_vault.vault import reading
    from memory_vault.verify import verify as run_checks

    def action(config: Config, log: RunLog) -> int:
        with reading(config, log, fetch=False) as (vault, tip):
            checks = run_checks(vault, tip)
        for check in checks:
            out(f"{'ok' if check.ok else 'FAIL':<5} {check.name:<8} {check.detail}")
        failed = [c.name for c in checks if not c.ok]
        log.info(f"verify: {'all checks passed' if not failed else 'failed: ' + ', '.join(failed)}")
        return 1 if failed else 0

    _run(ctx, action, need_source=False)


@cli.group(context_settings=CONTEXT)
def schedule() -> None:
    """Manage the one crontab line that runs Memory Vault."""


@schedule.command("install", context_settings=CONTEXT)
@click.option("--every", type=int, default=15, show_default=True, metavar="MIN",
              help="Minutes between runs.")
@global_options
@click.pass_context
def schedule_install(ctx: click.Context, every: int) -> None:
    """Add (or replace) the crontab line."""
    from memory_vault import schedule as cron

    def action(config: Config, log: RunLog) -> int:
        line = cron.cron_line(every, _settings_file(config))
        changed = cron.install(line)
        out(("Installed" if changed else "Already installed") + f":\n{line}")
        log.info(f"schedule: {'installed' if changed else 'unchanged'}: {line}")
        return 0

    _run(ctx, action, need_source=False)


@schedule.command("remove", context_settings=CONTEXT)
@global_options
@click.pass_context
def schedule_remove(ctx: click.Context) -> None:
    """Remove the crontab line (and nothing else)."""
    from memory_vault import schedule as cron

    def action(config: Config, log: RunLog) -> int:
        removed = cron.remove()
        out("Removed the memory-vault line." if removed
            else "There was no memory-vault line in the crontab.")
        return 0

    _run(ctx, action, need_source=False)


@schedule.command("show", context_settings=CONTEXT)
@global_options
@click.pass_context
def schedule_show(ctx: click.Context) -> None:
    """Print the crontab line (exit 1 when it is not installed)."""
    from memory_vault import schedule as cron

    def action(config: Config, log: RunLog) -> int:
        from memory_vault.errors import VaultError

        wanted = cron.cron_line(15, _settings_file(config, must_exist=False))
        try:
            line = cron.installed()
        except VaultError as exc:
            log.warning(str(exc))
            out(wanted)
            return 1
        if line is None:
            out("No memory-vault line in the crontab; `memory-vault schedule install` "
                "adds this one:")
            out(wanted)
            return 1
        out(line)
        return 0

    _run(ctx, action, need_source=False)


def _settings_file(config: Config, *, must_exist: bool = True) -> str:
    """The env file the cron line names: the one in use, else the one `init` writes."""
    from memory_vault.errors import UsageError
    from memory_vault.initialize import init_target

    path = config.env_file or init_target(None, dict(os.environ))
    if must_exist and not os.path.isfile(path):
        raise UsageError(f"no settings file at {path}: run `memory-vault init` first "
                         "(cron runs with a bare environment and needs one)")
    return path


def _print_json(value: object) -> None:
    import json

    out(json.dumps(value, indent=2, ensure_ascii=False))


def _configured(name: str, env_path: str) -> bool:
    if os.environ.get(name):
        return True
    if not os.path.isfile(env_path):
        return False
    from memory_vault.envfile import read_env_file

    return bool(read_env_file(env_path, dict(os.environ)).get(name))


def run_cli(args: list[str]) -> int:
    """Run the click CLI on `args` and return its exit code (never raises SystemExit)."""
    try:
        result = cli.main(args=args, prog_name="memory-vault", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 1
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(run_cli(sys.argv[1:]))
