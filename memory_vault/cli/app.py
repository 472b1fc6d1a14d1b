"""App: the click group every command hangs from; with no command it runs one sync, as cron
does. The commands live in modules by concern (`*_commands.py`); `main` gathers them."""

import click

from memory_vault import __version__
from memory_vault.cli.options import global_options, json_option

CONTEXT = {"help_option_names": ["-h", "--help"]}


@click.group(invoke_without_command=True, context_settings=CONTEXT)
@click.option("--now", is_flag=True, help="Sync now: hash every file and print a summary.")
@global_options
@json_option
@click.version_option(__version__, prog_name="memory-vault")
@click.pass_context
def cli(ctx: click.Context, now: bool) -> None:
    """Memory Vault: versioned git backups of AI-agent memory files.

    With no command it runs one sync, as cron does; `--now` syncs and prints a summary.
    """
    if ctx.invoked_subcommand is None:
        from memory_vault.cli.backup_commands import sync

        ctx.invoke(sync, now=now, dry_run=False, no_push=False)


