"""The two log files of the spec, written safely in a world-writable /tmp.

Not the stdlib `logging` package: importing it costs about 10 ms, more than the whole budget
of a cron run that finds nothing to do. What we need is small: one line per event,
`2026-11-24T17:45:00Z LEVEL [whose] message`, INFO+ to the log, WARNING+ to the error file,
rotation at 5 MB with three generations, and an open that never follows a planted symlink
or hard link and refuses a file owned by someone else. A refused file is replaced, quietly,
by the file of the same name in `~/.local/state/memory-vault/`, which says once why it is
used: a cron run must not turn every INFO line into a mail. Each line names whose it is,
the configuration's data folder and the process (`2026-11-24T17:45:00Z INFO
[~/.local/share/memory-vault pid 1234] message`): configurations may share one log file.
"""

import os
import stat
import sys

from memory_vault.fsutil import utc_stamp

# The levels are the terminal's; importers of the log take them from here too.
from memory_vault.terminal import DEBUG as DEBUG
from memory_vault.terminal import ERROR as ERROR
from memory_vault.terminal import INFO as INFO
from memory_vault.terminal import WARNING as WARNING
from memory_vault.terminal import printable, write_stdout

TYPE_CHECKING = False
if TYPE_CHECKING:
    from memory_vault.urls import Redactor

LEVEL_NAMES = {DEBUG: "DEBUG", INFO: "INFO", WARNING: "WARNING", ERROR: "ERROR"}
ROTATE_BYTES = 5 * 1024 * 1024
GENERATIONS = 3
_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class LogTarget:
    """One append-only log file, opened on first use and refused if it is not safely ours."""

    __slots__ = ("fd", "path", "refused")

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = None
        self.refused: str | None = None

    def write(self, line: str) -> bool:
        """Append `line`; False when the file is refused (the caller falls back to stderr)."""
        if self.refused is not None:
            return False
        data = line.encode("utf-8", "backslashreplace")
        try:
            if self.fd is None:
                self.fd = self._open()
            elif os.fstat(self.fd).st_size + len(data) > ROTATE_BYTES:
                self._rotate()
            os.write(self.fd, data)
            return True
        except OSError as exc:
            self.refused = _describe_open_error(exc)
            self.close()
            return False
        except _Refused as exc:
            self.refused = str(exc)
            return False

    def _open(self) -> int:
        folder = os.path.dirname(self.path)
        if folder and not os.path.isdir(folder):
            os.makedirs(folder, mode=0o700, exist_ok=True)
        fd = os.open(self.path, _OPEN_FLAGS, 0o600)
        st = os.fstat(fd)
        why = ("it is not a regular file" if not stat.S_ISREG(st.st_mode) else
               f"it is owned by another user (uid {st.st_uid})" if st.st_uid != os.geteuid()
               else "it has other hard links (not followed)" if st.st_nlink > 1 else None)
        if why is not None:
            os.close(fd)
            raise _Refused(why)
        if st.st_mode & 0o077:
            os.fchmod(fd, 0o600)
        if st.st_size >= ROTATE_BYTES:
            os.close(fd)
            self._shift_generations()
            fd = os.open(self.path, _OPEN_FLAGS, 0o600)
        return fd

    def _rotate(self) -> None:
        self.close()
        self._shift_generations()
        self.fd = self._open()

    def _shift_generations(self) -> None:
        """path.2 -> path.3, path.1 -> path.2, path -> path.1 (rename never follows links)."""
        for gen in range(GENERATIONS - 1, 0, -1):
            try:
                os.replace(f"{self.path}.{gen}", f"{self.path}.{gen + 1}")
            except FileNotFoundError:
                pass
        os.replace(self.path, f"{self.path}.1")

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


class _Refused(Exception):
    pass


def refusal(path: str) -> str | None:
    """Why `path` would be refused as a log file (without opening it), or None."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return exc.strerror or str(exc)
    if stat.S_ISLNK(st.st_mode):
        return "it is a symbolic link (not followed)"
    if not stat.S_ISREG(st.st_mode):
        return "it is not a regular file"
    if st.st_uid != os.geteuid():
        return f"it is owned by another user (uid {st.st_uid})"
    if st.st_nlink > 1:
        return "it has other hard links (not followed)"
    if not os.access(path, os.W_OK):
        return "it is not writable"
    return None


def vault_label(home: str) -> str:
    """A configuration's name in its log lines: its data folder (its clone, journal and lock:
    one to each configuration), `~/` for the home folder; it holds no credentials."""
    user_home = os.environ.get("HOME", "")
    if user_home not in ("", "/") and home.startswith(user_home.rstrip("/") + "/"):
        return "~" + home[len(user_home.rstrip("/")):]
    return home


def fallback_path(path: str, fallback_dir: str) -> str:
    return os.path.join(fallback_dir, os.path.basename(path) or "memoryvaultsync.log")


def _describe_open_error(exc: OSError) -> str:
    import errno  # only when a log cannot be opened

    if exc.errno == errno.ELOOP:
        return "it is a symbolic link (not followed)"
    if exc.errno == errno.ENXIO:
        return "it is not a regular file"
    return exc.strerror or str(exc)


class RunLog:
    """Where a run's messages go: the log files, and the terminal when someone is watching.

    `echo` is the lowest level copied to the terminal (INFO for `--now`, `-v` or a tty;
    ERROR under cron). Errors always reach stderr. Every message is redacted first.
    """

    def __init__(
        self,
        log_path: str,
        err_path: str,
        *,
        echo: int = ERROR,
        redactor: "Redactor | None" = None,
        fallback_dir: str | None = None,
        label: str = "",
    ) -> None:
        # Whose line it is, as journalctl says `unit[pid]`: several configurations may share
        # one log in /tmp, and two runs of one may overlap.
        self.whose = printable(f"[{label} pid {os.getpid()}] " if label
                               else f"[pid {os.getpid()}] ")
        self.log = LogTarget(log_path)
        self.err = LogTarget(err_path)
        self.echo = echo
        self._redactor = redactor  # made when first needed: a plain line needs none
        self.fallback_dir = fallback_dir
        self._fallbacks: dict[str, LogTarget] = {}
        self._fallback_told: set[str] = set()
        self.worst = 0  # the highest level said so far
        self.kept: list[str] | None = None  # a list: every INFO line is kept in it too

    @property
    def redactor(self) -> "Redactor":
        if self._redactor is None:
            from memory_vault.urls import Redactor

            self._redactor = Redactor()
        return self._redactor

    def set_redactor(self, redactor: "Redactor") -> None:
        self._redactor = redactor

    def clean(self, text: str) -> str:
        """`text` with its secrets masked (none known, no URL in it: as it is)."""
        if self._redactor is None and "://" not in text:
            return text
        return self.redactor.clean(text)

    def debug(self, message: str) -> None:
        self.emit(DEBUG, message)

    def info(self, message: str) -> None:
        self.emit(INFO, message)

    def warning(self, message: str) -> None:
        self.emit(WARNING, message)

    def error(self, message: str) -> None:
        self.emit(ERROR, message)

    def note(self, message: str) -> None:
        """An INFO line for the log file only (the command prints its own account)."""
        echo, self.echo = self.echo, ERROR + 1
        try:
            self.emit(INFO, message)
        finally:
            self.echo = echo

    def alarm(self, message: str) -> None:
        """A warning a person must see even under cron: logged, and on stderr this once
        (cron mails what a job writes to stderr)."""
        self.emit(WARNING, message)
        if self.echo > WARNING:
            self._to_terminal(WARNING, self.clean(message))

    def emit(self, level: int, message: str) -> None:
        message = printable(self.clean(" | ".join(message.splitlines()) or message))
        self.worst = max(self.worst, level)
        if self.kept is not None and level == INFO:
            self.kept.append(message)
        if level >= INFO:
            line = f"{utc_stamp()} {LEVEL_NAMES[level]} {self.whose}{message}\n"
            self._to_file(self.log, line, to_stderr=level < self.echo)
            if level >= WARNING:
                self._to_file(self.err, line, to_stderr=False)
        if level >= self.echo or level >= ERROR:
            self._to_terminal(level, message)

    def _to_file(self, target: LogTarget, line: str, *, to_stderr: bool) -> None:
        if target.write(line):
            return
        if self._to_fallback(target, line):
            return
        if target.path not in self._fallback_told:
            self._fallback_told.add(target.path)
            sys.stderr.write(
                f"memory-vault: not logging to {target.path}: {target.refused}; "
                "log lines go to stderr instead\n"
            )
        if to_stderr:
            sys.stderr.write(line)

    def _to_fallback(self, target: LogTarget, line: str) -> bool:
        """Write to the same-named file in the state folder, saying once why it is used."""
        if self.fallback_dir is None:
            return False
        path = fallback_path(target.path, self.fallback_dir)
        if path == target.path:
            return False
        backup = self._fallbacks.get(path)
        if backup is None:
            backup = self._fallbacks[path] = LogTarget(path)
            if not os.path.exists(path):
                backup.write(f"{utc_stamp()} INFO {self.whose}logging here because "
                             f"{target.path} is refused: {target.refused}\n")
        return backup.write(line)

    @staticmethod
    def _to_terminal(level: int, message: str) -> None:
        if level >= WARNING:
            sys.stderr.write(f"memory-vault: {LEVEL_NAMES[level].lower()}: {message}\n")
        else:
            write_stdout(message + "\n")

    def close(self) -> None:
        self.log.close()
        self.err.close()
        for target in self._fallbacks.values():
            target.close()
