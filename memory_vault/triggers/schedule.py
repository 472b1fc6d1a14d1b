"""Schedule: exactly one scheduled job that runs a sync, under the scheduler the machine has.

cron (`triggers.cron`, the default where `crontab` exists), a systemd user timer or a launchd
agent (`triggers.units`); each runs the same command (`triggers.job`). `install` run twice
leaves one job; `remove` removes only what `install` made; `show` prints the job whether or
not its scheduler is installed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

from memory_vault.errors import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, UsageError, VaultError
from memory_vault.logfile import RunLog
from memory_vault.results import Done, command_name
from memory_vault.settings import paths
from memory_vault.settings.load import Config
from memory_vault.triggers import cron
from memory_vault.triggers.job import check_every
from memory_vault.triggers.units import (
    ACTIVATE,
    DEACTIVATE,
    LAUNCHD,
    SYSTEMD,
    activation,
    install_files,
    run_all,
    unit_files,
)

CRON = "cron"
KINDS = (CRON, SYSTEMD, LAUNCHD)


def default_kind() -> str:
    """cron where `crontab` exists; else a systemd user timer; else launchd on macOS."""
    if shutil.which("crontab"):
        return CRON
    if sys.platform == "darwin":
        return LAUNCHD
    return SYSTEMD if shutil.which("systemctl") else CRON


def settings_file(config: Config, *, must_exist: bool = True) -> str:
    """The env file the job names: the one in use, else the one `init` writes."""
    path = config.env_file or paths.config_env_file(dict(os.environ))
    if must_exist and not Path(path).is_file():
        raise UsageError(f"no settings file at {path}: run `{command_name()} init` first "
                         "(a scheduler runs with a bare environment and needs one)")
    return path


def run_install(config: Config, log: RunLog, every: int, kind: str | None) -> Done:
    kind = kind or default_kind()
    check_every(every)
    env_file = settings_file(config)
    if kind == CRON:
        line = cron.cron_line(every, env_file)
        changed = cron.install(line)
        log.info(f"schedule: {'installed' if changed else 'unchanged'}: {line}")
        return Done(EXIT_OK, [("Installed" if changed else "Already installed") + ":", line])
    changed, written = install_files(kind, every, env_file)
    why = run_all(activation(kind, ACTIVATE), tolerate_first=kind == LAUNCHD)
    log.info(f"schedule: {kind} job {'written' if changed else 'unchanged'}: "
             f"{', '.join(written)}")
    lines = [("Installed" if changed else "Already installed") + f" ({kind}):", *written]
    if why is None:
        return Done(EXIT_OK, lines)
    wanted = " && ".join(" ".join(shlex.quote(p) for p in c)
                           for c in activation(kind, ACTIVATE)[-1:])
    log.warning(f"schedule: {why}: the job is written but not active; activate it with "
                f"`{wanted}`")
    return Done(EXIT_PARTIAL, [*lines, f"Not active yet ({why}); activate it with: {wanted}"])


def run_remove(config: Config, log: RunLog, kind: str | None) -> Done:
    kind = kind or default_kind()
    if kind == CRON:
        removed = cron.remove()
        if removed:
            log.info("schedule: removed the memory-vault crontab line")
        return Done(EXIT_OK, ["Removed the memory-vault line." if removed
                              else "There was no memory-vault line in the crontab."])
    existing = [path for path in unit_files(kind, 15, "x") if path.is_file()]
    if not existing:
        return Done(EXIT_OK, [f"There was no memory-vault {kind} job."])
    run_all(activation(kind, DEACTIVATE), tolerate_first=True)
    for path in existing:
        path.unlink()
    log.info(f"schedule: removed the {kind} job: {', '.join(map(str, existing))}")
    return Done(EXIT_OK, [f"Removed the memory-vault {kind} job:", *map(str, existing)])


def run_show(config: Config, log: RunLog, every: int, kind: str | None) -> Done:
    """The installed job; else the one `install` would write (exit 1: not installed)."""
    kind = kind or default_kind()
    env_file = settings_file(config, must_exist=False)
    if kind == CRON:
        wanted = cron.cron_line(every, env_file)
        try:
            line = cron.installed()
        except VaultError as exc:
            log.warning(str(exc))
            return Done(EXIT_FAILED, [wanted])
        if line is None:
            return Done(EXIT_FAILED, [f"No memory-vault line in the crontab; `{command_name()} "
                                      "schedule install` adds this one:", wanted])
        return Done(EXIT_OK, [line])
    files = unit_files(kind, every, env_file)
    installed_now = all(path.is_file() for path in files)
    lines = [] if installed_now else [f"Not installed; `{command_name()} schedule install --with "
                                      f"{kind}` writes:"]
    for path, text in files.items():
        shown = path.read_text() if installed_now else text
        lines += [f"# {path}", *shown.rstrip("\n").splitlines()]
    return Done(EXIT_OK if installed_now else EXIT_FAILED, lines)
