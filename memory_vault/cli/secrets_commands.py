"""Secrets commands: the `secrets` group (the list, `allow`, `purge`)."""

import click

from memory_vault.cli.app import CONTEXT, cli
from memory_vault.cli.guard import RUN_AGAIN
from memory_vault.cli.help import SUMMARY, epilog
from memory_vault.cli.options import Work, json_option, runs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from memory_vault.pipeline.purge import PurgePlan


@cli.group(short_help=SUMMARY["secrets"], epilog=epilog("secrets"), context_settings=CONTEXT,
           invoke_without_command=True)
@json_option
@click.pass_context
def secrets(ctx: click.Context) -> None:
    """The secrets found in the vault and the sources (never the secrets themselves)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(secrets_list)


@runs()
def secrets_list() -> Work:
    from memory_vault.health.secrets import run_secrets

    return run_secrets


@secrets.command("allow", short_help=SUMMARY["allow"], epilog=epilog("allow"),
                 context_settings=CONTEXT)
@click.argument("fingerprint")
@json_option
@runs(interrupted=RUN_AGAIN)
def secrets_allow(fingerprint: str) -> Work:
    """Keep the secret FINGERPRINT as it is in the vault from the next sync on."""
    from memory_vault.health.secrets import run_allow

    return lambda config, log: run_allow(config, log, fingerprint.lower())


@secrets.command("purge", short_help=SUMMARY["purge"], epilog=epilog("purge"),
                 context_settings=CONTEXT)
@click.argument("fingerprint")
@click.option("--yes", is_flag=True, help="Do not ask (for scripts).")
@json_option
@runs(interrupted="`secrets` shows where the secret remains; run the purge again")
def secrets_purge(fingerprint: str, yes: bool) -> Work:
    """Take the secret FINGERPRINT out of every commit, in the clone and on the remote."""
    from memory_vault.pipeline.purge import run_purge

    return lambda config, log: run_purge(config, log, fingerprint.lower(),
                                         lambda plan: _confirm(plan, yes))


def _confirm(plan: "PurgePlan", yes: bool) -> bool:
    import sys

    from memory_vault.errors import UsageError

    if yes:
        return True
    if not sys.stdin.isatty():
        raise UsageError(f"{plan.question().removesuffix(' Go on?')} Run it again with --yes "
                         "to go on.")
    try:
        return click.confirm(plan.question(), err=True)
    except click.Abort as stopped:  # Ctrl-C at the question is an interrupt; Ctrl-D a no
        if isinstance(stopped.__context__, KeyboardInterrupt):
            raise KeyboardInterrupt from None
        return False
