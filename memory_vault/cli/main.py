"""The click command line: it parses arguments and renders results, nothing more.

Each command returns the action to run; `options.runs`, the one decorator they share, runs
it under `guard.run_guarded` (which decides the exit code) and `render` prints the result.
The commands are grouped by concern in `*_commands.py`, each registering on `app.cli`.
"""

import sys

import click

from memory_vault.cli import (  # noqa: F401 (each registers its commands on the group)
    backup_commands,
    health_commands,
    recall_commands,
    schedule_commands,
    secrets_commands,
    source_commands,
    watch_commands,
)
from memory_vault.cli.app import cli

__all__ = ["cli", "run_cli"]


def run_cli(args: list[str], completion: tuple[str, str] | None = None) -> int:
    """Run the click CLI on `args` and return its exit code (never raises SystemExit).

    `completion` (program name, variable) answers a shell's completion request instead:
    click prints the script or the candidates and exits."""
    if completion is not None:
        prog_name, variable = completion
        try:
            cli.main(args=args, prog_name=prog_name, complete_var=variable,
                     standalone_mode=False)
        except SystemExit as done:
            return done.code if isinstance(done.code, int) else 0
        return 0
    try:
        result = cli.main(args=args, prog_name="memory-vault", standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        if _wants_json(args):
            from memory_vault.cli.render import show_error

            show_error(exc.exit_code, exc.format_message(), None)  # still one document
        return exc.exit_code
    except click.exceptions.Abort as stopped:
        if isinstance(stopped.__cause__ or stopped.__context__, KeyboardInterrupt):
            raise KeyboardInterrupt from None  # Ctrl-C while click parsed: the entry's line
        click.echo("Aborted.", err=True)
        return 1
    return result if isinstance(result, int) else 0


def _wants_json(args: list[str]) -> bool:
    """`--json` among the options (not after `--`, where it would be a file's name)."""
    return "--json" in (args[:args.index("--")] if "--" in args else args)


if __name__ == "__main__":
    sys.exit(run_cli(sys.argv[1:]))
