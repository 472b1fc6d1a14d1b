"""Guard: the one place a command's outcome, or any error, becomes an exit code.

It loads the settings, opens the logs, runs the command's action, renders its result and
returns the result's exit code; every exception of ours carries its own code, anything else
is one line (never a traceback under cron) and exit 1. A reader that went away
(`status | head -1`) ends the output quietly.
"""

import os
import sys

from memory_vault.errors import EXIT_FAILED, EXIT_USAGE, ConfigError, Interrupted, VaultError
from memory_vault.logfile import DEBUG, RunLog, vault_label

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from memory_vault.results import Result
    from memory_vault.settings.load import Config


NOTHING_CHANGED = "nothing was changed"  # what Ctrl-C leaves behind a command that only reads
RUN_AGAIN = "run the same command again to finish"  # ... and behind one that writes


def run_guarded(
    action: "Callable[[Config, RunLog], Result]",
    *,
    env_file: str | None,
    echo: int,
    options: dict[str, str] | None = None,
    need_source: bool = True,
    search_env_file: bool = True,
    render: "Callable[[Result], None] | None" = None,
    render_error: "Callable[[int, str, str | None], None] | None" = None,
    interrupted: str = NOTHING_CHANGED,
) -> int:
    """Load the configuration, open the logs, run `action` and render its result; map every
    error to its exit code (and, with `render_error`, to the `--json` error envelope).

    Ctrl-C ends any command with exit 130 and one line saying what is safe: the action's
    own words when it knows more (`Interrupted`: a commit waiting, files restored), else
    `interrupted`."""
    from memory_vault.settings import paths
    from memory_vault.settings.load import load_config
    from memory_vault.settings.schema import VARIABLES
    from memory_vault.urls import Redactor

    environ = dict(os.environ)
    fallback = paths.state_dir(environ)
    try:
        config = load_config(options=options, env_file_option=env_file, need_source=need_source,
                             search_env_file=search_env_file)
    except ConfigError as exc:
        log = RunLog(_env_or(VARIABLES, "MEMORY_VAULT_LOG_FILE"),
                     _env_or(VARIABLES, "MEMORY_VAULT_ERR_FILE"), echo=echo,
                     fallback_dir=fallback, label=vault_label(
                         os.environ.get("MEMORY_VAULT_HOME") or paths.data_home(environ)))
        log.set_redactor(Redactor.for_remote(os.environ.get("MEMORY_VAULT_REMOTE")))
        log.error(f"configuration error: {exc}")
        log.close()
        if render_error is not None:
            render_error(EXIT_USAGE, log.redactor.clean(f"configuration error: {exc}"),
                         exc.variable)
        return EXIT_USAGE
    log = RunLog(config.log_file, config.err_file, echo=echo,
                 redactor=Redactor.for_remote(config.remote, config.ping_url),
                 fallback_dir=fallback, label=vault_label(config.home))
    for name in config.unknown_settings:
        log.warning(f"unknown setting {name} ignored (a typo?)")
    code = EXIT_FAILED
    try:
        result = action(config, log)
        code = result.exit_code
        if render is not None:
            render(result)
        return code
    except KeyboardInterrupt:
        return _failed(Interrupted(interrupted), log, render_error)
    except VaultError as exc:  # `Interrupted` among them: the action's own words
        return _failed(exc, log, render_error)
    except BrokenPipeError:  # the reader of our output went away: end quietly
        from memory_vault.terminal import write_stdout

        write_stdout("")
        return code
    except Exception as exc:  # the last net: one clear line, never a traceback under cron
        log.error(f"unexpected error: {exc!r}")
        if render_error is not None:
            render_error(EXIT_FAILED, log.redactor.clean(f"unexpected error: {exc!r}"), None)
        if echo <= DEBUG:
            import traceback

            traceback.print_exc()
        return EXIT_FAILED
    finally:
        log.close()


def _failed(exc: VaultError, log: RunLog,
            render_error: "Callable[[int, str, str | None], None] | None") -> int:
    """One error line (and the JSON envelope's error), and the error's exit code; after
    Ctrl-C on a terminal, on a line of its own (not after the `^C` the terminal echoed)."""
    if isinstance(exc, Interrupted) and sys.stderr.isatty():
        sys.stderr.write("\n")
    log.error(str(exc))
    if render_error is not None:
        render_error(exc.exit_code, log.redactor.clean(str(exc)), getattr(exc, "variable", None))
    return exc.exit_code


def _env_or(defaults: dict[str, str], name: str) -> str:
    """Where to log when the configuration itself is bad: the environment's, else default."""
    value = os.environ.get(name, "").strip()
    return value if value and "\n" not in value else defaults[name]
