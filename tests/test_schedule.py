"""schedule: one marked crontab line, absolute paths, other lines untouched."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import ROOT, Vault

FAKE_CRONTAB = """#!/bin/sh
# A stand-in for crontab(1) that keeps the table in $CRONTAB_FILE.
case "$1" in
  -l) if [ -f "$CRONTAB_FILE" ]; then cat "$CRONTAB_FILE"; else
        echo "no crontab for $(id -un)" >&2; exit 1; fi ;;
  -) cat > "$CRONTAB_FILE" ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
"""


@pytest.fixture
def cron(vault: Vault, tmp_path: Path) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "crontab"
    fake.write_text(FAKE_CRONTAB)
    fake.chmod(0o755)
    table = tmp_path / "crontab.txt"
    vault.env["PATH"] = f"{bindir}:{vault.env['PATH']}"
    vault.env["CRONTAB_FILE"] = str(table)
    settings = vault.home / ".config/memory-vault/.env"
    settings.parent.mkdir(parents=True)
    settings.write_text(f"MEMORY_VAULT_SOURCE_DIR={vault.source}\n")
    return table


LINE = re.compile(
    r"^\*/(\d+) \* \* \* \* (?:PATH=\S+ )?(/\S+)"
    r"( /\S+| -P -c 'from memory_vault\.entry import run; run\(\)')?"
    r" --env-file (/\S+) # memory-vault$"
)


def test_install_writes_one_marked_line_with_absolute_paths(vault: Vault, cron: Path) -> None:
    result = vault.run("schedule", "install")
    assert result.returncode == 0, result.stderr
    lines = cron.read_text().splitlines()
    assert len(lines) == 1
    match = LINE.match(lines[0])
    assert match, lines[0]
    assert match.group(1) == "15"
    assert match.group(4) == str(vault.home / ".config/memory-vault/.env")
    assert Path(match.group(2)).is_absolute() and Path(match.group(2)).exists()


def test_install_twice_still_one_line_and_others_untouched(vault: Vault, cron: Path) -> None:
    cron.write_text("MAILTO=me@example.com\n0 3 * * * /usr/bin/backup-photos\n")
    assert vault.run("schedule", "install").returncode == 0
    assert vault.run("schedule", "install", "--every", "30").returncode == 0
    lines = cron.read_text().splitlines()
    assert lines[:2] == ["MAILTO=me@example.com", "0 3 * * * /usr/bin/backup-photos"]
    ours = [line for line in lines if line.endswith("# memory-vault")]
    assert len(ours) == 1 and ours[0].startswith("*/30 ")


def test_remove_deletes_only_our_line(vault: Vault, cron: Path) -> None:
    cron.write_text("0 3 * * * /usr/bin/backup-photos\n")
    assert vault.run("schedule", "install").returncode == 0
    result = vault.run("schedule", "remove")
    assert result.returncode == 0
    assert cron.read_text() == "0 3 * * * /usr/bin/backup-photos\n"
    again = vault.run("schedule", "remove")
    assert again.returncode == 0 and "no memory-vault line" in again.stdout


def test_show_prints_the_line(vault: Vault, cron: Path) -> None:
    missing = vault.run("schedule", "show")
    assert missing.returncode == 1 and "schedule install" in missing.stdout
    assert vault.run("schedule", "install").returncode == 0
    shown = vault.run("schedule", "show")
    assert shown.returncode == 0
    assert shown.stdout.strip() == cron.read_text().strip()


def test_the_installed_line_runs_a_backup(vault: Vault, cron: Path) -> None:
    """Run the installed command the way cron would: sh, from $HOME, bare environment."""
    import subprocess

    vault.write("memory.json", '{"from": "cron"}', age=10)
    assert vault.run("schedule", "install").returncode == 0
    line = cron.read_text().strip()
    command = line.split(" ", 5)[5].rsplit(" # memory-vault", 1)[0]
    env = {"HOME": str(vault.home), "PATH": "/usr/bin:/bin", "SHELL": "/bin/sh",
           "MEMORY_VAULT_REMOTE": str(vault.remote), "MEMORY_VAULT_LOG_FILE": str(vault.log)}
    result = subprocess.run(["/bin/sh", "-c", command], cwd=vault.home, env=env,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert vault.remote_file("memory.json") == b'{"from": "cron"}'


def test_bad_every_is_a_usage_error(vault: Vault, cron: Path) -> None:
    result = vault.run("schedule", "install", "--every", "7000")
    assert result.returncode == 2 and "--every" in result.stderr
    assert not cron.exists()


def test_install_without_settings_file_says_run_init(vault: Vault, cron: Path) -> None:
    (vault.home / ".config/memory-vault/.env").unlink()
    result = vault.run("schedule", "install")
    assert result.returncode == 2 and "sync_memory_vault.py init` first" in result.stderr


def test_no_crontab_command_is_a_clear_error(vault: Vault, tmp_path: Path) -> None:
    settings = vault.home / ".config/memory-vault/.env"
    settings.parent.mkdir(parents=True)
    settings.write_text("")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = vault.run("schedule", "install", env={"PATH": str(empty)})
    assert result.returncode == 1
    assert "crontab command is not installed" in result.stderr


def test_crontab_example_shows_the_same_line() -> None:
    lines = [line for line in (ROOT / "crontab.example").read_text().splitlines()
             if line and not line.startswith("#")]
    assert len(lines) == 1
    assert LINE.match(lines[0]), lines[0]


RECORDER = """#!/bin/sh
# A stand-in for {name}: records each call, succeeds.
echo "{name} $*" >> "$SCHEDULER_CALLS"
"""


@pytest.fixture
def schedulers(vault: Vault, tmp_path: Path) -> Path:
    """Stand-ins for systemctl and launchctl that record their calls (the real ones must not
    be changed by a test); a settings file for the job to name."""
    bindir = tmp_path / "sched-bin"
    bindir.mkdir()
    for name in ("systemctl", "launchctl"):
        tool = bindir / name
        tool.write_text(RECORDER.format(name=name))
        tool.chmod(0o755)
    calls = tmp_path / "calls.txt"
    vault.env["PATH"] = f"{bindir}:{vault.env['PATH']}"
    vault.env["SCHEDULER_CALLS"] = str(calls)
    settings = vault.home / ".config/memory-vault/.env"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(f"MEMORY_VAULT_SOURCE_DIR={vault.source}\n")
    return calls


def test_systemd_timer_installed_once_and_verified(vault: Vault, schedulers: Path) -> None:
    units = vault.home / ".config/systemd/user"
    units.mkdir(parents=True)
    (units / "other.service").write_text("[Service]\nExecStart=/bin/true\n")
    assert vault.run("schedule", "install", "--with", "systemd", "--every", "30").returncode == 0
    assert vault.run("schedule", "install", "--with", "systemd", "--every", "30").returncode == 0
    service = (units / "memory-vault.service").read_text()
    timer = (units / "memory-vault.timer").read_text()
    assert "Persistent=true" in timer and "OnCalendar=*:0/30" in timer
    assert "--env-file" in service and str(vault.home / ".config/memory-vault/.env") in service
    assert schedulers.read_text().count("systemctl --user enable --now memory-vault.timer") == 2
    assert sorted(p.name for p in units.iterdir()) == [
        "memory-vault.service", "memory-vault.timer", "other.service"]

    import shutil
    import subprocess

    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (.ci/run installs Debian's systemd)")
    verify = subprocess.run(["systemd-analyze", "verify", str(units / "memory-vault.service"),
                             str(units / "memory-vault.timer")], capture_output=True,
                            text=True, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr

    removed = vault.run("schedule", "remove", "--with", "systemd")
    assert removed.returncode == 0
    assert sorted(p.name for p in units.iterdir()) == ["other.service"]
    assert "systemctl --user disable --now memory-vault.timer" in schedulers.read_text()


def test_launchd_plist_round_trips(vault: Vault, schedulers: Path) -> None:
    import plistlib

    assert vault.run("schedule", "install", "--with", "launchd").returncode == 0
    path = vault.home / "Library/LaunchAgents/io.github.memory-vault.sync.plist"
    job = plistlib.loads(path.read_bytes())
    assert job["Label"] == "io.github.memory-vault.sync"
    assert job["StartInterval"] == 900
    assert job["ProgramArguments"][-2:] == ["--env-file",
                                            str(vault.home / ".config/memory-vault/.env")]
    assert Path(job["ProgramArguments"][0]).is_absolute()
    assert f"launchctl load -w {path}" in schedulers.read_text()
    assert vault.run("schedule", "remove", "--with", "launchd").returncode == 0
    assert not path.exists()


def test_without_the_schedulers_command_the_files_are_written_and_the_command_said(
        vault: Vault, tmp_path: Path) -> None:
    settings = vault.home / ".config/memory-vault/.env"
    settings.parent.mkdir(parents=True)
    settings.write_text("")
    bare = tmp_path / "bare-bin"
    bare.mkdir()
    shown = vault.run("schedule", "show", "--with", "systemd", env={"PATH": str(bare)})
    assert shown.returncode == 1 and "OnCalendar=*:0/15" in shown.stdout
    result = vault.run("schedule", "install", "--with", "systemd", env={"PATH": str(bare)})
    assert result.returncode == 3
    assert "systemctl --user enable --now memory-vault.timer" in result.stdout
    assert (vault.home / ".config/systemd/user/memory-vault.timer").is_file()


@pytest.mark.parametrize("kind", ["systemd", "launchd"])
def test_a_watch_service_without_the_service_manager_is_refused_and_leaves_nothing(
        vault: Vault, tmp_path: Path, kind: str) -> None:
    """A slim container has no systemctl: a service nothing can start is not written; the
    user is told to run `watch` themselves."""
    settings = vault.home / ".config/memory-vault/.env"
    settings.parent.mkdir(parents=True)
    settings.write_text("")
    bare = tmp_path / "bare-bin"
    bare.mkdir()
    asked = [] if kind == "systemd" else ["--with", kind]  # systemd: the default on Linux
    before = sorted((vault.home / ".config").rglob("*"))
    result = vault.run("schedule", "install", "--watch", *asked, env={"PATH": str(bare)})
    assert result.returncode == 1, result.stdout + result.stderr
    program = "systemctl" if kind == "systemd" else "launchctl"
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1
    assert f"{program} is not installed here" in line and "nothing was installed" in line
    assert " watch` yourself" in line and "systemctl --user" not in line
    assert sorted((vault.home / ".config").rglob("*")) == before  # no unit, no folder for one
    assert not (vault.home / "Library").exists()


@pytest.mark.parametrize("every", ["7", "45", "90"])
def test_intervals_that_leave_gaps_are_refused(vault: Vault, cron: Path, every: str) -> None:
    result = vault.run("schedule", "install", "--every", every)
    assert result.returncode == 2 and "divide" in result.stderr
    assert not cron.exists()


BUS_DOWN = """#!/bin/sh
# A stand-in for systemctl on a machine with no user session bus (a container, a server reached
# over ssh without lingering): every --user call fails as the real one does there.
echo "systemctl $*" >> "$SCHEDULER_CALLS"
echo "Failed to connect to bus: No medium found" >&2
exit 1
"""


def _bus_down(vault: Vault, tmp_path: Path, *, crontab: bool = False) -> Path:
    """A PATH holding only a systemctl that cannot reach its bus (and crontab if asked)."""
    bindir = tmp_path / "bus-down-bin"
    bindir.mkdir(exist_ok=True)
    tool = bindir / "systemctl"
    tool.write_text(BUS_DOWN)
    tool.chmod(0o755)
    if crontab:
        (bindir / "crontab").write_text(FAKE_CRONTAB)
        (bindir / "crontab").chmod(0o755)
        vault.env["CRONTAB_FILE"] = str(tmp_path / "crontab.txt")
    vault.env["PATH"] = str(bindir)
    vault.env["SCHEDULER_CALLS"] = str(tmp_path / "calls.txt")
    settings = vault.home / ".config/memory-vault/.env"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(f"MEMORY_VAULT_SOURCE_DIR={vault.source}\n")
    return bindir


def _fix_for_this_machine() -> str:
    """What a machine without a user bus needs: cron where systemd does not run at all (a
    container), lingering where it does."""
    return ("loginctl enable-linger" if Path("/run/systemd/system").is_dir()
            else "apt install cron")


@pytest.mark.parametrize("watch", [False, True])
def test_without_crontab_and_without_a_bus_install_says_why_and_leaves_nothing(
        vault: Vault, tmp_path: Path, watch: bool) -> None:
    _bus_down(vault, tmp_path)
    result = vault.run("schedule", "install", *(["--watch"] if watch else []))
    assert result.returncode == 1, result.stdout + result.stderr
    line = result.stderr.strip()
    assert "Failed to connect to bus" in line and "nothing was installed" in line
    if not watch:
        assert "crontab is not installed here, so the job went to systemd" in line
        assert _fix_for_this_machine() in line
    assert not (vault.home / ".config/systemd").exists()
    assert "Traceback" not in result.stderr


def test_with_systemd_asked_and_crontab_there_the_fix_names_cron(
        vault: Vault, tmp_path: Path) -> None:
    _bus_down(vault, tmp_path, crontab=True)
    result = vault.run("schedule", "install", "--with", "systemd")
    assert result.returncode == 1
    assert "schedule install --with cron" in result.stderr
    assert "so the job went to systemd" not in result.stderr  # the user chose systemd
    assert not (vault.home / ".config/systemd").exists()


def test_a_refused_reinstall_keeps_the_job_that_was_there(
        vault: Vault, schedulers: Path, tmp_path: Path) -> None:
    assert vault.run("schedule", "install", "--with", "systemd").returncode == 0
    units = vault.home / ".config/systemd/user"
    before = {p.name: p.read_bytes() for p in units.iterdir()}
    _bus_down(vault, tmp_path)
    result = vault.run("schedule", "install", "--with", "systemd", "--every", "30")
    assert result.returncode == 1
    assert {p.name: p.read_bytes() for p in units.iterdir()} == before


def test_remove_removes_our_files_when_systemctl_cannot_be_reached(
        vault: Vault, schedulers: Path, tmp_path: Path) -> None:
    assert vault.run("schedule", "install", "--with", "systemd").returncode == 0
    assert vault.run("schedule", "install", "--watch", "--with", "systemd").returncode == 0
    units = vault.home / ".config/systemd/user"
    wants = units / "timers.target.wants"  # what `systemctl enable` left from an earlier day
    wants.mkdir()
    (wants / "memory-vault.timer").symlink_to(units / "memory-vault.timer")
    (units / "other.service").write_text("[Service]\nExecStart=/bin/true\n")
    _bus_down(vault, tmp_path)
    for args in (["--with", "systemd"], ["--watch"]):
        result = vault.run("schedule", "remove", *args)
        assert result.returncode == 0, result.stderr
        assert "Failed to connect to bus" in result.stdout
        assert "removed all the same" in result.stdout
    assert sorted(p.name for p in units.rglob("*")) == ["other.service", "timers.target.wants"]


def test_the_watch_service_installed_shown_and_removed(vault: Vault, schedulers: Path) -> None:
    shown = vault.run("schedule", "show", "--watch", "--with", "systemd")
    assert shown.returncode == 1 and "schedule install --watch --with systemd" in shown.stdout
    assert vault.run("schedule", "install", "--watch", "--with", "systemd").returncode == 0
    service = vault.home / ".config/systemd/user/memory-vault-watch.service"
    text = service.read_text()
    assert "Restart=on-failure" in text and "KillMode=mixed" in text
    assert text.split("ExecStart=", 1)[1].split("\n", 1)[0].endswith(" watch")
    assert "systemctl --user restart memory-vault-watch.service" in schedulers.read_text()
    shown = vault.run("schedule", "show", "--watch", "--with", "systemd")
    assert shown.returncode == 0 and "Restart=on-failure" in shown.stdout
    timer = vault.run("schedule", "show", "--with", "systemd")
    assert "schedule show --watch` shows it" in timer.stdout
    import shutil
    import subprocess

    if shutil.which("systemd-analyze"):
        verify = subprocess.run(["systemd-analyze", "verify", str(service)],
                                capture_output=True, text=True, check=False)
        assert verify.returncode == 0, verify.stdout + verify.stderr
    assert vault.run("schedule", "remove", "--watch", "--with", "systemd").returncode == 0
    assert not service.exists()
    assert "systemctl --user disable --now memory-vault-watch.service" in schedulers.read_text()


def test_the_watch_agent_of_launchd_keeps_it_alive(vault: Vault, schedulers: Path) -> None:
    import plistlib

    assert vault.run("schedule", "install", "--watch", "--with", "launchd").returncode == 0
    path = vault.home / "Library/LaunchAgents/io.github.memory-vault.watch.plist"
    job = plistlib.loads(path.read_bytes())
    assert job["KeepAlive"] is True and job["RunAtLoad"] is True
    assert job["ProgramArguments"][-1] == "watch"
    assert vault.run("schedule", "remove", "--watch", "--with", "launchd").returncode == 0
    assert not path.exists()


def test_watch_under_cron_is_a_usage_error(vault: Vault, cron: Path) -> None:
    result = vault.run("schedule", "install", "--watch", "--with", "cron")
    assert result.returncode == 2 and "--with systemd or --with launchd" in result.stderr
