"""Recall commands: `restore`, `history` and `diff`."""

import sys

import click

from memory_vault.cli.app import CONTEXT, cli
from memory_vault.cli.help import SUMMARY, WHEN, epilog
from memory_vault.cli.options import Count, Work, globals_of, json_option, runs


@cli.command(short_help=SUMMARY["restore"], epilog=epilog("restore", WHEN),
             context_settings=CONTEXT)
@click.argument("files", nargs=-1, metavar="[FILE...]")
@click.option("--at", "at", metavar="WHEN",
              help="The newest version at or before this ISO 8601 time (UTC unless it says).")
@click.option("--commit", "rev", metavar="REV", help="The version of this commit.")
@click.option("--to", "to", metavar="DIR", type=click.Path(file_okay=False),
              help="Restore into DIR instead of the source dir.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@json_option
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
