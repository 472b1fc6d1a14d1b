"""Program entry: the cron fast lane, or the click CLI for everything else.

Cron runs `sync_memory_vault.py` with no arguments (or only `--env-file PATH`, `-q`, `sync`)
96 times a day. That invocation is recognised here and run without importing click, whose
import alone costs three times a whole no-change run; anything else goes to the click CLI.
"""

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

    from memory_vault.logfile import RunLog
    from memory_vault.results import Done
    from memory_vault.settings.load import Config


def run() -> "NoReturn":
    """The process entry of the job `schedule install` writes and of the checkout script:
    `main`, in a process that ends with it.

    Python's cyclic garbage collector is paused, and the sync resumes it once it has real
    work: a run that finds nothing changed frees all it made by reference counting, and a
    collector that is off also skips the full collection Python runs at exit, which alone
    cost a tenth of a no-change run (counted by callgrind).
    """
    import gc

    gc.disable()
    raise SystemExit(main())


def main(argv: list[str] | None = None) -> int:
    """Run the program on `argv` (the command line's); Ctrl-C before any command has begun
    its work (the guard speaks for those) changed nothing."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        from memory_vault.cli.guard import NOTHING_CHANGED
        from memory_vault.errors import Interrupted

        stopped = Interrupted(NOTHING_CHANGED)
        sys.stderr.write(f"{chr(10) if sys.stderr.isatty() else ''}memory-vault: error: "
                         f"{stopped}\n")
        return stopped.exit_code


def _main(argv: list[str] | None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 still prints
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    args = sys.argv[1:] if argv is None else list(argv)
    completing = completion_request()
    plain = None if completing else _plain_sync_arguments(args)
    if plain is not None:
        env_file, quiet = plain
        return plain_sync(env_file=env_file, quiet=quiet)
    import gc

    gc.enable()  # the commands a person runs: no pause (see `run`)
    try:
        from memory_vault.cli.main import run_cli
    except ModuleNotFoundError as exc:  # a virtual environment the install did not finish
        sys.stderr.write(f"memory-vault: {sys.executable} cannot import {exc.name}: install "
                         "the package again (pip install .)\n")
        return 2
    return run_cli(args, completion=completing)


def completion_request() -> tuple[str, str] | None:
    """(program name, variable) when a shell asks for completion by click's protocol
    (`_MEMORY_VAULT_COMPLETE=bash_source memory-vault`): never a sync, which with no
    arguments would be the fast lane's. The checkout script's variable is the one click
    derives from its name (`_SYNC_MEMORY_VAULT_PY_COMPLETE`)."""
    import os

    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    for name in ("memory-vault", program):
        variable = "_" + name.replace("-", "_").replace(".", "_").upper() + "_COMPLETE"
        if name and os.environ.get(variable):
            return name, variable
    return None


def _plain_sync_arguments(args: list[str]) -> tuple[str | None, bool] | None:
    """(env file, quiet) when `args` ask for nothing but a default sync; else None."""
    env_file: str | None = None
    quiet = False
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if arg == "--env-file" and rest:
            env_file = rest.pop(0)
        elif arg.startswith("--env-file="):
            env_file = arg.split("=", 1)[1]
        elif arg in ("-q", "--quiet"):
            quiet = True
        elif arg != "sync" or rest:
            return None
    return env_file, quiet


def plain_sync(*, env_file: str | None, quiet: bool) -> int:
    """One sync as cron runs it: the last one replayed when nothing it looked at changed
    (`shortcut`: a few `stat`s), else the program, which leaves the next one its stamp."""
    import os

    from memory_vault import shortcut
    from memory_vault.settings import paths
    from memory_vault.terminal import echo_level

    echo = echo_level(quiet=quiet)
    environ = dict(os.environ)
    stamp = shortcut.stamp_path(paths.cache_dir(environ), env_file, environ, os.getcwd())
    if shortcut.replay(stamp, echo=echo, fallback_dir=paths.state_dir(environ)):
        return 0
    from memory_vault.cli.guard import run_guarded
    from memory_vault.pipeline.sync import SyncRequest, run_sync

    def action(config: "Config", log: "RunLog") -> "Done":
        return run_sync(config, log, SyncRequest(stamp=stamp))

    return run_guarded(action, env_file=env_file, echo=echo)
