"""Health commands: `ack`, `status`, `verify` and `doctor`."""


import click

from memory_vault.cli.app import CONTEXT, cli
from memory_vault.cli.guard import RUN_AGAIN
from memory_vault.cli.help import SUMMARY, epilog
from memory_vault.cli.options import Work, json_option, runs


@cli.command(short_help=SUMMARY["ack"], epilog=epilog("ack"), context_settings=CONTEXT)
@click.argument("files", nargs=-1, metavar="[FILE...]")
@json_option
@runs(interrupted=RUN_AGAIN)
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
@json_option
@runs()
def verify() -> Work:
    """Check the backup: fsck, remote equals local, a test restore, sources vs the vault."""
    from memory_vault.health.verify import run_verify

    return run_verify


@cli.command(short_help=SUMMARY["doctor"], epilog=epilog("doctor"), context_settings=CONTEXT)
@json_option
@runs()
def doctor() -> Work:
    """The settings in force and where each came from, the scheduled job and its last run,
    the remote, a copy off this machine: what to do about each; exit 1 when something needs
    doing."""
    from memory_vault.health.doctor import run_doctor

    return run_doctor
