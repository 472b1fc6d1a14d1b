"""The git runner: the one way git is started, never past its deadline, never unlocked.

Every git process runs here (refs and config are read by `model`), for three reasons a
plain `subprocess.run` cannot serve:

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
        timeout: float | None,
        keep_fds: tuple[int, ...] = (),
        credentials: tuple[str, str] = ("", ""),
        credential_origin: str = "",
    ) -> None:
        self.cwd = cwd
        self.redactor = redactor
        self.timeout = timeout  # of a network command; None: a vault on this machine's disk
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
        keeping its messages for the error we may raise. A network command has a deadline,
        not an inactivity timer: a remote that keeps talking (`remote: Counting objects`)
        without ever finishing is killed at it all the same. Only the bytes we upload ourselves
        stretch it (`_deadline_of`): a long first push over a slow link still arrives.
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
                out, err = _communicate_by_deadline(proc, self.timeout, show=progress)
            else:
                out, err = proc.communicate(
                    input_bytes, timeout=self.timeout if network else None
                )
        except subprocess.TimeoutExpired as late:
            _kill_group(proc)
            raise NetworkError(self._overtime(args[0], late)) from None
        except BaseException:
            _kill_group(proc)
            raise
        result = GitResult(args, proc.returncode, out or b"", err or b"")
        if check and proc.returncode != 0:
            raise self.failure(result, network=network)
        return result

    def _overtime(self, command: str, late: subprocess.TimeoutExpired) -> str:
        """Why a network command was killed: silence, or a remote that never finished."""
        if not (late.output or late.stderr):
            return (f"git {command} made no progress for {self.timeout:g} s "
                    "(MEMORY_VAULT_GIT_TIMEOUT); is the remote reachable?")
        return (f"git {command} did not finish within {late.timeout:g} s "
                f"(MEMORY_VAULT_GIT_TIMEOUT={self.timeout:g}); the remote answered but never "
                "completed")

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


def _communicate_by_deadline(proc: "subprocess.Popen[bytes]", timeout: float | None,
                             *, show: bool) -> tuple[bytes, bytes]:
    """Like communicate(), but raising TimeoutExpired (with what git said) at a deadline:
    `timeout` seconds from the start (None: none), stretched only by `_deadline_of` for what
    we upload; git's stderr is shown on ours if `show`. What the remote says never buys
    time."""
    import sys
    import threading
    import time

    started = time.monotonic()
    kept = bytearray()
    out = bytearray()
    uploaded = [0]  # the most bytes git said it wrote to the network
    if proc.stderr is None or proc.stdout is None:
        raise ValueError("git must be started with pipes")
    stderr_fd, stdout_fd = proc.stderr.fileno(), proc.stdout.fileno()

    def read_stderr() -> None:
        unfinished = b""  # a line split between two reads
        for chunk in iter(lambda: os.read(stderr_fd, 4096), b""):
            *lines, unfinished = (unfinished + chunk).replace(b"\r", b"\n").split(b"\n")
            uploaded[0] = max([uploaded[0], *map(written_bytes, lines)])
            if show:
                sys.stderr.buffer.write(chunk)
                sys.stderr.flush()
            kept.extend(chunk)
            del kept[:-KEPT_STDERR]

    def read_stdout() -> None:
        for chunk in iter(lambda: os.read(stdout_fd, 65536), b""):
            out.extend(chunk)

    threads = [threading.Thread(target=f, daemon=True) for f in (read_stderr, read_stdout)]
    for thread in threads:
        thread.start()
    with _Exit(proc) as exited:
        while not exited.within(0.2):
            if timeout is None:
                continue
            allowed = _deadline_of(timeout, uploaded[0])
            if time.monotonic() - started > allowed:
                raise subprocess.TimeoutExpired(proc.args, allowed, bytes(out),
                                                bytes(kept))
    for thread in threads:
        thread.join(timeout=5)
    return bytes(out), bytes(kept)


class _Exit:
    """A process's exit, awaited: on Linux through a pidfd that wakes us the moment it
    exits; elsewhere `Popen.wait`, which polls with sleeps growing to 50 ms (a push that
    took 0.2 s was seen to end 0.05 s late)."""

    def __init__(self, proc: "subprocess.Popen[bytes]") -> None:
        self.proc = proc
        self.fd: int | None = None

    def __enter__(self) -> "_Exit":
        with contextlib.suppress(AttributeError, OSError):  # not Linux 5.3+, or refused
            self.fd = os.pidfd_open(self.proc.pid)
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)

    def within(self, seconds: float) -> bool:
        """Has it exited (reaped) within `seconds`?"""
        if self.fd is None:
            try:
                self.proc.wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                return False
            return True
        import select

        if not select.select([self.fd], [], [], seconds)[0]:
            return False
        self.proc.wait()  # it has exited: reaped at once
        return True


def _deadline_of(timeout: float, uploaded: int) -> float:
    """Seconds a network command may take: the timeout, plus the time our own upload needs
    at the slowest link we wait for (the kernel may take all of it at once and send it for a
    long, silent while). Nothing the remote says stretches it."""
    return timeout + uploaded / SLOW_LINK_BYTES_PER_SECOND


def _kill_group(proc: "subprocess.Popen[bytes]") -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.communicate(timeout=5)
