"""The no-change shortcut: a cron run that finds nothing changed is replayed from the last
one's stamp, and never when anything it looked at changed.

A stamp is only left by a run that started `RACY_SECONDS` after every change it saw (a
change in the same timestamp tick would hide), so each test lets the files age that long
before the run that leaves it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from servers import Endpoint

from conftest import ROOT, SCRIPT, Vault
from memory_vault.shortcut import RACY_SECONDS

QUICK_PATH = {"memory_vault", "memory_vault.entry", "memory_vault.shortcut",
              "memory_vault.logfile", "memory_vault.fsutil", "memory_vault.terminal",
              "memory_vault.settings", "memory_vault.settings.paths"}
PROBE = (
    "import sys; sys.path.insert(0, sys.argv[1]);"
    "from memory_vault.entry import main; rc = main([]);"
    "print(rc); print(' '.join(sorted(m for m in sys.modules if m.startswith('memory_vault'))))"
)


def _stamped(vault: Vault) -> None:
    """Let every change age past the racy window, then one run that leaves the stamp."""
    time.sleep(RACY_SECONDS + 0.2)
    result = vault.sync()
    assert result.returncode == 0, result.stderr
    assert list((vault.home / ".cache/memory-vault").glob("unchanged-*"))


def _modules_of_a_run(vault: Vault) -> tuple[str, set[str]]:
    env = {k: v for k, v in vault.env.items() if not k.startswith("COVERAGE_")}
    out = subprocess.run([sys.executable, "-c", PROBE, str(SCRIPT.parent)], env=env,
                         cwd=vault.source, capture_output=True, text=True,
                         check=True).stdout.splitlines()
    return out[0], set(out[1].split())


def _without_time_and_pid(line: str) -> str:
    """`2026-...Z INFO [~/.local/share/memory-vault pid 12] text` -> `INFO [...] text`."""
    level_and_whose = line.split(" ", 1)[1]
    return re.sub(r" pid \d+\]", " pid N]", level_and_whose)


def _status(vault: Vault) -> dict[str, object]:
    result = vault.run("status", "--json")
    status = json.loads(result.stdout)
    assert isinstance(status, dict)
    return status


def test_a_replayed_run_imports_a_handful_of_modules_and_says_the_same(vault: Vault) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    vault.write("notes.md", "# notes\n", age=10)
    vault.env["MEMORY_VAULT_FILES"] = "memory.json,*.md,absent.json"
    assert vault.sync().returncode == 0
    _stamped(vault)
    said = vault.log_lines()[-2:]
    before = _status(vault)
    time.sleep(1.1)  # a second later, as the monitor sees it
    code, modules = _modules_of_a_run(vault)
    assert code == "0" and modules == QUICK_PATH
    assert [_without_time_and_pid(line) for line in vault.log_lines()[-2:]] == [
        _without_time_and_pid(line) for line in said]  # the same lines, a new time and pid
    assert said == [line for line in said if "nothing changed" in line or "absent" in line]
    after = _status(vault)
    assert str(after["last_success"]) > str(before["last_success"])
    assert after["last_run"] == after["last_success"] and after["healthy"] is True
    assert len(vault.remote_commits()) == 1


def test_a_file_written_back_with_its_old_mtime_is_backed_up(vault: Vault) -> None:
    """`cp -p`, a restore tool: the mtime is the old one, the bytes are not."""
    path = vault.write("memory.json", '{"a": 1}', age=3600)
    assert vault.sync().returncode == 0
    _stamped(vault)
    st = path.stat()
    path.write_text('{"a": 22}')
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    result = vault.sync()
    assert result.returncode == 0, result.stderr
    assert vault.remote_file("memory.json") == b'{"a": 22}'


def test_a_new_file_a_glob_matches_is_backed_up(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "notes/*.md"
    vault.write("notes/one.md", "# one\n", age=10)
    assert vault.sync().returncode == 0
    _stamped(vault)
    vault.write("notes/two.md", "# two\n", age=3600)
    assert vault.sync().returncode == 0
    assert vault.remote_file("notes/two.md") == b"# two\n"


def test_what_the_settings_say_is_never_replayed_from_other_settings(vault: Vault,
                                                                      tmp_path: Path) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    vault.write("extra.json", '{"b": 1}', age=10)
    assert vault.sync().returncode == 0
    _stamped(vault)
    env_file = tmp_path / "settings.env"  # a new setting, from an env file this time
    env_file.write_text("MEMORY_VAULT_FILES=memory.json,extra.json\n")
    assert vault.sync("--env-file", str(env_file)).returncode == 0
    assert vault.remote_file("extra.json") == b'{"b": 1}'


def test_a_file_swapped_for_a_link_out_of_the_source_is_refused_again(vault: Vault) -> None:
    path = vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    _stamped(vault)
    outside = vault.tmp / "outside.json"
    outside.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(outside)
    result = vault.sync()
    assert result.returncode == 3
    assert "symlink resolves outside the source dir" in result.stderr + "".join(vault.err_lines())


def test_a_lost_clone_is_rebuilt_not_replayed(vault: Vault) -> None:
    import shutil

    vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    _stamped(vault)
    shutil.rmtree(vault.clone)
    assert vault.sync().returncode == 0
    assert (vault.clone / ".git").is_dir()


def test_a_run_with_a_monitor_is_never_replayed(vault: Vault) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    with Endpoint() as monitor:
        vault.env["MEMORY_VAULT_PING_URL"] = monitor.url("/ping")
        assert vault.sync().returncode == 0
        time.sleep(RACY_SECONDS + 0.2)
        for _ in range(2):
            assert vault.sync().returncode == 0
        assert len([s for s in monitor.seen if s[1] == "/ping"]) == 3
    assert not list((vault.home / ".cache/memory-vault").glob("unchanged-*"))


def test_the_command_pip_installs_replays_without_importing_re(vault: Vault) -> None:
    """`memory-vault` as `pip install .` puts it on PATH (bin/memory-vault, not pip's
    wrapper, which imports `re`): a replayed run imports the shortcut's modules only."""
    vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    _stamped(vault)
    env = {k: v for k, v in vault.env.items() if not k.startswith("COVERAGE_")}
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run([sys.executable, "-X", "importtime", str(ROOT / "bin/memory-vault")],
                            env=env, cwd=vault.source, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "re" not in imported
    assert {m for m in imported if m.startswith("memory_vault")} == QUICK_PATH


def _stamp(vault: Vault) -> Path:
    [stamp] = list((vault.home / ".cache/memory-vault").glob("unchanged-*"))
    return stamp


def test_a_stamp_another_user_could_have_written_counts_for_nothing(vault: Vault) -> None:
    """A stamp is acted on (the run skipped, its lines logged): one that is not ours alone,
    or that a shared cache folder lets others write, runs the program instead."""
    vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    _stamped(vault)
    stamp = _stamp(vault)
    assert _modules_of_a_run(vault)[1] == QUICK_PATH  # replayed, as it should be
    stamp.chmod(0o666)
    code, modules = _modules_of_a_run(vault)
    assert code == "0" and modules > QUICK_PATH  # the whole program ran
    _stamped(vault)
    if os.geteuid() == 0:  # root can make a file another user's, as that user would
        os.chown(_stamp(vault), 65534, 65534)
        code, modules = _modules_of_a_run(vault)
        assert code == "0" and modules > QUICK_PATH
        _stamped(vault)
    stamp = _stamp(vault)
    stamp.parent.chmod(0o777)
    code, modules = _modules_of_a_run(vault)
    assert code == "0" and modules > QUICK_PATH


def test_a_damaged_stamp_runs_the_program(vault: Vault) -> None:
    """A stamp of our format but not of our shape (bit rot, another build): the program
    runs, exit 0, no traceback, and leaves a good stamp."""
    import marshal

    from memory_vault.shortcut import FORMAT

    vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    _stamped(vault)
    stamp = _stamp(vault)
    stamp.write_bytes(marshal.dumps((FORMAT, [("/", True)], 7, None, ("a",))))
    result = vault.sync()
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    _stamped(vault)
    assert _modules_of_a_run(vault)[1] == QUICK_PATH


def test_an_env_file_that_reads_other_variables_is_never_replayed(vault: Vault,
                                                                   tmp_path: Path) -> None:
    """`MEMORY_VAULT_SOURCE_DIR=${AGENT_HOME}/memory`: a variable no stamp names changes
    the settings; such a configuration always runs the program."""
    first, second = tmp_path / "one", tmp_path / "two"
    for folder, value in ((first, 1), (second, 2)):
        folder.mkdir()
        (folder / "memory.json").write_text(f'{{"from": {value}}}')
        os.utime(folder / "memory.json", (time.time() - 60, time.time() - 60))
    env_file = tmp_path / "agent.env"
    env_file.write_text("MEMORY_VAULT_SOURCE_DIR=${AGENT_HOME}\n")
    del vault.env["MEMORY_VAULT_SOURCE_DIR"]
    vault.env["AGENT_HOME"] = str(first)
    assert vault.sync("--env-file", str(env_file)).returncode == 0
    time.sleep(RACY_SECONDS + 0.2)
    assert vault.sync("--env-file", str(env_file)).returncode == 0
    assert not list((vault.home / ".cache/memory-vault").glob("unchanged-*"))
    vault.env["AGENT_HOME"] = str(second)
    result = vault.sync("--env-file", str(env_file))
    assert result.returncode == 0, result.stderr
    assert vault.remote_file("memory.json") == b'{"from": 2}'
