"""Installed: the jobs of ours this machine holds, under every scheduler at once (`doctor`).

`schedule show` prints the job of one scheduler; `doctor` asks all three, since a job left
under another scheduler (a crontab line beside a systemd timer) runs all the same. Looking
changes nothing: `crontab -l`, the unit files, `systemctl --user is-enabled`.
"""

import shlex
import shutil

from memory_vault.errors import VaultError
from memory_vault.triggers import cron
from memory_vault.triggers.units import (
    LAUNCHD,
    SYSTEMD,
    UNIT,
    launchd_plist_path,
    systemd_dir,
    timer_state,
)


class Installed:
    """One job of ours: its scheduler, what holds it (the line, the files), whether it is
    active (a systemd timer enabled), and the env file it runs with."""

    __slots__ = ("active", "env_file", "kind", "where")

    def __init__(self, kind: str, where: list[str], *, active: bool, env_file: str | None
                 ) -> None:
        self.kind = kind
        self.where = where
        self.active = active
        self.env_file = env_file

    def as_dict(self) -> dict[str, object]:
        return {"scheduler": self.kind, "job": self.where, "active": self.active,
                "env_file": self.env_file}


def installed_jobs() -> tuple[list[Installed], list[str]]:
    """Every job of ours found, and why a scheduler could not be asked (`crontab -l` failed)."""
    found: list[Installed] = []
    trouble: list[str] = []
    if shutil.which("crontab"):
        try:
            line = cron.installed()
        except VaultError as exc:
            trouble.append(str(exc))
            line = None
        if line is not None:
            found.append(Installed("cron", [line], active=True, env_file=_env_file_of(line)))
    units = [systemd_dir() / f"{UNIT}.service", systemd_dir() / f"{UNIT}.timer"]
    if any(path.is_file() for path in units):
        text = units[0].read_text(errors="replace") if units[0].is_file() else ""
        found.append(Installed(SYSTEMD, [str(p) for p in units if p.is_file()],
                               active=all(p.is_file() for p in units)
                               and timer_state() == "enabled",
                               env_file=_env_file_of(text)))
    plist = launchd_plist_path()
    if plist.is_file():
        found.append(Installed(LAUNCHD, [str(plist)], active=True,
                               env_file=_plist_env_file(plist.read_bytes())))
    return found, trouble


def _env_file_of(text: str) -> str | None:
    """The `--env-file` a crontab line or a unit's ExecStart names."""
    for line in text.splitlines():
        try:
            words = shlex.split(line.partition("ExecStart=")[2] or line, comments=True)
        except ValueError:
            continue
        if "--env-file" in words[:-1]:
            return words[words.index("--env-file") + 1]
    return None


def _plist_env_file(body: bytes) -> str | None:
    import plistlib

    try:
        arguments = plistlib.loads(body).get("ProgramArguments", [])
    except Exception:  # a plist someone edited by hand: no env file known
        return None
    words = [str(a) for a in arguments]
    return words[words.index("--env-file") + 1] if "--env-file" in words[:-1] else None
