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


class Scheduled(Done):
    """What a `schedule` command found or did: the scheduler, whether our job is in place
    (after it), whether it changed anything, and the job (the crontab line, or the files)."""

    __slots__ = ("changed", "installed", "job", "kind")

    def __init__(self, exit_code: int, lines: list[str], *, kind: str, installed: bool,
                 job: list[str], changed: bool = False) -> None:
        super().__init__(exit_code, lines)
        self.kind = kind
        self.installed = installed
        self.job = job
        self.changed = changed

    def as_dict(self) -> object:
        return {"scheduler": self.kind, "installed": self.installed, "changed": self.changed,
                "job": self.job, "lines": self.lines}


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


def run_install(config: Config, log: RunLog, every: int, kind: str | None) -> Scheduled:
    kind = kind or default_kind()
    check_every(every)
    env_file = settings_file(config)
    if kind == CRON:
        line = cron.cron_line(every, env_file)
        changed = cron.install(line)
        log.info(f"schedule: {'installed' if changed else 'unchanged'}: {line}")
        return Scheduled(EXIT_OK, [("Installed" if changed else "Already installed") + ":", line],
                         kind=kind, installed=True, job=[line], changed=changed)
    changed, written = install_files(kind, every, env_file)
    why = run_all(activation(kind, ACTIVATE), tolerate_first=kind == LAUNCHD)
    log.info(f"schedule: {kind} job {'written' if changed else 'unchanged'}: "
             f"{', '.join(written)}")
    lines = [("Installed" if changed else "Already installed") + f" ({kind}):", *written]
    if why is None:
        return Scheduled(EXIT_OK, lines, kind=kind, installed=True, job=written, changed=changed)
    wanted = " && ".join(" ".join(shlex.quote(p) for p in c)
                           for c in activation(kind, ACTIVATE)[-1:])
    log.warning(f"schedule: {why}: the job is written but not active; activate it with "
                f"`{wanted}`")
    return Scheduled(EXIT_PARTIAL, [*lines, f"Not active yet ({why}); activate it with: {wanted}"],
                     kind=kind, installed=False, job=written, changed=changed)


def run_remove(config: Config, log: RunLog, kind: str | None) -> Scheduled:
    kind = kind or default_kind()
    if kind == CRON:
        removed = cron.remove()
        if removed:
            log.info("schedule: removed the memory-vault crontab line")
        return Scheduled(EXIT_OK, ["Removed the memory-vault line." if removed
                                   else "There was no memory-vault line in the crontab."],
                         kind=kind, installed=False, job=[], changed=removed)
    existing = [path for path in unit_files(kind, 15, "x") if path.is_file()]
    if not existing:
        return Scheduled(EXIT_OK, [f"There was no memory-vault {kind} job."], kind=kind,
                         installed=False, job=[])
    run_all(activation(kind, DEACTIVATE), tolerate_first=True)
    for path in existing:
        path.unlink()
    log.info(f"schedule: removed the {kind} job: {', '.join(map(str, existing))}")
    removed_files = [str(path) for path in existing]
    return Scheduled(EXIT_OK, [f"Removed the memory-vault {kind} job:", *removed_files],
                     kind=kind, installed=False, job=removed_files, changed=True)


def run_show(config: Config, log: RunLog, every: int, kind: str | None) -> Scheduled:
    """The installed job; else the one `install` would write (exit 1: not installed)."""
    kind = kind or default_kind()
    env_file = settings_file(config, must_exist=False)
    if kind == CRON:
        wanted = cron.cron_line(every, env_file)
        try:
            line = cron.installed()
        except VaultError as exc:
            log.warning(str(exc))
            return Scheduled(EXIT_FAILED, [wanted], kind=kind, installed=False, job=[wanted])
        if line is None:
            return Scheduled(EXIT_FAILED, [f"No memory-vault line in the crontab; "
                                           f"`{command_name()} schedule install` adds this one:",
                                           wanted], kind=kind, installed=False, job=[wanted])
        return Scheduled(EXIT_OK, [line], kind=kind, installed=True, job=[line])
    files = unit_files(kind, every, env_file)
    installed_now = all(path.is_file() for path in files)
    lines = [] if installed_now else [f"Not installed; `{command_name()} schedule install --with "
                                      f"{kind}` writes:"]
    for path, text in files.items():
        shown = path.read_text() if installed_now else text
        lines += [f"# {path}", *shown.rstrip("\n").splitlines()]
    return Scheduled(EXIT_OK if installed_now else EXIT_FAILED, lines, kind=kind,
                     installed=installed_now, job=[str(path) for path in files])
