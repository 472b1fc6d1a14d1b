"""Acks: the shrink alarms a person closed, kept apart from the cache that can be lost.

An alarm is a fact of the vault (a trailer of the commit that shrank the file); closing it is
a fact of this machine, appended to a small file and made durable before `ack` says it is
done. When the journal is lost, the alarms are read again from the vault, less these.
"""

import os

from memory_vault.fsutil import ensure_private_dir, fsync_dir

Ack = tuple[str, str]  # the alarm's commit, the file's vault path


def load_acks(path: str) -> set[Ack]:
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return set()
    from memory_vault.journal.cache import unescape

    return {(commit, unescape(name)) for commit, _, name in
            (line.partition("\t") for line in lines) if commit and name}


def add_acks(path: str, acks: list[Ack]) -> None:
    """Append `acks`, durably (fsync of the file and its folder)."""
    if not acks:
        return
    from memory_vault.journal.cache import escape

    ensure_private_dir(os.path.dirname(path))
    data = "".join(f"{commit}\t{escape(name)}\n" for commit, name in acks).encode(
        "utf-8", "surrogateescape")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(os.path.dirname(path))
