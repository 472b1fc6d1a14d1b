"""Program entry: the cron fast lane and the one place errors become exit codes.

Cron runs `sync_memory_vault.py` with no arguments (or only `--env-file PATH`, `-q`, `sync`)
96 times a day. That invocation is recognised here and run without importing click, whose
import alone costs three times a whole no-change run; anything else goes to the click CLI.
"""

import os
import sys

from memory_vault.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, ConfigError, VaultError
from memory_vault.logfile import DEBUG, ERROR, INFO, WARNING, RunLog

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from memory_vault.config import Config


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a file name that is not UTF-8 still prints
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    args = sys.argv[1:] if argv is None else list(argv)
    plain = _plain_sync_arguments(args)
    if plain is not None:
        env_file, quiet = plain
        return plain_sync(env_file=env_file, quiet=quiet)
    from memory_vault.cli import run_cli

    return run_cli(args)


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
    from memory_vault.sync import SyncRequest, run_sync

    def action(config: "Config", log: RunLog) -> int:
        return run_sync(config, log, SyncRequest())

    return run_guarded(action, env_file=env_file, echo=echo_level(quiet=quiet))


def echo_level(*, quiet: bool = False, verbose: bool = False, summary: bool = False,
               person: bool = False) -> int:
    """What reaches stdout/stderr: errors only under cron; warnings for every command a
    person runs, terminal or not; a summary with --now, -v or a terminal."""
    if quiet:
        return ERROR
    if verbose:
        return DEBUG
    if summary or sys.stdout.isatty():
        return INFO
    return WARNING if person else ERROR


def run_guarded(
    action: "Callable[[Config, RunLog], int]",
    *,
    env_file: str | None,
    echo: int,
    options: dict[str, str] | None = None,
    need_source: bool = True,
    search_env_file: bool = True,
) -> int:
    """Load the configuration, open the logs, run `action`; map every error to its exit code."""
    from memory_vault import paths
    from memory_vault.config import VARIABLES, load_config
    from memory_vault.redact import Redactor

    fallback = paths.state_dir(dict(os.environ))
    try:
        config = load_config(options=options, env_file_option=env_file, need_source=need_source,
                             search_env_file=search_env_file)
    except ConfigError as exc:
        log = RunLog(_env_or(VARIABLES, "MEMORY_VAULT_LOG_FILE"),
                     _env_or(VARIABLES, "MEMORY_VAULT_ERR_FILE"), echo=echo,
                     fallback_dir=fallback)
        log.set_redactor(Redactor.for_remote(os.environ.get("MEMORY_VAULT_REMOTE")))
        log.error(f"configuration error: {exc}")
        log.close()
        return EXIT_USAGE
    log = RunLog(config.log_file, config.err_file, echo=echo,
                 redactor=Redactor.for_remote(config.remote), fallback_dir=fallback)
    for name in config.unknown_settings:
        log.warning(f"unknown setting {name} ignored (a typo?)")
    try:
        return action(config, log)
    except VaultError as exc:
        log.error(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        log.error("interrupted")
        return EXIT_FAILED
    except BrokenPipeError:  # the reader of our output went away: end quietly
        from memory_vault.logfile import write_stdout

        write_stdout("")
        return EXIT_OK
    except Exception as exc:  # the last net: one clear line, never a traceback under cron
        log.error(f"unexpected error: {exc!r}")
        if echo <= DEBUG:
            import traceback

            traceback.print_exc()
        return EXIT_FAILED
    finally:
        log.close()


def _env_or(defaults: dict[str, str], name: str) -> str:
    """Where to log when the configuration itself is bad: the environment's, else default."""
    value = os.environ.get(name, "").strip()
    return value if value and "\n" not in value else defaults[name]
