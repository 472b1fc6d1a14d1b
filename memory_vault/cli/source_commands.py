"""Source commands: the `source` group (add, list, remove) and `discover`."""

import click

from memory_vault.cli.app import CONTEXT, cli
from memory_vault.cli.guard import RUN_AGAIN
from memory_vault.cli.help import SUMMARY, epilog
from memory_vault.cli.options import Work, global_options, json_option, runs


@cli.group(short_help=SUMMARY["source"], epilog=epilog("source"), context_settings=CONTEXT)
@global_options
def source() -> None:
    """The folders backed up besides MEMORY_VAULT_SOURCE_DIR (one per agent, say)."""


@source.command("add", short_help=SUMMARY["add"], epilog=epilog("add"),
                context_settings=CONTEXT)
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--name", metavar="NAME", help="Its folder in the vault (default: the "
                                             "preset's name, else the folder's).")
@click.option("--preset", metavar="AGENT", help="The agent whose memory it holds (the "
                                                "README's Presets table lists them).")
@click.option("--files", metavar="PATTERNS", help="Comma-separated names or globs (default: "
                                                  "the preset's, else memory files).")
@click.option("--exclude", metavar="PATTERNS", help="Comma-separated patterns never backed up.")
@click.option("--store", is_flag=True, help="One consistent set: committed whole or not at all.")
@json_option
@runs(interrupted=RUN_AGAIN)
def source_add(folder: str, name: str | None, preset: str | None, files: str | None,
               exclude: str | None, store: bool) -> Work:
    """Track FOLDER as a source (recorded in sources.toml beside the env file)."""
    from memory_vault.sources.manage import SourceRequest, run_source_add

    request = SourceRequest(folder, name=name, preset=preset, files=files, exclude=exclude,
                            store=store)
    return lambda config, log: run_source_add(config, log, request)


@source.command("list", short_help=SUMMARY["list"], epilog=epilog("list"),
                context_settings=CONTEXT)
@json_option
@runs()
def source_list() -> Work:
    """Every source: its name in the vault, folder, preset and patterns."""
    from memory_vault.sources.manage import run_source_list

    return run_source_list


@source.command("remove", short_help=SUMMARY["remove-source"],
                epilog=epilog("remove-source"), context_settings=CONTEXT)
@click.argument("name")
@json_option
@runs(interrupted=RUN_AGAIN)
def source_remove(name: str) -> Work:
    """Stop tracking the source NAME (the vault keeps its history)."""
    from memory_vault.sources.manage import run_source_remove

    return lambda config, log: run_source_remove(config, log, name)


@cli.command(short_help=SUMMARY["discover"], epilog=epilog("discover"), context_settings=CONTEXT)
@click.argument("dirs", nargs=-1, metavar="[DIR...]", type=click.Path(file_okay=False))
@click.option("--add", is_flag=True, help="Add every store found that no source tracks yet.")
@json_option
@runs(interrupted=RUN_AGAIN)
def discover(dirs: tuple[str, ...], add: bool) -> Work:
    """Find the agent memory on this machine, and the `source add` line for each store."""
    from memory_vault.sources.discover import run_discover

    return lambda config, log: run_discover(config, log, list(dirs), add=add)
