"""Backup commands: `sync` (and `--now`) and `init`."""

import os
import sys
from pathlib import Path

import click

from memory_vault.cli.app import CONTEXT, cli
from memory_vault.cli.help import SUMMARY, epilog
from memory_vault.cli.options import Job, globals_of, json_option, runs


@cli.command(short_help=SUMMARY["sync"], epilog=epilog("sync"), context_settings=CONTEXT)
@click.option("--now", is_flag=True, help="Hash every file whatever its mtime; print a summary.")
@click.option("--dry-run", is_flag=True, help="Show what would be backed up; change nothing.")
@click.option("--no-push", is_flag=True, help="Commit locally; leave the push to a later run.")
@json_option
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
@click.option("--files", metavar="PATTERNS", help="Comma-separated names or globs in it.")
@click.option("--exclude", metavar="PATTERNS", help="Comma-separated patterns never backed up.")
@click.option("--discover", is_flag=True, help="Also track every agent's memory found on this "
                                               "machine (as `discover --add`).")
@click.option("--encrypt", is_flag=True, help="Encrypt everything the remote receives (age); "
                                              "creates the identity if there is none.")
@json_option
@runs(need_source=True, interrupted="run `init` again to finish setting up")
def init(remote: str | None, source: str | None, files: str | None, exclude: str | None,
         discover: bool, encrypt: bool) -> Job:
    """Write the settings file and create the clone (and the embedded remote if none)."""
    from memory_vault.pipeline.setup import init_options, init_target, initialize

    ctx = click.get_current_context()
    env_path = init_target(globals_of(ctx).env_file, dict(os.environ))
    options = init_options(env_path, remote=remote, source=source, files=files,
                           exclude=exclude, encrypt=encrypt)
    # Read the file init is about to write (if it exists yet), and no other.
    globals_of(ctx).env_file = env_path if Path(env_path).is_file() else None
    return Job(lambda config, log: initialize(config, log, env_path=env_path, options=options,
                                              discover=discover),
               options=options, search_env_file=False)
