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
from memory_vault.logfile import RunLog

CONTEXT = {"help_option_names": ["-h", "--help"]}


class Globals:
    """The options every command accepts, before or after its name."""

    def __init__(self) -> None:
        self.env_file: str | None = None
        self.verbose = False
        self.quiet = False

    def echo(self, *, summary: bool = False) -> int:
        return echo_level(quiet=self.quiet, verbose=self.verbose, summary=summary)


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
         options: dict[str, str] | None = None, need_source: bool = True,
         search_env_file: bool = True) -> None:
    opts = _globals(ctx)
    code = run_guarded(action, env_file=opts.env_file, echo=opts.echo(summary=summary),
                       options=options, need_source=need_source,
                       search_env_file=search_env_file)
    ctx.exit(code)


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
    _run(ctx, lambda config, log: run_sync(config, log, request), summary=now or dry_run)


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
    settings: dict[str, str] = {}
    if source is not None or not _configured("MEMORY_VAULT_SOURCE_DIR", env_path):
        settings["MEMORY_VAULT_SOURCE_DIR"] = os.path.abspath(os.path.expanduser(source or "."))
    if remote is not None:
        settings["MEMORY_VAULT_REMOTE"] = remote
    # Read the file init is about to write (if it exists yet), and no other.
    _globals(ctx).env_file = env_path if os.path.isfile(env_path) else None

    def action(config: Config, log: RunLog) -> int:
        initialize(config, log, env_path=env_path, settings=settings)
        where = "embedded vault" if config.embedded else "remote"
        click.echo(f"Memory Vault is ready.\n"
                   f"  source:   {config.source_dir}\n"
                   f"  {where + ':':9} {log.redactor.clean(config.remote)}\n"
                   f"  clone:    {config.clone_dir}\n"
                   f"  settings: {env_path}\n"
                   "Next: `memory-vault --now` for a first backup, "
                   "`memory-vault schedule install` to run it every 15 minutes.")
        return 0

    _run(ctx, action, options=settings, search_env_file=False)


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
