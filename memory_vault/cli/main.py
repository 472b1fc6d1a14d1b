"""The click command line: it parses arguments and renders results, nothing more.

Each command returns the action to run; `commands.runs`, the one decorator they share, runs
it under `guard.run_guarded` (which decides the exit code) and `render` prints the result.
"""

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from memory_vault import __version__
from memory_vault.cli.help import SUMMARY, WHEN, epilog
from memory_vault.cli.options import (
    Count,
    Job,
    Work,
    global_options,
    globals_of,
    json_option,
    runs,
)

CONTEXT = {"help_option_names": ["-h", "--help"]}


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
        ctx.invoke(sync, now=now, dry_run=False, no_push=False)


@cli.command(short_help=SUMMARY["sync"], epilog=epilog("sync"), context_settings=CONTEXT)
@click.option("--now", is_flag=True, help="Hash every file whatever its mtime; print a summary.")
@click.option("--dry-run", is_flag=True, help="Show what would be backed up; change nothing.")
@click.option("--no-push", is_flag=True, help="Commit locally; leave the push to a later run.")
@runs(need_source=True)
def sync(now: bool, dry_run: bool, no_push: bool) -> Job:
    """Back up the memory files that changed (one commit, then push)."""
    from memory_vault.pipeline.sync import SyncRequest, run_sync

    quiet = globals_of(click.get_current_context()).quiet
    request = SyncRequest(now=now, dry_run=dry_run, push=not no_push,
                          progress=(now or dry_run) and sys.stderr.isatty() and not quiet)
    return Job(lambda config, log: run_sync(config, log, request), summary=now or dry_run,
               person=now or dry_run)


@cli.command(short_help=SUMMARY["init"], epilog=epilog("init"), context_settings=CONTEXT)
@click.option("--remote", metavar="URL", help="Git URL or path of the backup repository.")
@click.option("--source", metavar="DIR", type=click.Path(file_okay=False),
              help="Folder holding the memory files (default: the current one).")
@runs(need_source=True)
def init(remote: str | None, source: str | None) -> Job:
    """Write the settings file and create the clone (and the embedded remote if none)."""
    from memory_vault.pipeline.setup import init_options, init_target, initialize

    ctx = click.get_current_context()
    env_path = init_target(globals_of(ctx).env_file, dict(os.environ))
    options = init_options(env_path, remote=remote, source=source)
    # Read the file init is about to write (if it exists yet), and no other.
    globals_of(ctx).env_file = env_path if Path(env_path).is_file() else None
    return Job(lambda config, log: initialize(config, log, env_path=env_path, options=options),
               options=options, search_env_file=False)


@cli.command(short_help=SUMMARY["restore"], epilog=epilog("restore", WHEN),
             context_settings=CONTEXT)
@click.argument("files", nargs=-1, metavar="[FILE...]")
@click.option("--at", "at", metavar="WHEN",
              help="The newest version at or before this ISO 8601 time (UTC unless it says).")
@click.option("--commit", "rev", metavar="REV", help="The version of this commit.")
@click.option("--to", "to", metavar="DIR", type=click.Path(file_okay=False),
              help="Restore into DIR instead of the source dir.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@runs()
def restore(files: tuple[str, ...], at: str | None, rev: str | None, to: str | None,
            dry_run: bool) -> Work:
    """Bring files back from the vault (all of them unless FILEs are named)."""
    from memory_vault.cli.render import show_plan
    from memory_vault.recall.restore import run_restore

    opts = globals_of(click.get_current_context())
    progress = sys.stderr.isatty() and not opts.quiet
    announce = None if opts.quiet or opts.as_json else show_plan
    return lambda config, log: run_restore(config, log, names=list(files), at=at, rev=rev,
                                           to=to, dry_run=dry_run, progress=progress,
                                           announce=announce)


@cli.command(short_help=SUMMARY["history"], epilog=epilog("history"), context_settings=CONTEXT)
@click.argument("file", required=False)
@click.option("--limit", type=Count(), metavar="N", help="At most N commits.")
@json_option
@runs()
def history(file: str | None, limit: int | None) -> Work:
    """The vault's commits (touching FILE), newest first."""
    from memory_vault.recall.history import run_history

    return lambda config, log: run_history(config, log, file, limit)


@cli.command(short_help=SUMMARY["diff"], epilog=epilog("diff", WHEN), context_settings=CONTEXT)
@click.argument("file")
@click.option("--from", "since", metavar="WHEN|REV",
              help="The older version: a commit, or the newest at or before a time "
                   "(default: the vault's tip).")
@click.option("--to", "until", metavar="WHEN|REV",
              help="The newer version (default: the file in the source dir now).")
@json_option
@runs()
def diff(file: str, since: str | None, until: str | None) -> Work:
    """What changed in one memory file, record by record: learned, forgotten, changed."""
    from memory_vault.recall.diff import run_diff

    return lambda config, log: run_diff(config, log, file, since=since, until=until)


@cli.command(short_help=SUMMARY["ack"], epilog=epilog("ack"), context_settings=CONTEXT)
@click.argument("files", nargs=-1, metavar="[FILE...]")
@runs()
def ack(files: tuple[str, ...]) -> Work:
    """Close the shrink alarms of FILEs (all of them without FILE)."""
    from memory_vault.health.ack import run_ack

    return lambda config, log: run_ack(config, log, list(files))


@cli.command(short_help=SUMMARY["status"], epilog=epilog("status"), context_settings=CONTEXT)
@json_option
@runs()
def status() -> Work:
    """Last success, pending pushes, each file; exit 1 when unhealthy (a monitoring check)."""
    from memory_vault.health.status import run_status

    return run_status


@cli.command(short_help=SUMMARY["verify"], epilog=epilog("verify"), context_settings=CONTEXT)
@runs()
def verify() -> Work:
    """Check the backup: fsck, remote equals local, a test restore, sources vs the vault."""
    from memory_vault.health.verify import run_verify

    return run_verify


@cli.group(short_help=SUMMARY["schedule"], epilog=epilog("schedule"), context_settings=CONTEXT)
@global_options
def schedule() -> None:
    """Manage the one scheduled job that runs Memory Vault (cron, systemd or launchd)."""


def _scheduler_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--with", "kind", type=click.Choice(["cron", "systemd", "launchd"]),
                        help="The scheduler (default: cron where crontab exists, else a "
                             "systemd user timer, launchd on macOS).")(func)
    return func


def _every(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--every", type=int, default=15, show_default=True, metavar="MIN",
                        help="Minutes between runs: a divisor of 60, or whole hours that "
                             "divide a day.")(func)


@schedule.command("install", short_help=SUMMARY["install"], epilog=epilog("install"),
                  context_settings=CONTEXT)
@_every
@_scheduler_options
@runs()
def schedule_install(every: int, kind: str | None) -> Work:
    """Install the job (or replace ours): exactly one, whatever was there."""
    from memory_vault.triggers.schedule import run_install

    return lambda config, log: run_install(config, log, every, kind)


@schedule.command("remove", short_help=SUMMARY["remove"], epilog=epilog("remove"),
                  context_settings=CONTEXT)
@_scheduler_options
@runs()
def schedule_remove(kind: str | None) -> Work:
    """Remove the job (and nothing else)."""
    from memory_vault.triggers.schedule import run_remove

    return lambda config, log: run_remove(config, log, kind)


@schedule.command("show", short_help=SUMMARY["show"], epilog=epilog("show"),
                  context_settings=CONTEXT)
@_every
@_scheduler_options
@runs()
def schedule_show(every: int, kind: str | None) -> Work:
    """Print the job: the installed one, else the one install writes (exit 1)."""
    from memory_vault.triggers.schedule import run_show

    return lambda config, log: run_show(config, log, every, kind)


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
