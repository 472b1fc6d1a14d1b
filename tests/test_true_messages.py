"""A user's first week (issue 28): every message says exactly what is true, and a hint
followed to the letter does what it promises."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

from conftest import SCRIPT, Vault, base_env, git


def _hint(stdout: str) -> list[str]:
    """The command between backticks of the resume hint, as a shell would split it."""
    line = next(x for x in stdout.splitlines() if "resumes them" in x)
    return shlex.split(line.split("`")[1])


def _as_a_shell_runs(words: list[str], env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """`NAME=value ... program args`: the variables go to the environment, the program (the
    checkout's script, as the test ran it) with its arguments to argv."""
    env = dict(env)
    while "=" in words[0] and not words[0].startswith("/"):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    assert words[0] == str(SCRIPT)
    return [sys.executable, str(SCRIPT), *words[1:]], env


def test_the_new_machine_hint_carries_every_setting_the_restore_used(vault: Vault,
                                                                    tmp_path: Path) -> None:
    import subprocess

    settings = {"MEMORY_VAULT_FILES": "notes/*.md,memory.json",
                "MEMORY_VAULT_EXCLUDE": "notes/private.md", "MEMORY_VAULT_SUBDIR": "team",
                "MEMORY_VAULT_BRANCH": "memories"}
    vault.write("notes/a.md", "# a\n- learned\n", age=10)
    vault.write("memory.json", '{"m": 1}', age=10)
    assert vault.sync(env=settings).returncode == 0
    # A new machine: an empty HOME, the settings typed on the restore's command line.
    new_home = tmp_path / "new-home"
    new_home.mkdir()
    shutil.rmtree(vault.source)
    vault.source.mkdir()
    shell = base_env(new_home)
    restore_env = {**shell, "MEMORY_VAULT_REMOTE": str(vault.remote),
                   "MEMORY_VAULT_SOURCE_DIR": str(vault.source),
                   "MEMORY_VAULT_LOG_FILE": str(tmp_path / "new.log"), **settings}
    restored = vault.run("restore", env=restore_env)
    assert restored.returncode == 0, restored.stderr
    assert (vault.source / "notes/a.md").read_text() == "# a\n- learned\n"
    hint = _hint(restored.stdout)
    for name, value in settings.items():
        assert value in hint or f"{name}={value}" in hint, (name, hint)

    # Followed in a new shell (none of the restore's variables), it resumes the backups.
    argv, env = _as_a_shell_runs(hint, shell)
    init = subprocess.run(argv, env=env, cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    assert init.returncode == 0, init.stderr
    (vault.source / "notes/a.md").write_text("# a\n- learned\n- and more\n")
    now = vault.run("--now", env={**shell, "HOME": str(new_home)}, cwd=tmp_path)
    assert now.returncode == 0, now.stderr
    shown = git(f"--git-dir={vault.remote}", "show", "memories:team/notes/a.md")
    assert shown == "# a\n- learned\n- and more\n"


def test_no_tracked_file_names_the_file_list_when_the_folder_holds_others(
        vault: Vault) -> None:
    vault.write("notes/a.md", "# a\n", age=10)
    vault.write("CLAUDE.md", "# rules\n", age=10)
    result = vault.sync("--now")
    assert result.returncode == 1
    assert "is MEMORY_VAULT_FILES right?" in result.stderr
    assert "CLAUDE.md, notes/a.md" in result.stderr
    assert "is MEMORY_VAULT_SOURCE_DIR right?" not in result.stderr

    for path in (vault.source / "notes/a.md", vault.source / "CLAUDE.md"):
        path.unlink()
    empty = vault.sync("--now")
    assert empty.returncode == 1
    assert "is MEMORY_VAULT_SOURCE_DIR right?" in empty.stderr


def test_verify_counts_only_the_files_that_equal_the_vault(vault: Vault) -> None:
    for name in ("memory.json", "gpt4_memories.json", "gpt4o_memories.json",
                 "claude_opus_memories.json"):
        vault.write(name, '{"v": 1}', age=60)
    assert vault.sync().returncode == 0
    vault.write("memory.json", '{"v": 2}')
    vault.write("gpt4_memories.json", '{"v": 2}')

    result = vault.run("verify")

    assert result.returncode == 0, result.stdout + result.stderr
    line = next(x for x in result.stdout.splitlines() if " sources " in x)
    assert line.endswith("2 of 4 source files equal the vault; 2 changed since the last sync "
                         "(the next sync backs them up)")


def _last_success(vault: Vault) -> str:
    shown = vault.run("status").stdout
    return next(x for x in shown.splitlines() if "last success:" in x).split(":", 1)[1].strip()


def test_status_pairs_a_success_with_its_own_commit(vault: Vault, tmp_path: Path) -> None:
    import json

    vault.write("memory.json", '{"v": 1}', age=60)
    assert vault.sync().returncode == 0
    first = json.loads(vault.run("status", "--json").stdout)
    assert first["last_commit"] == vault.remote_commits()[0]
    vault.remote.rename(tmp_path / "away.git")  # the remote is gone: the next push fails
    vault.write("memory.json", '{"v": 2}', age=30)
    partial = vault.sync()
    assert partial.returncode == 3
    local = git("rev-parse", "main", cwd=vault.clone).strip()
    assert local != first["last_commit"]

    shown = _last_success(vault)
    assert shown == f"{first['last_success']} (commit {first['last_commit'][:12]})"
    assert local[:12] not in shown


def test_status_without_a_success_names_no_commit(vault: Vault, tmp_path: Path) -> None:
    vault.remote.rename(tmp_path / "away.git")  # the first push fails: no success yet
    vault.write("memory.json", '{"v": 1}', age=60)
    assert vault.sync().returncode == 3
    assert _last_success(vault) == "never"
    # A journal of an earlier release wrote the commit without a success: still "never".
    state = vault.state_file.read_text().splitlines()
    local = git("rev-parse", "main", cwd=vault.clone).strip()
    state = [f"success\t0\t{local}" if x.startswith("success\t") else x for x in state]
    vault.state_file.write_text("\n".join(state) + "\n")
    assert _last_success(vault) == "never"


CHANGES = {
    "memory.json": (
        '{"type": "entity", "name": "Ada", "entityType": "person", "observations": ["a"]}\n'
        '{"type": "entity", "name": "Bo", "entityType": "person", "observations": ["b"]}\n',
        '{"type": "entity", "name": "Ada", "entityType": "person", "observations": ["a", "c"]}\n'
        '{"type": "entity", "name": "Cy", "entityType": "person", "observations": ["d"]}\n'
        '{"type": "relation", "from": "Ada", "to": "Cy", "relationType": "knows"}\n'),
    "gpt4_memories.json": ('{"records": [{"text": "one"}, {"text": "two"}], "owner": "ada"}',
                           '{"records": [{"text": "one"}, {"text": "2"}, {"text": "3"}]}'),
    "CLAUDE.md": ("# Project\n- use uv\n\n## Deploy\n- on Monday\n",
                  "# Project\n- use uv\n- tests first\n\n## Deploy\n- Friday freeze.\n"
                  "\n## Style\n- use uv\n"),
}


def test_diff_and_history_count_one_change_the_same_way(vault: Vault) -> None:
    import json
    import re

    vault.env["MEMORY_VAULT_FILES"] = ",".join(CHANGES)
    for name, (before, _after) in CHANGES.items():
        vault.write(name, before, age=60)
    assert vault.sync().returncode == 0
    for name, (_before, after) in CHANGES.items():
        vault.write(name, after, age=30)
    assert vault.sync().returncode == 0
    newer, older = vault.remote_commits()

    for name in CHANGES:
        entry = json.loads(vault.run("history", name, "--json").stdout)[0]
        report = json.loads(vault.run("diff", name, "--from", older, "--to", newer,
                                      "--json").stdout)
        counted = (report["records"]["added"], report["records"]["removed"])
        assert counted == (entry["added"], entry["removed"]), name
        history_line = vault.run("history", name).stdout.splitlines()[0]
        diff_line = vault.run("diff", name, "--from", older, "--to", newer).stdout
        plus_minus = re.search(r"\+\d+ -\d+", history_line)
        assert plus_minus is not None
        assert f": {plus_minus.group(0)} records (" in diff_line.splitlines()[0], name
        # The listing adds up to the count: a change in place is one of each.
        changed = len(report["changed"])
        assert (len(report["added"]) + changed, len(report["removed"]) + changed) == counted


def test_a_markdown_diff_line_names_its_heading_once(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "CLAUDE.md"
    vault.write("CLAUDE.md", CHANGES["CLAUDE.md"][0], age=60)
    assert vault.sync().returncode == 0
    vault.write("CLAUDE.md", CHANGES["CLAUDE.md"][1], age=30)

    lines = vault.run("diff", "CLAUDE.md").stdout.splitlines()

    assert lines[0] == "CLAUDE.md: +4 -1 records (4 -> 7)"
    assert lines[3:] == ["+ # Project: - tests first", "+ ## Deploy: - Friday freeze.",
                         "+ ## Style", "+ ## Style: - use uv", "- ## Deploy: - on Monday"]


LOG_LINE = (r"(?P<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ) (?P<level>INFO|WARNING|ERROR) "
            r"\[(?P<whose>.+) pid (?P<pid>\d+)\] (?P<message>.*)")


def test_each_log_line_names_its_configuration_and_process(vault: Vault,
                                                           tmp_path: Path) -> None:
    import re

    work = tmp_path / "work"
    work.mkdir()
    git("init", "-q", "--bare", "--initial-branch=main", str(tmp_path / "work.git"))
    (work / "memory.json").write_text('{"work": 1}')
    vault.write("memory.json", '{"home": 1}', age=10)
    other = {"MEMORY_VAULT_HOME": str(tmp_path / "work-data"),
             "MEMORY_VAULT_SOURCE_DIR": str(work),
             "MEMORY_VAULT_REMOTE": str(tmp_path / "work.git")}

    assert vault.sync().returncode == 0  # both log to the same file
    assert vault.sync(env=other).returncode == 0

    lines = [re.fullmatch(LOG_LINE, x) for x in vault.log_lines()]
    assert all(lines), vault.log_lines()
    summaries = {m["whose"]: m["pid"] for m in lines if m and m["message"].startswith("sync: ")}
    assert set(summaries) == {"~/.local/share/memory-vault", str(tmp_path / "work-data")}
    assert len(set(summaries.values())) == 2  # two runs, two processes


def test_restore_names_the_copy_it_kept_in_its_last_lines(vault: Vault) -> None:
    vault.write("memory.json", '{"v": 1}', age=60)
    assert vault.sync().returncode == 0
    vault.write("memory.json", '{"v": 2, "mine": true}', age=30)

    result = vault.run("restore", "memory.json")

    assert result.returncode == 0, result.stderr
    kept = [p for p in vault.source.iterdir() if ".pre-restore-" in p.name]
    assert len(kept) == 1 and kept[0].read_text() == '{"v": 2, "mine": true}'
    tail = result.stdout.splitlines()[-3:]
    assert f"The copy of memory.json it replaced is kept as {kept[0]}" in tail


class _Answers404:
    """A monitor that answers every ping 404 (a check that was deleted)."""

    def __enter__(self) -> int:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_error(404, "Not Found")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return int(self.server.server_address[1])

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_failed_heartbeat_says_what_failed_in_words(vault: Vault) -> None:
    from servers import free_port

    port = free_port()
    vault.write("memory.json", '{"a": 1}', age=10)
    vault.env["MEMORY_VAULT_PING_URL"] = f"http://127.0.0.1:{port}/ping/abc"
    down = vault.run("--now")
    assert down.returncode == 0
    assert (f"heartbeat http://127.0.0.1:{port}/ping/abc failed: nothing answers at "
            f"127.0.0.1:{port} (connection refused)") in down.stderr
    with _Answers404() as answering:
        vault.env["MEMORY_VAULT_PING_URL"] = f"http://127.0.0.1:{answering}/ping/gone"
        gone = vault.run("--now")
    assert "failed: the monitor answered HTTP 404 Not Found" in gone.stderr
    for said in (down.stderr, gone.stderr, "\n".join(vault.err_lines())):
        assert "urlopen" not in said and "Errno" not in said and "<" not in said


def test_verbose_now_says_why_each_file_is_read_or_not(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "*.json,notes.md"
    vault.write("memory.json", '{"a": 1}', age=60)
    vault.write("gpt4_memories.json", '{"b": 1}', age=60)
    vault.write("gpt4o_memories.json", "{broken", age=60)
    assert vault.sync().returncode == 3
    vault.write("memory.json", '{"a": 22}', age=30)

    plain = vault.run("--now").stdout.splitlines()
    vault.write("memory.json", '{"a": 333}', age=20)
    verbose = vault.run("-v", "--now").stdout.splitlines()
    cron_like = vault.run("-v", "sync").stdout.splitlines()

    assert not any(": read" in x or ": not read" in x for x in plain)
    assert ("gpt4_memories.json: read: --now reads every file, though its size and mtime are "
            "those the last sync saw") in verbose
    assert any(x.startswith("memory.json: read: --now reads every file; its size (9 -> 10 "
                            "bytes) and mtime (") for x in verbose), verbose
    assert ("gpt4o_memories.json: read: not in .last_sync (never backed up from this "
            "machine)") in verbose
    assert "notes.md: not read: named in the file list, and not there" in verbose
    assert any(x.startswith("memory.json: read whole: changed since the last sync (sha256 ")
               for x in verbose)
    assert any(x.startswith("gpt4_memories.json: read whole: the same bytes as at the last "
                            "sync") for x in verbose)
    assert ("memory.json: not read: its size and mtime are those the last sync saw"
            in cron_like)


def _first_command() -> str:
    """The one line of the README's first code block, under "The two commands"."""
    from conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The two commands", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    lines = block.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


def test_the_readme_first_command_keeps_the_example_out_of_the_real_vault(
        tmp_path: Path) -> None:
    import subprocess

    from conftest import ROOT

    install, run = _first_command().split(" && .venv/bin/memory-vault ", 1)
    # The install steps are what this test's interpreter already holds; the rest runs as
    # written, in a copy of the checkout's examples, with the README's `.venv` standing in.
    assert install == "python3 -m venv .venv && .venv/bin/pip install -q ."
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "examples", checkout / "examples")
    program = checkout / ".venv/bin/memory-vault"
    program.parent.mkdir(parents=True)
    program.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{SCRIPT}" "$@"\n')
    program.chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    env = {**base_env(home), "MEMORY_VAULT_LOG_FILE": str(tmp_path / "sync.log"),
           "MEMORY_VAULT_ERR_FILE": str(tmp_path / "sync.err")}

    first = subprocess.run(["sh", "-c", f".venv/bin/memory-vault {run}"], cwd=checkout,
                           env=env, capture_output=True, text=True, check=False)

    assert first.returncode == 0, first.stderr
    assert not (home / ".local/share/memory-vault").exists()  # the real data folder
    example = checkout / "examples/.memory-vault/vault.git"
    assert git(f"--git-dir={example}", "show", "main:rAgentShared/memory.json") == (
        ROOT / "examples/agent/memory.json").read_text()
    assert "examples/.memory-vault/" in (ROOT / ".gitignore").read_text().splitlines()

    # A later `init` for the user's own agents, then a backup: the example is not in it.
    agents = tmp_path / "agents"
    agents.mkdir()
    (agents / "memory.json").write_text('{"mine": 1}')
    init = subprocess.run([str(program), "init", "--source", str(agents)], cwd=checkout,
                          env=env, capture_output=True, text=True, check=False)
    assert init.returncode == 0, init.stderr
    now = subprocess.run([str(program), "--now"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=False)
    assert now.returncode == 0, now.stderr
    mine = home / ".local/share/memory-vault/vault.git"
    assert git(f"--git-dir={mine}", "ls-tree", "-r", "--name-only", "main").split() == [
        "rAgentShared/memory.json"]
    assert git(f"--git-dir={mine}", "show", "main:rAgentShared/memory.json") == '{"mine": 1}'
    assert git(f"--git-dir={mine}", "log", "--format=%H", "main").count("\n") == 1
