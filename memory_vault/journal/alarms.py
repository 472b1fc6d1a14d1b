"""Shrink alarms: the rule that flags a version which lost many of its records, and its words.

An agent reset, a racing writer or a cleanup can wipe a memory file; the backup keeps the
wiped version (history keeps the good one) and says so the same day, before later backups
bury it. The alarm is raised by the sync (`pipeline.alarms`), shown by `status` and closed by
`ack` (`health.ack`).
"""

from memory_vault.journal.cache import Alarm
from memory_vault.results import command_name


def shrank(before: int, after: int, threshold: float) -> bool:
    """Did a version lose at least `threshold` percent of the records before it?

    >>> shrank(100, 50, 50), shrank(100, 51, 50), shrank(0, 0, 50), shrank(7, 0, 50)
    (True, False, False, True)
    """
    return threshold > 0 and before > 0 and (before - after) * 100 >= threshold * before


def restore_command(path: str, commit: str) -> str:
    return f"{command_name()} restore {path} --commit {commit[:12]}"


def describe(path: str, alarm: Alarm) -> str:
    if alarm.after == 0 and alarm.commit == alarm.previous:  # the file itself is gone
        return (f"{path}: shrink alarm: deleted from its source ({alarm.before} records "
                f"lost); the vault keeps it in commit {alarm.commit[:12]}: "
                f"`{restore_command(path, alarm.commit)}` brings it back, "
                f"`{command_name()} ack {path}` closes this alarm")
    return (f"{path}: shrink alarm: {alarm.before} records -> {alarm.after} "
            f"({alarm.lost_percent}% lost) in commit {alarm.commit[:12]}; the version before "
            f"is in commit {alarm.previous[:12]}: `{restore_command(path, alarm.previous)}` "
            f"brings it back, `{command_name()} ack {path}` closes this alarm")
