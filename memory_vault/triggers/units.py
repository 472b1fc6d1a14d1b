"""Units: the systemd user units and the launchd agents, as files, then the scheduler's own
commands to activate them.

Two jobs each: the timed sync (a service and a timer, `Persistent=true`: a run missed while
the laptop slept happens at wake-up; or an agent with `StartInterval`) and the `watch` service
(`Restart=on-failure`; `KeepAlive`). An install whose activation fails puts every file back as
it was; a removal removes our files even when the scheduler cannot be reached.
"""

import contextlib
import os
import plistlib
import subprocess
from pathlib import Path

from memory_vault.settings import paths
from memory_vault.triggers.job import check_every, job_command, search_path

SYSTEMD, LAUNCHD = "systemd", "launchd"
UNIT = "memory-vault"
WATCH_UNIT = "memory-vault-watch"
LABEL = "io.github.memory-vault.sync"
WATCH_LABEL = "io.github.memory-vault.watch"


def systemd_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path(paths.home_dir(dict(os.environ)),
                                                         ".config"))
    return Path(base) / "systemd" / "user"


def _systemd_quote(arg: str) -> str:
    escaped = arg.replace("%", "%%").replace("$", "$$")
    if escaped and not any(c in escaped for c in ' "\\\'\t'):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def on_calendar(every: int) -> str:
    check_every(every)
    if every < 60:
        return f"*:0/{every}"
    hours = every // 60
    return "daily" if hours == 24 else f"0/{hours}:00"


def systemd_units(every: int, env_file: str) -> dict[Path, str]:
    command = " ".join(_systemd_quote(part) for part in job_command(env_file))
    service = ("[Unit]\nDescription=Memory Vault: back up AI-agent memory files\n\n"
               f"[Service]\nType=oneshot\nExecStart={command}\n"
               f"Environment=PATH={search_path()}\nNice=10\n")
    timer = (f"[Unit]\nDescription=Memory Vault every {every} minutes\n\n"
             f"[Timer]\nOnCalendar={on_calendar(every)}\nPersistent=true\n"
             f"Unit={UNIT}.service\n\n[Install]\nWantedBy=timers.target\n")
    folder = systemd_dir()
    return {folder / f"{UNIT}.service": service, folder / f"{UNIT}.timer": timer}


def systemd_watch_unit(env_file: str) -> dict[Path, str]:
    """`watch` as a user service. KillMode=mixed: a stop signals `watch` alone, which lets a
    sync under way finish before it exits."""
    command = " ".join(_systemd_quote(part) for part in [*job_command(env_file), "watch"])
    service = ("[Unit]\nDescription=Memory Vault: back up AI-agent memory as it changes\n\n"
               f"[Service]\nExecStart={command}\nEnvironment=PATH={search_path()}\n"
               "Restart=on-failure\nRestartSec=10\nKillMode=mixed\nNice=10\n\n"
               "[Install]\nWantedBy=default.target\n")
    return {systemd_dir() / f"{WATCH_UNIT}.service": service}


def launchd_plist_path(label: str = LABEL) -> Path:
    return Path(paths.home_dir(dict(os.environ))) / "Library" / "LaunchAgents" / f"{label}.plist"


def launchd_plist(every: int, env_file: str) -> dict[Path, str]:
    body = _plist(LABEL, job_command(env_file), "memory-vault.err",
                  StartInterval=check_every(every) * 60, RunAtLoad=False)
    return {launchd_plist_path(): body}


def launchd_watch_plist(env_file: str) -> dict[Path, str]:
    body = _plist(WATCH_LABEL, [*job_command(env_file), "watch"], "memory-vault-watch.err",
                  RunAtLoad=True, KeepAlive=True)
    return {launchd_plist_path(WATCH_LABEL): body}


def _plist(label: str, program: list[str], err_name: str, **keys: object) -> str:
    logs = Path(paths.home_dir(dict(os.environ))) / "Library" / "Logs"
    return plistlib.dumps({
        "Label": label, "ProgramArguments": program, **keys, "ProcessType": "Background",
        "EnvironmentVariables": {"PATH": search_path()},
        "StandardErrorPath": str(logs / err_name),
    }).decode()


def unit_files(kind: str, every: int, env_file: str, *, watch: bool = False) -> dict[Path, str]:
    if kind == SYSTEMD:
        return systemd_watch_unit(env_file) if watch else systemd_units(every, env_file)
    return launchd_watch_plist(env_file) if watch else launchd_plist(every, env_file)


def activate_commands(kind: str, *, watch: bool) -> list[list[str]]:
    """The scheduler's commands that make the written files take effect (a restart: a watch
    service already running picks up its new command)."""
    if kind == SYSTEMD:
        enable = (["systemctl", "--user", "enable", f"{WATCH_UNIT}.service"],
                  ["systemctl", "--user", "restart", f"{WATCH_UNIT}.service"]) if watch else (
            ["systemctl", "--user", "enable", "--now", f"{UNIT}.timer"],)
        return [["systemctl", "--user", "daemon-reload"], *enable]
    plist = str(launchd_plist_path(WATCH_LABEL if watch else LABEL))
    return [["launchctl", "unload", "-w", plist], ["launchctl", "load", "-w", plist]]


def deactivate_commands(kind: str, *, watch: bool) -> list[list[str]]:
    if kind == SYSTEMD:
        unit = f"{WATCH_UNIT}.service" if watch else f"{UNIT}.timer"
        return [["systemctl", "--user", "disable", "--now", unit]]
    return [["launchctl", "unload", "-w", str(launchd_plist_path(WATCH_LABEL if watch
                                                                  else LABEL))]]


def enabled_links(kind: str, *, watch: bool) -> list[Path]:
    """The links `systemctl enable` made for our unit (removed by hand when systemctl cannot
    be reached)."""
    if kind != SYSTEMD:
        return []
    if watch:
        return [systemd_dir() / "default.target.wants" / f"{WATCH_UNIT}.service"]
    return [systemd_dir() / "timers.target.wants" / f"{UNIT}.timer"]


class Ran:
    """What running the scheduler's commands came to: all done, its program missing, or one
    command failed (with the scheduler's own words)."""

    __slots__ = ("command", "missing", "stderr")

    def __init__(self, *, missing: str | None = None, command: list[str] | None = None,
                 stderr: str = "") -> None:
        self.missing = missing
        self.command = command
        self.stderr = stderr

    @property
    def ok(self) -> bool:
        return self.missing is None and self.command is None


def run_all(commands: list[list[str]], *, tolerate_first: bool = False) -> Ran:
    """Run the scheduler's commands in order, stopping at the first that fails."""
    for index, command in enumerate(commands):
        try:
            result = subprocess.run(command, capture_output=True, text=True, check=False,
                                    timeout=60)
        except FileNotFoundError:
            return Ran(missing=f"{command[0]} is not installed here")
        except subprocess.TimeoutExpired:
            return Ran(command=command, stderr="no answer in 60 s")
        if result.returncode != 0 and not (tolerate_first and index == 0):
            return Ran(command=command, stderr=result.stderr.strip() or result.stdout.strip())
    return Ran()


class Before:
    """What the files held before `write_files` (None: absent), and the folders it made."""

    __slots__ = ("contents", "folders")

    def __init__(self) -> None:
        self.contents: dict[Path, bytes | None] = {}
        self.folders: list[Path] = []


def write_files(files: dict[Path, str]) -> tuple[bool, Before]:
    """Write the unit files; (whether any changed, what was there before: `restore_files`
    puts it back if the activation fails)."""
    before = Before()
    for path, text in files.items():
        before.contents[path] = path.read_bytes() if path.is_file() else None
        missing = [folder for folder in [path.parent, *path.parent.parents]
                   if not folder.exists()]
        before.folders += [folder for folder in missing if folder not in before.folders]
        path.parent.mkdir(parents=True, exist_ok=True)
        if before.contents[path] != text.encode():
            path.write_text(text)
    return any(before.contents[path] != text.encode() for path, text in files.items()), before


def restore_files(before: Before) -> None:
    """Every file as it was, and the folders `write_files` made gone again."""
    for path, content in before.contents.items():
        if content is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(content)
    for folder in sorted(before.folders, key=lambda f: len(f.parts), reverse=True):
        with contextlib.suppress(OSError):  # something else was put in it: it stays
            folder.rmdir()


def remove_files(kind: str, env_file: str, *, watch: bool) -> tuple[list[Path], Ran]:
    """Deactivate our job, then remove its files and links whatever the scheduler said: (what
    was removed, how the deactivation went)."""
    files = [path for path in unit_files(kind, 15, env_file, watch=watch) if path.is_file()]
    links = [path for path in enabled_links(kind, watch=watch) if path.is_symlink()]
    if not files and not links:
        return [], Ran()
    ran = run_all(deactivate_commands(kind, watch=watch))
    for path in [*files, *links]:
        path.unlink(missing_ok=True)
    if kind == SYSTEMD and ran.ok:
        reloaded = run_all([["systemctl", "--user", "daemon-reload"]])
        ran = ran if reloaded.ok else reloaded
    return [*files, *links], ran


def timer_state() -> str | None:
    """`systemctl --user is-enabled` of our timer (`enabled`, `disabled`...); None when it
    cannot be asked (no systemctl, no user session bus)."""
    try:
        result = subprocess.run(["systemctl", "--user", "is-enabled", f"{UNIT}.timer"],
                                capture_output=True, text=True, check=False, timeout=30)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return None
    state = result.stdout.strip()
    return state if state and " " not in state else None
