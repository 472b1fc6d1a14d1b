"""A git process's exit, awaited: woken at the exit itself, never by a polling sleep."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from memory_vault.store.git.runner import _Exit


@pytest.mark.parametrize("pidfd", [True, False])
def test_an_exit_is_seen_and_reaped_and_a_live_process_is_not(pidfd: bool) -> None:
    done = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with _Exit(done) as exited:
            if not pidfd:
                _without_pidfd(exited)
            while not exited.within(0.2):
                pass
        assert done.returncode == 3
        with _Exit(alive) as exited:
            if not pidfd:
                _without_pidfd(exited)
            assert not exited.within(0.05)
        assert alive.returncode is None
    finally:
        alive.kill()
        alive.wait()


def _without_pidfd(exited: _Exit) -> None:
    """As where pidfd_open is missing (macOS) or refused: Popen.wait instead."""
    if exited.fd is not None:
        os.close(exited.fd)
        exited.fd = None
