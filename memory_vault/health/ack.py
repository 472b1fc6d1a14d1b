"""ack: close the shrink alarms a person has looked at, so that `status` is healthy again."""

from memory_vault.errors import EXIT_OK, UsageError
from memory_vault.health.status import unrecorded_alarms
from memory_vault.journal.acks import add_acks
from memory_vault.journal.cache import load_journal, save_journal
from memory_vault.logfile import RunLog
from memory_vault.pipeline.lock import RunLock
from memory_vault.results import Done
from memory_vault.settings.load import Config

ACK_LOCK_WAIT = 60.0


class AckDone(Done):
    """The alarms `ack` closed (and whether it closed the notice of a rewritten remote)."""

    __slots__ = ("closed", "rewritten_closed")

    def __init__(self, closed: list[str], rewritten_closed: bool, lines: list[str]) -> None:
        super().__init__(EXIT_OK, lines)
        self.closed = closed
        self.rewritten_closed = rewritten_closed

    def as_dict(self) -> object:
        return {"closed": self.closed, "rewritten_notice_closed": self.rewritten_closed,
                "lines": self.lines}


def run_ack(config: Config, log: RunLog, names: list[str]) -> AckDone:
    """Close the alarms of `names` (all when none are named, and the notice of a rewritten
    remote), recorded durably (`journal.acks`) before the journal, and logged."""
    import time

    lock = RunLock(config.lock_file)
    lock.acquire(wait=ACK_LOCK_WAIT)
    try:
        journal = load_journal(config.state_file, config.vault_identity)
        journal.alarms.update(unrecorded_alarms(config, journal))
        wanted = [n.removeprefix(config.subdir + "/").removeprefix("./") for n in names]
        unknown = [n for n in wanted if n not in journal.alarms]
        if unknown:
            raise UsageError(f"no open shrink alarm for {', '.join(unknown)}"
                             + (f" (open: {', '.join(sorted(journal.alarms))})"
                                if journal.alarms else " (none is open)"))
        closed = wanted or sorted(journal.alarms)
        add_acks(config.acks_file, [(journal.alarms[name].commit, name) for name in closed])
        for name in closed:
            del journal.alarms[name]
            log.info(f"ack: closed the shrink alarm of {name}")
        lines = [f"Closed the shrink alarm of {name}." for name in closed]
        rewritten_closed = not names and journal.rewritten is not None
        if rewritten_closed:
            journal.rewritten = None
            log.info("ack: closed the notice that the remote was rewritten")
            lines.append("Closed the notice that the remote was rewritten.")
        if lines:
            save_journal(config.state_file, journal, now=int(time.time()))
    finally:
        lock.release()
    return AckDone(closed, rewritten_closed, lines or ["There was no open shrink alarm."])
