"""Results: what a command did, carrying the exit code it decided and what to show.

Every command returns one (sync, init, status, history, restore, verify, schedule); `guard`
turns it into the process's exit code and `render` into text or JSON, so the CLI only parses
and renders. Plain slotted classes: this module is on the cron path, where `dataclasses`
and `typing` cost more import time than a whole no-change run.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    class Result(Protocol):
        """The contract every command's result meets."""

        @property
        def exit_code(self) -> int: ...

        def as_dict(self) -> object: ...


def command_name() -> str:
    """How the user can run this program again, for hints: the command as it was typed when
    it is not simply `memory-vault` on PATH (`.venv/bin/memory-vault`, `./sync_memory_vault.py`)."""
    import os
    import sys

    argv0 = sys.argv[0] if sys.argv else ""
    base = os.path.basename(argv0)
    if base == "sync_memory_vault.py":
        return argv0 if os.sep in argv0 else f"./{argv0}"
    if base == "memory-vault" and os.sep in argv0:
        import shutil

        found = shutil.which("memory-vault")
        if found is None or os.path.realpath(found) != os.path.realpath(argv0):
            return argv0
    return "memory-vault"


class Done:
    """A result that is only an exit code (a sync, whose words went to the log) or a few
    lines of text (a schedule change)."""

    __slots__ = ("exit_code", "lines")

    def __init__(self, exit_code: int, lines: "list[str] | None" = None) -> None:
        self.exit_code = exit_code
        self.lines = lines or []

    def as_dict(self) -> object:
        return {"exit_code": self.exit_code, "lines": self.lines}
