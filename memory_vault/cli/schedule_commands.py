"""Schedule commands: the `schedule` group (install, remove, show)."""

from collections.abc import Callable
from typing import Any

import click

from memory_vault.cli.app import CONTEXT, cli
from memory_vault.cli.guard import RUN_AGAIN
from memory_vault.cli.help import SUMMARY, epilog
from memory_vault.cli.options import Work, global_options, json_option, runs


@cli.group(short_help=SUMMARY["schedule"], epilog=epilog("schedule"), context_settings=CONTEXT)
@global_options
def schedule() -> None:
    """Manage the one scheduled job that runs Memory Vault (cron, systemd or launchd), the
    watch service, and the agents' hooks (claude-code, codex, gemini-cli)."""


def _scheduler_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--with", "kind", type=click.Choice(
        ["cron", "systemd", "launchd", "claude-code", "codex", "gemini-cli"]),
        help="The scheduler (default: cron where crontab exists, else a systemd user timer, "
             "launchd on macOS), or an agent whose hooks start a sync.")(func)
    return click.option("--watch", is_flag=True,
                        help="The `watch` service instead of the timed job (systemd or "
                             "launchd).")(func)


def _every(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--every", type=int, default=15, show_default=True, metavar="MIN",
                        help="Minutes between runs: a divisor of 60, or whole hours that "
                             "divide a day.")(func)


@schedule.command("install", short_help=SUMMARY["install"], epilog=epilog("install"),
                  context_settings=CONTEXT)
@_every
@_scheduler_options
@json_option
@runs(interrupted=RUN_AGAIN)
def schedule_install(every: int, kind: str | None, watch: bool) -> Work:
    """Install the job (or replace ours): exactly one, whatever was there."""
    from memory_vault.triggers.schedule import run_install

    return lambda config, log: run_install(config, log, every, kind, watch)


@schedule.command("remove", short_help=SUMMARY["remove"], epilog=epilog("remove"),
                  context_settings=CONTEXT)
@_scheduler_options
@json_option
@runs(interrupted=RUN_AGAIN)
def schedule_remove(kind: str | None, watch: bool) -> Work:
    """Remove the job (and nothing else)."""
    from memory_vault.triggers.schedule import run_remove

    return lambda config, log: run_remove(config, log, kind, watch)


@schedule.command("show", short_help=SUMMARY["show"], epilog=epilog("show"),
                  context_settings=CONTEXT)
@_every
@_scheduler_options
@json_option
@runs()
def schedule_show(every: int, kind: str | None, watch: bool) -> Work:
    """Print the job: the installed one, else the one install writes (exit 1)."""
    from memory_vault.triggers.schedule import run_show

    return lambda config, log: run_show(config, log, every, kind, watch)
