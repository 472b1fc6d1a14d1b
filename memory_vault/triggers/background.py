"""Background: one quiet sync started for an agent's hook, the hook itself returning at once.

An agent runs its hook with JSON on stdin and waits for the hook's exit and for its stdout and
stderr to close (Claude Code, Codex CLI and Gemini CLI alike; Claude Code and Codex kill a
session-end hook after a second or two). So `start` reads the JSON, starts the sync in a new
session with no descriptor of the agent's (the agent's exit or a closed terminal cannot kill
it) and returns. The sync first waits for any run under way to finish: a run that started
before the agent's last write may have read the files before it.
"""

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

ENTRY = "from memory_vault.triggers.background import start; start()"
# The detached process: wait for runs under way, then the job's own entry (the plain sync).
RUN = ("from memory_vault.triggers.background import wait_for_runs; wait_for_runs(); "
       "from memory_vault.entry import run; run()")
STDIN_LIMIT = 1 << 20  # the hook's JSON: a few hundred bytes
STDIN_WAIT = 2.0  # an agent that keeps stdin open must not hold its hook
LOCK_WAIT = 600.0  # a run under way ends well within this (git has deadlines)


def _code(statement: str) -> str:
    """`statement` for `python -P -c`, with the folder this package was imported from put on
    the path when it is a checkout rather than the interpreter's own packages."""
    import memory_vault

    root = Path(memory_vault.__file__).resolve().parent.parent
    if not (root / "sync_memory_vault.py").is_file():
        return statement
    return f"import sys; sys.path.insert(0, {json.dumps(str(root))}); {statement}"


def hook_argv(env_file: str) -> list[str]:
    """The hook's command, absolute paths: this interpreter, this package, the settings."""
    return [sys.executable, "-P", "-c", _code(ENTRY), "--env-file",
            str(Path(env_file).absolute())]


def start() -> None:
    """The hook: take the agent's JSON, start the sync on its own, return 0 at once."""
    _drain_stdin()
    argv = [sys.executable, "-P", "-c", _code(RUN), *sys.argv[1:], "-q"]
    subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True,
                     cwd=Path.home())
    raise SystemExit(0)


def _drain_stdin() -> None:
    """Read what the agent writes to stdin until it closes it (or `STDIN_WAIT` passes), so
    that its write never fails on a pipe we closed."""
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, ValueError, OSError):
        return
    if os.isatty(fd):
        return
    deadline = time.monotonic() + STDIN_WAIT
    taken = 0
    while taken < STDIN_LIMIT:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        taken += len(chunk)


def wait_for_runs() -> None:
    """Until no other run holds the lock (`LOCK_WAIT` at most). Settings that cannot be read
    are left for the sync that follows to report."""
    from memory_vault.errors import VaultError
    from memory_vault.pipeline.lock import RunLock
    from memory_vault.settings.load import load_config

    args = sys.argv[1:]
    env_file = args[args.index("--env-file") + 1] if "--env-file" in args[:-1] else None
    try:
        config = load_config(env_file_option=env_file)
        RunLock(config.lock_file).wait_free(LOCK_WAIT)
    except (VaultError, OSError):
        return
