"""Schedule: exactly one scheduled job that runs a sync, under the scheduler the machine has;
the `watch` service; an agent's hooks.

cron (`triggers.cron`, the default where `crontab` exists), a systemd user timer or a launchd
agent (`triggers.units`); each runs the same command (`triggers.job`). `--watch` installs the
`watch` process as a systemd or launchd service instead; `--with claude-code` (codex,
gemini-cli) the agent's hooks (`triggers.hooks`). `install` run twice leaves one job; an
install that fails leaves nothing behind, nor does `--watch` where the service manager's own
command is missing (a timed job's files wait for it; a service nothing can start would
not); `remove` removes only what `install` made, and always its files; `show` prints the job
whether or not it is installed.
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
from memory_vault.triggers import cron, hooks, units
from memory_vault.triggers.job import check_every
from memory_vault.triggers.units import LAUNCHD, SYSTEMD, Ran
from memory_vault.triggers.unreachable import (
    bus_unreachable,
    service_manager_missing,
    systemd_refusal,
)

CRON = "cron"
KINDS = (CRON, SYSTEMD, LAUNCHD, *hooks.AGENTS)


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


def default_kind(*, watch: bool = False) -> str:
    """cron where `crontab` exists; else a systemd user timer; else launchd on macOS. A watch
    service needs a service manager: launchd on macOS, else systemd."""
    if sys.platform == "darwin":
        return LAUNCHD if watch or not shutil.which("crontab") else CRON
    if watch:
        return SYSTEMD
    if shutil.which("crontab"):
        return CRON
    return SYSTEMD if shutil.which("systemctl") else CRON


def settings_file(config: Config, *, must_exist: bool = True) -> str:
    """The env file the job names: the one in use, else the one `init` writes."""
    path = config.env_file or paths.config_env_file(dict(os.environ))
    if must_exist and not Path(path).is_file():
        raise UsageError(f"no settings file at {path}: run `{command_name()} init` first "
                         "(a scheduler runs with a bare environment and needs one)")
    return path


def _service_kind(kind: str | None, watch: bool) -> str:
    """The scheduler asked for (or the default); `--watch` refused where it cannot work."""
    chosen = kind or default_kind(watch=watch)
    if watch and chosen not in (SYSTEMD, LAUNCHD):
        raise UsageError(f"--watch with --with {chosen}: `watch` runs as a service, so it needs "
                         "--with systemd or --with launchd (cron only starts jobs)")
    return chosen


def run_install(config: Config, log: RunLog, every: int, kind: str | None,
                watch: bool = False) -> Done:
    if kind in hooks.AGENTS:
        return hooks.install(hooks.AGENTS[kind], settings_file(config), log)
    chosen = _service_kind(kind, watch)
    check_every(every)
    env_file = settings_file(config)
    if chosen == CRON:
        line = cron.cron_line(every, env_file)
        changed = cron.install(line)
        log.info(f"schedule: {'installed' if changed else 'unchanged'}: {line}")
        return Scheduled(EXIT_OK, [("Installed" if changed else "Already installed") + ":", line],
                         kind=chosen, installed=True, job=[line], changed=changed)
    fell_back = kind is None and not watch and chosen == SYSTEMD
    return _install_units(chosen, every, env_file, log, watch=watch, fell_back=fell_back)


def _what(kind: str, watch: bool) -> str:
    return f"{kind} {'watch service' if watch else 'job'}"


def _install_units(kind: str, every: int, env_file: str, log: RunLog, *, watch: bool,
                   fell_back: bool) -> Done:
    """Write the files, activate them; a refusal puts every file back as it was."""
    files = units.unit_files(kind, every, env_file, watch=watch)
    changed, before = units.write_files(files)
    ran = units.run_all(units.activate_commands(kind, watch=watch),
                        tolerate_first=kind == LAUNCHD)
    written = [str(path) for path in files]
    lines = [("Installed" if changed else "Already installed") + f" ({_what(kind, watch)}):",
             *written]
    if ran.missing is not None and watch:  # a service nothing can start: leave none behind
        units.restore_files(before)
        raise VaultError(service_manager_missing(kind, ran.missing))
    if ran.missing is not None:
        wanted = _activation_hint(kind, watch)
        log.warning(f"schedule: {ran.missing}: the {_what(kind, watch)} is written but not "
                    f"active; activate it with `{wanted}`")
        return Scheduled(EXIT_PARTIAL, [*lines, f"Not active yet ({ran.missing}); activate it "
                                                f"with: {wanted}"],
                         kind=kind, installed=False, job=written, changed=changed)
    if not ran.ok:
        units.restore_files(before)
        raise VaultError(_refusal(kind, ran, fell_back=fell_back, watch=watch))
    log.info(f"schedule: {_what(kind, watch)} {'written' if changed else 'unchanged'}: "
             f"{', '.join(written)}")
    return Scheduled(EXIT_OK, lines, kind=kind, installed=True, job=written, changed=changed)


def _activation_hint(kind: str, watch: bool) -> str:
    if kind == SYSTEMD:
        unit = f"{units.WATCH_UNIT}.service" if watch else f"{units.UNIT}.timer"
        return f"systemctl --user daemon-reload && systemctl --user enable --now {unit}"
    plist = units.launchd_plist_path(units.WATCH_LABEL if watch else units.LABEL)
    return f"launchctl load -w {shlex.quote(str(plist))}"


def _refusal(kind: str, ran: Ran, *, fell_back: bool, watch: bool) -> str:
    if kind == SYSTEMD and bus_unreachable(ran.stderr):
        return systemd_refusal(ran.stderr, fell_back=fell_back, watch=watch)
    return (f"{' '.join(ran.command or [])} failed: {ran.stderr or 'no reason given'}; nothing "
            "was installed")


def _watch_note(done: Done, what: str) -> Done:
    """A timed job's answer, with a word on the watch service if one is installed too."""
    verb = "removes" if what == "remove" else "shows"
    for kind in (SYSTEMD, LAUNCHD):
        if any(path.is_file() for path in units.unit_files(kind, 15, "x", watch=True)):
            done.lines.append(f"The {kind} watch service is installed too: `{command_name()} "
                              f"schedule {what} --watch` {verb} it.")
    return done


def run_remove(config: Config, log: RunLog, kind: str | None, watch: bool = False) -> Done:
    if kind in hooks.AGENTS:
        return hooks.remove(hooks.AGENTS[kind], log)
    chosen = _service_kind(kind, watch)
    if chosen == CRON:
        removed = cron.remove()
        if removed:
            log.info("schedule: removed the memory-vault crontab line")
        return _watch_note(Scheduled(EXIT_OK, ["Removed the memory-vault line." if removed
                                               else "There was no memory-vault line in the "
                                               "crontab."],
                                     kind=chosen, installed=False, job=[], changed=removed),
                           "remove")
    gone, ran = units.remove_files(chosen, "x", watch=watch)
    if not gone:
        return Scheduled(EXIT_OK, [f"There was no memory-vault {_what(chosen, watch)}."],
                         kind=chosen, installed=False, job=[])
    log.info(f"schedule: removed the {_what(chosen, watch)}: {', '.join(map(str, gone))}")
    lines = [f"Removed the memory-vault {_what(chosen, watch)}:", *map(str, gone)]
    if not ran.ok:
        said = ran.missing or f"{' '.join(ran.command or [])}: {ran.stderr}"
        log.warning(f"schedule: {said}; the files are removed all the same")
        lines.append(f"({chosen} could not be told ({said}); its files are removed all the "
                     "same, so nothing of ours runs once it starts again)")
    return Scheduled(EXIT_OK, lines, kind=chosen, installed=False, job=[str(p) for p in gone],
                     changed=True)


def run_show(config: Config, log: RunLog, every: int, kind: str | None,
             watch: bool = False) -> Done:
    """The installed job; else the one `install` would write (exit 1: not installed)."""
    env_file = settings_file(config, must_exist=False)
    if kind in hooks.AGENTS:
        return hooks.show(hooks.AGENTS[kind], env_file)
    chosen = _service_kind(kind, watch)
    if chosen == CRON:
        return _watch_note(_show_cron(log, every, env_file), "show")
    files = units.unit_files(chosen, every, env_file, watch=watch)
    installed_now = all(path.is_file() for path in files)
    flag = " --watch" if watch else ""
    lines = [] if installed_now else [f"Not installed; `{command_name()} schedule install{flag} "
                                      f"--with {chosen}` writes:"]
    for path, text in files.items():
        shown = path.read_text() if installed_now else text
        lines += [f"# {path}", *shown.rstrip("\n").splitlines()]
    done = Scheduled(EXIT_OK if installed_now else EXIT_FAILED, lines, kind=chosen,
                     installed=installed_now, job=[str(path) for path in files])
    return done if watch else _watch_note(done, "show")


def _show_cron(log: RunLog, every: int, env_file: str) -> Done:
    wanted = cron.cron_line(every, env_file)
    try:
        line = cron.installed()
    except VaultError as exc:
        log.warning(str(exc))
        return Scheduled(EXIT_FAILED, [wanted], kind=CRON, installed=False, job=[wanted])
    if line is None:
        return Scheduled(EXIT_FAILED, [f"No memory-vault line in the crontab; `{command_name()} "
                                       "schedule install` adds this one:", wanted],
                         kind=CRON, installed=False, job=[wanted])
    return Scheduled(EXIT_OK, [line], kind=CRON, installed=True, job=[line])
