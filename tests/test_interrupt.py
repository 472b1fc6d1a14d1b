"""Ctrl-C, typed on a real terminal: exit 130 and one line saying what is safe.

Each test starts the program on a pseudo-terminal of its own (it is the session's
foreground job, as in a shell), waits for the moment it wants to interrupt, and types
`\\x03`: the terminal sends SIGINT to the program, never to the git it started (each git
runs in a process group of its own, which the program kills).
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import sys
import time
from collections.abc import Callable
from pathlib import Path

from servers import GitHttpServer

from conftest import SCRIPT, Vault, git

CTRL_C = b"\x03"


class Terminal:
    """The program running on a pseudo-terminal: what it printed, how it ended."""

    def __init__(self, vault: Vault, *args: str) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: the session leader, the terminal its controlling one
            try:
                os.chdir(vault.source)
                os.execve(sys.executable, [sys.executable, str(SCRIPT), *args],  # noqa: S606
                          vault.env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.output = b""
        self.exit_code: int | None = None

    def read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            try:
                self.output += os.read(self.fd, 65536)
            except OSError:  # EIO: the program has ended and closed the terminal
                time.sleep(timeout)

    def wait_for(self, moment: Callable[[], bool], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not moment():
            assert time.monotonic() < deadline, self.output.decode(errors="replace")
            self.read(0.05)

    def interrupt(self) -> None:
        os.write(self.fd, CTRL_C)

    def finish(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self.exit_code is None:
            assert time.monotonic() < deadline, self.output.decode(errors="replace")
            self.read(0.05)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.exit_code = os.waitstatus_to_exitcode(status)
        for _ in range(20):  # what it printed last
            self.read(0.01)
        os.close(self.fd)
        return self.exit_code

    def lines(self) -> list[str]:
        """What the terminal shows, line by line (the `^C` it echoed on a line of its own)."""
        return self.output.decode(errors="replace").replace("\r", "").splitlines()


def _lock_is_free(vault: Vault) -> bool:
    with open(vault.data / "sync.lock", "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


def test_ctrl_c_during_a_push_keeps_the_commit_for_the_next_run(vault: Vault,
                                                                tmp_path: Path) -> None:
    remotes = tmp_path / "served"
    remotes.mkdir()
    git("init", "-q", "--bare", "--initial-branch=main", str(remotes / "vault.git"))
    with GitHttpServer(remotes) as server:
        vault.env["MEMORY_VAULT_REMOTE"] = server.url("vault.git")
        vault.remote = remotes / "vault.git"
        vault.write("memory.json", '{"first": 1}', age=10)
        assert vault.sync().returncode == 0
        vault.write("memory.json", '{"second": 2}', age=10)
        server.push_delay = 120  # a push that takes its time
        pushes_before = len([r for r in server.requests if "receive-pack" in r])
        terminal = Terminal(vault, "sync")
        terminal.wait_for(lambda: len([r for r in server.requests
                                       if "receive-pack" in r]) > pushes_before)
        time.sleep(0.3)
        started = time.monotonic()
        terminal.interrupt()
        assert terminal.finish() == 130, terminal.lines()
        assert time.monotonic() - started < 10  # git was killed, not waited for
        shown = terminal.lines()
        said = [line for line in shown if "interrupted" in line]
        assert shown[shown.index(said[0]) - 1] == "^C"
        assert said == ["memory-vault: error: interrupted: 1 commit waits in the clone; the "
                        "next run pushes it"], terminal.lines()
        assert "Traceback" not in terminal.output.decode(errors="replace")
        assert _lock_is_free(vault)  # no git child of the run kept it
        assert len(vault.remote_commits()) == 1
        assert b'"second": 2' in git("-C", str(vault.clone), "show",
                                     "HEAD:rAgentShared/memory.json").encode()
        server.push_delay = 0
        again = vault.sync()
        assert again.returncode == 0, again.stderr
        assert len(vault.remote_commits()) == 2
        assert b'"second": 2' in vault.remote_file("memory.json")


def test_ctrl_c_while_waiting_for_another_run_changes_nothing(vault: Vault) -> None:
    vault.write("memory.json", '{"first": 1}', age=10)
    assert vault.sync().returncode == 0
    vault.write("memory.json", '{"second": 2}', age=10)
    journal = vault.state_file.read_bytes()
    with open(vault.data / "sync.lock", "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another sync is running
        terminal = Terminal(vault, "--now")
        terminal.wait_for(lambda: b"waiting" in terminal.output)
        terminal.interrupt()
        assert terminal.finish() == 130
    shown = terminal.lines()
    said = [line for line in shown if "interrupted" in line]
    assert said == ["memory-vault: error: interrupted: nothing was changed"], shown
    assert shown[shown.index(said[0]) - 1] == "^C"
    assert len(vault.remote_commits()) == 1
    assert vault.state_file.read_bytes() == journal
