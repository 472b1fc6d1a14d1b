"""The scheduled job: the cheap command, cron and systemd schedules."""

from __future__ import annotations


def test_the_scheduled_command_skips_the_console_script_wrapper() -> None:
    from memory_vault.triggers.cron import cron_schedule
    from memory_vault.triggers.job import ENTRY, choose_command
    from memory_vault.triggers.units import on_calendar

    assert choose_command("/v/bin/python", "/v/bin/memory-vault", None) == [
        "/v/bin/python", "-P", "-c", ENTRY]
    assert choose_command("/v/bin/python", "/src/sync_memory_vault.py", None) == [
        "/v/bin/python", "/src/sync_memory_vault.py"]
    assert choose_command("/p", "/v/bin/memory-vault", "/src/sync_memory_vault.py") == [
        "/p", "/src/sync_memory_vault.py"]
    assert [cron_schedule(n) for n in (1, 15, 60, 180, 1440)] == [
        "* * * * *", "*/15 * * * *", "0 * * * *", "0 */3 * * *", "0 0 * * *"]
    assert [on_calendar(n) for n in (15, 120, 1440)] == ["*:0/15", "0/2:00", "daily"]

