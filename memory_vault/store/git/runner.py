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

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from typing import IO

from memory_vault.errors import (
    KIND_AUTH,
    KIND_GIT,
    KIND_NETWORK,
    KIND_REFUSED,
    GitFailed,
    NetworkError,
)
from memory_vault.urls import Redactor

# Lowercase fragments of git's (and ssh's) messages, by the kind of trouble they mean.
AUTH_HINTS = (
    "authentication failed",
    "permission denied",
    "host key verification failed",
    "terminal prompts disabled",
    "could not read username",
    "could not read password",
    "invalid username or password",
    "the requested url returned error: 401",
    "the requested url returned error: 403",
    "no matching host key",
    "remote host identification has changed",
)
REFUSAL_HINTS = (
    "[remote rejected]",
    "pre-receive hook declined",
    "denied",
    "protected branch",
    "push protection",
    "rule violations",
    "exceeds",
    "file size limit",
    "large files",
    "hook declined",
)
NETWORK_HINTS = (
    "could not resolve host",
    "connection refused",
    "connection timed out",
    "failed to connect",
    "could not read from remote repository",
    "unable to access",
    "network is unreachable",
    "no route to host",
    "the remote end hung up",
    "does not appear to be a git repository",
    "repository not found",
    "early eof",
    "unable to connect",
    "connection reset",
    "connection closed",
)
# Lines git adds around the reason; dropped so that the reason itself is what we keep.
_BOILERPLATE = (
    "please make sure you have the correct access rights",
    "and the repository exists.",
    "error: failed to push some refs",
    "to ",
    "hint:",
    "done",
    "everything up-to-date",
)
REASON_LINES = 4
PROGRESS_COMMANDS = ("fetch", "push")  # network commands that report progress
KEPT_STDERR = 65536
SLOW_LINK_BYTES_PER_SECOND = 32 * 1024  # the slowest upload we wait for without a word
# Progress meter lines: activity, not reasons.
_PROGRESS = ("enumerating objects", "counting objects", "compressing objects",
             "writing objects", "receiving objects", "resolving deltas", "total ",
             "delta compression", "unpacking objects")


def reason_lines(stderr: bytes, stdout: bytes = b"") -> list[str]:
    """Git's reason for a failure, boilerplate dropped, the server's own words kept.

    >>> reason_lines(b"Host key verification failed.\r\nfatal: Could not read from remote "
    ...              b"repository.\n\nPlease make sure you have the correct access rights\n")
    ['Host key verification failed.', 'fatal: Could not read from remote repository.']
    """
    lines: list[str] = []
    for raw in (stderr + b"\n" + _rejected_refs(stdout)).decode("utf-8", "replace").splitlines():
        line = raw.strip()
        if line.lower().startswith("remote:"):
            line = line[7:].strip()
        lowered = line.lower()
        if not line or lowered.startswith(_BOILERPLATE + _PROGRESS) or line in lines:
            continue
        lines.append(line)
    return lines[:REASON_LINES]


def _rejected_refs(stdout: bytes) -> bytes:
    """`git push --porcelain` puts a refused ref on stdout: `!<TAB>src:dst<TAB>[reason]`."""
    return b"\n".join(line.split(b"\t")[-1] for line in stdout.splitlines()
                      if line.startswith(b"!"))


def written_bytes(progress: bytes) -> int:
    """How much git said it wrote (`Writing objects: 100% (3/3), 223.02 KiB`): the kernel
    may buffer all of it at once and send it for a long, silent while on a slow link.

    >>> written_bytes(b"Writing objects: 100% (3/3), 223.02 KiB | 8.92 MiB/s, done.")
    228372
    """
    import re

    sizes = re.findall(rb"Writing objects:[^\r\n]*?, ([0-9.]+) (bytes|KiB|MiB|GiB)", progress)
    units = {b"bytes": 1, b"KiB": 1024, b"MiB": 1024**2, b"GiB": 1024**3}
    return max((int(float(n) * units[u]) for n, u in sizes), default=0)


def classify(text: str) -> str:
    """The kind of a remote failure from git's words: authentication, refusal or network."""
    lowered = text.lower()
    if any(h in lowered for h in AUTH_HINTS):
        return KIND_AUTH
    if any(h in lowered for h in REFUSAL_HINTS):
        return KIND_REFUSED
    if any(h in lowered for h in NETWORK_HINTS):
        return KIND_NETWORK
    return KIND_GIT


# A credential helper that answers git from two variables of its environment: a process's
# environment is readable only by its owner, its command line by every local user.
CREDENTIAL_HELPER = (
    '!f() { test "$1" = get || exit 0; '
    'test -z "$MV_GIT_USERNAME" || printf "username=%s\\n" "$MV_GIT_USERNAME"; '
    'test -z "$MV_GIT_PASSWORD" || printf "password=%s\\n" "$MV_GIT_PASSWORD"; }; f'
)


def credential_environment(env: dict[str, str], user: str, password: str) -> dict[str, str]:
    """Config entries, passed as GIT_CONFIG_KEY_n/VALUE_n, that hand git the URL's
    credentials through our helper alone (the empty value first drops other helpers)."""
    if not user and not password:
        return {}
    start = int(env.get("GIT_CONFIG_COUNT") or 0)
    entries = (("credential.helper", ""), ("credential.helper", CREDENTIAL_HELPER))
    added = {"GIT_CONFIG_COUNT": str(start + len(entries)),
             "MV_GIT_USERNAME": user, "MV_GIT_PASSWORD": password}
    for offset, (key, value) in enumerate(entries):
        added[f"GIT_CONFIG_KEY_{start + offset}"] = key
        added[f"GIT_CONFIG_VALUE_{start + offset}"] = value
    return added


def allocator_tunables(current: str) -> str:
    """Ask glibc to back git's large buffers with transparent huge pages.

    git rebuilds a version stored as a chain of deltas by applying each link into a freshly
    allocated buffer the size of the file; for a 10 MB database at depth 50 that is half a
    gigabyte of fresh pages, and the page faults, not the copying, were most of the time
    (0.6 s of a 0.8 s `cat-file`; 0.3 s with huge pages, measured on the benchmark's
    machine). Where the kernel or C library has no such thing, the setting does nothing;
    a user's own setting of it wins.
    """
    if "glibc.malloc.hugetlb" in current:
        return current
    return ":".join(filter(None, ("glibc.malloc.hugetlb=1", current)))


def git_environment(base: dict[str, str] | None = None,
                    credentials: tuple[str, str] = ("", "")) -> dict[str, str]:
    """The environment of every git we start: no prompt of any kind, plain C messages, and
    the remote's credentials (if its URL had any) for our credential helper only."""
    env = dict(os.environ if base is None else base)
    env.update(credential_environment(env, *credentials))
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
    env["GLIBC_TUNABLES"] = allocator_tunables(env.get("GLIBC_TUNABLES", ""))
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
        credentials: tuple[str, str] = ("", ""),
    ) -> None:
        self.cwd = cwd
        self.redactor = redactor
        self.timeout = timeout
        self.keep_fds = keep_fds
        self.credentials = credentials
        self.env = git_environment(credentials=credentials)

    def at(self, cwd: str) -> "GitRunner":
        """The same runner (lock, credentials, timeout) in another repository."""
        return GitRunner(cwd, redactor=self.redactor, timeout=self.timeout,
                         keep_fds=self.keep_fds, credentials=self.credentials)

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
            proc = self._start(args, env, cwd, input_bytes, stdout_fd)
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

    def _start(self, args: tuple[str, ...], env: dict[str, str], cwd: str | None,
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

    def blobs(self, shas: list[str]) -> "Iterator[bytes]":
        """The content of each blob, in order (a version at a time in memory)."""
        for sha, kind, data in self.objects(shas):
            if kind != "blob":
                raise GitFailed(f"git cat-file: {sha} is not a blob in the vault")
            yield data

    def objects(self, shas: list[str]) -> "Iterator[tuple[str, str, bytes]]":
        """(sha, type, content) of each object, in order, from one `git cat-file --batch`
        (an object at a time in memory, whatever the number). An object git cannot read
        (missing, or corrupt so that git gives up) raises GitFailed naming it."""
        if not shas:
            return
        # Versions of one file are deltas of each other: a cache that holds a whole version
        # lets git rebuild the next one from it instead of from the start of its chain.
        proc = self._start(("-c", "core.deltaBaseCacheLimit=256m", "cat-file", "--batch"),
                           self.env, None, b"", None)
        if proc.stdin is None or proc.stdout is None or proc.stderr is None:
            raise ValueError("git must be started with pipes")
        import threading

        # Fed by a thread: a long list would fill the pipe while git waits for us to read.
        feeder = threading.Thread(target=_feed, args=(proc.stdin, shas), daemon=True)
        feeder.start()
        try:
            for sha in shas:
                header = proc.stdout.readline().split()
                if len(header) != 3:
                    raise self._unreadable(proc, sha, "missing")
                data = proc.stdout.read(int(header[2]))
                if len(data) != int(header[2]):  # git gave up halfway through it
                    raise self._unreadable(proc, sha, "cut short")
                proc.stdout.read(1)  # the newline after each object
                yield sha, header[1].decode("ascii", "replace"), data
        finally:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.stdout.close()
            proc.stderr.close()
            proc.wait()

    def _unreadable(self, proc: "subprocess.Popen[bytes]", sha: str, default: str) -> GitFailed:
        """The error for an object `git cat-file --batch` could not give, in git's words."""
        if proc.stdout is not None:
            proc.stdout.close()
        why = " / ".join(reason_lines(proc.stderr.read() if proc.stderr else b"")) or default
        return GitFailed(f"git cannot read object {sha}: {self.redactor.clean(why)}")

    def failure(self, result: "GitResult", *, network: bool) -> GitFailed:
        detail = self.redactor.clean(result.error_text())
        message = f"git {result.args[0]} failed: {detail}"
        kind = classify(detail) if network else KIND_GIT
        if kind != KIND_GIT:
            return NetworkError(message, kind)
        return GitFailed(message)


def _feed(stdin: "IO[bytes]", shas: list[str]) -> None:
    with contextlib.suppress(OSError):  # git went away: the reader reports why
        for start in range(0, len(shas), 1024):
            stdin.write("".join(f"{sha}\n" for sha in shas[start:start + 1024]).encode())
        stdin.close()


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
