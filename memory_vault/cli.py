"""The click command line: it parses arguments and renders results, nothing more.

Each command returns the action to run (settings and logs in, a result out); `runs`, the one
decorator they share, hands it to `guard.run_guarded`, which decides the exit code from the
result or the error, and to `render`, which prints it as text or JSON.
"""

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from memory_vault import __version__
from memory_vault.config import Config
from memory_vault.guard import echo_level, run_guarded
from memory_vault.logfile import RunLog

TYPE_CHECKING = False
if TYPE_CHECKING:
    from memory_vault.results import Result

CONTEXT = {"help_option_names": ["-h", "--help"]}
Action = Callable[[Config, RunLog], "Result"]


class Globals:
    """The options every command accepts, before or after its name."""

    def __init__(self) -> None:
        self.env_file: str | None = None
        self.verbose = False
        self.quiet = False
        self.as_json = False


class Job:
    """An action with what its command needs around it (when the defaults do not do)."""

    def __init__(self, action: Action, *, summary: bool = False, person: bool = True,
                 options: dict[str, str] | None = None, search_env_file: bool = True) -> None:
        self.action = action
        self.summary = summary
        self.person = person
        self.options = options
        self.search_env_file = search_env_file


def _globals(ctx: click.Context) -> Globals:
    root = ctx.find_root()
    if not isinstance(root.obj, Globals):
        root.obj = Globals()
    return root.obj


def _setter(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value:
            setattr(_globals(ctx), name, value)

    return callback


def global_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--env-file, -v and -q, accepted on the group, its subgroups and every command."""
    func = click.option("--env-file", type=click.Path(dir_okay=False), expose_value=False,
                        callback=_setter("env_file"),
                        help="Read settings from this env file.")(func)
    func = click.option("-v", "--verbose", is_flag=True, expose_value=False,
                        callback=_setter("verbose"), help="Say more.")(func)
    func = click.option("-q", "--quiet", is_flag=True, expose_value=False,
                        callback=_setter("quiet"), help="Print errors only.")(func)
    return func


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, expose_value=False,
                        callback=_setter("as_json"), help="Print JSON.")(func)


def runs(*, need_source: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The body every command shares: run the action the command returns, under the guard,
    render its result, exit with its code."""
    def wrap(func: Callable[..., "Action | Job"]) -> Callable[..., Any]:
        @functools.wraps(func)
        @click.pass_context
        def command(ctx: click.Context, /, **kwargs: Any) -> None:
            job = func(**kwargs)
            job = job if isinstance(job, Job) else Job(job)
            opts = _globals(ctx)
            echo = echo_level(quiet=opts.quiet, verbose=opts.verbose, summary=job.summary,
                              person=job.person)
            from memory_vault import render

            show: Callable[[Any], None] = functools.partial(render.show, as_json=opts.as_json)
            if opts.quiet and not opts.as_json:
                show = _nothing
            ctx.exit(run_guarded(job.action, env_file=opts.env_file, echo=echo,
                                 options=job.options, need_source=need_source,
                                 search_env_file=job.search_env_file, render=show))

        return global_options(command)

    return wrap


def _nothing(_result: object) -> None:
    return None


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


@cli.command(context_settings=CONTEXT)
@click.option("--now", is_flag=True, help="Hash every file whatever its mtime; print a summary.")
@click.option("--dry-run", is_flag=True, help="Show what would be backed up; change nothing.")
@click.option("--no-push", is_flag=True, help="Commit locally; leave the push to a later run.")
@runs(need_source=True)
def sync(now: bool, dry_run: bool, no_push: bool) -> Job:
    """Back up the memory files that changed (one commit, then push)."""
    from memory_vault.sync import SyncRequest, run_sync

    quiet = _globals(click.get_current_context()).quiet
    request = SyncRequest(now=now, dry_run=dry_run, push=not no_push,
                          progress=(now or dry_run) and sys.stderr.isatty() and not quiet)
    return Job(lambda config, log: run_sync(config, log, request), summary=now or dry_run,
               person=now or dry_run)


@cli.command(context_settings=CONTEXT)
@click.option("--remote", metavar="URL", help="Git URL or path of the backup repository.")
@click.option("--source", metavar="DIR", type=click.Path(file_okay=False),
              help="Folder holding the memory files (default: the current one).")
@runs(need_source=True)
def init(remote: str | None, source: str | None) -> Job:
    """Write the settings file and create the clone (and the embedded remote if none)."""
    from memory_vault.initialize import init_options, init_target, initialize

    ctx = click.get_current_context()
    env_path = init_target(_globals(ctx).env_file, dict(os.environ))
    options = init_options(env_path, remote=remote, source=source)
    # Read the file init is about to write (if it exists yet), and no other.
    _globals(ctx).env_file = env_path if Path(env_path).is_file() else None
    return Job(lambda config, log: initialize(config, log, env_path=env_path, options=options),
               options=options, search_env_file=False)


@cli.command(context_settings=CONTEXT)
@click.argument("files", nargs=-1, metavar="[FILE...]")
@click.option("--at", "at", metavar="WHEN",
              help="The newest version at or before this ISO 8601 time (UTC unless it says).")
@click.option("--commit", "rev", metavar="REV", help="The version of this commit.")
@click.option("--to", "to", metavar="DIR", type=click.Path(file_okay=False),
              help="Restore into DIR instead of the source dir.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@runs()
def restore(files: tuple[str, ...], at: str | None, rev: str | None, to: str | None,
            dry_run: bool) -> Action:
    """Bring files back from the vault (all of them unless FILEs are named)."""
    from memory_vault.restore import run_restore

    progress = sys.stderr.isatty() and not _globals(click.get_current_context()).quiet
    return lambda config, log: run_restore(config, log, names=list(files), at=at, rev=rev,
                                           to=to, dry_run=dry_run, progress=progress)


@cli.command(context_settings=CONTEXT)
@click.argument("file", required=False)
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="At most N commits.")
@json_option
@runs()
def history(file: str | None, limit: int | None) -> Action:
    """The vault's commits (touching FILE), newest first."""
    from memory_vault.history import run_history

    return lambda config, log: run_history(config, log, file, limit)


@cli.command(context_settings=CONTEXT)
@click.argument("file")
@click.option("--from", "since", metavar="WHEN|REV",
              help="The older version: a commit, or the newest at or before a time "
                   "(default: the vault's tip).")
@click.option("--to", "until", metavar="WHEN|REV",
              help="The newer version (default: the file in the source dir now).")
@json_option
@runs()
def diff(file: str, since: str | None, until: str | None) -> Action:
    """What changed in one memory file, record by record: learned, forgotten, changed."""
    from memory_vault.diff import run_diff

    return lambda config, log: run_diff(config, log, file, since=since, until=until)


@cli.command(context_settings=CONTEXT)
@click.argument("files", nargs=-1, metavar="[FILE...]")
@runs()
def ack(files: tuple[str, ...]) -> Action:
    """Close the shrink alarms of FILEs (all of them without FILE)."""
    from memory_vault.alarms import run_ack

    return lambda config, log: run_ack(config, log, list(files))


@cli.command(context_settings=CONTEXT)
@json_option
@runs()
def status() -> Action:
    """Last success, pending pushes, each file; exit 1 when unhealthy (a monitoring check)."""
    from memory_vault.status import run_status

    return run_status


@cli.command(context_settings=CONTEXT)
@runs()
def verify() -> Action:
    """Check the backup: fsck, remote equals local, a test restore, sources vs the vault."""
    from memory_vault.verify import run_verify

    return run_verify


@cli.group(context_settings=CONTEXT)
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


@schedule.command("install", context_settings=CONTEXT)
@_every
@_scheduler_options
@runs()
def schedule_install(every: int, kind: str | None) -> Action:
    """Install the job (or replace ours): exactly one, whatever was there."""
    from memory_vault.schedule import run_install

    return lambda config, log: run_install(config, log, every, kind)


@schedule.command("remove", context_settings=CONTEXT)
@_scheduler_options
@runs()
def schedule_remove(kind: str | None) -> Action:
    """Remove the job (and nothing else)."""
    from memory_vault.schedule import run_remove

    return lambda config, log: run_remove(config, log, kind)


@schedule.command("show", context_settings=CONTEXT)
@_every
@_scheduler_options
@runs()
def schedule_show(every: int, kind: str | None) -> Action:
    """Print the job: the installed one, else the one install writes (exit 1)."""
    from memory_vault.schedule import run_show

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
