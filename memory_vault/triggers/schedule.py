"""Schedule: exactly one scheduled job that runs a sync, under the scheduler the machine has.

- cron: one crontab line marked `# memory-vault` (the default where `crontab` exists);
- systemd: a user service and timer with `Persistent=true`, so that a run missed while the
  laptop slept happens when it wakes;
- launchd: a LaunchAgent (macOS, where cron lacks Full Disk Access).

Every job runs the same command with absolute paths: the interpreter, `-P -c` importing the
entry point (pip's console-script wrapper imports `re`, which costs more than a whole
no-change run), and `--env-file`. `install` run twice leaves one job; `remove` removes only
what `install` made; `show` prints the job whether or not its scheduler is installed.
"""

from __future__ import annotations

import os
import plistlib
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from memory_vault.errors import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, UsageError, VaultError
from memory_vault.logfile import RunLog
from memory_vault.results import Done, command_name
from memory_vault.settings import paths
from memory_vault.settings.load import Config

CRON, SYSTEMD, LAUNCHD = "cron", "systemd", "launchd"
KINDS = (CRON, SYSTEMD, LAUNCHD)
MARK = "# memory-vault"
EVERY = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60, 120, 180, 240, 360, 480, 720, 1440)
UNIT = "memory-vault"
LABEL = "io.github.memory-vault.sync"
ENTRY = "from memory_vault.entry import run; run()"
_CRON_PATH = ("/usr/bin", "/bin")


def default_kind() -> str:
    """cron where `crontab` exists; else a systemd user timer; else launchd on macOS."""
    if shutil.which("crontab"):
        return CRON
    if sys.platform == "darwin":
        return LAUNCHD
    return SYSTEMD if shutil.which("systemctl") else CRON


def check_every(every: int) -> int:
    """Intervals that divide the hour (or the day, in whole hours): `*/7` would leave a
    4-minute gap at every hour."""
    if every not in EVERY:
        raise UsageError(f"--every {every}: expected minutes that divide an hour "
                         f"({', '.join(map(str, EVERY[:11]))}) or whole hours that divide a "
                         "day (60, 120, 180, 240, 360, 480, 720, 1440)")
    return every


def program_command() -> list[str]:
    """Absolute paths that run this same program from a scheduler's bare environment."""
    import memory_vault

    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    script = Path(memory_vault.__file__).resolve().parent.parent / "sync_memory_vault.py"
    return choose_command(sys.executable, str(Path(argv0).absolute()) if argv0 else "",
                          str(script) if script.is_file() else None)


def choose_command(python: str, argv0: str, checkout_script: str | None) -> list[str]:
    """The checkout's script when we run from a checkout (it puts the package on the path);
    else the interpreter importing the entry point, with no console-script wrapper.

    >>> choose_command("/v/bin/python", "/v/bin/memory-vault", None)[1:3]
    ['-P', '-c']
    """
    if argv0.endswith("sync_memory_vault.py"):
        return [python, argv0]
    if checkout_script is not None:
        return [python, checkout_script]
    return [python, "-P", "-c", ENTRY]


def job_command(env_file: str) -> list[str]:
    return [*program_command(), "--env-file", str(Path(env_file).absolute())]


def _git_dir() -> str:
    return str(Path(shutil.which("git") or "/usr/bin/git").parent)


def _search_path() -> str:
    git_dir = _git_dir()
    return ":".join(dict.fromkeys([git_dir, *_CRON_PATH]))


# -- cron ----------------------------------------------------------------------------------

def cron_schedule(every: int) -> str:
    """`*/15 * * * *` for every 15 minutes; whole hours as `0 */H * * *`."""
    check_every(every)
    if every < 60:
        return "* * * * *" if every == 1 else f"*/{every} * * * *"
    hours = every // 60
    return {1: "0 * * * *", 24: "0 0 * * *"}.get(hours, f"0 */{hours} * * *")


def cron_line(every: int, env_file: str) -> str:
    text = " ".join(shlex.quote(part) for part in job_command(env_file)).replace("%", "\\%")
    if _git_dir() not in _CRON_PATH:  # cron's PATH is /usr/bin:/bin
        text = f"PATH={shlex.quote(_search_path())} {text}"
    return f"{cron_schedule(every)} {text} {MARK}"


def _crontab(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(["crontab", *args], input=stdin, capture_output=True, text=True,
                              check=False, timeout=30)
    except FileNotFoundError:
        raise VaultError("the crontab command is not installed (Debian/Ubuntu: apt install "
                         f"cron); add the line of `{command_name()} schedule show` to your "
                         "scheduler by hand") from None


def read_crontab() -> list[str]:
    result = _crontab(["-l"])
    if result.returncode != 0:
        if "no crontab" in result.stderr.lower():
            return []
        raise VaultError(f"crontab -l failed: {result.stderr.strip()}")
    return result.stdout.splitlines()


def _write_crontab(lines: list[str]) -> None:
    result = _crontab(["-"], "\n".join(lines) + "\n" if lines else "")
    if result.returncode != 0:
        raise VaultError(f"crontab could not be written: {result.stderr.strip()}")


def _ours(line: str) -> bool:
    return line.rstrip().endswith(MARK)


def install(line: str) -> bool:
    """Put `line` in the crontab in place of any earlier one; True when something changed."""
    current = read_crontab()
    wanted = [*[entry for entry in current if not _ours(entry)], line]
    if wanted == current:
        return False
    _write_crontab(wanted)
    return True


def remove() -> bool:
    current = read_crontab()
    others = [entry for entry in current if not _ours(entry)]
    if others == current:
        return False
    _write_crontab(others)
    return True


def installed() -> str | None:
    ours = [entry for entry in read_crontab() if _ours(entry)]
    return ours[-1] if ours else None


# -- systemd and launchd: files, then the scheduler's command ---------------------------------

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
               f"Environment=PATH={_search_path()}\nNice=10\n")
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
        "EnvironmentVariables": {"PATH": _search_path()},
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


def _commands(kind: str, table: dict[str, list[list[str]]]) -> list[list[str]]:
    plist = str(launchd_plist_path())
    return [[part.replace("{plist}", plist) for part in command] for command in table[kind]]


def _run_all(commands: list[list[str]], *, tolerate_first: bool = False) -> str | None:
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


def _files(kind: str, every: int, env_file: str) -> dict[Path, str]:
    return systemd_units(every, env_file) if kind == SYSTEMD else launchd_plist(every, env_file)


def _install_files(kind: str, every: int, env_file: str) -> tuple[bool, list[str]]:
    changed = False
    written = []
    for path, text in _files(kind, every, env_file).items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text() != text:
            path.write_text(text)
            changed = True
        written.append(str(path))
    return changed, written


# -- the commands --------------------------------------------------------------------------

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
        line = cron_line(every, env_file)
        changed = install(line)
        log.info(f"schedule: {'installed' if changed else 'unchanged'}: {line}")
        return Done(EXIT_OK, [("Installed" if changed else "Already installed") + ":", line])
    changed, written = _install_files(kind, every, env_file)
    why = _run_all(_commands(kind, ACTIVATE), tolerate_first=kind == LAUNCHD)
    log.info(f"schedule: {kind} job {'written' if changed else 'unchanged'}: "
             f"{', '.join(written)}")
    lines = [("Installed" if changed else "Already installed") + f" ({kind}):", *written]
    if why is None:
        return Done(EXIT_OK, lines)
    commands = " && ".join(" ".join(shlex.quote(p) for p in c)
                           for c in _commands(kind, ACTIVATE)[-1:])
    log.warning(f"schedule: {why}: the job is written but not active; activate it with "
                f"`{commands}`")
    return Done(EXIT_PARTIAL, [*lines, f"Not active yet ({why}); activate it with: {commands}"])


def run_remove(config: Config, log: RunLog, kind: str | None) -> Done:
    kind = kind or default_kind()
    if kind == CRON:
        removed = remove()
        if removed:
            log.info("schedule: removed the memory-vault crontab line")
        return Done(EXIT_OK, ["Removed the memory-vault line." if removed
                              else "There was no memory-vault line in the crontab."])
    existing = [path for path in _files(kind, 15, "x") if path.is_file()]
    if not existing:
        return Done(EXIT_OK, [f"There was no memory-vault {kind} job."])
    _run_all(_commands(kind, DEACTIVATE), tolerate_first=True)
    for path in existing:
        path.unlink()
    log.info(f"schedule: removed the {kind} job: {', '.join(map(str, existing))}")
    return Done(EXIT_OK, [f"Removed the memory-vault {kind} job:", *map(str, existing)])


def run_show(config: Config, log: RunLog, every: int, kind: str | None) -> Done:
    """The installed job; else the one `install` would write (exit 1: not installed)."""
    kind = kind or default_kind()
    env_file = settings_file(config, must_exist=False)
    if kind == CRON:
        wanted = cron_line(every, env_file)
        try:
            line = installed()
        except VaultError as exc:
            log.warning(str(exc))
            return Done(EXIT_FAILED, [wanted])
        if line is None:
            return Done(EXIT_FAILED, [f"No memory-vault line in the crontab; `{command_name()} "
                                      "schedule install` adds this one:", wanted])
        return Done(EXIT_OK, [line])
    files = _files(kind, every, env_file)
    installed_now = all(path.is_file() for path in files)
    lines = [] if installed_now else [f"Not installed; `{command_name()} schedule install --with "
                                      f"{kind}` writes:"]
    for path, text in files.items():
        shown = path.read_text() if installed_now else text
        lines += [f"# {path}", *shown.rstrip("\n").splitlines()]
    return Done(EXIT_OK if installed_now else EXIT_FAILED, lines)
