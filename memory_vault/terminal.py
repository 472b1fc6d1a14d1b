"""Terminal: what reaches a person's screen, and how much of it (cron's mail included).

Kept apart from the log files: a command's output, a warning on stderr and the escaping of
names that come from the disk or the vault are the same whether a line is logged or not.
"""

import os
import sys

DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40


def echo_level(*, quiet: bool = False, verbose: bool = False, summary: bool = False,
               person: bool = False) -> int:
    """What reaches stdout/stderr: errors only under cron; warnings for every command a
    person runs, terminal or not; a summary with --now, -v or a terminal."""
    if quiet:
        return ERROR
    if verbose:
        return DEBUG
    if summary or sys.stdout.isatty():
        return INFO
    return WARNING if person else ERROR


def printable(text: str) -> str:
    """Text as it may reach a terminal, a log line or a commit message: control characters
    (C0, DEL and C1, which hold ESC and CSI) escaped, so that a name from the disk or the
    vault can forge no line and move no cursor.

    >>> printable("a\\nb\\x1b[2J.json")
    'a\\\\x0ab\\\\x1b[2J.json'
    """
    if all(" " <= c < "\x7f" or c > "\x9f" for c in text):
        return text
    return "".join(c if " " <= c < "\x7f" or c > "\x9f" else f"\\x{ord(c):02x}" for c in text)


def write_stdout(text: str) -> None:
    """Print to stdout; a reader that went away (`status | head -1`) ends our output
    quietly instead of raising, and nothing more is written to the closed pipe."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
