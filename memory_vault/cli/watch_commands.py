"""Watch command: `watch`, the foreground process that syncs each time the writing stops."""

from memory_vault.cli.app import CONTEXT, cli
from memory_vault.cli.help import SUMMARY, epilog
from memory_vault.cli.options import Job, json_option, runs


@cli.command(short_help=SUMMARY["watch"], epilog=epilog("watch"), context_settings=CONTEXT)
@json_option
@runs(need_source=True)
def watch() -> Job:
    """Wait for changes to the tracked files of every source; sync each time the writing
    stops. Runs until SIGTERM or Ctrl-C (`schedule install --watch` makes it a service)."""
    from memory_vault.triggers.watch import run_watch

    return Job(run_watch, summary=True, person=True)
