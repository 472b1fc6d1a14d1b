"""The batch reader: many objects out of one `git cat-file --batch`, one at a time in memory.

History, diff and verify read many versions of one file; each is a delta of the next, so one
long-lived git with a large delta-base cache rebuilds each from the last instead of from the
start of its chain. An object git cannot give (missing, or corrupt so that git gives up)
raises GitFailed naming it.
"""

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from typing import IO

from memory_vault.errors import GitFailed
from memory_vault.store.git.errors import reason_lines
from memory_vault.store.git.runner import GitRunner


def read_objects(git: GitRunner, shas: list[str]) -> Iterator[tuple[str, str, bytes]]:
    """(sha, type, content) of each object, in order."""
    if not shas:
        return
    proc = git.start(("-c", "core.deltaBaseCacheLimit=256m", "cat-file", "--batch"),
                     git.env, None, b"", None)
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
                raise _unreadable(git, proc, sha, "missing")
            data = proc.stdout.read(int(header[2]))
            if len(data) != int(header[2]):  # git gave up halfway through it
                raise _unreadable(git, proc, sha, "cut short")
            proc.stdout.read(1)  # the newline after each object
            yield sha, header[1].decode("ascii", "replace"), data
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.stdout.close()
        proc.stderr.close()
        proc.wait()


def read_blobs(git: GitRunner, shas: list[str]) -> Iterator[bytes]:
    """The content of each blob, in order (a version at a time in memory)."""
    for sha, kind, data in read_objects(git, shas):
        if kind != "blob":
            raise GitFailed(f"git cat-file: {sha} is not a blob in the vault")
        yield data


def _unreadable(git: GitRunner, proc: "subprocess.Popen[bytes]", sha: str,
                default: str) -> GitFailed:
    """The error for an object `git cat-file --batch` could not give, in git's words."""
    if proc.stdout is not None:
        proc.stdout.close()
    why = " / ".join(reason_lines(proc.stderr.read() if proc.stderr else b"")) or default
    return GitFailed(f"git cannot read object {sha}: {git.redactor.clean(why)}")


def _feed(stdin: "IO[bytes]", shas: list[str]) -> None:
    with contextlib.suppress(OSError):  # git went away: the reader reports why
        for start in range(0, len(shas), 1024):
            stdin.write("".join(f"{sha}\n" for sha in shas[start:start + 1024]).encode())
        stdin.close()
