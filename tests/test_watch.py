"""`watch` as a real process: real files written by writers in other processes, a real bare
remote, signals sent as systemd and a terminal send them."""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import SCRIPT, Vault, assert_fsck_clean, git

# A writer of its own: rewrites one file `count` times, `every` seconds apart, in place (open,
# truncate, write: the hard case for a reader), and records each version it wrote.
WRITER = """
import json, sys, time
path, count, every, record = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
with open(record, "a") as log:
    for n in range(count):
        body = json.dumps({"version": n, "facts": ["fact %d" % i for i in range(n % 50)]})
        with open(path, "w") as out:
            out.write(body)
        log.write(body + "\\n")
        log.flush()
        time.sleep(every)
"""


class Watching:
    """A `watch` process and its output."""

    def __init__(self, vault: Vault, env: dict[str, str] | None = None, *,
                 stdout: int | None = None, terminal: bool = False) -> None:
        """`stdout`: where the summary lines go, else with stderr to the output file;
        `terminal`: a process group of its own, as a shell starts a foreground job."""
        self.out = vault.tmp / "watch.out"
        self.handle = self.out.open("w")
        self.proc = subprocess.Popen([sys.executable, str(SCRIPT), "watch"],
                                     env={**vault.env, **(env or {})}, cwd=vault.source,
                                     stdout=self.handle if stdout is None else stdout,
                                     stderr=subprocess.STDOUT if stdout is None else self.handle,
                                     stdin=subprocess.DEVNULL, start_new_session=terminal)

    def text(self) -> str:
        return self.out.read_text()

    def stop(self, number: int = signal.SIGTERM) -> int:
        self.proc.send_signal(number)
        code = self.proc.wait(timeout=60)
        self.handle.close()
        return code


@pytest.fixture
def watching(vault: Vault) -> Iterator[Callable[..., Watching]]:
    started: list[Watching] = []

    def start(env: dict[str, str] | None = None, **how: Any) -> Watching:
        one = Watching(vault, env, **how)
        started.append(one)
        assert wait_for(lambda: "watch: watching" in logged(vault)), one.text()
        return one

    yield start
    for one in started:
        if one.proc.poll() is None:
            one.stop(signal.SIGKILL)


def logged(vault: Vault) -> str:
    return vault.log.read_text() if vault.log.exists() else ""


def wait_for(check: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def write_versions(vault: Vault, name: str, count: int, every: float) -> list[str]:
    """Run a writer process to the end; the versions it wrote."""
    record = vault.tmp / f"{name}.written"
    subprocess.run([sys.executable, "-c", WRITER, str(vault.source / name), str(count),
                    str(every), str(record)], check=True, timeout=600)
    return record.read_text().splitlines()


def committed_versions(vault: Vault, name: str) -> list[str]:
    """Every version of `name` the remote's history holds, oldest first."""
    commits = vault.remote_git("rev-list", "--reverse", "main").split()
    found: list[str] = []
    for commit in commits:
        shown = subprocess.run(["git", f"--git-dir={vault.remote}", "show",
                                f"{commit}:rAgentShared/{name}"], capture_output=True,
                               text=True, check=False)
        if shown.returncode == 0 and (not found or found[-1] != shown.stdout):
            found.append(shown.stdout)
    return found


def test_a_change_reaches_the_remote_seconds_after_the_writer_stops(
        vault: Vault, watching: Callable[..., Watching]) -> None:
    vault.write("memory.json", '{"version": "before"}', age=10)
    one = watching()
    assert wait_for(lambda: vault.remote_commits() != [])  # the catch-up sync at start
    written = write_versions(vault, "memory.json", count=5, every=0.1)
    stopped = time.monotonic()
    assert wait_for(lambda: committed_versions(vault, "memory.json")[-1] == written[-1], 15)
    assert time.monotonic() - stopped < 10  # seconds, not fifteen minutes (the benchmark
    # holds it to 3 s)
    assert len(vault.remote_commits()) <= 3  # one sync for the burst, not one per write
    assert set(committed_versions(vault, "memory.json")[1:]) <= set(written)
    assert one.stop() == 0
    assert "watch: stopped after" in one.text()
    assert_fsck_clean(vault.remote)


def test_a_writer_that_never_stops_gets_whole_versions_every_few_seconds(
        vault: Vault, watching: Callable[..., Watching]) -> None:
    vault.write("memory.json", '{"version": "before"}', age=10)
    one = watching()
    assert wait_for(lambda: vault.remote_commits() != [])
    first = len(vault.remote_commits())
    started = time.monotonic()
    written = write_versions(vault, "memory.json", count=120, every=0.1)  # 12 s of writing
    writing = time.monotonic() - started
    during = len(vault.remote_commits()) - first
    assert during >= 1  # the bound: a writer that never stops still gets backed up
    assert during <= writing / 2  # every few seconds, not one commit per write
    assert wait_for(lambda: committed_versions(vault, "memory.json")[-1] == written[-1], 15)
    assert set(committed_versions(vault, "memory.json")[1:]) <= set(written)  # no torn one
    assert one.stop(signal.SIGINT) == 0


def test_new_files_and_new_sources_are_watched(
        vault: Vault, watching: Callable[..., Watching]) -> None:
    vault.env["MEMORY_VAULT_FILES"] = "*.json,notes/**/*.md"
    vault.write("memory.json", "{}", age=10)
    one = watching()
    assert wait_for(lambda: vault.remote_commits() != [])
    vault.write("notes/2026/today.md", "# learned today\n")  # a new folder, a new file
    assert wait_for(lambda: b"learned" in _remote(vault, "notes/2026/today.md"), 15)
    vault.write("ignored.txt", "not tracked")
    agent = vault.tmp / "agent-two"
    agent.mkdir()
    (agent / "first.md").write_text("# there before\n")
    added = vault.run("source", "add", str(agent), "--name", "two", "--files", "*.md")
    assert added.returncode == 0, added.stderr
    assert wait_for(lambda: "watching 2 folders" in one.text(), 15), one.text()
    assert wait_for(lambda: _remote(vault, "two/first.md") != b"", 15)  # the reload's sync
    time.sleep(1)  # no sync of the reload's is left to back the next file up
    (agent / "AGENTS.md").write_text("# second agent\n")  # only the watcher can see this
    assert wait_for(lambda: _remote(vault, "two/AGENTS.md") == b"# second agent\n", 15), (
        one.text())
    assert b"not tracked" not in _remote(vault, "ignored.txt")
    assert one.stop() == 0


def _remote(vault: Vault, name: str) -> bytes:
    shown = subprocess.run(["git", f"--git-dir={vault.remote}", "show",
                            f"main:rAgentShared/{name}"], capture_output=True, check=False)
    return shown.stdout


def test_a_source_folder_made_later_is_watched_once_it_exists(
        vault: Vault, watching: Callable[..., Watching]) -> None:
    vault.write("memory.json", "{}", age=10)
    later = vault.tmp / "later"
    settings = vault.home / ".config/memory-vault"
    settings.mkdir(parents=True)
    (settings / "sources.toml").write_text(f'[later]\nfolder = "{later}"\nfiles = ["*.md"]\n')
    one = watching()
    assert wait_for(lambda: f"{later} does not exist yet" in one.text())
    later.mkdir()
    (later / "first.md").write_text("# there before\n")
    assert wait_for(lambda: "watching 2 folders" in one.text(), 15), one.text()
    assert wait_for(lambda: _remote(vault, "later/first.md") != b"", 15)  # the reload's sync
    time.sleep(1)  # no sync of the reload's is left to back the next file up
    (later / "MEMORY.md").write_text("# made later\n")  # only the watcher can see this
    assert wait_for(lambda: _remote(vault, "later/MEMORY.md") == b"# made later\n", 15), (
        one.text())
    assert one.stop() == 0


def test_polling_where_no_native_watcher_works_and_cron_beside_it(
        vault: Vault, watching: Callable[..., Watching]) -> None:
    vault.write("memory.json", '{"n": 0}', age=10)
    one = watching({"WATCHFILES_FORCE_POLLING": "1"})
    assert "polling every" in one.text()
    for n in range(1, 4):
        vault.write("memory.json", f'{{"n": {n}}}')
        cron = vault.sync()  # cron's run beside it: the lock keeps them apart
        assert cron.returncode == 0, cron.stderr
    lock = hold_the_run_lock(vault)  # a run under way, as cron's is
    try:
        vault.write("memory.json", '{"n": 4}')  # nothing but the watcher syncs this
        time.sleep(3)  # the poller sees the change and waits for the lock
        assert _remote(vault, "memory.json") == b'{"n": 3}'
    finally:
        os.close(lock)
    assert wait_for(lambda: _remote(vault, "memory.json") == b'{"n": 4}', 20), one.text()
    assert one.stop() == 0
    assert_fsck_clean(vault.remote)
    assert git("status", "--porcelain", cwd=vault.clone) == ""


def hold_the_run_lock(vault: Vault) -> int:
    """Hold the lock as a run under way does (a descriptor to close)."""
    path = vault.data / "sync.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def test_settings_half_written_by_an_editor_leave_the_old_set_watched(
        vault: Vault, watching: Callable[..., Watching]) -> None:
    vault.write("memory.json", "{}", age=10)
    settings = vault.home / ".config/memory-vault"
    settings.mkdir(parents=True)
    agent = vault.tmp / "agent-two"
    agent.mkdir()
    (agent / "AGENTS.md").write_text("# second agent\n")
    one = watching()
    assert wait_for(lambda: vault.remote_commits() != [])
    sources = settings / "sources.toml"
    sources.write_text(f'[two]\nfolder = "{agent}')  # an editor's first write
    assert wait_for(lambda: "the settings changed but cannot be used" in one.text()), one.text()
    sources.write_text(f'[two]\nfolder = "{agent}"\nfiles = [')  # and its second
    time.sleep(2)
    assert one.proc.poll() is None, one.text()  # still watching
    assert one.text().count("cannot be used") == 1  # said once
    sources.write_text(f'[two]\nfolder = "{agent}"\nfiles = ["*.md"]\n')  # saved whole
    assert wait_for(lambda: "watching 2 folders" in one.text(), 15), one.text()
    assert wait_for(lambda: _remote(vault, "two/AGENTS.md") == b"# second agent\n", 20), (
        one.text())
    assert one.stop() == 0


def test_a_sync_that_cannot_start_is_tried_again(
        vault: Vault, watching: Callable[..., Watching]) -> None:
    """The sync's own failure (here its lock file cannot be opened) is a failed sync: no
    switch to polling, no change dropped."""
    vault.write("memory.json", '{"n": 0}', age=10)
    one = watching()
    assert wait_for(lambda: vault.remote_commits() != [])
    assert wait_for(lambda: not _children(one.proc.pid))
    lock = vault.data / "sync.lock"
    lock.unlink()
    lock.mkdir()  # opening the lock file fails (EISDIR), even for root
    vault.write("memory.json", '{"n": 1}')
    assert wait_for(lambda: "the sync could not be started" in one.text(), 15), one.text()
    assert "trying again in 5 s" in one.text()
    lock.rmdir()
    assert wait_for(lambda: _remote(vault, "memory.json") == b'{"n": 1}', 20), one.text()
    assert "polling" not in one.text() and one.proc.poll() is None
    assert one.stop() == 0


class Output:
    """A pipe as `watch`'s stdout that the test can fill, so that `watch` stops at its next
    line until the test reads again: a moment held between two of its steps."""

    def __init__(self) -> None:
        self.read_end, self.write_end = os.pipe()
        self.lines: list[bytes] = []
        self.reader: threading.Thread | None = None

    def fill(self) -> None:
        """Read what is there, then fill the pipe to the last byte."""
        os.set_blocking(self.read_end, False)
        try:
            while os.read(self.read_end, 65536):
                pass
        except BlockingIOError:
            pass
        filler = os.open(f"/proc/self/fd/{self.write_end}", os.O_WRONLY | os.O_NONBLOCK)
        try:
            for size in (4096, 256, 16, 1):
                while True:
                    os.write(filler, b"." * size)
        except BlockingIOError:
            pass
        finally:
            os.close(filler)

    def release(self) -> None:
        """Read everything from now on (the test's end of the pipe closed)."""
        os.close(self.write_end)
        os.set_blocking(self.read_end, True)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while chunk := os.read(self.read_end, 65536):
            self.lines.append(chunk)
        os.close(self.read_end)


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs Linux's /proc")
def test_a_folder_gone_before_the_watcher_starts_on_it(
        vault: Vault, watching: Callable[..., Watching]) -> None:
    """Removed between the reload that found it and the start of the watcher (the polling
    watcher refuses a missing folder; the native one leaves it out): the other folders are
    still watched, and it is watched for."""
    vault.write("memory.json", '{"n": 0}', age=10)
    settings = vault.home / ".config/memory-vault"
    settings.mkdir(parents=True)
    agent = vault.tmp / "agent-two"
    agent.mkdir()
    output = Output()
    one = watching({"WATCHFILES_FORCE_POLLING": "1"}, stdout=output.write_end)
    assert wait_for(lambda: vault.remote_commits() != [])
    output.fill()  # `watch` stops at its next line: the reload's "watching 2 folders"
    (settings / "sources.toml").write_text(f'[two]\nfolder = "{agent}"\nfiles = ["*.md"]\n')
    assert wait_for(lambda: "watching 2 folders" in logged(vault), 15)  # logged first
    shutil.rmtree(agent)
    output.release()
    assert wait_for(lambda: f"{agent} does not exist yet" in logged(vault), 15), (
        logged(vault))
    vault.write("memory.json", '{"n": 1}')
    assert wait_for(lambda: _remote(vault, "memory.json") == b'{"n": 1}', 20), (
        logged(vault))
    assert one.stop() == 0
    assert logged(vault).count("a watched folder went away") <= 1


def _children(pid: int) -> list[int]:
    """The processes `pid` started (Linux's /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_sigterm_during_a_sync_lets_it_finish(vault: Vault,
                                              watching: Callable[..., Watching]) -> None:
    vault.write("memory.json", "{}", age=10)
    one = watching()
    assert wait_for(lambda: vault.remote_commits() != [])
    assert wait_for(lambda: not _children(one.proc.pid))
    big = "".join(f'{{"fact": {n}, "text": "{"x" * 200}"}}\n' for n in range(40_000))
    vault.write("memory.jsonl", big)  # 8 MB: a sync that takes a moment
    assert wait_for(lambda: bool(_children(one.proc.pid)), 20)  # the sync has started
    assert one.stop(signal.SIGTERM) == 0
    assert "stopped after 2 syncs" in one.text()
    assert _remote(vault, "memory.jsonl") == big.encode()  # it finished before watch ended
    assert "Traceback" not in one.text()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_ctrl_c_in_a_terminal_lets_the_sync_under_way_finish(
        vault: Vault, watching: Callable[..., Watching]) -> None:
    """A terminal's Ctrl-C signals its whole foreground process group: the sync `watch`
    started must not take it as its own."""
    vault.write("memory.json", "{}", age=10)
    one = watching(terminal=True)
    assert wait_for(lambda: vault.remote_commits() != [])
    assert wait_for(lambda: not _children(one.proc.pid))
    big = "".join(f'{{"fact": {n}, "text": "{"x" * 200}"}}\n' for n in range(40_000))
    vault.write("memory.jsonl", big)
    assert wait_for(lambda: bool(_children(one.proc.pid)), 20)  # the sync has started
    os.killpg(one.proc.pid, signal.SIGINT)
    assert one.proc.wait(timeout=60) == 0
    one.handle.close()
    assert "trying again" not in one.text() and "stopped after 2 syncs" in one.text()
    assert _remote(vault, "memory.jsonl") == big.encode()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_a_second_ctrl_c_stops_the_sync_too_and_nothing_is_lost(
        vault: Vault, watching: Callable[..., Watching]) -> None:
    vault.write("memory.json", "{}", age=10)
    one = watching(terminal=True)
    assert wait_for(lambda: vault.remote_commits() != [])
    assert wait_for(lambda: not _children(one.proc.pid))
    big = "".join(f'{{"fact": {n}, "text": "{"y" * 200}"}}\n' for n in range(40_000))
    vault.write("memory.jsonl", big)
    assert wait_for(lambda: bool(_children(one.proc.pid)), 20)
    os.killpg(one.proc.pid, signal.SIGINT)
    time.sleep(0.1)
    os.killpg(one.proc.pid, signal.SIGINT)  # the impatient user
    assert one.proc.wait(timeout=120) == 0
    one.handle.close()
    assert "trying again" not in one.text() and "Traceback" not in one.text()
    assert vault.sync().returncode == 0  # the next run takes up what the stopped one left
    assert _remote(vault, "memory.jsonl") == big.encode()
    assert_fsck_clean(vault.remote)


def test_watch_json_is_one_document_when_stopped(vault: Vault) -> None:
    import json

    vault.write("memory.json", "{}", age=10)
    proc = subprocess.Popen([sys.executable, str(SCRIPT), "watch", "--json"], env=vault.env,
                            cwd=vault.source, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert wait_for(lambda: vault.remote_commits() != [])
    proc.send_signal(signal.SIGTERM)
    out, _err = proc.communicate(timeout=60)
    document = json.loads(out)
    assert document["schema"] == 1 and document["exit_code"] == proc.returncode == 0
    assert document["lines"] == ["Stopped after 1 sync."]


def test_watch_with_bad_settings_is_exit_2(vault: Vault) -> None:
    result = vault.run("watch", env={"MEMORY_VAULT_SOURCE_DIR": str(vault.tmp / "missing")})
    assert result.returncode == 2 and "MEMORY_VAULT_SOURCE_DIR" in result.stderr


def test_the_cron_path_never_imports_the_watcher(vault: Vault) -> None:
    vault.write("memory.json", "{}", age=10)
    assert vault.sync().returncode == 0
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); from memory_vault.entry import main;"
             " main([]); print('watchfiles' in sys.modules, 'anyio' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe, str(Path(SCRIPT).parent)],
                         env=vault.env, cwd=vault.source, capture_output=True, text=True,
                         check=True).stdout
    assert out.split() == ["False", "False"]
