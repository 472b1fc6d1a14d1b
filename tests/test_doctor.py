"""doctor: the settings with their origin, the job and its last run, the remote, the copy off
this machine, and what to do about each; exit 1 when something needs doing.

Real remotes (a bare repository, `git daemon` on 127.0.0.1 stopped and started, a server
that never answers), the real program, and stand-ins for `crontab` and `systemctl` only.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from servers import GitDaemon, SilentServer
from stand_ins import install_stand_ins

from conftest import Vault
from memory_vault.health.effective import VALUES
from memory_vault.settings.schema import SETTINGS


def doctor(vault: Vault, *args: str, env: dict[str, str | None] | None = None
           ) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    result = vault.run("doctor", "--json", *args, env=env)
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    assert result.returncode == document["exit_code"], result.stderr
    return result, document


def finding(document: dict[str, object], name: str) -> dict[str, str]:
    found = [f for f in document["findings"] if f["name"] == name]  # type: ignore[attr-defined]
    assert len(found) == 1, document["findings"]
    return found[0]  # type: ignore[no-any-return]


def setting(document: dict[str, object], name: str) -> dict[str, str]:
    return next(s for s in document["settings"] if s["name"] == name)  # type: ignore[attr-defined]


def set_up(vault: Vault) -> None:
    """As the README does it: init, a first backup, the job."""
    vault.write("memory.json", '{"facts": ["likes tea"]}', age=5)
    for args in (["init"], ["--now"], ["schedule", "install"]):
        done = vault.run(*args)
        assert done.returncode == 0, done.stderr


def test_every_setting_has_its_value_shown() -> None:
    assert set(VALUES) == {s.name for s in SETTINGS}


def test_a_first_look_says_what_to_do_and_exits_1(vault: Vault) -> None:
    install_stand_ins(vault, vault.tmp)
    vault.write("memory.json", "{}")
    result, document = doctor(vault)
    assert result.returncode == 1 and document["ok"] is False
    job = finding(document, "job")
    assert job["state"] == "problem" and "schedule install" in job["todo"]
    assert finding(document, "last run")["state"] == "problem"
    seen = finding(document, "settings")
    assert seen["state"] == "problem" and "MEMORY_VAULT_SOURCE_DIR" in seen["detail"]
    assert "init" in seen["todo"]
    remote = finding(document, "remote")  # a bare repository with no branch yet
    assert remote["state"] == "ok" and "no main yet" in remote["detail"]
    assert setting(document, "MEMORY_VAULT_SOURCE_DIR")["origin"] == "environment"
    assert setting(document, "MEMORY_VAULT_BRANCH") == {
        "name": "MEMORY_VAULT_BRANCH", "value": "main", "origin": "default", "file": None}
    text = vault.run("doctor")
    assert text.returncode == 1
    assert "PROBLEM  job" in text.stdout and "-> `" in text.stdout


def test_a_remote_up_then_down(vault: Vault) -> None:
    install_stand_ins(vault, vault.tmp)
    with GitDaemon(vault.tmp) as daemon:
        vault.env["MEMORY_VAULT_REMOTE"] = daemon.url("remote.git")
        set_up(vault)
        result, document = doctor(vault)
        assert result.returncode == 0, document["findings"]
        tip = vault.remote_git("rev-parse", "main").strip()
        assert document["remote"] == {"url": daemon.url("remote.git"), "embedded": False,
                                      "answers": True, "tip": tip, "off_machine": True}
        assert finding(document, "copy")["state"] == "ok"
        assert document["jobs"][0]["scheduler"] == "cron"  # type: ignore[index]
        assert document["last_run"] is not None
        daemon.stop()
        started = time.monotonic()
        result, document = doctor(vault, env={"MEMORY_VAULT_GIT_TIMEOUT": "5"})
        assert time.monotonic() - started < 30
    remote = finding(document, "remote")
    assert result.returncode == 1 and remote["state"] == "problem"
    assert "does not answer" in remote["detail"] and "network" in remote["todo"]
    assert document["remote"]["answers"] is False  # type: ignore[index]
    assert finding(document, "copy")["state"] == "note"


def test_a_silent_remote_is_given_up_at_the_git_timeout(vault: Vault) -> None:
    install_stand_ins(vault, vault.tmp)
    vault.write("memory.json", "{}")
    with SilentServer() as server:
        started = time.monotonic()
        result, document = doctor(vault, env={
            "MEMORY_VAULT_REMOTE": f"http://127.0.0.1:{server.port}/vault.git",
            "MEMORY_VAULT_GIT_TIMEOUT": "2"})
        elapsed = time.monotonic() - started
    remote = finding(document, "remote")
    assert result.returncode == 1 and remote["state"] == "problem"
    assert "2 s" in remote["detail"] and elapsed < 20


def test_the_embedded_vault_is_a_note_not_a_problem(embedded: Vault) -> None:
    install_stand_ins(embedded, embedded.tmp)
    set_up(embedded)
    result, document = doctor(embedded)
    assert result.returncode == 0, document["findings"]
    copy = finding(document, "copy")
    assert copy["state"] == "note"
    assert "no copy off this machine yet" in copy["detail"]
    assert "init --remote" in copy["todo"]
    assert document["remote"]["embedded"] is True  # type: ignore[index]
    assert "note     copy" in embedded.run("doctor").stdout


def test_each_setting_says_where_it_came_from(vault: Vault) -> None:
    install_stand_ins(vault, vault.tmp)
    vault.write("memory.json", "{}")
    env_file = vault.tmp / "mine.env"
    env_file.write_text("MEMORY_VAULT_BRANCH=trunk\nMEMORY_VAULT_VALIDATE_JSON=false\n")
    token = "tok" + "en-not-to-be-shown"
    _, document = doctor(vault, "--env-file", str(env_file), env={
        "MEMORY_VAULT_SUBDIR": "notes",
        "MEMORY_VAULT_REMOTE": f"https://me:{token}@127.0.0.1:1/vault.git"})
    assert document["env_file"] == str(env_file)
    assert setting(document, "MEMORY_VAULT_BRANCH") == {
        "name": "MEMORY_VAULT_BRANCH", "value": "trunk", "origin": "env file",
        "file": str(env_file)}
    assert setting(document, "MEMORY_VAULT_VALIDATE") == {
        "name": "MEMORY_VAULT_VALIDATE", "value": "false", "origin": "env file",
        "file": str(env_file), "given_as": "MEMORY_VAULT_VALIDATE_JSON"}
    assert setting(document, "MEMORY_VAULT_SUBDIR")["origin"] == "environment"
    assert setting(document, "MEMORY_VAULT_SHRINK_ALERT")["value"] == "50"
    assert token not in json.dumps(document)
    assert setting(document, "MEMORY_VAULT_REMOTE")["value"].startswith("https://me:")


def test_a_setting_the_job_does_not_see_is_a_problem(vault: Vault) -> None:
    install_stand_ins(vault, vault.tmp)
    set_up(vault)
    result, document = doctor(vault, env={"MEMORY_VAULT_FILES": "*.md"})
    seen = finding(document, "settings")
    assert result.returncode == 1 and seen["state"] == "problem"
    assert "would run with other values of MEMORY_VAULT_FILES" in seen["detail"]
    assert seen["todo"].startswith("`") and " init" in seen["todo"]


def test_a_job_that_stopped_running_is_a_problem(vault: Vault) -> None:
    install_stand_ins(vault, vault.tmp)
    vault.env["MEMORY_VAULT_STALE_AFTER"] = "0.01"  # minutes: pinned in the env file by init
    set_up(vault)
    time.sleep(1.2)
    result, document = doctor(vault)
    last = finding(document, "last run")
    assert result.returncode == 1 and last["state"] == "problem"
    assert "the job has not run since" in last["detail"]


def test_a_systemd_timer_enabled_then_disabled(vault: Vault) -> None:
    install_stand_ins(vault, vault.tmp)
    vault.write("memory.json", "{}", age=5)
    for args in (["init"], ["--now"], ["schedule", "install", "--with", "systemd"]):
        assert vault.run(*args).returncode == 0
    result, document = doctor(vault)
    assert result.returncode == 0, document["findings"]
    assert finding(document, "job")["detail"].startswith("systemd: ")
    assert document["jobs"][0]["active"] is True  # type: ignore[index]
    Path(vault.env["SYSTEMCTL_STATE"]).write_text("disabled\n")
    result, document = doctor(vault)
    job = finding(document, "job")
    assert result.returncode == 1 and job["state"] == "problem"
    assert "not active" in job["detail"] and "enable --now" in job["todo"]


def test_two_schedulers_are_a_note(vault: Vault) -> None:
    install_stand_ins(vault, vault.tmp)
    set_up(vault)
    assert vault.run("schedule", "install", "--with", "systemd").returncode == 0
    result, document = doctor(vault)
    assert result.returncode == 0
    notes = [f for f in document["findings"]  # type: ignore[attr-defined]
             if f["name"] == "job" and f["state"] == "note"]
    assert len(notes) == 1 and "2 schedulers" in notes[0]["detail"]


def test_an_unknown_setting_is_a_problem(vault: Vault) -> None:
    install_stand_ins(vault, vault.tmp)
    set_up(vault)
    result, document = doctor(vault, env={"MEMORY_VAULT_TYPO": "1"})
    unknown = [f for f in document["findings"]  # type: ignore[attr-defined]
               if "MEMORY_VAULT_TYPO" in f["detail"]]
    assert result.returncode == 1 and unknown and unknown[0]["state"] == "problem"


def test_the_settings_line_says_would_until_a_job_is_installed(vault: Vault) -> None:
    install_stand_ins(vault, vault.tmp)
    vault.write("memory.json", '{"facts": ["likes tea"]}', age=5)
    assert vault.run("init").returncode == 0
    _result, document = doctor(vault)
    assert finding(document, "settings")["detail"].startswith(
        "a scheduled job would run with these settings (")
    assert vault.run("schedule", "install").returncode == 0
    _result, document = doctor(vault)
    assert finding(document, "settings")["detail"].startswith(
        "a scheduled job runs with these settings (")
