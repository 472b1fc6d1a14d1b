"""Running git: never a prompt, never past its timeout, never a leaked token, never unlocked.

GitPython gives us the repository model (config, refs, history, trees). Commands that change
the vault run here instead, for three reasons GitPython's runner cannot serve:

- a network command must be killable with everything it started (ssh, git-remote-https);
  GitPython's `kill_after_timeout` finds children with `pgrep`/`ps`, which a minimal machine
  may lack. We start each command in its own process group and kill the group.
- every git process inherits our `flock` descriptor, so a run killed with SIGKILL keeps the
  lock until its orphaned git children have exited: the next run never races a live git, and
  a `.lock` file it finds really is stale.
- the message of a failure is built from git's stderr through the `Redactor`.
"""

import os
import signal
import subprocess

from memory_vault.errors import GitFailed, NetworkError
from memory_vault.redact import Redactor

NETWORK_HINTS = (
    "could not resolve host",
    "connection refused",
    "connection timed out",
    "failed to connect",
    "could not read from remote repository",
    "unable to access",
    "terminal prompts disabled",
    "could not read username",
    "authentication failed",
    "permission denied",
    "host key verification failed",
    "network is unreachable",
    "no route to host",
    "the remote end hung up",
    "does not appear to be a git repository",
    "repository not found",
    "early eof",
    "unable to connect",
)


def git_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every git we start: no prompt of any kind, plain C messages."""
    env = dict(os.environ if base is None else base)
    env.update(
        GIT_TERMINAL_PROMPT="0",
        GCM_INTERACTIVE="never",
        SSH_ASKPASS_REQUIRE="never",
        GIT_ASKPASS=env.get("GIT_ASKPASS", "true"),
        LC_ALL="C",
        LANGUAGE="C",
    )
    ssh = env.get("GIT_SSH_COMMAND") or "ssh"
    if "BatchMode" not in ssh:
        ssh += " -o BatchMode=yes"
    env["GIT_SSH_COMMAND"] = ssh
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    env.pop("GIT_INDEX_FILE", None)
    return env


class GitRunner:
    """Runs `git` in one repository with the vault's environment, lock and redaction."""

    def __init__(
        self,
        cwd: str,
        *,
        redactor: Redactor,
        timeout: float,
        keep_fds: tuple[int, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.cwd = cwd
        self.redactor = redactor
        self.timeout = timeout
        self.keep_fds = keep_fds
        self.env = git_environment(env)

    def run(
        self,
        *args: str,
        network: bool = False,
        check: bool = True,
        input_bytes: bytes | None = None,
        extra_env: dict[str, str] | None = None,
        cwd: str | None = None,
        progress: bool = False,
    ) -> "GitResult":
        """Run `git args...`; network commands get the timeout and a process-group kill.

        `progress` (for a terminal only) shows git's progress meter on our stderr while still
        keeping its messages for the error we may raise.
        """
        env = {**self.env, **extra_env} if extra_env else self.env
        if progress:
            args = (args[0], "--progress", *args[1:])
        proc = subprocess.Popen(
            ["git", *args],
            cwd=cwd or self.cwd,
            env=env,
            stdin=subprocess.PIPE if input_bytes is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            pass_fds=self.keep_fds,
            start_new_session=True,
        )
        try:
            if progress:
                out, err = _communicate_showing_stderr(proc, self.timeout if network else None)
            else:
                out, err = proc.communicate(
                    input_bytes, timeout=self.timeout if network else None
                )
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise NetworkError(
                f"git {args[0]} timed out after {self.timeout:g} s "
                "(MEMORY_VAULT_GIT_TIMEOUT); is the remote reachable?"
            ) from None
        except BaseException:
            _kill_group(proc)
            raise
        result = GitResult(args, proc.returncode, out, err)
        if check and proc.returncode != 0:
            raise self.failure(result, network=network)
        return result

    def failure(self, result: "GitResult", *, network: bool) -> GitFailed:
        detail = self.redactor.clean(result.error_text())
        message = f"git {result.args[0]} failed: {detail}"
        if network and any(h in detail.lower() for h in NETWORK_HINTS):
            return NetworkError(message)
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
        lines = [
            line.strip()
            for line in self.stderr.decode("utf-8", "replace").splitlines()
            if line.strip() and not line.startswith("hint:")
        ]
        return " / ".join(lines[-3:]) or f"exit status {self.returncode}"


def _communicate_showing_stderr(
    proc: "subprocess.Popen[bytes]", timeout: float | None
) -> tuple[bytes, bytes]:
    """Like communicate(), but git's stderr (its progress meter) is shown as it comes."""
    import sys
    import threading

    kept = bytearray()
    out = bytearray()
    if proc.stderr is None or proc.stdout is None:
        raise ValueError("git must be started with pipes")
    stderr_fd, stdout = proc.stderr.fileno(), proc.stdout

    def tee_stderr() -> None:
        for chunk in iter(lambda: os.read(stderr_fd, 4096), b""):
            sys.stderr.buffer.write(chunk)
            sys.stderr.flush()
            kept.extend(chunk)
            del kept[:-8192]

    def drain_stdout() -> None:
        out.extend(stdout.read())

    threads = [threading.Thread(target=f, daemon=True) for f in (tee_stderr, drain_stdout)]
    for thread in threads:
        thread.start()
    proc.wait(timeout=timeout)
    for thread in threads:
        thread.join(timeout=5)
    return bytes(out), bytes(kept)


def _kill_group(proc: "subprocess.Popen[bytes]") -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        pass
