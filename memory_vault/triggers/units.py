"""Units: systemd user service and timer, or a launchd agent: files, then the scheduler's own
command to activate them (`Persistent=true`: a run missed while the laptop slept happens at
wake-up)."""

import os
import plistlib
import subprocess
from pathlib import Path

from memory_vault.errors import VaultError
from memory_vault.settings import paths
from memory_vault.triggers.job import check_every, job_command, search_path

SYSTEMD, LAUNCHD = "systemd", "launchd"
UNIT = "memory-vault"
LABEL = "io.github.memory-vault.sync"


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


def launchd_plist_path() -> Path:
    return Path(paths.home_dir(dict(os.environ))) / "Library" / "LaunchAgents" / f"{LABEL}.plist"


def launchd_plist(every: int, env_file: str) -> dict[Path, str]:
    logs = Path(paths.home_dir(dict(os.environ))) / "Library" / "Logs"
    body = plistlib.dumps({
        "Label": LABEL, "ProgramArguments": job_command(env_file),
        "StartInterval": check_every(every) * 60, "RunAtLoad": False, "ProcessType": "Background",
        "EnvironmentVariables": {"PATH": search_path()},
        "StandardErrorPath": str(logs / "memory-vault.err"),
    }).decode()
    return {launchd_plist_path(): body}


ACTIVATE = {
    SYSTEMD: [["systemctl", "--user", "daemon-reload"],
              ["systemctl", "--user", "enable", "--now", f"{UNIT}.timer"]],
    LAUNCHD: [["launchctl", "unload", "-w", "{plist}"], ["launchctl", "load", "-w", "{plist}"]],
}
DEACTIVATE = {
    SYSTEMD: [["systemctl", "--user", "disable", "--now", f"{UNIT}.timer"],
              ["systemctl", "--user", "daemon-reload"]],
    LAUNCHD: [["launchctl", "unload", "-w", "{plist}"]],
}


def activation(kind: str, table: dict[str, list[list[str]]]) -> list[list[str]]:
    plist = str(launchd_plist_path())
    return [[part.replace("{plist}", plist) for part in command] for command in table[kind]]


def run_all(commands: list[list[str]], *, tolerate_first: bool = False) -> str | None:
    """Run the scheduler's commands; why they could not run (its command is missing)."""
    for index, command in enumerate(commands):
        try:
            result = subprocess.run(command, capture_output=True, text=True, check=False,
                                    timeout=60)
        except FileNotFoundError:
            return f"{command[0]} is not installed here"
        if result.returncode != 0 and not (tolerate_first and index == 0):
            raise VaultError(f"{' '.join(command)} failed: {result.stderr.strip()}")
    return None


def unit_files(kind: str, every: int, env_file: str) -> dict[Path, str]:
    return systemd_units(every, env_file) if kind == SYSTEMD else launchd_plist(every, env_file)


def install_files(kind: str, every: int, env_file: str) -> tuple[bool, list[str]]:
    changed = False
    written = []
    for path, text in unit_files(kind, every, env_file).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
            changed = True
        written.append(str(path))
    return changed, written


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
