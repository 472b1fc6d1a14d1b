"""The git runner: the one way git is started, never past its deadline, never unlocked.

GitPython gives us the repository model (`model`); every git process runs here instead, for
three reasons GitPython's runner cannot serve:

- a network command must be killable with everything it started (ssh, git-remote-https):
  each command runs in its own process group and the group is killed;
- every git process inherits our `flock` descriptor, so a run killed with SIGKILL keeps the
  lock until its orphaned git children have exited: the next run never races a live git;
- the message of a failure is built from git's stderr through the `Redactor`.

Its environment (`environment`), credentials (`credentials`), error words (`errors`) and the
batch reader of objects (`batch`) are modules of their own.
"""

import contextlib
import os
import signal
import subprocess

from memory_vault.errors import KIND_GIT, GitFailed, NetworkError
from memory_vault.store.git.environment import git_environment
from memory_vault.store.git.errors import (
    PROGRESS_COMMANDS,
    classify,
    reason_lines,
    written_bytes,
)
from memory_vault.urls import Redactor

KEPT_STDERR = 65536
SLOW_LINK_BYTES_PER_SECOND = 32 * 1024  # the slowest upload we wait for without a word


class GitRunner:
    """Runs `git` in one repository with the vault's environment, lock and redaction."""

    def __init__(
        self,
        cwd: str,
        *,
        redactor: Redactor,
        timeout: float,
        keep_fds: tuple[int, ...] = (),
        credentials: tuple[str, str] = ("", ""),
        credential_origin: str = "",
    ) -> None:
        self.cwd = cwd
        self.redactor = redactor
        self.timeout = timeout
        self.keep_fds = keep_fds
        self.credentials = credentials
        self.credential_origin = credential_origin
        self.env = git_environment(credentials=credentials, credential_origin=credential_origin)

    def at(self, cwd: str) -> "GitRunner":
        """The same runner (lock, credentials, timeout) in another repository."""
        return GitRunner(cwd, redactor=self.redactor, timeout=self.timeout,
                         keep_fds=self.keep_fds, credentials=self.credentials,
                         credential_origin=self.credential_origin)

    def run(
        self,
        *args: str,
        network: bool = False,
        check: bool = True,
        input_bytes: bytes | None = None,
        extra_env: dict[str, str] | None = None,
        cwd: str | None = None,
        progress: bool = False,
        stdout_fd: int | None = None,
    ) -> "GitResult":
        """Run `git args...`; network commands get the timeout and a process-group kill.

        `stdout_fd` sends git's output straight into that file (a restored file is streamed
        to disk, never held in memory); the result's stdout is then empty.

        `progress` (for a terminal only) shows git's progress meter on our stderr while still
        keeping its messages for the error we may raise. A network command is stopped when
        it makes no progress for the timeout, not after a fixed total: a long first push
        over a slow link goes on as long as git reports bytes moving.
        """
        env = {**self.env, **extra_env} if extra_env else self.env
        watched = network and args[0] in PROGRESS_COMMANDS
        if watched:
            args = (args[0], "--progress", *args[1:])
        try:
            proc = self.start(args, env, cwd, input_bytes, stdout_fd)
        except FileNotFoundError:
            raise GitFailed("git is not installed or not on PATH (cron's PATH is "
                            "/usr/bin:/bin; `schedule install` names git's folder)") from None
        try:
            if watched:
                out, err = _communicate_watching(proc, self.timeout, show=progress)
            else:
                out, err = proc.communicate(
                    input_bytes, timeout=self.timeout if network else None
                )
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise NetworkError(
                f"git {args[0]} made no progress for {self.timeout:g} s "
                "(MEMORY_VAULT_GIT_TIMEOUT); is the remote reachable?"
            ) from None
        except BaseException:
            _kill_group(proc)
            raise
        result = GitResult(args, proc.returncode, out or b"", err or b"")
        if check and proc.returncode != 0:
            raise self.failure(result, network=network)
        return result

    def start(self, args: tuple[str, ...], env: dict[str, str], cwd: str | None,
               input_bytes: bytes | None, stdout_fd: int | None) -> "subprocess.Popen[bytes]":
        return subprocess.Popen(
            ["git", *args],
            cwd=cwd or self.cwd,
            env=env,
            stdin=subprocess.PIPE if input_bytes is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout_fd is None else stdout_fd,
            stderr=subprocess.PIPE,
            pass_fds=self.keep_fds,
            start_new_session=True,
        )

    def failure(self, result: "GitResult", *, network: bool) -> GitFailed:
        detail = self.redactor.clean(result.error_text())
        message = f"git {result.args[0]} failed: {detail}"
        kind = classify(detail) if network else KIND_GIT
        if kind != KIND_GIT:
            return NetworkError(message, kind)
        return GitFailed(message)


class GitResult:
    __slots__ = ("args", "returncode", "stderr", "stdout")

    def __init__(self, args: tuple[str, ...], returncode: int, stdout: bytes, stderr: bytes):
        self.args = args
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "surrogateescape").strip()

    def error_text(self) -> str:
        return " / ".join(reason_lines(self.stderr, self.stdout)) or (
            f"exit status {self.returncode}")


def _communicate_watching(proc: "subprocess.Popen[bytes]", inactivity: float,
                          *, show: bool) -> tuple[bytes, bytes]:
    """Like communicate(), but raising TimeoutExpired only after `inactivity` seconds with
    no output at all (git's progress meter counts), and showing stderr on ours if `show`."""
    import sys
    import threading
    import time

    kept = bytearray()
    out = bytearray()
    last = [time.monotonic()]
    grace = [0.0]  # silence allowed for bytes already handed to the network
    if proc.stderr is None or proc.stdout is None:
        raise ValueError("git must be started with pipes")
    stderr_fd, stdout_fd = proc.stderr.fileno(), proc.stdout.fileno()

    def read_stderr() -> None:
        for chunk in iter(lambda: os.read(stderr_fd, 4096), b""):
            last[0] = time.monotonic()
            grace[0] = max(grace[0], written_bytes(chunk) / SLOW_LINK_BYTES_PER_SECOND)
            if show:
                sys.stderr.buffer.write(chunk)
                sys.stderr.flush()
            kept.extend(chunk)
            del kept[:-KEPT_STDERR]

    def read_stdout() -> None:
        for chunk in iter(lambda: os.read(stdout_fd, 65536), b""):
            last[0] = time.monotonic()
            out.extend(chunk)

    threads = [threading.Thread(target=f, daemon=True) for f in (read_stderr, read_stdout)]
    for thread in threads:
        thread.start()
    while True:
        try:
            proc.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            if time.monotonic() - last[0] > inactivity + grace[0]:
                raise
    for thread in threads:
        thread.join(timeout=5)
    return bytes(out), bytes(kept)


def _kill_group(proc: "subprocess.Popen[bytes]") -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=5)
