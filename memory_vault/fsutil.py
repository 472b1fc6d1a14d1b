"""Small file-system helpers shared by sync and restore.

Only `os` and `time` are imported: this module is on the cron no-change path.
"""

import os
import time

TEMP_MARK = ".mv-tmp-"


def utc_stamp(seconds: float | None = None) -> str:
    """`2026-11-24T17:45:00Z`: the one time format of logs, commits and state."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def compact_utc_stamp(seconds: float | None = None) -> str:
    """`20261124T174500Z`: safe inside a file name."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(seconds))


def plural(count: int, word: str) -> str:
    """`1 file`, `2 files`."""
    return f"{count} {word}{'' if count == 1 else 's'}"


def file_sha256(path: str) -> str:
    """sha256 of a file's content, read in chunks (the one place a file is hashed)."""
    import hashlib

    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def ensure_private_dir(path: str) -> None:
    """Create `path` (and parents) mode 0700 if missing; an existing folder is left as is."""
    if not os.path.isdir(path):
        os.makedirs(path, mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)


def read_private(path: str) -> bytes | None:
    """The bytes of a cache file only this user could have written (None otherwise, or
    when it is missing): the file and its folder ours and writable by nobody else. What
    such a file says is acted on (a run replayed, settings used): a file another user
    planted in a shared cache folder must count for nothing."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        me = os.geteuid()
        for st in (os.fstat(fd), os.stat(os.path.dirname(path) or ".")):
            if st.st_uid != me or st.st_mode & 0o022:
                return None
        return os.read(fd, os.fstat(fd).st_size + 1)
    except OSError:
        return None
    finally:
        os.close(fd)


def fsync_dir(path: str) -> None:
    """Make a rename inside `path` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_name_for(path: str) -> str:
    """A short temp name beside `path`: a 255-byte file name must still have a temp name
    that fits the file system (so the temp name never contains the file's own name)."""
    head = os.path.dirname(path)
    return os.path.join(head, f"{TEMP_MARK}{os.getpid()}-{os.urandom(4).hex()}")


def write_atomic(
    path: str, data: bytes | bytearray, *, durable: bool, mode: int = 0o600
) -> None:
    """Replace `path` with `data` so a reader sees the old or the new bytes, never a mix.

    `durable` adds fsync of the file and its folder: needed for state that must survive a
    power cut, not for copies git is about to hash and store durably itself.
    """
    tmp = temp_name_for(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, mode)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if durable:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        _unlink_quietly(tmp)
        raise
    os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    if durable:
        fsync_dir(os.path.dirname(path) or ".")


def unique_path(path: str) -> str:
    """`path`, or `path-2`, `path-3`...: the first name that does not exist yet, so that a
    kept copy or a set-aside clone never replaces an earlier one."""
    candidate, n = path, 1
    while os.path.lexists(candidate):
        n += 1
        candidate = f"{path}-{n}"
    return candidate


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
