"""The second audit (issue 25), the vault's side: poisoned tips, restores that stop early or
write through links, replays that go back in time or resurrect purged history, alarms a
crash or a lost journal would erase, a full disk after the commit, a clock ahead, another
git's live files, a blob that decompresses huge, a read-only data folder, the clone's work
tree, pings, and the restore's last line. Each fault is made to happen for real."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from servers import SilentServer
from test_faults import _descendants

from conftest import SCRIPT, Vault, assert_fsck_clean, git


def _remote(vault: Vault, *args: str, data: bytes | None = None) -> str:
    return subprocess.run(["git", f"--git-dir={vault.remote}", *args], input=data,
                          capture_output=True, check=True).stdout.decode().strip()


def _raw_tree(vault: Vault, entries: list[tuple[str, str, bytes]]) -> str:
    """A tree object written byte by byte, as only a hostile pusher would: entries
    (mode, sha, name) with names `git mktree` refuses (a slash in them)."""
    body = b"".join(mode.encode() + b" " + name + b"\0" + bytes.fromhex(sha)
                    for mode, sha, name in entries)
    return _remote(vault, "hash-object", "-t", "tree", "--literally", "-w", "--stdin",
                   data=body)


def _push_tree(vault: Vault, inner_entries: list[tuple[str, str, bytes]]) -> str:
    """A commit on the remote whose `rAgentShared` holds the tip's entries plus these."""
    tip_entries = []
    for line in _remote(vault, "ls-tree", "main:rAgentShared").splitlines():
        meta, name = line.split("\t")
        mode, _kind, sha = meta.split(" ")
        tip_entries.append((mode.lstrip("0") or "0", sha, name.encode()))
    inner = _raw_tree(vault, sorted(tip_entries + inner_entries, key=lambda e: e[2]))
    root = _raw_tree(vault, [("40000", inner, b"rAgentShared")])
    parent = _remote(vault, "rev-parse", "main")
    commit = _remote(vault, "-c", "user.name=eve", "-c", "user.email=eve@x", "commit-tree",
                     root, "-p", parent, "-m", "pushed by someone else")
    _remote(vault, "update-ref", "refs/heads/main", commit)
    return commit


def _memory(records: int) -> str:
    return json.dumps({"facts": [f"fact {i}" for i in range(records)]})


# -- 5. terminal escapes in names ---------------------------------------------------------

def test_names_with_terminal_escapes_are_printed_escaped(vault: Vault, tmp_path: Path) -> None:
    name = "x\x1b[2J\x9bm_memories.json"
    vault.write(name, "{}", age=10)
    vault.write("memory.json", "{}", age=10)
    assert vault.sync().returncode == 0
    history = vault.run("history")
    restore = vault.run("restore", "--to", str(tmp_path / "out"))
    for result in (history, restore):
        assert result.returncode == 0, result.stderr
        assert "\x1b" not in result.stdout and "\x9b" not in result.stdout
        assert "x\\x1b[2J\\x9bm_memories.json" in result.stdout
    assert (tmp_path / "out" / name).read_text() == "{}"  # the name itself is restored as is


# -- 8. one bad entry in the vault blocks every later backup --------------------------------

def test_an_entry_holding_a_slash_in_the_tip_blocks_nothing(vault: Vault) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    evil = _remote(vault, "hash-object", "-w", "--stdin", data=b"evil")
    _push_tree(vault, [("100644", evil, b"../../x.json")])
    git("config", "receive.fsckObjects", "false", cwd=vault.remote)
    for n in (2, 3):
        vault.write("memory.json", json.dumps({"a": n}), age=5 - n)
        result = vault.sync()
        assert result.returncode == 0, result.stderr
        assert vault.remote_file("memory.json") == json.dumps({"a": n}).encode()
    assert "../../x.json" not in _remote(vault, "ls-tree", "-r", "--name-only", "main")
    assert "left out of the new tip" in vault.err.read_text()


def test_a_symlinked_subfolder_in_the_tip_costs_only_its_own_files(vault: Vault,
                                                                    tmp_path: Path) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "memory.json,memory-bank/*.md"
    vault.write("memory.json", '{"a": 1}', age=10)
    vault.write("memory-bank/notes.md", "# one\n", age=10)
    assert vault.sync().returncode == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    link = _remote(vault, "hash-object", "-w", "--stdin", data=str(outside).encode())
    tip = [e for e in _remote(vault, "ls-tree", "main:rAgentShared").splitlines()
           if not e.endswith("memory-bank")]
    entries = [(m.lstrip("0"), s, n.encode()) for m, _k, s, n in
               (line.replace("\t", " ").split(" ") for line in tip)]
    inner = _raw_tree(vault, sorted([*entries, ("120000", link, b"memory-bank")],
                                    key=lambda e: e[2]))
    root = _raw_tree(vault, [("40000", inner, b"rAgentShared")])
    commit = _remote(vault, "-c", "user.name=eve", "-c", "user.email=eve@x", "commit-tree",
                     root, "-p", _remote(vault, "rev-parse", "main"), "-m", "link")
    _remote(vault, "update-ref", "refs/heads/main", commit)

    vault.write("memory.json", '{"a": 2}', age=4)
    vault.write("memory-bank/notes.md", "# two\n", age=4)
    result = vault.sync()
    assert result.returncode == 3
    assert "memory-bank/notes.md: skipped" in result.stderr
    assert vault.remote_file("memory.json") == b'{"a": 2}'  # the others keep backing up
    assert list(outside.iterdir()) == []  # nothing written through the link
    assert_fsck_clean(vault.remote)


# -- 9 and 10. restore: a bad entry stops nothing; a link is written through inside ---------

def test_restore_goes_on_past_an_entry_it_cannot_write(vault: Vault, tmp_path: Path) -> None:
    vault.write("memory.json", '{"m": 1}', age=10)
    vault.write("gpt4_memories.json", '{"g": 1}', age=10)
    assert vault.sync().returncode == 0
    blob = _remote(vault, "hash-object", "-w", "--stdin", data=b"{}")
    _push_tree(vault, [("100644", blob, b"n" * 301 + b".json")])
    out = tmp_path / "out"
    (out / "gpt4_memories.json").mkdir(parents=True)  # a folder where a file would go
    result = vault.run("restore", "--to", str(out))
    assert result.returncode == 3, result.stderr
    assert (out / "memory.json").read_text() == '{"m": 1}'
    assert "refused" in result.stdout and "File name too long" in result.stdout


def test_restore_writes_through_a_link_that_stays_inside(vault: Vault) -> None:
    real = vault.write("store/real_memory.json", '{"v": 1}', age=10)
    (vault.source / "memory.json").symlink_to("store/real_memory.json")
    assert vault.sync().returncode == 0
    real.write_text('{"v": 2}')
    result = vault.run("restore", "memory.json")
    assert result.returncode == 0, result.stderr
    assert (vault.source / "memory.json").is_symlink()  # the link stays a link
    assert real.read_text() == '{"v": 1}'  # and the file it names is restored
    assert list(real.parent.glob("real_memory.json.pre-restore-*"))


def test_restore_refuses_a_link_that_leads_outside(vault: Vault, tmp_path: Path) -> None:
    vault.write("memory.json", '{"v": 1}', age=10)
    assert vault.sync().returncode == 0
    secret = tmp_path / "secret.json"
    secret.write_text("keep me")
    (vault.source / "memory.json").unlink()
    (vault.source / "memory.json").symlink_to(secret)
    result = vault.run("restore", "memory.json")
    assert result.returncode == 1
    assert "outside the target folder" in result.stdout
    assert secret.read_text() == "keep me"


# -- 11. replayed commits carry the time of the replay; --at never goes past WHEN -----------

def test_a_replay_never_dates_the_tip_before_its_parent(vault: Vault, tmp_path: Path) -> None:
    vault.write("memory.json", '{"v": "ours, old"}', age=100)
    assert vault.sync("sync", "--no-push").returncode == 0  # committed here, not pushed yet
    time.sleep(2.1)
    other = tmp_path / "other"
    git("clone", "-q", str(vault.remote), str(other))
    (other / "rAgentShared").mkdir(exist_ok=True)
    (other / "rAgentShared/gpt4_memories.json").write_text('{"theirs": 1}')
    git("add", "-A", cwd=other)
    git("-c", "user.name=b", "-c", "user.email=b@x", "commit", "-qm", "theirs", cwd=other)
    git("push", "-q", "origin", "HEAD:main", cwd=other)
    theirs_at = int(git("log", "-1", "--format=%ct", cwd=other))
    time.sleep(2.1)
    assert vault.sync().returncode == 0  # rejected, replayed on top of theirs, pushed
    dates = [int(d) for d in _remote(vault, "log", "--format=%ct", "main").split()]
    assert dates == sorted(dates, reverse=True)  # newest first, never back in time
    before_theirs = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(theirs_at - 1))
    out = tmp_path / "at"
    result = vault.run("restore", "--at", before_theirs, "--to", str(out))
    assert not (out / "gpt4_memories.json").exists(), result.stdout  # written after WHEN


# -- 18 and 19. alarms outlive a crash after the commit, and a lost journal ----------------

def test_a_shrink_alarm_survives_a_kill_after_the_commit(vault: Vault) -> None:
    with SilentServer() as silent:
        vault.env["MEMORY_VAULT_REMOTE"] = f"git://127.0.0.1:{silent.port}/x.git"
        vault.env["MEMORY_VAULT_GIT_TIMEOUT"] = "60"
        vault.write("memory.json", _memory(40), age=10)
        vault.env["MEMORY_VAULT_PUSH"] = "false"
        assert vault.sync().returncode == 0
        vault.env["MEMORY_VAULT_PUSH"] = "true"
        vault.write("memory.json", _memory(2), age=5)
        proc = subprocess.Popen([sys.executable, str(SCRIPT)], env=vault.env,
                                cwd=vault.source, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while "Shrink-Alarm" not in git("log", "-1", "--format=%B", "main", cwd=vault.clone,
                                        check=False):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        # the machine dies during the push, before the journal: every process of the run
        for pid in [proc.pid, *_descendants(proc.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()
        status = vault.run("status", "--json")
        report = json.loads(status.stdout)
        assert "shrink" in [p["kind"] for p in report["problems"]], report["problems"]
        vault.env["MEMORY_VAULT_GIT_TIMEOUT"] = "2"
        assert vault.sync().returncode == 3  # the push still cannot get through
        assert "alarm\tmemory.json\t40\t2\t" in vault.state_file.read_text()


def test_a_lost_journal_loses_no_open_alarm_but_keeps_acks(vault: Vault) -> None:
    vault.write("memory.json", _memory(40), age=10)
    vault.write("gpt4_memories.json", _memory(10), age=10)
    assert vault.sync().returncode == 0
    vault.write("memory.json", _memory(2), age=6)
    vault.write("gpt4_memories.json", _memory(1), age=6)
    assert vault.sync().returncode == 0
    assert vault.run("ack", "gpt4_memories.json").returncode == 0
    vault.state_file.write_bytes(os.urandom(200))  # damaged
    assert vault.sync().returncode == 0
    status = json.loads(vault.run("status", "--json").stdout)
    assert [(p["kind"], p["file"]) for p in status["problems"]] == [("shrink", "memory.json")]


# -- 20. a full disk after the commit and push ------------------------------------------------

@pytest.fixture
def full_tmpfs(tmp_path: Path) -> object:
    folder = tmp_path / "full"
    folder.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                            capture_output=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_full_disk_after_the_push_is_a_warning_not_a_failure(vault: Vault,
                                                                full_tmpfs: Path) -> None:
    vault.env["MEMORY_VAULT_STATE_FILE"] = str(full_tmpfs / ".last_sync")
    vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    filler = os.open(full_tmpfs / "filler", os.O_WRONLY | os.O_CREAT)
    try:  # the disk fills up
        while os.write(filler, b"x" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(filler)
    vault.write("memory.json", '{"a": 2}', age=5)
    result = vault.sync()
    assert result.returncode == 0, result.stderr
    assert "the backup itself is done" in vault.err.read_text()  # cron: warnings to the log
    assert vault.remote_file("memory.json") == b'{"a": 2}'


# -- 21. a last success in the future --------------------------------------------------------

def test_a_last_success_in_the_future_is_a_clock_problem(vault: Vault) -> None:
    vault.write("memory.json", "{}", age=10)
    assert vault.sync().returncode == 0
    lines = vault.state_file.read_text().splitlines()
    ahead = int(time.time()) + 86400  # as a run made while the clock was a day ahead
    lines = [f"success\t{ahead}\t{line.split(chr(9))[2]}" if line.startswith("success\t")
             else line for line in lines]
    vault.state_file.write_text("\n".join(lines) + "\n")
    status = vault.run("status", "--json")
    assert status.returncode == 1
    assert "clock" in [p["kind"] for p in json.loads(status.stdout)["problems"]]


# -- 22. another git's live files in the embedded vault ---------------------------------------

def test_a_sync_leaves_a_concurrent_push_into_the_embedded_vault_alone(
        embedded: Vault, tmp_path: Path) -> None:
    embedded.write("memory.json", '{"a": 1}', age=10)
    assert embedded.sync().returncode == 0
    hook = embedded.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\ntouch \"$GIT_DIR/in-hook\"\nsleep 3\n")
    hook.chmod(0o755)
    other = tmp_path / "other"
    git("clone", "-q", str(embedded.remote), str(other))
    (other / "elsewhere.txt").write_text("from another git")
    git("add", "-A", cwd=other)
    git("-c", "user.name=b", "-c", "user.email=b@x", "commit", "-qm", "other", cwd=other)
    pushed: list[int] = []
    pusher = threading.Thread(target=lambda: pushed.append(subprocess.run(
        ["git", "push", "-q", "origin", "HEAD:refs/heads/other"], cwd=other,
        capture_output=True, check=False).returncode))
    pusher.start()
    deadline = time.monotonic() + 10
    while not (embedded.remote / "in-hook").exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    embedded.write("memory.json", '{"a": 2}', age=5)
    assert embedded.sync().returncode == 0  # its quarantine, its locks: not ours to sweep
    pusher.join()
    assert pushed == [0]
    assert git("--git-dir", str(embedded.remote), "rev-parse", "--verify", "other").strip()


# -- 23. a blob that decompresses huge is never read whole to count records ---------------------

def test_counting_records_of_a_huge_old_version_stays_small(vault: Vault,
                                                            tmp_path: Path) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    huge = tmp_path / "huge"
    with open(huge, "wb") as out:
        out.truncate(256 * 2**20)  # 256 MiB of one repeated byte, tiny once compressed
    blob = _remote(vault, "hash-object", "-w", str(huge))
    huge.unlink()
    _push_tree(vault, [("100644", blob, b"gpt4_memories.json")])  # another machine's
    vault.write("memory.json", '{"a": 2}', age=8)
    assert vault.sync().returncode == 0  # replayed on top: the clone now holds it
    vault.write("gpt4_memories.json", "{}", age=5)  # never counted here: the vault is asked
    code = ("import os, resource, runpy, sys\n"
            "sys.argv = sys.argv[1:]\n"
            "sys.path.insert(0, os.path.dirname(sys.argv[0]))\n"
            "try:\n"
            "    runpy.run_path(sys.argv[0], run_name='__main__')\n"
            "except SystemExit:\n"
            "    pass\n"
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\n")
    launched = subprocess.run([sys.executable, "-c", code, str(SCRIPT)], env=vault.env,
                              cwd=vault.source, capture_output=True, text=True, check=False)
    assert int(launched.stdout.split()[-1]) < 100 * 1024, launched.stderr  # KiB
    assert vault.remote_file("gpt4_memories.json") == b"{}"


# -- 24. a read-only data folder --------------------------------------------------------------

def test_a_read_only_data_folder_says_what_to_do(vault: Vault, tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)],
                            capture_output=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs here: {result.stderr.decode().strip()}")
    try:
        vault.env["MEMORY_VAULT_HOME"] = str(folder)
        vault.write("memory.json", "{}", age=10)
        run = vault.sync()
        assert run.returncode == 1
        assert "unexpected error" not in run.stderr
        assert str(folder) in run.stderr and "read-only" in run.stderr.lower()
        assert "MEMORY_VAULT_HOME" in run.stderr
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


# -- 25. the clone's work tree shows the backup -------------------------------------------------

def test_the_clone_shows_the_backup_and_git_status_is_clean(vault: Vault) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "memory.json,bank/*.md"
    vault.write("memory.json", '{"a": 1}', age=10)
    vault.write("bank/notes.md", "# n\n", age=10)
    assert vault.sync().returncode == 0
    vault.write("memory.json", '{"a": 2}', age=5)
    assert vault.sync().returncode == 0
    shared = vault.clone / "rAgentShared"
    assert (shared / "memory.json").read_text() == '{"a": 2}'
    assert (shared / "bank/notes.md").read_text() == "# n\n"
    assert git("status", "--porcelain", cwd=vault.clone) == ""
    assert_fsck_clean(vault.clone)


# -- 26. a no-change run pings once -------------------------------------------------------------

def test_a_run_that_commits_nothing_pings_once(vault: Vault) -> None:
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        vault.env["MEMORY_VAULT_PING_URL"] = f"http://127.0.0.1:{server.server_port}/check"
        vault.write("memory.json", "{}", age=10)
        assert vault.sync().returncode == 0
        seen.clear()
        os.utime(vault.source / "memory.json")  # read again, found equal: nothing to commit
        assert vault.sync().returncode == 0
        assert seen == ["/check"]
    finally:
        server.shutdown()


# -- 27. restore ends with the reminder to restart the agents ----------------------------------

def test_restore_ends_with_the_restart_reminder(vault: Vault) -> None:
    vault.write("memory.json", '{"a": 1}', age=10)
    assert vault.sync().returncode == 0
    (vault.source / "memory.json").write_text('{"a": 0}')
    result = vault.run("restore")
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1].startswith("Restart the agent system")


# -- the design: a rewritten remote gets only what it lacks, never the history it dropped -------

def test_a_purged_remote_stays_purged_and_status_says_it_was_rewritten(
        vault: Vault, tmp_path: Path) -> None:
    vault.write("memory.json", '{"v": 1}', age=20)
    assert vault.sync().returncode == 0
    vault.write("memory.json", '{"v": 2, "oops": "a pasted password"}', age=15)
    assert vault.sync().returncode == 0
    # someone purges the second version: the remote's branch goes back to the first
    first = _remote(vault, "rev-parse", "main~1")
    _remote(vault, "update-ref", "refs/heads/main", first)
    _remote(vault, "reflog", "expire", "--expire=now", "--all")
    _remote(vault, "gc", "-q", "--prune=now")

    vault.write("memory.json", '{"v": 3}', age=5)
    result = vault.sync()
    assert result.returncode == 0, result.stderr
    assert vault.remote_file("memory.json") == b'{"v": 3}'
    history = _remote(vault, "log", "-p", "main")
    assert "a pasted password" not in history  # never sent back
    assert "rewritten" in vault.err.read_text()
    status = vault.run("status", "--json")
    assert status.returncode == 1
    assert "remote-rewritten" in [p["kind"] for p in json.loads(status.stdout)["problems"]]
    assert vault.run("ack").returncode == 0
    assert vault.run("status").returncode == 0


def test_a_push_never_forces_over_what_another_machine_pushed(vault: Vault,
                                                              tmp_path: Path) -> None:
    vault.write("memory.json", '{"v": 1}', age=20)
    assert vault.sync().returncode == 0
    vault.write("memory.json", '{"v": 2}', age=15)
    assert vault.sync("sync", "--no-push").returncode == 0  # waits in the clone
    other = tmp_path / "other"
    git("clone", "-q", str(vault.remote), str(other))
    (other / "rAgentShared/gpt4_memories.json").write_text('{"theirs": 1}')
    git("add", "-A", cwd=other)
    git("-c", "user.name=b", "-c", "user.email=b@x", "commit", "-qm", "theirs", cwd=other)
    git("push", "-q", "origin", "HEAD:main", cwd=other)
    assert vault.run("restore", "--to", str(tmp_path / "look")).returncode == 0  # fetches
    assert vault.sync().returncode == 0
    assert vault.remote_file("gpt4_memories.json") == b'{"theirs": 1}'  # theirs is kept
    assert vault.remote_file("memory.json") == b'{"v": 2}'  # ours on top
