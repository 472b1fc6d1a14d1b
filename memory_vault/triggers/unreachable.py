"""Unreachable: why a scheduler refused our job, in words, with the one command that fixes it.

The common case is a machine with `systemctl` but no user manager to talk to: a container
(systemd is not running at all) or a server reached over ssh without lingering (no session
bus: "Failed to connect to bus"). cron is then the answer, or `loginctl enable-linger`.
"""

import os
import shutil
from pathlib import Path

from memory_vault.results import command_name

BUS_WORDS = ("failed to connect to bus", "no medium found", "dbus_session_bus_address",
             "xdg_runtime_dir", "not been booted with systemd", "connection refused")


def bus_unreachable(stderr: str) -> bool:
    """Did systemctl fail because it has no user manager to talk to?"""
    lowered = stderr.lower()
    return any(words in lowered for words in BUS_WORDS)


def systemd_running() -> bool:
    """sd_booted(3): systemd is the init system when this folder exists."""
    return Path("/run/systemd/system").is_dir()


def systemd_refusal(stderr: str, *, fell_back: bool, watch: bool = False) -> str:
    """The line for a systemd install the user manager could not take: what is missing, and
    the one command that fixes it. Nothing was installed."""
    program = command_name()
    again = f"{program} schedule install" + (" --watch" if watch else "")
    said = stderr.splitlines()[-1].strip() if stderr.strip() else "no answer"
    head = ("crontab is not installed here, so the job went to systemd, but " if fell_back
            else "")
    if "not been booted" in stderr.lower() or not systemd_running():
        why = (f"{head}systemd is not running on this machine (a container?) and cannot run a "
               f"user {'service' if watch else 'timer'} (systemctl --user: {said})")
        fix = ("start `memory-vault watch` yourself (in a terminal, tmux, or your container's "
               "own supervisor)" if watch else
               "install cron (Debian/Ubuntu: `apt install cron`, then start it) and run "
               f"`{again}` again")
    else:
        user = _user()
        why = (f"{head}systemd's user manager cannot be reached: this user has no login "
               f"session (systemctl --user: {said})")
        fix = (f"run `loginctl enable-linger {user}`, log in again, and run `{again}` again")
    if shutil.which("crontab") and not watch:
        fix += f"; or use cron: `{program} schedule install --with cron`"
    return f"{why}; nothing was installed: {fix}"


def service_manager_missing(kind: str, missing: str) -> str:
    """The line for `schedule install --watch` where the service manager's own command is
    missing (a slim container has no `systemctl`): nothing was installed, and the one thing
    to do instead."""
    program = command_name()
    other = ("install systemd (as the machine's init system)" if kind == "systemd" else
             f"on Linux, `{program} schedule install --watch --with systemd`")
    return (f"{missing}, so no {kind} watch service can run; nothing was installed: run "
            f"`{program} watch` yourself (in a terminal, tmux, or your container's own "
            f"supervisor), or {other}")


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return os.environ.get("USER", "$USER")
